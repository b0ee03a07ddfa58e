package dorissim_test

import (
	"io"
	"log"
	"testing"
	"time"
	_ "unsafe" // go:linkname

	"github.com/dorismcp/doris/internal/testdb"
	"github.com/go-sql-driver/mysql"
	"go.uber.org/goleak"
)

// tcpCheckerSleepDuration is how often go-mysql-server looks at the socket
// of a connection running a query (5 s); the tests that wait for it to see
// a closed socket wait for one interval.
//
//go:linkname tcpCheckerSleepDuration github.com/dolthub/go-mysql-server/server.tcpCheckerSleepDuration
var tcpCheckerSleepDuration time.Duration

func TestMain(m *testing.M) {
	tcpCheckerSleepDuration = 250 * time.Millisecond
	// The client driver reports connections that the server closes (KILL,
	// Close) on stderr; keep test output to what the tests log.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	testdb.DefaultParallel(4)
	goleak.VerifyTestMain(m)
}
