package dorishttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no FE URL", Config{}},
		{"credentials in the URL", Config{FEURL: "http://root:" + testPassword + "@fe:8030"}},
		{"unparsable URL carrying the password", Config{FEURL: "http://root:" + testPassword + "@fe:80%30"}},
		{"not http", Config{FEURL: "ftp://fe:8030"}},
		{"no host", Config{FEURL: "http:///api"}},
		{"query in the URL", Config{FEURL: "http://fe:8030/?x=1"}},
		{"bare host", Config{FEURL: "fe:8030"}},
		{"BE without port", Config{FEURL: "http://fe:8030", Backends: []string{"be1"}}},
		{"BE port out of range", Config{FEURL: "http://fe:8030", Backends: []string{"be1:70000"}}},
		{"BE with a path", Config{FEURL: "http://fe:8030", Backends: []string{"be1/x:8040"}}},
		{"BE with user info", Config{FEURL: "http://fe:8030", Backends: []string{"u@be1:8040"}}},
		{"user with a colon", Config{FEURL: "http://fe:8030", User: "a:b"}},
		{"negative timeout", Config{FEURL: "http://fe:8030", Timeout: -time.Second}},
		{"negative size", Config{FEURL: "http://fe:8030", MaxResponseBytes: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Password = testPassword
			_, err := New(tt.cfg)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("New err = %v, want ErrInvalidArgument", err)
			}
			assertNoSecret(t, err)
		})
	}
}

func TestBackends(t *testing.T) {
	c := newTestClient(t, Config{FEURL: "http://fe:8030", Backends: []string{"BE2:8040", "be1:08040", "be2:8040"}})
	addr, err := BackendAddr("fe80::1", "8040")
	if err != nil {
		t.Fatalf("BackendAddr: %v", err)
	}
	if err := c.SetDiscoveredBackends([]string{addr, "be1:8040"}); err != nil {
		t.Fatalf("SetDiscoveredBackends: %v", err)
	}
	want := []string{"[fe80::1]:8040", "be1:8040", "be2:8040"}
	if diff := cmp.Diff(want, c.Backends()); diff != "" {
		t.Errorf("Backends (-want +got):\n%s", diff)
	}
	// A bad list leaves the discovered set as it was.
	if err := c.SetDiscoveredBackends([]string{"be3:8040", "nope"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("SetDiscoveredBackends err = %v, want ErrInvalidArgument", err)
	}
	if diff := cmp.Diff(want, c.Backends()); diff != "" {
		t.Errorf("Backends after a refused update (-want +got):\n%s", diff)
	}
	// Replacing the discovered set drops what was discovered before, not
	// what was configured.
	if err := c.SetDiscoveredBackends(nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"be1:8040", "be2:8040"}, c.Backends()); diff != "" {
		t.Errorf("Backends after clearing (-want +got):\n%s", diff)
	}
}

// failures is every way an endpoint can fail; each case runs against every
// method, so no method is left with a path that loses the endpoint name,
// hangs, reads without bound, or leaks the password.
var failures = []struct {
	name    string
	handler http.HandlerFunc
	wantErr error  // nil: some error
	wantMsg string // substring of the error
}{
	{
		name:    "Doris error code",
		handler: jsonReply(`{"msg":"Internal Error","code":500,"data":"NullPointerException","count":0}`),
		wantMsg: "Doris code 500 Internal Error: NullPointerException",
	},
	{
		name:    "Doris refuses the credentials",
		handler: jsonReply(`{"msg":"Unauthorized","code":401,"data":"Access denied for user 'mcp_reader'","count":0}`),
		wantErr: ErrUnauthorized,
		wantMsg: "Doris code 401 Unauthorized",
	},
	{name: "HTTP 401", handler: status(401, "text/plain", "go away"), wantErr: ErrUnauthorized, wantMsg: "HTTP 401"},
	{name: "HTTP 403", handler: status(403, "text/plain", "forbidden"), wantErr: ErrUnauthorized, wantMsg: "HTTP 403"},
	{name: "HTTP 404", handler: status(404, "text/html", "<html>Whitelabel Error Page</html>"), wantMsg: "HTTP 404"},
	{name: "HTTP 500", handler: status(500, "text/html", "<html><body>java.lang.RuntimeException</body></html>"), wantMsg: "HTTP 500"},
	{
		name:    "a proxy echoing the credentials",
		handler: echoCredentials,
		wantMsg: "[redacted]",
	},
	{
		name:    "garbage",
		handler: status(200, "text/html", "<html><head><title>Login</title></head><body>{ not: json } #$%^</body></html>"),
		wantMsg: "Login",
	},
}

func jsonReply(body string) http.HandlerFunc { return status(200, "application/json", body) }

func status(code int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

// echoCredentials answers like a debugging proxy that puts the request's
// Authorization header and decoded password into its error page.
func echoCredentials(w http.ResponseWriter, r *http.Request) {
	_, pass, _ := r.BasicAuth()
	w.WriteHeader(502)
	fmt.Fprintf(w, "upstream failed for %s (password %s)", r.Header.Get("Authorization"), pass)
}

// call is one Client method, invoked the way a tool would.
type call struct {
	name string
	run  func(ctx context.Context, c *Client) error
}

func calls(beAddr string) []call {
	return []call{
		{"FEVersion", func(ctx context.Context, c *Client) error { _, err := c.FEVersion(ctx); return err }},
		{"TableDataSize", func(ctx context.Context, c *Client) error {
			_, err := c.TableDataSize(ctx, "tpch", "lineitem", true)
			return err
		}},
		{"QueryIDByTraceID", func(ctx context.Context, c *Client) error {
			_, err := c.QueryIDByTraceID(ctx, "trace-1")
			return err
		}},
		{"ProfileText", func(ctx context.Context, c *Client) error {
			_, err := c.ProfileText(ctx, "fb1d9737de914af1-a498d5c5dec638d3")
			return err
		}},
		{"FEMetrics", func(ctx context.Context, c *Client) error { _, err := c.FEMetrics(ctx); return err }},
		{"BEMetrics", func(ctx context.Context, c *Client) error { _, err := c.BEMetrics(ctx, beAddr); return err }},
	}
}

func TestFailures(t *testing.T) {
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			n := newNode(t)
			n.mux.HandleFunc("/", f.handler)
			c := newTestClient(t, Config{FEURL: n.URL, Backends: []string{n.addr()}})
			for _, cl := range calls(n.addr()) {
				err := cl.run(context.Background(), c)
				if err == nil {
					t.Errorf("%s: no error", cl.name)
					continue
				}
				assertNoSecret(t, err)
				if f.wantErr != nil && !errors.Is(err, f.wantErr) {
					t.Errorf("%s: err = %v, want %v", cl.name, err, f.wantErr)
				}
				if !strings.Contains(err.Error(), f.wantMsg) {
					t.Errorf("%s: err = %q, want it to contain %q", cl.name, err, f.wantMsg)
				}
				if !strings.Contains(err.Error(), n.URL+"/") {
					t.Errorf("%s: err = %q does not name the endpoint", cl.name, err)
				}
			}
			assertAuth(t, n.requests())
		})
	}
}

func TestNodeDown(t *testing.T) {
	n := newNode(t)
	url, addr := n.URL, n.addr()
	n.Close()
	c := newTestClient(t, Config{FEURL: url, Backends: []string{addr}})
	for _, cl := range calls(addr) {
		err := cl.run(context.Background(), c)
		if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), url+"/") {
			t.Errorf("%s: err = %v, want connection refused naming %s", cl.name, err, url)
		}
		assertNoSecret(t, err)
	}
}

// TestSlow: a node that sends nothing, or stops in the middle of the body,
// is abandoned at the time limit. The handler holds until the client gives
// up, so the test waits for exactly that event.
func TestSlow(t *testing.T) {
	for _, midBody := range []bool{false, true} {
		t.Run(fmt.Sprintf("midBody=%v", midBody), func(t *testing.T) {
			n := newNode(t)
			arrived := make(chan struct{}, 16)
			n.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				if midBody {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(`{"msg":"success","code":0,"data":`))
					w.(http.Flusher).Flush()
				}
				arrived <- struct{}{}
				<-r.Context().Done() // until the client hangs up
			})
			const limit = 50 * time.Millisecond
			c := newTestClient(t, Config{FEURL: n.URL, Backends: []string{n.addr()}, Timeout: limit})
			for _, cl := range calls(n.addr()) {
				start := time.Now()
				err := cl.run(context.Background(), c)
				<-arrived
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no complete response within 50ms") {
					t.Errorf("%s: err = %v, want the time limit", cl.name, err)
				}
				if el := time.Since(start); el < limit {
					t.Errorf("%s: returned after %v, before the limit", cl.name, el)
				}
			}
		})
	}
}

// A caller's own cancellation is reported as such, not as the Client's
// time limit.
func TestCallerCancels(t *testing.T) {
	n := newNode(t)
	arrived := make(chan struct{})
	n.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	c := newTestClient(t, Config{FEURL: n.URL})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := c.FEVersion(ctx)
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "within") {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestTooLarge: a 50 MB body is refused at the limit, without being held
// in memory and without reading it to the end.
func TestTooLarge(t *testing.T) {
	const (
		bodySize = 50 << 20
		limit    = 256 << 10
	)
	for _, cl := range calls("") {
		t.Run(cl.name, func(t *testing.T) {
			n := newNode(t)
			written := make(chan int, 1)
			n.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				// Valid-looking text for each parser: JSON that never
				// closes, or metric lines.
				chunk := []byte(strings.Repeat(`{"msg":"success","code":0,"data":"`+strings.Repeat("x", 990), 64))
				if strings.HasSuffix(r.URL.Path, "/metrics") {
					chunk = []byte(strings.Repeat("doris_be_x{n=\"1\"} 1\n", 3200))
				}
				total := 0
				for total < bodySize {
					m, err := w.Write(chunk)
					total += m
					if err != nil {
						break
					}
				}
				written <- total
			})
			c := newTestClient(t, Config{FEURL: n.URL, Backends: []string{n.addr()}, MaxResponseBytes: limit, MaxMetricsBytes: limit})
			if cl.name == "BEMetrics" {
				cl = calls(n.addr())[5]
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := cl.run(context.Background(), c)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("response exceeds %d bytes", limit)) {
				t.Fatalf("err = %v, want ErrTooLarge at %d bytes", err, limit)
			}
			assertNoSecret(t, err)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d bytes", alloc)
			if alloc > 16<<20 {
				t.Errorf("allocated %d bytes for a %d-byte limit", alloc, limit)
			}
			if total := <-written; total >= bodySize {
				t.Errorf("server wrote all %d bytes: the client read the body to the end", total)
			}
		})
	}
}

// A redirect to another host is refused, so the credentials never reach
// it; a redirect on the same host is followed with them.
func TestRedirects(t *testing.T) {
	other := newNode(t)
	other.reply("/", "application/json", feVersionBody)
	fe := newNode(t)
	fe.mux.HandleFunc("GET /api/fe_version_info", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/fe_version_info", http.StatusTemporaryRedirect)
	})
	c := newTestClient(t, Config{FEURL: fe.URL})
	_, err := c.FEVersion(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing redirect to "+other.URL) {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the other host received %d requests", n)
	}

	same := newNode(t)
	same.mux.HandleFunc("GET /api/fe_version_info", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved/fe_version_info", http.StatusFound)
	})
	same.reply("GET /moved/fe_version_info", "application/json", feVersionBody)
	c = newTestClient(t, Config{FEURL: same.URL})
	if _, err := c.FEVersion(context.Background()); err != nil {
		t.Fatalf("same-host redirect: %v", err)
	}
	assertAuth(t, same.requests())
}

// Without a password, no Authorization header is sent at all.
func TestNoCredentials(t *testing.T) {
	fe := newNode(t)
	fe.reply("/api/fe_version_info", "application/json", feVersionBody)
	c, err := New(Config{FEURL: fe.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.FEVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := fe.requests()[0]; r.HasAuth {
		t.Errorf("Authorization sent without credentials: %+v", r)
	}
}

// The FE URL's path prefix is kept, for FEs behind a reverse proxy.
func TestFEURLPrefix(t *testing.T) {
	fe := newNode(t)
	fe.reply("GET /doris/fe/api/fe_version_info", "application/json", feVersionBody)
	c := newTestClient(t, Config{FEURL: fe.URL + "/doris/fe/"})
	if _, err := c.FEVersion(context.Background()); err != nil {
		t.Fatalf("FEVersion: %v", err)
	}
}

// A redirect loop on the same host ends with an error instead of spinning.
func TestRedirectLoop(t *testing.T) {
	fe := newNode(t)
	fe.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	})
	c := newTestClient(t, Config{FEURL: fe.URL})
	if _, err := c.FEVersion(context.Background()); err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Fatalf("err = %v, want the redirect limit", err)
	}
}

// A caller's http.Client is copied: its own redirect policy is left alone,
// and the copy still refuses to carry the credentials to another host.
func TestCallerHTTPClient(t *testing.T) {
	other := newNode(t)
	other.reply("/", "application/json", feVersionBody)
	fe := newNode(t)
	fe.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	mine := &http.Client{}
	c := newTestClient(t, Config{FEURL: fe.URL, HTTPClient: mine})
	if _, err := c.FEVersion(context.Background()); err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
	if mine.CheckRedirect != nil {
		t.Error("New changed the caller's http.Client")
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the other host received %d requests", n)
	}
	mine.CloseIdleConnections()
}

func TestDefaults(t *testing.T) {
	c := newTestClient(t, Config{FEURL: "http://fe:8030"})
	got := []any{c.timeout, c.maxBody, c.maxMetrics}
	want := []any{10 * time.Second, int64(8 << 20), int64(4 << 20)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeout, body and metrics limits (-want +got):\n%s", diff)
	}
}

// Bodies are read to the end on success, so one connection serves many
// requests.
func TestConnectionReuse(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	fe := newNode(t, func(s *http.Server) {
		s.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				mu.Lock()
				conns++
				mu.Unlock()
			}
		}
	})
	fe.reply("/api/fe_version_info", "application/json", feVersionBody)
	fe.reply("/metrics", "text/plain", feMetricsBody)
	c := newTestClient(t, Config{FEURL: fe.URL})
	for range 3 {
		if _, err := c.FEVersion(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FEMetrics(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("%d connections for 6 sequential requests, want 1", conns)
	}
}

// Text the caller supplied reaches errors through the URL; if the caller
// supplies the password there, the error still does not show it.
func TestPasswordInArgumentsIsRedacted(t *testing.T) {
	fe := newNode(t)
	fe.reply("/api/show_table_data", "application/json", `{"msg":"Error","code":1,"data":"database `+testPassword+` not found.","count":0}`)
	c := newTestClient(t, Config{FEURL: fe.URL})
	_, err := c.TableDataSize(context.Background(), testPassword, "", false)
	if err == nil || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("err = %v, want an error with the password redacted", err)
	}
	assertNoSecret(t, err)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 1 {
		t.Errorf("errors.As(*APIError) lost through redaction: %v", err)
	}
}
