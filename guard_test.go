package doris_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/pool"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/testdb"
)

// onMariaDB skips a test unless the suite runs against MariaDB.
func onMariaDB(t *testing.T) string {
	t.Helper()
	dsn := testdb.RealDSN(t)
	var v string
	if err := openDB(t, dsn).QueryRow("SELECT VERSION()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(v), "mariadb") {
		t.Skipf("needs MariaDB, found %s", v)
	}
	return dsn
}

// Two callers share one connection (a pool of one): nothing the first
// leaves behind can be read by the second, on MariaDB and the simulator.
func TestCallersShareNoState(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t), doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 1, MaxIdle: 1}))
	hs := serveHTTP(t, s)
	ctx := context.Background()
	a := connect(t, ctx, hs.URL+"/mcp", nil, "")
	b := connect(t, ctx, hs.URL+"/mcp", nil, "")

	// A leaves a warning with its literal, a row count and a database.
	call(ctx, a, "exec_query", map[string]any{"sql": "SELECT CAST('secret-of-A' AS SIGNED)"})
	mustCall(t, ctx, a, "exec_query", map[string]any{"sql": "SELECT 1", "db_name": "information_schema"})

	for _, q := range []string{
		"SHOW WARNINGS", "SHOW ERRORS", "SHOW COUNT(*) WARNINGS", "SELECT @@warning_count", "SELECT @@session.error_count",
		"SELECT FOUND_ROWS()", "SELECT ROW_COUNT()", "SELECT LAST_INSERT_ID()", "SELECT @leak", "SHOW SESSION STATUS",
	} {
		r, msg, err := call(ctx, b, "exec_query", map[string]any{"sql": q})
		if err != nil {
			t.Fatal(err)
		}
		if r != nil || !strings.Contains(msg, "not allowed") {
			t.Errorf("%s by another caller on the same connection: %+v %q, want it refused", q, r, msg)
		}
		if strings.Contains(msg, "secret-of-A") {
			t.Errorf("%s showed A's literal: %s", q, msg)
		}
	}
	r := mustCall(t, ctx, b, "exec_query", map[string]any{"sql": "SELECT DATABASE()"})
	if got := r.Rows[0][0]; got != "sample" {
		t.Errorf("B runs in %v, A's database", got)
	}
}

// Other callers' statements cannot be read through the process list.
func TestProcessListNotReadable(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	hs := serveHTTP(t, s)
	ctx := context.Background()
	cs := connect(t, ctx, hs.URL+"/mcp", nil, "")
	for _, q := range []string{"SHOW FULL PROCESSLIST", "SELECT info FROM information_schema.PROCESSLIST", "SELECT * FROM information_schema.`processlist`"} {
		r, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": q})
		if err != nil {
			t.Fatal(err)
		}
		if r != nil || !strings.Contains(msg, "statements of other sessions") {
			t.Errorf("%s: %+v %q, want it refused", q, r, msg)
		}
	}
}

// A stored function of the caller's database is not called, although the
// account may execute it; the deployment can allow it by name.
func TestStoredFunctionRefused(t *testing.T) {
	testdb.Parallel(t)
	dsn := onMariaDB(t)
	ctx := context.Background()
	for _, allowed := range []bool{false, true} {
		var opts []doris.Option
		if allowed {
			opts = append(opts, doris.WithAllowedFunctions("TOUCH_ME"))
		}
		s := newServer(t, dsn, opts...)
		hs := serveHTTP(t, s)
		cs := connect(t, ctx, hs.URL+"/mcp", nil, "")
		for _, q := range []string{"SELECT touch_me('guard-test')", "SELECT `touch_me` ('guard-test')"} {
			r, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": q, "db_name": "guardtest"})
			if err != nil {
				t.Fatal(err)
			}
			if allowed != (r != nil) {
				t.Errorf("allowed=%v: %s = %+v %q", allowed, q, r, msg)
			}
			if !allowed && !strings.Contains(msg, "TOUCH_ME() is not a built-in function of MariaDB") {
				t.Errorf("%s refused with %q", q, msg)
			}
		}
	}
}

// The server runs the canonical text, not the caller's: its own log shows
// it.
func TestServerReceivesCanonicalText(t *testing.T) {
	dsn := onMariaDB(t)
	logPath := testdb.GeneralLog(t)
	s := newServer(t, dsn)
	hs := serveHTTP(t, s)
	ctx := context.Background()
	cs := connect(t, ctx, hs.URL+"/mcp", nil, "")
	mark := "canon" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	in := "select /* note */ 'it''s' AS " + mark + ", \"dq\" -- trailing\n, `name` FROM products WHERE price>=1 LIMIT 1"
	want := "select 'it\\'s' AS " + mark + ", 'dq' , `name` FROM products WHERE price >= 1 LIMIT 1"
	r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": in})
	if r.Rows[0][0] != "it's" || r.Rows[0][1] != "dq" {
		t.Fatalf("values changed on the way: %v", r.Rows[0])
	}
	waitFor(t, 5*time.Second, "the statement in the general log", func() bool {
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(b), mark)
	})
	b, _ := os.ReadFile(logPath)
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, mark) {
			line = l
		}
	}
	if !strings.Contains(line, want) || strings.Contains(line, "note") || strings.Contains(line, "trailing") {
		t.Errorf("the server received\n%s\nwant it to hold\n%s", line, want)
	}
}

// A statement that ignores KILL for a while keeps its connection counted
// against the pool until the server reports it gone: killed statements
// still running never exceed the pool size, and callers meanwhile hear
// that the server is busy.
func TestKilledStatementKeepsItsSlot(t *testing.T) {
	testdb.Parallel(t)
	dsn := onMariaDB(t)
	s := newServer(t, dsn, doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 1, MaxIdle: 1, Wait: 100 * time.Millisecond}))
	// MariaDB looks for a kill between rows, not inside REPLACE, which is
	// quadratic: this runs for seconds after its kill. The guard refuses
	// it; the pool is tested below the guard.
	const runaway = "SELECT LENGTH(REPLACE(REPEAT('a', 150000), 'a', 'bb')) AS runaway_guard_test"
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := s.Pool().Do(ctx, query.Session{}, func(ctx context.Context, conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, runaway)
		return err
	})
	if err == nil {
		t.Fatal("the runaway statement finished within its 200 ms")
	}
	root := openDB(t, dsn)
	if running(t, root, "runaway_guard_test") != 1 {
		t.Skip("the statement stopped at its kill on this server")
	}
	// While it runs, no second connection is opened: a call waits, then
	// is told the server is busy.
	err = s.Pool().Do(context.Background(), query.Session{}, func(ctx context.Context, conn *sql.Conn) error { return nil })
	var be *pool.BusyError
	if !errors.As(err, &be) {
		t.Errorf("a call while the killed statement runs = %v, want BusyError", err)
	}
	if st := doris.PoolStatsOf(s.Pool())[0]; st.Open > 1 {
		t.Errorf("%d connections open with a pool of 1", st.Open)
	}
	waitFor(t, 60*time.Second, "the killed statement to end", func() bool { return running(t, root, "runaway_guard_test") == 0 })
	waitFor(t, 5*time.Second, "the slot to be free", func() bool {
		return s.Pool().Do(context.Background(), query.Session{}, func(ctx context.Context, conn *sql.Conn) error { return nil }) == nil
	})
}
