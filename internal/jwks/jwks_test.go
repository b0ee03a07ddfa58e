package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dorismcp/doris/internal/authn/authntest"
	"github.com/dorismcp/doris/internal/jwks"
)

var discard = slog.New(slog.DiscardHandler)

// short is an RSA key too short to be used.
var short = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return k
})

// run starts c's loop until the test ends, and waits for it to return.
func run(t *testing.T, c *jwks.Cache) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func hasKey(c *jwks.Cache, kid string) func() bool {
	return func() bool { _, ok := c.Key(kid); return ok }
}

func TestParse(t *testing.T) {
	k := authntest.Keys()
	body := authntest.KeySet(map[string]any{
		"rsa": &k.RSA.PublicKey, "ec": &k.EC.PublicKey, "ed": k.Ed.Public(),
		"oct": k.HMAC, "short": &short().PublicKey,
	})
	keys, err := jwks.Parse(body, discard)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for kid := range keys {
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	if diff := cmp.Diff([]string{"ec", "ed", "rsa"}, kids); diff != "" {
		t.Errorf("kids (-want +got):\n%s", diff)
	}
	if !keys["rsa"].(*rsa.PublicKey).Equal(&k.RSA.PublicKey) || !keys["ec"].(*ecdsa.PublicKey).Equal(&k.EC.PublicKey) || !keys["ed"].(ed25519.PublicKey).Equal(k.Ed.Public()) {
		t.Error("parsed keys differ from the published ones")
	}
	for _, bad := range []string{`{"keys": 3}`, `[]`, `not json`} {
		if _, err := jwks.Parse([]byte(bad), discard); err == nil {
			t.Errorf("Parse(%s): no error", bad)
		}
	}
	b64 := base64.RawURLEncoding.EncodeToString
	skipped := map[string]string{
		"a point off the curve":   fmt.Sprintf(`{"kty":"EC","kid":"x","crv":"P-256","x":%q,"y":%q}`, b64(make([]byte, 32)), b64(append(make([]byte, 31), 1))),
		"an encryption key":       fmt.Sprintf(`{"kty":"OKP","kid":"x","use":"enc","crv":"Ed25519","x":%q}`, b64(k.Ed.Public().(ed25519.PublicKey))),
		"an even RSA exponent":    fmt.Sprintf(`{"kty":"RSA","kid":"x","n":%q,"e":"Ag"}`, b64(k.RSA.N.Bytes())),
		"an unsupported curve":    fmt.Sprintf(`{"kty":"EC","kid":"x","crv":"P-192","x":%q,"y":%q}`, b64(make([]byte, 24)), b64(make([]byte, 24))),
		"a short Ed25519 key":     `{"kty":"OKP","kid":"x","crv":"Ed25519","x":"AAAA"}`,
		"an unknown type":         `{"kty":"XYZ","kid":"x"}`,
		"a truncated EC x":        fmt.Sprintf(`{"kty":"EC","kid":"x","crv":"P-256","x":%q,"y":%q}`, b64(make([]byte, 31)), b64(make([]byte, 32))),
		"an RSA key without an n": `{"kty":"RSA","kid":"x","e":"AQAB"}`,
	}
	for name, key := range skipped {
		if keys, err := jwks.Parse([]byte(`{"keys":[`+key+`]}`), discard); err != nil || len(keys) != 0 {
			t.Errorf("%s: keys %v, err %v; want it skipped", name, keys, err)
		}
	}
}

func TestCheckKey(t *testing.T) {
	k := authntest.Keys()
	for _, ok := range []any{[]byte(strings.Repeat("k", jwks.MinHMACKey)), &k.RSA.PublicKey, &k.EC.PublicKey, k.Ed.Public()} {
		if err := jwks.CheckKey(ok); err != nil {
			t.Errorf("CheckKey(%T): %v", ok, err)
		}
	}
	for _, bad := range []any{[]byte("short"), &short().PublicKey, k.RSA, (*ecdsa.PublicKey)(nil), ed25519.PublicKey{1, 2}, "a string", nil} {
		if err := jwks.CheckKey(bad); err == nil {
			t.Errorf("CheckKey(%T) accepted", bad)
		}
	}
}

// TestRunFetches: Run fetches the keys at once; a fetch that fails keeps
// the keys of the last one.
func TestRunFetches(t *testing.T) {
	k := authntest.Keys()
	is := authntest.NewJWKS(t, map[string]any{"r1": &k.RSA.PublicKey, "e1": &k.EC.PublicKey})
	c := jwks.New(is.URL, nil, time.Nanosecond, discard)
	if _, ok := c.Key("r1"); ok {
		t.Fatal("a key before any fetch")
	}
	run(t, c)
	authntest.WaitFor(t, "the first fetch's keys", hasKey(c, "r1"))
	if key, ok := c.Key("e1"); !ok || !key.(*ecdsa.PublicKey).Equal(&k.EC.PublicKey) {
		t.Errorf("e1 = %v, %v", key, ok)
	}

	is.Set(true, nil)
	before := is.Fetches()
	c.RefreshForKid()
	if is.Fetches() == before {
		t.Fatal("RefreshForKid did not fetch")
	}
	if _, ok := c.Key("r1"); !ok {
		t.Error("a failed fetch dropped the cached keys")
	}

	// A successful fetch replaces the whole set.
	is.SetBody(false, authntest.KeySet(map[string]any{"e2": &k.EC.PublicKey}))
	c.RefreshForKid()
	if _, ok := c.Key("r1"); ok {
		t.Error("r1 kept after a key set without it")
	}
	if _, ok := c.Key("e2"); !ok {
		t.Error("e2 missing after a key set with it")
	}
}

// TestRefreshForKid: a refresh for an unknown kid fetches at most once per
// gap, and not before Run.
func TestRefreshForKid(t *testing.T) {
	k := authntest.Keys()
	is := authntest.NewJWKS(t, map[string]any{"r1": &k.RSA.PublicKey})
	c := jwks.New(is.URL, nil, time.Hour, discard)
	c.RefreshForKid()
	if n := is.Fetches(); n != 0 {
		t.Fatalf("%d fetches before Run", n)
	}
	run(t, c)
	authntest.WaitFor(t, "the first fetch's keys", hasKey(c, "r1"))
	before := is.Fetches()
	for range 5 {
		c.RefreshForKid()
	}
	if got := is.Fetches() - before; got != 1 {
		t.Errorf("five refreshes within the gap fetched %d times, want 1", got)
	}
}

// TestRunRetries: a key set down at start is fetched again, with backoff,
// until it answers, without any refresh for a kid.
func TestRunRetries(t *testing.T) {
	k := authntest.Keys()
	is := authntest.NewJWKS(t, nil)
	is.Set(true, nil)
	c := jwks.New(is.URL, nil, time.Hour, discard)
	run(t, c)
	authntest.WaitFor(t, "a second failed fetch: the retry", func() bool { return is.Fetches() >= 2 })
	is.SetBody(false, authntest.KeySet(map[string]any{"r1": &k.RSA.PublicKey}))
	authntest.WaitFor(t, "the keys after the issuer came up", hasKey(c, "r1"))
}

// TestFetchBounds: what is not a usable key set keeps the keys already
// cached.
func TestFetchBounds(t *testing.T) {
	k := authntest.Keys()
	is := authntest.NewJWKS(t, map[string]any{"r1": &k.RSA.PublicKey})
	c := jwks.New(is.URL, nil, time.Nanosecond, discard)
	run(t, c)
	authntest.WaitFor(t, "the first fetch's keys", hasKey(c, "r1"))
	huge := append(append([]byte(`{"keys":[],"pad":"`), strings.Repeat("a", 1<<20)...), `"}`...)
	for name, body := range map[string][]byte{"larger than 1 MiB": huge, "not JSON": []byte("<html>"), "not a key set": []byte(`{"keys":"none"}`)} {
		is.SetBody(false, body)
		before := is.Fetches()
		c.RefreshForKid()
		if is.Fetches() == before {
			t.Fatalf("%s: no fetch", name)
		}
		if _, ok := c.Key("r1"); !ok {
			t.Errorf("%s: replaced the cached keys", name)
		}
	}
}

// TestNoRedirects: a JWKS URL that redirects is not followed: the target
// never gets a request, and no key comes from it.
func TestNoRedirects(t *testing.T) {
	k := authntest.Keys()
	target := authntest.NewJWKS(t, map[string]any{"r1": &k.RSA.PublicKey})
	var redirected atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	defer origin.Close()
	logs := &authntest.Logs{}
	c := jwks.New(origin.URL+"/jwks", nil, time.Nanosecond, slog.New(logs))
	run(t, c)
	authntest.WaitFor(t, "a refused fetch", func() bool { return logs.Has("JWKS fetch failed") })
	c.RefreshForKid()
	if redirected.Load() < 2 {
		t.Errorf("%d requests to the redirecting URL, want at least 2", redirected.Load())
	}
	if n := target.Fetches(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
	if _, ok := c.Key("r1"); ok {
		t.Error("a key came from the redirect target")
	}
	if !logs.Has("redirect refused") {
		t.Errorf("the log does not say the redirect was refused:\n%s", logs)
	}
}

// TestLogsRedactURL: the JWKS URL reaches the log without its userinfo
// and query, in the url attribute and in the error alike.
func TestLogsRedactURL(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	addr := hs.URL
	hs.Close() // unreachable from now on, so the error names the URL
	for _, raw := range []string{
		strings.Replace(addr, "http://", "http://alice:pw-s3cret@", 1) + "/jwks",
		addr + "/jwks?api_key=s3cret",
	} {
		logs := &authntest.Logs{}
		c := jwks.New(raw, nil, time.Nanosecond, slog.New(logs))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			c.Run(ctx)
			close(done)
		}()
		authntest.WaitFor(t, "a failed fetch", func() bool { return logs.Has("JWKS fetch failed") })
		c.RefreshForKid()
		cancel()
		<-done
		got := logs.String()
		for _, leak := range []string{"s3cret", "alice", "api_key"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: the log shows %q:\n%s", raw, leak, got)
			}
		}
		if !strings.Contains(got, "url="+addr+"/jwks") || !logs.Has("JWKS fetch for an unknown kid failed") {
			t.Errorf("%s: the log lacks the redacted URL or a failure:\n%s", raw, got)
		}
	}
}
