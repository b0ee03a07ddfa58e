package doris_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/testdb"
)

// A host-owned pool is used, its queries are still killed on cancel, and
// Shutdown leaves it open.
func TestWithDBHostPool(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s, err := doris.New(doris.WithDB(db))
	if err != nil {
		t.Fatal(err)
	}
	hs := serveHTTP(t, s)
	ctx := context.Background()
	cs := connect(t, ctx, hs.URL+"/mcp", nil, "")
	if r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT COUNT(*) FROM products"}); r.RowCount != 1 {
		t.Fatalf("count: %+v", r)
	}
	start := time.Now()
	_, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 1})
	if err != nil || msg == "" {
		t.Fatalf("timed-out query: err=%v msg=%q", err, msg)
	}
	waitFor(t, 2*time.Second, "the timed-out query to be killed", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
	t.Logf("timeout and kill through a host pool: %v", time.Since(start))

	// A call in another database must not leave its USE behind.
	mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT 1", "db_name": "information_schema"})
	for range 10 {
		r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT DATABASE()"})
		if got := r.Rows[0][0]; got != "sample" {
			t.Fatalf("current database after a db_name call: %v, want sample", got)
		}
	}

	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Errorf("host pool closed by Shutdown: %v", err)
	}
}

// The default pool restores the database of a connection a call moved.
func TestPoolRestoresDatabase(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t), doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 1, MaxIdle: 1}))
	hs := serveHTTP(t, s)
	ctx := context.Background()
	cs := connect(t, ctx, hs.URL+"/mcp", nil, "")
	r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT DATABASE()", "db_name": "information_schema"})
	if got := r.Rows[0][0]; got != "information_schema" {
		t.Fatalf("db_name ignored: current database %v", got)
	}
	r = mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT DATABASE()"})
	if got := r.Rows[0][0]; got != "sample" {
		t.Fatalf("the next call on the single connection runs in %v, want sample", got)
	}
	_, msg, _ := call(ctx, cs, "exec_query", map[string]any{"sql": "SELECT 1", "db_name": "no_such_database"})
	if msg == "" {
		t.Error("an unknown db_name gave no error")
	}
}

// Readiness follows the health check.
func TestPoolHealth(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t), doris.WithPoolLimits(doris.PoolLimits{HealthCheckInterval: 100 * time.Millisecond}))
	waitFor(t, 5*time.Second, "a passing health check", func() bool { ok, _ := s.Pool().Ready(); return ok })

	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A server nobody answers is not ready, with the reason.
func TestPoolUnreachable(t *testing.T) {
	testdb.Parallel(t)
	var logs syncBuffer
	s := newServer(t, "u:p@tcp(127.0.0.1:1)/db?timeout=200ms", doris.WithPoolLimits(doris.PoolLimits{HealthCheckInterval: time.Hour}),
		doris.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	hs := serveHTTP(t, s)
	waitFor(t, 5*time.Second, "a failed health check", func() bool {
		_, err := s.Pool().Ready()
		return err != nil && !strings.Contains(err.Error(), "no health check")
	})
	for range 3 {
		if code := status(t, hs.URL+"/ready"); code != 503 {
			t.Errorf("ready with Doris unreachable: %d", code)
		}
	}
	// The cause is logged, once per health check, however often probed.
	if n := strings.Count(logs.String(), "not ready: doris unreachable"); n != 1 || !strings.Contains(logs.String(), "127.0.0.1:1") {
		t.Errorf("%d log lines give the cause, want 1 with the address:\n%s", n, logs.String())
	}
}

// A call to a Doris nobody answers says so, without addresses or driver
// jargon; the log has the cause.
func TestUnreachableMessage(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, "secret_user:pw@tcp(127.0.0.1:1)/db?timeout=200ms")
	cs := connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
	_, msg, err := call(context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT 1"})
	if err != nil {
		t.Fatal(err)
	}
	// The FE and the class of failure, for an agent's user to act on;
	// never the account.
	if want := "Doris at 127.0.0.1:1 could not be reached: the connection was refused"; !strings.Contains(msg, want) {
		t.Errorf("message %q, want one saying %q", msg, want)
	}
	for _, leak := range []string{"secret_user", "pw@", "dial", "invalid connection"} {
		if strings.Contains(msg, leak) {
			t.Errorf("message %q shows %q", msg, leak)
		}
	}
}

// With every connection busy, a call waits the pool wait, not its whole
// time limit, fails saying so, and readiness reports the saturated pool.
func TestPoolBusy(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn, doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 1, MaxIdle: 1, Wait: 200 * time.Millisecond, HealthCheckInterval: time.Minute}))
	hs := serveHTTP(t, s)
	ctx := context.Background()
	cs := connect(t, ctx, hs.URL+"/mcp", nil, "")
	mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT 1"}) // detected, ready
	waitFor(t, 5*time.Second, "readiness", func() bool { return status(t, hs.URL+"/ready") == 200 })

	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go call(lctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 120})
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })

	_, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": "SELECT 1", "timeout_seconds": 60})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "all 1 connections to Doris are busy") {
		t.Errorf("call on a full pool: %q, want the busy message", msg)
	}
	resp, err := http.Get(hs.URL + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "connection pool saturated") {
		t.Errorf("ready with a saturated pool: %d %s, want 503 saying the pool is saturated", resp.StatusCode, body)
	}
}

// Concurrent first calls share one backend detection.
func TestBackendDetectedOnce(t *testing.T) {
	testdb.Parallel(t)
	var logs syncBuffer
	s := newServer(t, testdb.DSN(t), doris.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	cs := connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { mustCall(t, context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT 1"}) })
	}
	wg.Wait()
	if n := strings.Count(logs.String(), "doris backend detected"); n != 1 {
		t.Errorf("backend detected %d times, want once", n)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Two FEs: calls go to the first; when it stops they go on, with no error,
// on the second; a cancelled call's query is killed on the FE that runs it;
// readiness holds while one FE answers.
func TestFrontendFailover(t *testing.T) {
	testdb.Parallel(t)
	start := func() *dorissim.Server { return testdb.Sim(t, dorissim.Options{}) }
	a, b := start(), start()
	dbA, dbB := openDB(t, a.DSN(dorissim.SampleDB)), openDB(t, b.DSN(dorissim.SampleDB))
	// A health check's ping may take as long as the interval: under the
	// race detector, with other tests running, one of 50 ms can miss and
	// mark the first FE down before the test has used it.
	s := newServer(t, a.DSN(dorissim.SampleDB), doris.WithFrontends(b.Addr()), doris.WithPoolLimits(doris.PoolLimits{HealthCheckInterval: time.Second}))
	hs := serveHTTP(t, s)
	ctx := context.Background()
	cs := connect(t, ctx, hs.URL+"/mcp", nil, "")

	killedOn := func(db *sql.DB) {
		t.Helper()
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			call(cctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 120})
			close(done)
		}()
		waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
		cancel()
		<-done
		waitFor(t, time.Second, "the query to be killed on its FE", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
	}
	killedOn(dbA)
	if n := running(t, dbB, "seq_1_to_20000"); n != 0 {
		t.Fatalf("the second FE ran %d queries while the first was up", n)
	}

	a.Close()
	for i := range 5 {
		if r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT COUNT(*) AS n FROM customers"}); fmt.Sprint(r.Rows[0][0]) != "2000" {
			t.Fatalf("call %d after the switch: %v", i, r.Rows)
		}
	}
	killedOn(dbB)
	waitFor(t, 5*time.Second, "readiness with one FE up", func() bool { return status(t, hs.URL+"/ready") == http.StatusOK })
}

// TestAccountError: a per-token account refused at connect time is told
