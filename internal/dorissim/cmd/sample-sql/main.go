// Command sample-sql prints the statements that build the simulator's
// sample database as a SQL script, one statement per ";\n", for loading
// the same data into MariaDB or MySQL:
//
//	go run ./internal/dorissim/cmd/sample-sql | mariadb -uroot
package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/dorismcp/doris/internal/dorissim"
)

func main() {
	w := bufio.NewWriter(os.Stdout)
	for _, s := range dorissim.SampleStatements() {
		w.WriteString(s)
		w.WriteString(";\n")
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "sample-sql:", err)
		os.Exit(1)
	}
}
