package doris_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/testdb"
)

// rawCall posts one exec_query call and classifies what came back:
// "answered" (a JSON-RPC response with a result), "tool error" (a result
// with isError), "refused" (503 during shutdown, 429 when busy), or
// "lost" (anything else: no response, a broken one).
func rawCall(ctx context.Context, hc *http.Client, url string, id int, sql string) (outcome, detail string) {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":%q,"timeout_seconds":5}}}`, id, sql)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	resp, err := hc.Do(req)
	if err != nil {
		return "lost", err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "lost", err.Error()
	}
	switch resp.StatusCode {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return "refused", string(b)
	case http.StatusOK:
	default:
		return "lost", fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	var msg struct {
		ID     int `json:"id"`
		Result *struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if json.Unmarshal(b, &msg) != nil || msg.ID != id || msg.Result == nil {
		return "lost", string(b)
	}
	if msg.Result.IsError {
		text := ""
		if len(msg.Result.Content) > 0 {
			text = msg.Result.Content[0].Text
		}
		return "tool error", text
	}
	return "answered", ""
}

// callers runs op(w, i) in a loop from n goroutines, call i of worker w,
// until stop is closed; wait returns once they have all ended.
func callers(n int, stop <-chan struct{}, op func(w, i int)) (wait func()) {
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				op(w, i)
			}
		})
	}
	return wg.Wait
}

// tally counts outcomes from many goroutines.
type tally struct {
	mu      sync.Mutex
	n       map[string]int
	samples map[string]string
}

func (t *tally) add(outcome, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n, t.samples = map[string]int{}, map[string]string{}
	}
	t.n[outcome]++
	if _, ok := t.samples[outcome]; !ok && detail != "" {
		t.samples[outcome] = detail
	}
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("%v (first of each: %q)", t.n, t.samples)
}

// 64 callers for seconds; Shutdown with a 5 s deadline in the middle.
// Every call the server accepted gets its result or, past the deadline,
// an error result: none is lost; and no goroutine outlives it all.
func TestLoadShutdownMidway(t *testing.T) {
	testdb.Load(t)
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	slow := slowQuery(t, db, 300*time.Millisecond, 100*time.Millisecond)
	s := newServer(t, dsn, doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 32, MaxIdle: 32}))
	hs := serveHTTP(t, s)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	var got tally
	var calls atomic.Int64
	stop := make(chan struct{})
	wait := callers(64, stop, func(w, i int) {
		q := "SELECT id, name FROM customers ORDER BY id LIMIT 10"
		if (w+i)%4 == 0 {
			q = slow
		}
		outcome, detail := rawCall(context.Background(), hc, hs.URL+"/mcp", w*100000+i, q)
		got.add(outcome, detail)
		calls.Add(1)
		if outcome == "refused" {
			time.Sleep(50 * time.Millisecond) // a client backing off
		}
	})
	// Ten seconds of load, Shutdown in the middle of them.
	begin := time.Now()
	time.Sleep(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx)
	t.Logf("Shutdown after %d calls took %v: %v", calls.Load(), time.Since(start), err)
	time.Sleep(time.Until(begin.Add(10 * time.Second)))
	close(stop)
	wait()
	t.Logf("outcomes: %s", &got)
	got.mu.Lock()
	defer got.mu.Unlock()
	if got.n["lost"] != 0 {
		t.Errorf("%d calls got no response: %s", got.n["lost"], got.samples["lost"])
	}
	if got.n["answered"] == 0 || got.n["refused"] == 0 {
		t.Errorf("want answered calls before Shutdown and refused ones after: %v", got.n)
	}
}

// The database stops in the middle of a 64-caller run and starts again:
// every call returns a result or a clear tool error within its time limit,
// readiness follows within a health interval each way, with no restart of
// the host, and no connection is left in use afterwards.
func TestLoadDatabaseRestart(t *testing.T) {
	testdb.Load(t)
	db := restartableDatabase(t)
	const interval = 100 * time.Millisecond
	s := newServer(t, db.dsn, doris.WithPoolLimits(doris.PoolLimits{HealthCheckInterval: interval, Wait: time.Second}))
	hs := serveHTTP(t, s)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	waitFor(t, 5*time.Second, "readiness", func() bool { return status(t, hs.URL+"/ready") == http.StatusOK })

	var got tally
	var slowest atomic.Int64
	stop := make(chan struct{})
	wait := callers(64, stop, func(w, i int) {
		start := time.Now()
		outcome, detail := rawCall(context.Background(), hc, hs.URL+"/mcp", w*100000+i, "SELECT COUNT(*) FROM seq_1_to_100")
		took := time.Since(start)
		for old := slowest.Load(); int64(took) > old && !slowest.CompareAndSwap(old, int64(took)); old = slowest.Load() {
		}
		if outcome == "tool error" && internals.MatchString(detail) {
			outcome = "unclear error"
		}
		got.add(outcome, detail)
	})
	waitFor(t, 30*time.Second, "calls to be answered", func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.n["answered"] >= 100
	})

	db.stop()
	down := time.Now()
	waitFor(t, 10*interval+5*time.Second, "/ready to report Doris down", func() bool { return status(t, hs.URL+"/ready") == http.StatusServiceUnavailable })
	t.Logf("/ready said 503 %v after the database stopped", time.Since(down))
	waitFor(t, 30*time.Second, "calls to fail while it is down", func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.n["tool error"] >= 10
	})

	db.start()
	up := time.Now()
	waitFor(t, 10*interval+5*time.Second, "/ready to report Doris back", func() bool { return status(t, hs.URL+"/ready") == http.StatusOK })
	t.Logf("/ready said 200 %v after the database came back", time.Since(up))
	answeredBefore := func() int { got.mu.Lock(); defer got.mu.Unlock(); return got.n["answered"] }()
	waitFor(t, 30*time.Second, "calls to be answered again", func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.n["answered"] >= answeredBefore+100
	})
	close(stop)
	wait()
	t.Logf("outcomes: %s; slowest call %v", &got, time.Duration(slowest.Load()))
	got.mu.Lock()
	bad := got.n["lost"] != 0 || got.n["unclear error"] != 0
	got.mu.Unlock()
	if bad {
		t.Errorf("calls lost or failing without a clear message: %s", &got)
	}
	// Each call's limit is 5 s; a call during the outage waits at most the
	// pool wait or the dial timeout.
	if d := time.Duration(slowest.Load()); d > 5*time.Second+clientGraceForTests {
		t.Errorf("a call took %v, beyond its time limit", d)
	}
	waitFor(t, 5*time.Second, "no connection in use", func() bool { return doris.PoolStatsOf(s.Pool())[0].InUse == 0 })
}

// internals matches what a caller should never be shown: the driver's and
// the network's own words, addresses. The database's messages about its
// own state ("Query execution was interrupted") are clear enough.
var internals = regexp.MustCompile(`(?i)driver:|invalid connection|\bEOF\b|broken pipe|connection reset|dial tcp|unix\(`)

// clientGraceForTests is the slack past a call's time limit that counts as
// within it: the client's own deadline comes a moment after the engine's.
const clientGraceForTests = time.Second

// A stdio client that goes away mid-call (its pipe closed) has the call's
// query killed in the engine.
func TestStdioClientGoneKillsQuery(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn)
	clientR, serverW := io.Pipe()
	serverR, clientW := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- s.ServeTransport(context.Background(), &mcp.IOTransport{Reader: serverR, Writer: serverW})
	}()
	go io.Copy(io.Discard, clientR)
	for _, line := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + testdb.LongQuery + `","timeout_seconds":120}}}`,
	} {
		if _, err := io.WriteString(clientW, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
	start := time.Now()
	clientW.Close() // the client is gone
	clientR.Close()
	waitFor(t, 2*time.Second, "the query to be killed", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
	t.Logf("query gone %v after the client's pipe closed", time.Since(start))
	<-served
}

// restartable is a database a test may stop and start again at the same
// address: a MariaDB of its own when the suite runs against MariaDB
// (DORIS_TEST_DSN set and mariadbd installed), else a simulator.
type restartable struct {
	dsn         string
	stop, start func()
}

func restartableDatabase(t *testing.T) *restartable {
	t.Helper()
	if testdb.Real() {
		if _, err := exec.LookPath("mariadbd"); err == nil {
			return privateMariaDB(t)
		}
	}
	sim, err := dorissim.Start(dorissim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := sim.Addr()
	t.Cleanup(func() { sim.Close() })
	return &restartable{
		dsn:  sim.DSN(dorissim.SampleDB),
		stop: func() { sim.Close() },
		start: func() {
			if sim, err = dorissim.Start(dorissim.Options{Addr: addr}); err != nil {
				t.Fatalf("restarting the simulator on %s: %v", addr, err)
			}
		},
	}
}

// privateMariaDB starts a MariaDB of the test's own in a temporary folder,
// on a unix socket, so stopping it touches nothing else.
func privateMariaDB(t *testing.T) *restartable {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "sock")
	install := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+filepath.Join(dir, "data"), "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	var cmd *exec.Cmd
	var exited chan struct{}
	r := &restartable{dsn: "root@unix(" + sock + ")/mysql"}
	r.start = func() {
		cmd = exec.Command("mariadbd", "--no-defaults", "--datadir="+filepath.Join(dir, "data"), "--socket="+sock,
			"--skip-networking", "--user=root", "--skip-log-bin", "--log-error="+filepath.Join(dir, "error.log"))
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting mariadbd: %v", err)
		}
		exited = make(chan struct{})
		go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(cmd, exited)
		db := openDB(t, r.dsn)
		waitFor(t, 30*time.Second, "the private MariaDB to answer", func() bool { return db.Ping() == nil })
		db.Close()
	}
	r.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}
	r.start()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			r.stop()
		}
	})
	return r
}
