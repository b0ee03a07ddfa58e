package tools

import (
	"os"
	"testing"

	"github.com/dorismcp/doris/internal/testdb"
)

func TestMain(m *testing.M) {
	testdb.DefaultParallel(4)
	os.Exit(m.Run())
}
