package sqlguard

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// liveDB opens the server named by DORIS_TEST_DSN, or skips the test.
func liveDB(t *testing.T) *sql.DB {
	t.Helper()
	dsn := os.Getenv("DORIS_TEST_DSN")
	if dsn == "" {
		t.Skip("DORIS_TEST_DSN is not set")
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// safeFunctions reads funcs/mariadb.txt: the functions judged free
// of side effects, one upper-case name a line.
func safeFunctions(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("funcs/mariadb.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	safe := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		safe[line] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return safe
}

// refused reports whether Check refuses a call of name with an argument.
func refused(name string) bool {
	_, err := Check("SELECT " + name + "(1)")
	return err != nil
}

// The two lists do not overlap: a function is either safe or refused, and
// every name on the safe list passes the guard in every form of call.
func TestSafeFunctionsPass(t *testing.T) {
	for name := range safeFunctions(t) {
		for _, q := range []string{"SELECT " + name + "(1)", "SELECT `" + strings.ToLower(name) + "` (1, 2)"} {
			if _, err := Check(q); err != nil {
				t.Errorf("%s is listed as safe, but Check(%q) = %v", name, q, err)
			}
		}
	}
}

var identName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// TestServerFunctionsClassified asks a live MariaDB which names it resolves
// as functions and checks that each is either on the safe list or refused
// by the guard, so a function nobody has judged fails the test. The names
// come from the server's help (HELP '%', which reads mysql.help_topic for
// any account), from the safe list, from blockedCalls and from the fuzz
// test's own list of refused calls. A name is a function when preparing
// SELECT name() or SELECT name(1) fails with something other than "does not
// exist" or a syntax error; preparing runs nothing.
func TestServerFunctionsClassified(t *testing.T) {
	db := liveDB(t)
	ctx := context.Background()
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(version, "MariaDB") {
		t.Skipf("the function probe is written for MariaDB; the server is %s", version)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	safe := safeFunctions(t)
	names := map[string]bool{}
	for n := range safe {
		names[n] = true
	}
	for _, f := range blockedCalls {
		names[f.name] = true
	}
	for n := range refCalls { // kept apart from blockedCalls on purpose
		names[n] = true
	}
	rows, err := conn.QueryContext(ctx, "HELP '%'")
	if err != nil {
		t.Fatal(err)
	}
	help := 0
	for rows.Next() {
		var name, isCategory string
		if err := rows.Scan(&name, &isCategory); err != nil {
			t.Fatal(err)
		}
		if isCategory == "N" && identName.MatchString(name) {
			names[strings.ToUpper(name)] = true
			help++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if help < 100 {
		t.Fatalf("HELP '%%' listed %d topic names; the server's help tables look empty", help)
	}

	isFunction := func(name string) bool {
		for _, q := range []string{"SELECT " + name + "()", "SELECT " + name + "(1)"} {
			stmt, err := conn.PrepareContext(ctx, q)
			if err == nil {
				stmt.Close()
				return true
			}
			var me *mysql.MySQLError
			if !errors.As(err, &me) {
				t.Fatalf("preparing %q: %v", q, err)
			}
			switch me.Number {
			case 1305, 1630: // FUNCTION ... does not exist
			case 1370: // no EXECUTE privilege on a stored function of that name: not a built-in
			case 1064: // a keyword, not a function, or one that needs other arguments
			default:
				return true // wrong argument count, wrong argument type, ...
			}
		}
		return false
	}
	var functions, unjudged []string
	for name := range names {
		if !isFunction(name) {
			continue
		}
		functions = append(functions, name)
		if !safe[name] && !refused(name) {
			unjudged = append(unjudged, name)
		}
	}
	sort.Strings(unjudged)
	t.Logf("%s: %d candidate names, %d of them functions", version, len(names), len(functions))
	if len(unjudged) > 0 {
		t.Errorf("functions of the server that are neither on funcs/mariadb.txt nor refused by the guard: %s",
			strings.Join(unjudged, " "))
	}
	for _, f := range [...]string{"SLEEP", "MASTER_GTID_WAIT", "WSREP_SYNC_WAIT_UPTO_GTID", "GET_LOCK"} {
		if !isFunction(f) {
			t.Errorf("the probe does not see %s as a function of the server", f)
		}
	}
}
