package doris_test

import (
	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/authn/authntest"
	"github.com/dorismcp/doris/internal/testdb"
	"go.opentelemetry.io/otel/metric"
	noopmetric "go.opentelemetry.io/otel/metric/noop"

	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/query"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Stateful mode, 200 idle clients each holding a GET stream: Shutdown ends
// them all at once and the host's http.Server.Shutdown has nothing to wait
// for.
func TestShutdownIdleStatefulSessions(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	s := newServer(t, dsn, doris.WithStatefulSessions(0))
	counting := &countingHandler{next: s.Handler(), n: map[string]int{}}
	hs := httptest.NewUnstartedServer(counting)
	hs.Start()
	defer hs.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 300}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	const clients = 200
	ctx := context.Background()
	sessions := make([]*mcp.ClientSession, clients)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			c := mcp.NewClient(&mcp.Implementation{Name: "idle", Version: "1"}, nil)
			cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: hc, MaxRetries: -1},
				&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err != nil {
				t.Errorf("connect: %v", err)
				return
			}
			sessions[i] = cs
		})
	}
	wg.Wait()
	defer func() {
		for _, cs := range sessions {
			if cs != nil {
				cs.Close()
			}
		}
	}()
	if t.Failed() {
		return
	}
	waitFor(t, 10*time.Second, "200 GET streams", func() bool { return counting.active(http.MethodGet) == clients })
	// Connections the client dialed but never used would hold
	// http.Server.Shutdown for five seconds whatever the MCP server does.
	tr.CloseIdleConnections()

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	took := time.Since(start)
	// The clients react to their streams ending by trying to reconnect,
	// which the gate refuses. Let that settle and drop the connections the
	// client transport dialed without using: net/http counts such a
	// connection as busy for its first five seconds, whoever the server is.
	waitFor(t, 5*time.Second, "the clients' reconnection attempts", func() bool {
		return counting.active(http.MethodGet) == 0 && counting.active(http.MethodPost) == 0 && counting.active(http.MethodDelete) == 0
	})
	tr.CloseIdleConnections()
	hstart := time.Now()
	if err := hs.Config.Shutdown(sctx); err != nil {
		t.Fatalf("http.Server.Shutdown: %v", err)
	}
	htook := time.Since(hstart)
	t.Logf("Shutdown with %d idle stateful sessions: %v; http.Server.Shutdown after it: %v", clients, took, htook)
	// Both returned nil within sctx: waiting for the idle clients, which
	// never leave, would have run into its deadline.
	if n := counting.active(http.MethodGet); n != 0 {
		t.Errorf("%d GET streams still open", n)
	}
}

// 32 calls in flight: every client gets its full result, and Shutdown
// returns right after the last one.
func TestShutdownDrainsCallsInFlight(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	// Every call stays in flight until Shutdown has started.
	q, release := heldQuery(t, db, 1500*time.Millisecond, 150*time.Millisecond)
	s := newServer(t, dsn, doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 40, MaxIdle: 40}))
	hs := serveHTTP(t, s)
	ctx := context.Background()

	const calls = 32
	type outcome struct {
		r    *result
		msg  string
		err  error
		done time.Time
	}
	out := make(chan outcome, calls)
	sessions := make([]*mcp.ClientSession, calls)
	for i := range sessions {
		sessions[i] = connect(t, ctx, hs.URL+"/mcp", nil, "")
	}
	// Warm the pool so that all 32 queries start together.
	var warm sync.WaitGroup
	for _, cs := range sessions {
		warm.Go(func() { mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT 1"}) })
	}
	warm.Wait()
	for _, cs := range sessions {
		go func() {
			r, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": q})
			out <- outcome{r, msg, err, time.Now()}
		}()
	}
	peak := 0
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("at most %d calls were in flight at once, running %q", peak, q)
		}
	})
	waitFor(t, 10*time.Second, "32 calls in flight", func() bool {
		peak = max(peak, s.InFlight())
		return s.InFlight() == calls && running(t, db, "seq_1_to_1000") > 0
	})

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() {
		for !s.Draining() {
			time.Sleep(time.Millisecond)
		}
		release()
	}()
	start := time.Now()
	err := s.Shutdown(sctx)
	end := time.Now()
	if err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	var last time.Time
	for range calls {
		o := <-out
		if o.err != nil || o.msg != "" {
			t.Fatalf("call failed: err=%v tool error=%q", o.err, o.msg)
		}
		if o.r.RowCount != 1 || len(o.r.Rows) != 1 {
			t.Fatalf("incomplete result: %+v", o.r)
		}
		if o.done.After(last) {
			last = o.done
		}
	}
	lag := end.Sub(last)
	t.Logf("Shutdown drained %d calls in %v; returned %v after the last client got its result", calls, end.Sub(start), lag)
	if lag > 250*time.Millisecond {
		t.Errorf("Shutdown returned %v after the last result, want right after", lag)
	}
}

// A call stuck on a minute-long query: at the deadline Shutdown cancels it,
// kills the query in the engine and the client gets an error result.
func TestShutdownDeadlineKillsQuery(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn)
	hs := serveHTTP(t, s)
	ctx := context.Background()
	cs := connect(t, ctx, hs.URL+"/mcp", nil, "")

	type outcome struct {
		msg string
		err error
	}
	out := make(chan outcome, 1)
	go func() {
		_, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 120})
		out <- outcome{msg, err}
	}()
	waitFor(t, 10*time.Second, "the long query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })

	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(sctx)
	took := time.Since(start)
	t.Logf("Shutdown with a stuck call and a 1s deadline: %v (err: %v)", took, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown error %v does not include context.DeadlineExceeded", err)
	}
	// It waited for the deadline (it cannot end early), and then did not
	// wait for the stuck statement's own 120 s: the client's error result
	// below shows the call was ended, and its query is killed.
	if took < 900*time.Millisecond {
		t.Errorf("Shutdown returned after %v, before its 1s deadline", took)
	}
	o := <-out
	if o.err != nil {
		t.Fatalf("client got a broken call instead of an error result: %v", o.err)
	}
	if !strings.Contains(o.msg, "shutting down") {
		t.Errorf("error result %q does not say the server is shutting down", o.msg)
	}
	killStart := time.Now()
	waitFor(t, 2*time.Second, "the query to leave SHOW PROCESSLIST", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
	t.Logf("query gone from SHOW PROCESSLIST %v after Shutdown returned", time.Since(killStart))
}

// During the drain: not ready, new work refused with 503 and Retry-After,
// and the call in flight still completes.
func TestShutdownGateDuringDrain(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	q := slowQuery(t, db, 700*time.Millisecond, 700*time.Millisecond)
	s := newServer(t, dsn, doris.WithPoolLimits(doris.PoolLimits{HealthCheckInterval: 100 * time.Millisecond}))
	hs := serveHTTP(t, s)
	ctx := context.Background()
	cs := connect(t, ctx, hs.URL+"/mcp", nil, "")

	waitFor(t, 5*time.Second, "readiness", func() bool { return status(t, hs.URL+"/ready") == http.StatusOK })

	out := make(chan error, 1)
	go func() {
		_, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": q})
		if err == nil && msg != "" {
			err = errors.New(msg)
		}
		out <- err
	}()
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_1000") == 1 })

	shut := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		shut <- s.Shutdown(sctx)
	}()
	waitFor(t, time.Second, "the gate to close", s.Draining)

	if resp, err := http.Get(hs.URL + "/ready"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("ready during drain: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if code := status(t, hs.URL+"/live"); code != http.StatusOK {
		t.Errorf("live during drain: %d, want 200", code)
	}
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_db_list","arguments":{}}}`
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("new POST during drain: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !bytes.Contains(got, []byte(`"id":7`)) || !bytes.Contains(got, []byte(`"error"`)) {
		t.Errorf("503 body is not a JSON-RPC error for request 7: %s", got)
	}
	if err := <-out; err != nil {
		t.Errorf("call in flight failed: %v", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func status(t testing.TB, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// Shutdown from many goroutines, then again: one result for all, and
// ServeStdio afterwards reports ErrServerClosed.
func TestShutdownConcurrentAndIdempotent(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	boom := errors.New("auth close failed")
	failClose(t, s, "auth", boom)

	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = s.Shutdown(context.Background()) })
	}
	wg.Wait()
	again := s.Shutdown(context.Background())
	for i, err := range append(errs, again) {
		if !errors.Is(err, boom) || err != errs[0] {
			t.Errorf("call %d returned %v, want the same joined error for every call", i, err)
		}
	}
	if err := s.ServeStdio(context.Background()); !errors.Is(err, doris.ErrServerClosed) {
		t.Errorf("ServeStdio after Shutdown: %v, want ErrServerClosed", err)
	}
}

// A second caller is bounded by its own context, as with
// http.Server.Shutdown: it returns its ctx.Err() when that ends, while the
// first caller's shutdown goes on and returns the shared result.
func TestShutdownSecondCallerOwnContext(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	q := slowQuery(t, db, 700*time.Millisecond, 700*time.Millisecond)
	s := newServer(t, dsn)
	cs := connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
	out := make(chan string, 1)
	go func() {
		_, msg, err := call(context.Background(), cs, "exec_query", map[string]any{"sql": q})
		out <- fmt.Sprint(msg, err)
	}()
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_1000") == 1 })

	first := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		first <- s.Shutdown(ctx)
	}()
	waitFor(t, time.Second, "the gate to close", s.Draining)
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(expired); !errors.Is(err, context.Canceled) {
		t.Errorf("second caller with an ended context: %v, want context.Canceled at once", err)
	}
	select {
	case err := <-first:
		t.Fatalf("the first Shutdown returned (%v) before its call was answered", err)
	default:
	}
	if got := <-out; got != "<nil>" && got != " <nil>" {
		t.Errorf("call in flight: %q, want its result", got)
	}
	if err := <-first; err != nil {
		t.Errorf("first Shutdown: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("a caller after the end: %v, want the shared result", err)
	}
}

// Past its deadline Shutdown allows one grace in all, however many steps
// have work that ignores cancellation: here a host tool that never returns
// holds the drain, the error result's write and its session's close, and a
// kill that never ends holds the pool's close.
func TestShutdownOneGracePastDeadline(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	const grace = time.Second // wide apart: one grace, or three
	s.SetGrace(grace)
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	s.MCP().AddTool(&mcp.Tool{Name: "stuck", InputSchema: map[string]any{"type": "object"}},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			close(started)
			<-release // ignores ctx
			return &mcp.CallToolResult{}, nil
		})
	cs, _ := servePipes(t, context.Background(), s, nil)
	go cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "stuck"})
	<-started
	// A pool call that never ends, as a kill that hangs would not.
	inPool := make(chan struct{})
	go s.Pool().Do(context.Background(), query.Session{}, func(ctx context.Context, conn *sql.Conn) error {
		close(inPool)
		<-release // ignores ctx
		return nil
	})
	<-inPool

	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx)
	over := time.Since(start) - deadline
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want one wrapping context.DeadlineExceeded", err)
	}
	// With a grace of its own per step it overran by three or more.
	if over > 2*grace {
		t.Errorf("Shutdown overran its deadline by %v, want at most one grace (%v)", over, grace)
	}
	t.Logf("overrun %v: %v", over, err)
}

// stdio: the response of a call in flight when Shutdown starts is written
// before ServeStdio returns.
func TestShutdownStdioDeliversInFlight(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	q := slowQuery(t, db, 500*time.Millisecond, 500*time.Millisecond)
	s := newServer(t, dsn)

	var written *recorder
	ctx := context.Background()
	cs, served := servePipes(t, ctx, s, func(w io.WriteCloser) io.WriteCloser {
		written = &recorder{w: w}
		return written
	})

	out := make(chan error, 1)
	go func() {
		r, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": q})
		if err == nil && (msg != "" || r.RowCount != 1) {
			err = errors.New("bad result: " + msg)
		}
		out <- err
	}()
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_1000") == 1 })
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, doris.ErrServerClosed) {
		t.Errorf("ServeStdio returned %v, want ErrServerClosed", err)
	}
	if !written.contains(`"row_count":1`) {
		t.Fatalf("the in-flight result was not written before ServeStdio returned; wrote:\n%s", written.String())
	}
	if err := <-out; err != nil {
		t.Errorf("call in flight: %v", err)
	}
}

// recorder keeps what passes through it.
type recorder struct {
	w   io.WriteCloser
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	r.mu.Lock()
	r.buf.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

func (r *recorder) Close() error { return r.w.Close() }

func (r *recorder) contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Contains(r.buf.String(), s)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// failClose makes the close of the Server's component of that name fail
// with err, after it has closed the component.
func failClose(t *testing.T, s *doris.Server, name string, err error) {
	t.Helper()
	ok := s.WrapClose(name, func(close func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			if cerr := close(ctx); cerr != nil {
				return cerr
			}
			return err
		}
	})
	if !ok {
		t.Fatalf("no component %q", name)
	}
}

// One component failing to close does not stop the other, and both errors
// reach the caller.
func TestShutdownJoinsComponentErrors(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	authErr, poolErr := errors.New("auth: refresh loop stuck"), errors.New("pool: close failed")
	failClose(t, s, "auth", authErr)
	failClose(t, s, "pool", poolErr)
	err := s.Shutdown(context.Background())
	if !errors.Is(err, authErr) || !errors.Is(err, poolErr) {
		t.Fatalf("Shutdown: %v, want both component errors", err)
	}
	if err := s.Pool().Do(context.Background(), query.Session{}, func(context.Context, *sql.Conn) error { return nil }); !errors.Is(err, doris.ErrServerClosed) {
		t.Errorf("pool still open after a failing auth close: %v", err)
	}
}

// Shutdown counts the calls it cancels one by one, also when one request
// carries several.
func TestShutdownCountsCalls(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn)
	hs := serveHTTP(t, s)
	one := func(id int) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"%s","timeout_seconds":120}}}`, id, testdb.LongQuery)
	}
	batch := "[" + one(1) + "," + one(2) + "," + one(3) + "]"
	postAsync(context.Background(), hs.URL+"/mcp", batch, map[string]string{"Mcp-Protocol-Version": "2025-03-26"})
	waitFor(t, 5*time.Second, "the calls to be admitted", func() bool { return s.InFlight() == 3 })
	waitFor(t, 5*time.Second, "the queries to run", func() bool { return running(t, db, "seq_1_to_20000") >= 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "3 calls cancelled") {
		t.Errorf("Shutdown: %v, want 3 calls cancelled", err)
	}
}

// failingMeter refuses to register callbacks, the last step of New.
type failingMeter struct{ noopmetric.Meter }

func (failingMeter) RegisterCallback(metric.Callback, ...metric.Observable) (metric.Registration, error) {
	return nil, errors.New("meter refuses callbacks")
}

type failingMeters struct{ noopmetric.MeterProvider }

func (failingMeters) Meter(string, ...metric.MeterOption) metric.Meter { return failingMeter{} }

// New closes what it started when a later step fails: the authenticator's
// JWKS refresh, the pool's health loop, the FE HTTP client.
func TestNewClosesOnError(t *testing.T) {
	testdb.Parallel(t)
	k := authntest.Keys()
	jwks := authntest.NewJWKS(t, map[string]any{"k1": &k.EC.PublicKey})
	_, err := doris.New(doris.WithDSN(testdb.DSN(t)), doris.WithFEHTTP("127.0.0.1:1"),
		doris.WithJWT(doris.JWTConfig{Algorithms: []string{"ES256"}, JWKSURL: jwks.URL}),
		doris.WithMeterProvider(failingMeters{}))
	if err == nil || !strings.Contains(err.Error(), "meter refuses callbacks") {
		t.Fatalf("New = %v, want the meter's error", err)
	}
}
