package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// failsafe bounds every wait for an event from the command, so a broken
// command fails the test instead of hanging it. Nothing waits for it to
// pass: every wait ends on the event itself.
const failsafe = 30 * time.Second

// asCommand makes this test binary the command when it is set in its
// environment: the tests run it as they would the built command, without
// linking a second binary.
const asCommand = "DORISMCP_TEST_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(asCommand) == "1" {
		os.Exit(run(os.Args[1:], os.LookupEnv, os.Stderr))
	}
	os.Setenv(asCommand, "1") // for the processes the tests start
	os.Exit(m.Run())
}

// build returns the command to run: this test binary (see TestMain).
func build(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// cleanEnv is the environment without any Doris configuration, so the
// command serves the sample database.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DORIS_") && !strings.HasPrefix(kv, "TRANSPORT=") && !strings.HasPrefix(kv, "SERVER_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runInProcess runs the command in this process, as main does, in the
// environment env, and returns its exit status and what it wrote. It is
// for what ends before serving: a configuration the command wrongly
// accepts would serve, and fails the test after failsafe.
func runInProcess(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	vars := make(map[string]string)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	var out strings.Builder
	var mu sync.Mutex
	done := make(chan int, 1)
	go func() { done <- run(args, lookup, lockedWriter{&mu, &out}) }()
	select {
	case code := <-done:
		return code, out.String()
	case <-time.After(failsafe):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the command is still running after %v:\n%s", failsafe, out.String())
		return 0, ""
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// logWatch is the command's stderr: it keeps what was written and lets a
// test wait for a line to appear.
type logWatch struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{} // closed and replaced at every write
}

func newLogWatch() *logWatch { return &logWatch{changed: make(chan struct{})} }

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor returns the submatches of the first match of re in the log,
// waiting for it to be written.
func (w *logWatch) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.NewTimer(failsafe)
	defer timeout.Stop()
	for {
		w.mu.Lock()
		m := re.FindStringSubmatch(w.buf.String())
		changed := w.changed
		w.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("the command never logged %q:\n%s", re, w.String())
		}
	}
}

// process is a running command.
type process struct {
	cmd    *exec.Cmd
	stderr *logWatch
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// start runs bin with args and env; the process is killed at the end of
// the test if it is still running.
func start(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), stderr: newLogWatch(), exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	return p
}

// kill ends the process if it is still running and waits for it.
func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

var urlRE = regexp.MustCompile(`url=(http://\S+)`)

// startHTTP runs bin serving HTTP on a free port and returns its MCP
// endpoint.
func startHTTP(t *testing.T, bin string, env []string, args ...string) (*process, string) {
	t.Helper()
	p := start(t, bin, env, append([]string{"-port", "0"}, args...)...)
	return p, p.stderr.waitFor(t, urlRE)[1]
}

// wait returns the exit error and how long the process took to exit from
// now, failing the test if it does not exit within limit.
func (p *process) wait(t *testing.T, limit time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	select {
	case <-p.exited:
		return time.Since(start), p.err
	case <-time.After(limit):
		t.Fatalf("the command did not exit within %v:\n%s", limit, p.stderr.String())
		return 0, nil
	}
}

func (p *process) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func connect(t *testing.T, endpoint string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: endpoint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	bin := build(t)

	t.Run("help", func(t *testing.T) {
		t.Parallel()
		code, out := runInProcess(t, cleanEnv(), "-h")
		if code != 0 {
			t.Errorf("-h exited %d, want 0", code)
		}
		// Every variable readCluster reads, as its source names them.
		src, err := os.ReadFile("env.go")
		if err != nil {
			t.Fatal(err)
		}
		vars := regexp.MustCompile(`DORIS_[A-Z_]+[A-Z]`).FindAllString(string(src), -1)
		if len(vars) < 12 {
			t.Fatalf("found %d variables in env.go: %v", len(vars), vars)
		}
		for _, want := range append([]string{
			"-transport", "-host", "-port", "-shutdown-timeout", "-stateful", "-session-idle", "-v",
			"TRANSPORT", "SERVER_HOST", "SERVER_PORT",
		}, vars...) {
			if !strings.Contains(string(out), want) {
				t.Errorf("-h does not mention %s:\n%s", want, out)
			}
		}
		// Dependencies register flags on the global FlagSet; they are not
		// the command's.
		if regexp.MustCompile(`(?m)^\s*-mysql_`).MatchString(out) {
			t.Errorf("-h lists a dependency's flags:\n%s", out)
		}
	})

	t.Run("refused configuration", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			env  []string
			args []string
			want string
		}{
			{"user without host", []string{"DORIS_USER=reader"}, nil, "DORIS_HOST"},
			{"password without host", []string{"DORIS_PASSWORD=secret"}, nil, "DORIS_HOST"},
			{"database without host", []string{"DORIS_DATABASE=sales"}, nil, "DORIS_HOST"},
			{"port without host", []string{"DORIS_PORT=9030"}, nil, "DORIS_HOST"},
			{"bad SERVER_PORT", []string{"SERVER_PORT=http"}, nil, "SERVER_PORT"},
			{"unknown transport", []string{"TRANSPORT=sse"}, nil, `unknown transport "sse"`},
			{"unknown flag", nil, []string{"-nosuch"}, "flag provided but not defined: -nosuch"},
			{"stateful takes no duration", nil, []string{"-stateful", "5m"}, `unexpected argument "5m"`},
			{"session-idle without stateful", nil, []string{"-session-idle", "5m"}, "-stateful"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				code, out := runInProcess(t, cleanEnv(tc.env...), tc.args...)
				if code != 2 {
					t.Errorf("exit status %d, want 2:\n%s", code, out)
				}
				if !strings.Contains(string(out), tc.want) {
					t.Errorf("output does not say %q:\n%s", tc.want, out)
				}
				if strings.Contains(string(out), "secret") {
					t.Errorf("output shows the password:\n%s", out)
				}
			})
		}
	})

	t.Run("stdio", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(bin)
		cmd.Env = cleanEnv("TRANSPORT=stdio")
		stderr := newLogWatch()
		cmd.Stderr = stderr
		ctx := context.Background()
		c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
		cs, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
		if err != nil {
			t.Fatalf("connect: %v\n%s", err, stderr.String())
		}
		// The client is told it is not looking at a cluster.
		if got := cs.InitializeResult().Instructions; !strings.Contains(got, "built-in sample database") ||
			!strings.Contains(got, "not to an Apache Doris cluster") ||
			!strings.Contains(got, "is not Doris: EXPLAIN") {
			t.Errorf("instructions do not say the data is the sample database, nor what it lacks:\n%s", got)
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_db_list"})
		if err != nil || res.IsError {
			t.Fatalf("get_db_list: %v %+v", err, res)
		}
		b, _ := json.Marshal(res.StructuredContent)
		if !strings.Contains(string(b), `"sample"`) {
			t.Errorf("sample database not listed: %s", b)
		}
		// Closing stdin ends the session; the command exits cleanly.
		if err := cs.Close(); err != nil {
			t.Errorf("close: %v\n%s", err, stderr.String())
		}
		// And so is the operator, loudly.
		if !regexp.MustCompile(`level=WARN msg="[^"]*built-in sample database.* dsn="?[^ ]+@tcp\(127\.0\.0\.1:[0-9]+\)/sample`).MatchString(stderr.String()) {
			t.Errorf("the command did not warn that it serves the sample database:\n%s", stderr.String())
		}
	})

	t.Run("stateful switch", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			args        []string
			wantSession bool
		}{
			{nil, false},
			{[]string{"-stateful"}, true},
			{[]string{"-stateful", "-session-idle", "1h"}, true},
			{[]string{"-stateful=false"}, false},
		} {
			t.Run(strings.Join(append([]string{"args"}, tc.args...), " "), func(t *testing.T) {
				t.Parallel()
				_, endpoint := startHTTP(t, bin, cleanEnv(), tc.args...)
				cs := connect(t, endpoint)
				if got := cs.ID() != ""; got != tc.wantSession {
					t.Errorf("session id %q: kept %v, want %v", cs.ID(), got, tc.wantSession)
				}
				res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_db_list"})
				if err != nil || res.IsError {
					t.Fatalf("get_db_list: %v %+v", err, res)
				}
			})
		}
	})

	t.Run("http and SIGTERM", func(t *testing.T) {
		t.Parallel()
		p, endpoint := startHTTP(t, bin, cleanEnv(), "-shutdown-timeout", "5s")
		cs := connect(t, endpoint)
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "exec_query", Arguments: map[string]any{"sql": "SELECT COUNT(*) FROM orders"}})
		if err != nil || res.IsError {
			t.Fatalf("exec_query: %v %+v", err, res)
		}
		resp, err := http.Get(strings.TrimSuffix(endpoint, "/mcp") + "/live")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/live: %s", resp.Status)
		}

		p.signal(t, syscall.SIGTERM)
		took, err := p.wait(t, failsafe)
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
		t.Logf("exited %v after SIGTERM", took)
	})

	// The command wires the OpenTelemetry SDK: Prometheus text at /metrics
	// with -metrics, OTLP over HTTP to the standard variables' endpoint,
	// flushed at exit.
	t.Run("telemetry", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		got := map[string]int{}
		collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			mu.Lock()
			got[r.URL.Path]++
			mu.Unlock()
		}))
		defer collector.Close()
		p, endpoint := startHTTP(t, bin, cleanEnv("OTEL_EXPORTER_OTLP_ENDPOINT="+collector.URL), "-metrics")
		cs := connect(t, endpoint)
		if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "exec_query", Arguments: map[string]any{"sql": "SELECT COUNT(*) FROM orders"}}); err != nil || res.IsError {
			t.Fatalf("exec_query: %v %+v", err, res)
		}
		resp, err := http.Get(strings.TrimSuffix(endpoint, "/mcp") + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, name := range []string{"mcp_server_operation_duration", "db_client_operation_duration", "doris_mcp_result_rows"} {
			if !strings.Contains(string(body), name) {
				t.Errorf("/metrics lacks %s", name)
			}
		}
		p.signal(t, syscall.SIGTERM)
		if _, err := p.wait(t, failsafe); err != nil {
			t.Errorf("exit: %v\n%s", err, p.stderr.String())
		}
		mu.Lock()
		defer mu.Unlock()
		if got["/v1/traces"] == 0 || got["/v1/metrics"] == 0 {
			t.Errorf("OTLP collector received %v, want traces and metrics flushed at exit", got)
		}
	})

	// net/http counts a connection accepted without a request yet as busy
	// for five seconds; it must not hold the exit, nor make it a failure.
	t.Run("idle connection at SIGTERM", func(t *testing.T) {
		t.Parallel()
		p, endpoint := startHTTP(t, bin, cleanEnv(), "-shutdown-timeout", "4s")
		u, err := url.Parse(endpoint)
		if err != nil {
			t.Fatal(err)
		}
		idle, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		// The server accepts connections in order: once a later one has
		// been served, the idle one has been accepted and is tracked.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://" + u.Host + "/live")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()

		p.signal(t, syscall.SIGTERM)
		took, err := p.wait(t, failsafe)
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
		t.Logf("exited %v after SIGTERM", took)
	})

	t.Run("second SIGTERM stops the drain", func(t *testing.T) {
		t.Parallel()
		const shutdownTimeout = 10 * time.Minute
		p, endpoint := startHTTP(t, bin, cleanEnv(), "-v", "-shutdown-timeout", shutdownTimeout.String())
		cs := connect(t, endpoint)
		// Should the test fail, the call in flight would hold the client's
		// Close: end the server first.
		t.Cleanup(p.kill)
		type outcome struct {
			res *mcp.CallToolResult
			err error
		}
		called := make(chan outcome, 1)
		go func() {
			// The query waits ten minutes before its first row; it may run
			// five.
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "exec_query", Arguments: map[string]any{
				"sql":             "SELECT COUNT(*) FROM seq_1_to_1_wait_600000ms",
				"timeout_seconds": 300,
			}})
			called <- outcome{res, err}
		}()
		p.stderr.waitFor(t, regexp.MustCompile(`msg="call started" method=tools/call tool=exec_query`))

		p.signal(t, syscall.SIGTERM)
		// The client may have a request of its own in flight beside the call.
		p.stderr.waitFor(t, regexp.MustCompile(`msg="shutdown started" in_flight=[1-9]`))
		p.signal(t, syscall.SIGTERM)
		took, err := p.wait(t, failsafe)
		t.Logf("exited %v after the second SIGTERM (%v)", took, err)
		// The calls were cut short: the exit says so.
		if code := exitCode(err); code != 1 {
			t.Errorf("exit status %d, want 1\n%s", code, p.stderr.String())
		}
		if !regexp.MustCompile(`[1-9] calls cancelled`).MatchString(p.stderr.String()) {
			t.Errorf("the command did not report the cancelled call:\n%s", p.stderr.String())
		}

		var got outcome
		select {
		case got = <-called:
		case <-time.After(failsafe):
			t.Fatal("the call never returned")
		}
		if got.err != nil {
			t.Fatalf("the call failed instead of answering with an error result: %v\n%s", got.err, p.stderr.String())
		}
		if !got.res.IsError {
			t.Errorf("the call answered %q, want an error result", resultText(got.res))
		}
		t.Logf("the call answered: %s", resultText(got.res))
	})
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want config
	}{
		{
			name: "defaults",
			want: config{transport: "http", addr: "127.0.0.1:3000", grace: 30 * time.Second, sessionIdle: 30 * time.Minute},
		},
		{
			name: "environment",
			env:  map[string]string{"TRANSPORT": "streamable-http", "SERVER_HOST": "0.0.0.0", "SERVER_PORT": "8080"},
			args: []string{"-insecure-no-auth"}, // a non-loopback host needs authentication or this
			want: config{transport: "http", addr: "0.0.0.0:8080", grace: 30 * time.Second, sessionIdle: 30 * time.Minute},
		},
		{
			name: "flags override the environment",
			env:  map[string]string{"TRANSPORT": "http", "SERVER_HOST": "203.0.113.9", "SERVER_PORT": "8080"},
			args: []string{"-transport", "stdio", "-host", "::1", "-port", "9000", "-shutdown-timeout", "1m",
				"-stateful", "-session-idle", "0", "-v"},
			want: config{transport: "stdio", addr: "[::1]:9000", grace: time.Minute, stateful: true, verbose: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			var out strings.Builder
			got, err := parseConfig(tc.args, lookup, &out)
			if err != nil {
				t.Fatalf("parseConfig: %v\n%s", err, out.String())
			}
			got.auth, got.lookup = nil, nil // functions; TestAuthOptions checks the options
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}

	// A cluster in the environment gives the library its options.
	got, err := parseConfig(nil, func(k string) (string, bool) {
		v, ok := map[string]string{"DORIS_HOST": "fe.internal", "DORIS_USER": "reader"}[k]
		return v, ok
	}, io.Discard)
	if err != nil || got.cluster == nil {
		t.Errorf("DORIS_HOST set: cluster %v, err %v; want one", got.cluster, err)
	}
}

func TestWatchSignals(t *testing.T) {
	waitDone := func(t *testing.T, what string, done <-chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(failsafe):
			t.Fatalf("%s never happened", what)
		}
	}
	t.Run("two signals", func(t *testing.T) {
		sigs := make(chan os.Signal)
		released := make(chan struct{})
		stop := watchSignals(sigs, func() { close(released) }, slog.New(slog.DiscardHandler))
		defer stop.close()

		sigs <- syscall.SIGTERM
		waitDone(t, "the graceful stop", stop.graceful)
		if stop.shutdown.Err() != nil {
			t.Fatalf("one signal cancelled the shutdown: %v", stop.shutdown.Err())
		}
		sigs <- syscall.SIGINT
		waitDone(t, "the release of the signals", released)
		waitDone(t, "the end of the shutdown context", stop.shutdown.Done())
	})
	t.Run("no signal", func(t *testing.T) {
		released := make(chan struct{})
		stop := watchSignals(make(chan os.Signal), func() { close(released) }, slog.New(slog.DiscardHandler))
		stop.close()
		waitDone(t, "the release of the signals", released)
		select {
		case <-stop.graceful:
			t.Error("graceful stop without a signal")
		default:
		}
	})
}

// The command's http.Server closes a keep-alive connection left idle
// between requests, and answers a request whose header is over the limit
// with 431. The idle timeout is short here; serveHTTP passes idleTimeout.
func TestHTTPServerLimits(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	hs := newHTTPServer("", ok, 100*time.Millisecond)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()

	t.Run("idle connection closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("first request: %s, close %v; want 200 on a connection kept alive", resp.Status, resp.Close)
		}
		// Idle now: the server must close the connection. The deadline
		// only keeps a server that never does from hanging the test.
		conn.SetReadDeadline(time.Now().Add(failsafe))
		if n, err := br.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("reading the idle connection: %d bytes, %v; want EOF, the server closing it", n, err)
		}
	})

	t.Run("header over the limit", func(t *testing.T) {
		for _, tc := range []struct {
			pad  int
			want int
		}{
			{maxHeaderBytes / 2, http.StatusOK},
			{maxHeaderBytes + 8<<10, http.StatusRequestHeaderFieldsTooLarge}, // past net/http's 4 KiB of slack
		} {
			req, err := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Pad", strings.Repeat("x", tc.pad))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("header of %d bytes: %v", tc.pad, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("header of %d bytes: %s, want %d", tc.pad, resp.Status, tc.want)
			}
		}
	})
}
