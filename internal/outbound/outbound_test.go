package outbound_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/outbound"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://idp.example.com/jwks", "https://idp.example.com/jwks"},
		{"https://user:pass@idp.example.com/jwks", "https://idp.example.com/jwks"},
		{"https://user@idp.example.com/jwks", "https://idp.example.com/jwks"},
		{"https://idp.example.com/jwks?api_key=s3cret&x=1", "https://idp.example.com/jwks?…"},
		{"https://idp.example.com/jwks?", "https://idp.example.com/jwks?…"},
		{"https://u:p@idp.example.com:8443/a/b?k=v#frag", "https://idp.example.com:8443/a/b?…"},
		{"http://127.0.0.1:9000/introspect", "http://127.0.0.1:9000/introspect"},
		{"https://idp.example.com/jwks?…", "https://idp.example.com/jwks?…"}, // idempotent
		{"http://[::1]:namedport", "(unparseable URL)"},
	}
	for _, tc := range tests {
		if got := outbound.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, ok := range []string{"https://idp.example.com/jwks", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:80/x"} {
		if err := outbound.CheckURL(ok); err != nil {
			t.Errorf("CheckURL(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"http://idp.example.com/jwks", "https:///nohost", "ftp://127.0.0.1/x", "/relative", "http://localhost.evil.example/x", "::"} {
		if err := outbound.CheckURL(bad); err == nil {
			t.Errorf("CheckURL(%q) accepted", bad)
		}
	}
}

// TestClientRefusesRedirects: a redirect is an error naming the target
// redacted, and the target never sees a request, the Authorization header
// and form included.
func TestClientRefusesRedirects(t *testing.T) {
	var reached atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer target.Close()
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/stolen?key=s3cret", code)
		}))
		req, _ := http.NewRequest(http.MethodPost, origin.URL+"/introspect", strings.NewReader("token=caller-token"))
		req.Header.Set("Authorization", "Bearer client-token")
		resp, err := outbound.Client(nil, 5*time.Second).Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		origin.Close()
		if !errors.Is(err, outbound.ErrRedirect) {
			t.Fatalf("HTTP %d: err %v, want ErrRedirect", code, err)
		}
		if msg := outbound.Scrub(err).Error(); strings.Contains(msg, "s3cret") || !strings.Contains(msg, "/stolen?…") {
			t.Errorf("HTTP %d: error %q", code, msg)
		}
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

// TestScrub: a failed request's error names its URL without userinfo or
// query.
func TestScrub(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	addr := hs.URL
	hs.Close() // nothing listens there any more
	raw := strings.Replace(addr, "http://", "http://alice:pw@", 1) + "/jwks?api_key=s3cret"
	req, _ := http.NewRequest(http.MethodGet, raw, nil)
	_, err := outbound.Client(nil, 5*time.Second).Do(req)
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	msg := outbound.Scrub(err).Error()
	for _, leak := range []string{"alice", "s3cret", "api_key"} {
		if strings.Contains(msg, leak) {
			t.Errorf("error %q shows %q", msg, leak)
		}
	}
	if !strings.Contains(msg, addr+"/jwks?…") {
		t.Errorf("error %q does not name the redacted URL", msg)
	}
	if err := outbound.Scrub(errors.New("plain")); err.Error() != "plain" {
		t.Errorf("Scrub changed an error without a URL: %v", err)
	}
}
