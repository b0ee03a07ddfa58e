package doris_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// testDSN is a DSN nothing listens on, for tests that never connect.
const testDSN = "reader:s3cret-pass@tcp(127.0.0.1:1)/sample"

// newServer builds a Server on a backend and shuts it down at the end of
// the test if the test did not.
func newServer(t testing.TB, dsn string, opts ...doris.Option) *doris.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := doris.New(append([]doris.Option{doris.WithDSN(dsn), doris.WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// testWriter sends log lines to the test's log, shown when it fails.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// serveHTTP mounts s on an httptest server the way a host would.
func serveHTTP(t testing.TB, s *doris.Server) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/mcp", s.Handler())
	mux.Handle("/live", s.LiveHandler())
	mux.Handle("/ready", s.ReadyHandler())
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs
}

// connect opens a go-sdk client session over HTTP. A non-empty version
// forces that protocol version (the legacy handshake, with its standalone
// GET stream, for versions before 2026-07-28).
func connect(t testing.TB, ctx context.Context, endpoint string, hc *http.Client, version string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	tr := &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, MaxRetries: -1}
	var opts *mcp.ClientSessionOptions
	if version != "" {
		opts = &mcp.ClientSessionOptions{ProtocolVersion: version}
	}
	cs, err := c.Connect(ctx, tr, opts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// servePipes serves s over a pair of pipes with ServeTransport(ctx), the
// server writing through wrap when it is not nil, and connects a client.
// served reports what ServeTransport returned.
func servePipes(t testing.TB, ctx context.Context, s *doris.Server, wrap func(io.WriteCloser) io.WriteCloser) (cs *mcp.ClientSession, served <-chan error) {
	t.Helper()
	clientR, serverW := io.Pipe()
	serverR, clientW := io.Pipe()
	var w io.WriteCloser = serverW
	if wrap != nil {
		w = wrap(serverW)
	}
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- s.ServeTransport(ctx, &mcp.IOTransport{Reader: serverR, Writer: w})
	}()
	// Registered before the client's Close, so it runs after it: the
	// server's goroutine, which logs to t, must not outlive the test.
	t.Cleanup(func() {
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("ServeTransport still running 10 s after its client closed")
		}
	})
	c := mcp.NewClient(&mcp.Implementation{Name: "stdio", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.IOTransport{Reader: clientR, Writer: clientW}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, done
}

// result is the structured content of a tool result.
type result = testdb.Result

// call runs a tool and returns its decoded result, or the text of its
// error result.
func call(ctx context.Context, cs *mcp.ClientSession, tool string, args map[string]any) (*result, string, error) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return nil, "", err
	}
	if res.IsError {
		var b strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		return nil, b.String(), nil
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return nil, "", err
	}
	var r result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, "", fmt.Errorf("decoding %s: %w", raw, err)
	}
	return &r, "", nil
}

// mustCall is call for calls that must succeed.
func mustCall(t testing.TB, ctx context.Context, cs *mcp.ClientSession, tool string, args map[string]any) *result {
	t.Helper()
	r, toolErr, err := call(ctx, cs, tool, args)
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	if toolErr != "" {
		t.Fatalf("%s %v: tool error: %s", tool, args, toolErr)
	}
	return r
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openDB opens a plain driver pool on dsn for checks beside the Server.
func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// running reports how many statements containing fragment the backend is
// executing, from SHOW PROCESSLIST (read by column name: engines differ).
func running(t testing.TB, db *sql.DB, fragment string) int {
	t.Helper()
	rows, err := db.Query("SHOW FULL PROCESSLIST")
	if err != nil {
		t.Fatalf("SHOW FULL PROCESSLIST: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	info := -1
	for i, c := range cols {
		if strings.EqualFold(c, "Info") {
			info = i
		}
	}
	if info < 0 {
		t.Fatalf("SHOW PROCESSLIST has no Info column: %v", cols)
	}
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		if s := vals[info].String; strings.Contains(s, fragment) && !strings.Contains(s, "PROCESSLIST") {
			n++
		}
	}
	return n
}

// slowQuery returns a guard-legal query that stays in flight: on the
// simulator one that waits d without using CPU, on a real server one of
// about cpu of CPU time (which it runs in parallel with others). Its text
// contains "seq_1_to_1000".
func slowQuery(t testing.TB, db *sql.DB, d, cpu time.Duration) string {
	t.Helper()
	if !testdb.Real() {
		return fmt.Sprintf("SELECT COUNT(*) FROM seq_1_to_1000_wait_%dms a", d.Milliseconds())
	}
	return calibrate(t, db, cpu)
}

// heldQuery returns a guard-legal query that stays in flight, without
// using CPU, until release is called: on the simulator one that waits d,
// on MariaDB one blocked behind a table lock taken over the root DSN in
// DORISSIM_MARIADB_DSN. Without that DSN it falls back to slowQuery with
// cpu of CPU time. Its text contains "seq_1_to_1000".
func heldQuery(t testing.TB, db *sql.DB, d, cpu time.Duration) (q string, release func()) {
	t.Helper()
	root := testdb.MariaDBDSN()
	if !testdb.Real() || root == "" {
		return slowQuery(t, db, d, cpu), func() {}
	}
	rdb := openDB(t, root)
	conn, err := rdb.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "LOCK TABLES customers WRITE"); err != nil {
		t.Fatalf("taking the table lock: %v", err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "UNLOCK TABLES")
			conn.Close()
		})
	}
	t.Cleanup(release)
	return "SELECT COUNT(*) FROM customers c, seq_1_to_1000 s WHERE c.id = s.seq", release
}

// calibrate returns a guard-legal query taking about target of CPU time on
// this backend, by timing a cross join of seq tables and scaling it.
func calibrate(t testing.TB, db *sql.DB, target time.Duration) string {
	t.Helper()
	q := func(n int) string { return fmt.Sprintf("SELECT COUNT(*) FROM seq_1_to_1000 a, seq_1_to_%d b", n) }
	n := 20
	for {
		start := time.Now()
		var c int64
		if err := db.QueryRow(q(n)).Scan(&c); err != nil {
			t.Fatalf("calibrating: %v", err)
		}
		took := time.Since(start)
		if took >= 20*time.Millisecond || n >= 1_000_000 {
			scaled := int(float64(n) * float64(target) / float64(took))
			return q(max(scaled, 1))
		}
		n *= 4
	}
}

// countingHandler counts the requests in progress per method.
type countingHandler struct {
	next http.Handler
	mu   sync.Mutex
	n    map[string]int
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.n[r.Method]++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.n[r.Method]--
		h.mu.Unlock()
	}()
	h.next.ServeHTTP(w, r)
}

func (h *countingHandler) active(method string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[method]
}
