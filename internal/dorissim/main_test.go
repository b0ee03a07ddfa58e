package dorissim_test

import (
	"io"
	"log"
	"testing"

	"github.com/dorismcp/doris/internal/testdb"
	"github.com/go-sql-driver/mysql"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The client driver reports connections that the server closes (KILL,
	// Close) on stderr; keep test output to what the tests log.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	testdb.DefaultParallel(4)
	goleak.VerifyTestMain(m)
}
