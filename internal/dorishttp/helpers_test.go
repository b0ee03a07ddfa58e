package dorishttp

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The password is a string that occurs nowhere else, so finding it in an
// error can only mean it leaked.
const (
	testUser     = "mcp_reader"
	testPassword = "Pw-7qZ!x9Lk*unique"
)

var testToken = base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))

// node is a fake FE or BE: a mux on an httptest server that records every
// request it receives.
type node struct {
	*httptest.Server
	mux *http.ServeMux

	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method  string
	RawPath string // path as sent, with its escaping
	Query   url.Values
	User    string
	Pass    string
	HasAuth bool
}

func newNode(t *testing.T, configure ...func(*http.Server)) *node {
	t.Helper()
	n := &node{mux: http.NewServeMux()}
	n.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		n.mu.Lock()
		n.reqs = append(n.reqs, recorded{
			Method: r.Method, RawPath: r.URL.EscapedPath(), Query: r.URL.Query(),
			User: user, Pass: pass, HasAuth: ok,
		})
		n.mu.Unlock()
		n.mux.ServeHTTP(w, r)
	}))
	for _, f := range configure {
		f(n.Config)
	}
	n.Start()
	t.Cleanup(n.Close)
	return n
}

func (n *node) requests() []recorded {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]recorded(nil), n.reqs...)
}

// addr is the node's host:port, the form BE addresses take.
func (n *node) addr() string {
	return strings.TrimPrefix(n.URL, "http://")
}

// reply registers a handler that writes body with a content type.
func (n *node) reply(pattern, contentType, body string) {
	n.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(body))
	})
}

func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.User == "" {
		cfg.User = testUser
	}
	if cfg.Password == "" {
		cfg.Password = testPassword
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// assertNoSecret fails when an error's text carries the password or the
// Basic token that encodes it.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, secret := range []string{testPassword, testToken} {
		if strings.Contains(msg, secret) {
			t.Errorf("error leaks a credential: %s", msg)
		}
	}
}

// assertAuth checks that every request carried the test credentials.
func assertAuth(t *testing.T, reqs []recorded) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	for _, r := range reqs {
		if !r.HasAuth || r.User != testUser || r.Pass != testPassword {
			t.Errorf("%s %s: Basic auth = (%q, %q, %v), want the test credentials", r.Method, r.RawPath, r.User, r.Pass, r.HasAuth)
		}
	}
}

// newNodeTB serves one handler for a benchmark and returns its URL.
func newNodeTB(tb testing.TB, h http.HandlerFunc) string {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}
