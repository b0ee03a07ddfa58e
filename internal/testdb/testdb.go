// Package testdb gives the tests of every package the database they run
// against, and reads the environment that names it, in one place:
//
//	DORIS_TEST_DSN          a real MySQL-protocol server holding the sample
//	                        data; unset: a fresh in-process simulator per test
//	DORISSIM_MARIADB_DSN    a root DSN of that server, for the tests that
//	                        need one (accounts, table locks)
//	DORIS_TEST_ROOT_DSN     the same, for the per-token account tests
//	DORIS_TEST_GENERAL_LOG  the server's general query log, to see the text
//	                        it received
//	DORIS_TEST_LOAD         set: run the load tests
//
// Production code never imports it, so embedders never link the simulator.
package testdb

import (
	"flag"
	"os"
	"strconv"
	"testing"

	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/go-sql-driver/mysql"
)

// Real reports whether the tests run against a real server
// (DORIS_TEST_DSN) rather than the simulator.
func Real() bool { return os.Getenv("DORIS_TEST_DSN") != "" }

// DSN is the database to test against: the real server's, or a fresh
// simulator's sample database, closed when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv("DORIS_TEST_DSN"); dsn != "" {
		return dsn
	}
	return Sim(t, dorissim.Options{}).DSN(dorissim.SampleDB)
}

// Sim starts a simulator with opts, closed when the test ends.
func Sim(t testing.TB, opts dorissim.Options) *dorissim.Server {
	t.Helper()
	sim, err := dorissim.Start(opts)
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// RealDSN is the real server's DSN; the test is skipped without one.
func RealDSN(t testing.TB) string {
	t.Helper()
	return envOrSkip(t, "DORIS_TEST_DSN")
}

// RootDSN is a root DSN of the real server (DORIS_TEST_ROOT_DSN, else
// DORISSIM_MARIADB_DSN), or "" without one.
func RootDSN() string {
	if dsn := os.Getenv("DORIS_TEST_ROOT_DSN"); dsn != "" {
		return dsn
	}
	return os.Getenv("DORISSIM_MARIADB_DSN")
}

// MariaDBDSN is DORISSIM_MARIADB_DSN, or "" when unset.
func MariaDBDSN() string { return os.Getenv("DORISSIM_MARIADB_DSN") }

// GeneralLog is the path of the real server's general query log; the test
// is skipped without one.
func GeneralLog(t testing.TB) string {
	t.Helper()
	return envOrSkip(t, "DORIS_TEST_GENERAL_LOG")
}

// envOrSkip is the environment variable name; the test is skipped when it
// is not set.
func envOrSkip(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skip(name + " is not set")
	}
	return v
}

// Parallel runs the test beside the others when each has a backend of its
// own (the simulator). Against a shared real server tests run one at a
// time: they count and kill each other's statements in its process list.
func Parallel(t *testing.T) {
	if !Real() {
		t.Parallel()
	}
}

// Load skips a load test unless DORIS_TEST_LOAD is set, as CI does: they
// take seconds each and load the machine.
func Load(t *testing.T) {
	if os.Getenv("DORIS_TEST_LOAD") == "" {
		t.Skip("a load test: set DORIS_TEST_LOAD=1 to run it")
	}
}

// Password is the root account's password on the simulators DorisSim
// starts, on their MySQL and HTTP ports alike: no message may carry it.
const Password = "Pw-9f3c1e77-secret"

// DorisSim starts a simulator of a Doris release whose account root wants
// Password on both ports, and returns it with a DSN that carries the
// password. opts change its options first.
func DorisSim(t testing.TB, version string, opts ...func(*dorissim.Options)) (*dorissim.Server, string) {
	t.Helper()
	o := dorissim.Options{Version: version, Users: map[string]string{"root": Password}}
	for _, f := range opts {
		f(&o)
	}
	sim := Sim(t, o)
	cfg, err := mysql.ParseDSN(sim.DSN(dorissim.SampleDB))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Passwd = "root", Password
	return sim, cfg.FormatDSN()
}

// LongQuery runs for minutes and passes the read-only guard: a cross join
// of MariaDB's Sequence tables, or on the simulator one of its seq tables
// that waits, so the tests holding it do not burn the CPU the others need.
// Its text contains "seq_1_to_20000" on both.
var LongQuery = "SELECT COUNT(*)" + LongFrom

// LongFrom is LongQuery's FROM clause, for a long query of other columns.
var LongFrom = func() string {
	if Real() {
		return " FROM seq_1_to_20000 a, seq_1_to_20000 b"
	}
	return " FROM seq_1_to_20000_wait_600000ms a"
}()

// LongQuerySummary is LongQuery's db.query.summary.
var LongQuerySummary = map[bool]string{
	true:  "SELECT seq_1_to_20000 seq_1_to_20000",
	false: "SELECT seq_1_to_20000_wait_600000ms",
}[Real()]

// DefaultParallel makes the tests of a package run n at a time unless
// -parallel is given (and at most four under the race detector, where
// they compete for the CPU); call it from TestMain. Tests that wait on
// the engine more than they use the CPU finish sooner with a few more at
// once than there are cores.
func DefaultParallel(n int) {
	if race {
		n = min(n, 4)
	}
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
}

// Result is the structured content of a query tool's result, as a client
// decodes it.
type Result struct {
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows             [][]any `json:"rows"`
	RowCount         int     `json:"row_count"`
	Truncated        bool    `json:"truncated"`
	TruncationReason string  `json:"truncation_reason"`
}
