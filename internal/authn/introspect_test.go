package authn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/authn"
	"github.com/dorismcp/doris/internal/authn/authntest"
)

// introspecting returns an Authenticator asking as, closed when the test
// ends.
func introspecting(t *testing.T, as *authntest.AuthServer) *authn.Authenticator {
	t.Helper()
	cfg := authn.IntrospectionConfig{
		URL: as.URL + "/introspect", TokenURL: as.URL + "/token",
		ClientID: authntest.ClientID, ClientSecret: authntest.ClientSecret, Audience: authntest.Audience,
	}
	return newAuthenticator(t, authn.Config{Introspection: &cfg})
}

// TestIntrospection: active tokens are accepted and cached, no longer than
// their exp; inactive ones are refused; the caches are bounded.
func TestIntrospection(t *testing.T) {
	as := authntest.NewAuthServer(t)
	a := introspecting(t, as)
	ctx := context.Background()
	exp := time.Now().Add(20 * time.Second).Truncate(time.Second)
	as.Set("tok-a", map[string]any{"active": true, "sub": "a", "scope": "r w", "aud": authntest.Audience, "exp": exp.Unix()})

	for i := range 3 {
		id, reason := a.Check(ctx, "tok-a")
		if id == nil {
			t.Fatalf("request %d refused: %s", i, reason)
		}
		if id.Name != "a" || id.Method != "introspection" || strings.Join(id.Scopes, " ") != "r w" || !id.Expires.Equal(exp) {
			t.Errorf("identity %+v", id)
		}
	}
	if n := as.Introspections(); n != 1 {
		t.Errorf("%d introspections for three requests, want 1 (cached)", n)
	}
	if n := as.TokensIssued(); n != 1 {
		t.Errorf("%d client-credentials tokens fetched, want 1", n)
	}
	if until, _ := a.IntrospectionCached("tok-a"); !until.Equal(exp) {
		t.Errorf("cached until %v, want the token's exp %v (before the one-minute TTL)", until, exp)
	}

	// Revoked at the server: refused once the cached verdict is gone.
	as.Set("tok-a", map[string]any{"active": false})
	a.ForgetIntrospections()
	if id, _ := a.Check(ctx, "tok-a"); id != nil {
		t.Error("revoked token accepted")
	}

	for name, verdict := range map[string]map[string]any{
		"expired":         {"active": true, "sub": "x", "aud": authntest.Audience, "exp": time.Now().Add(-time.Minute).Unix()},
		"other audience":  {"active": true, "sub": "x", "aud": []string{"someone-else"}},
		"in an aud list":  {"active": true, "sub": "x", "aud": []string{"someone-else", authntest.Audience}},
		"username as sub": {"active": true, "username": "x", "aud": authntest.Audience},
	} {
		as.Set(name, verdict)
		id, reason := a.Check(ctx, name)
		if accept := strings.HasPrefix(name, "in ") || strings.HasPrefix(name, "username"); (id != nil) != accept {
			t.Errorf("%s: identity %+v, reason %q", name, id, reason)
		}
	}

	// Bounded: full caches make room.
	a.FillIntrospectionCaches()
	as.Set("tok-b", map[string]any{"active": true, "sub": "b", "aud": authntest.Audience})
	if id, reason := a.Check(ctx, "tok-b"); id == nil {
		t.Fatalf("tok-b refused: %s", reason)
	}
	if id, _ := a.Check(ctx, "never-issued"); id != nil {
		t.Fatal("an unknown token accepted")
	}
	until, ok := a.IntrospectionCached("tok-b")
	if d := time.Until(until); !ok || d <= 0 || d > time.Minute {
		t.Errorf("a token without exp is cached for %v, want at most the one-minute TTL", d)
	}
	if active, refused := a.IntrospectionCacheLen(); active > authn.MaxIntroCache || refused > authn.MaxIntroCache {
		t.Errorf("caches hold %d active verdicts and %d refusals, more than %d", active, refused, authn.MaxIntroCache)
	}
}

// TestIntrospectionOneRequestPerToken: 400 concurrent requests with the
// same bogus token make one introspection request, which they share while
// it runs; later ones get the cached refusal.
func TestIntrospectionOneRequestPerToken(t *testing.T) {
	as := authntest.NewAuthServer(t)
	a := introspecting(t, as)
	release := as.Hold()
	defer release()
	const n = 400
	var refused atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if id, _ := a.Check(context.Background(), "bogus-token"); id == nil {
				refused.Add(1)
			}
		})
	}
	authntest.WaitFor(t, "every request to wait for the one introspection", func() bool {
		return a.IntrospectionWaiters("bogus-token") == n
	})
	release()
	wg.Wait()
	if got := refused.Load(); got != n {
		t.Errorf("%d of %d requests refused", got, n)
	}
	for range 10 {
		if id, _ := a.Check(context.Background(), "bogus-token"); id != nil {
			t.Fatal("bogus token accepted")
		}
	}
	if got := as.Introspections(); got != 1 {
		t.Errorf("%d introspection requests, want 1", got)
	}
}

// TestIntrospectionBoundedConcurrency: 400 concurrent requests with
// distinct bogus tokens never have more than eight introspection requests
// at the authorization server at once.
func TestIntrospectionBoundedConcurrency(t *testing.T) {
	as := authntest.NewAuthServer(t)
	a := introspecting(t, as)
	release := as.Hold()
	defer release()
	const n = 400
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { a.Check(context.Background(), fmt.Sprintf("bogus-token-%03d", i)) })
	}
	// Every request is either at the authorization server or waiting for
	// a slot; only then can the count at the server no longer grow.
	authntest.WaitFor(t, "every request to be sent or queued", func() bool {
		return as.InFlight()+a.IntrospectionQueued() == n
	})
	if got := as.MaxInFlight(); got != 8 {
		t.Errorf("%d introspection requests at once, want 8", got)
	}
	release()
	wg.Wait()
	if got := as.MaxInFlight(); got > 8 {
		t.Errorf("%d introspection requests at once, want at most 8", got)
	}
	if got := as.Introspections(); got != n {
		t.Errorf("%d introspection requests for %d tokens", got, n)
	}
}

// TestIntrospectionWaitBounded: a request stops waiting when its context
// ends, and a shared request nobody waits for any more is abandoned.
func TestIntrospectionWaitBounded(t *testing.T) {
	as := authntest.NewAuthServer(t)
	a := introspecting(t, as)
	release := as.Hold()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan string)
	go func() {
		id, reason := a.Check(ctx, "slow-token")
		if id != nil {
			reason = "accepted"
		}
		done <- reason
	}()
	authntest.WaitFor(t, "the introspection to start", func() bool { return as.InFlight() == 1 })
	cancel()
	if reason := <-done; !strings.Contains(reason, "context canceled") {
		t.Errorf("reason %q", reason)
	}
	authntest.WaitFor(t, "the abandoned request to end", func() bool { return as.InFlight() == 0 })
	if waiting := a.IntrospectionWaiters("slow-token"); waiting != 0 {
		t.Errorf("%d waiting", waiting)
	}
	// The abandoned request's refusal is not what the next request gets:
	// it asks again.
	release()
	if id, _ := a.Check(context.Background(), "slow-token"); id != nil {
		t.Error("slow-token accepted")
	}
	if got := as.Introspections(); got != 2 {
		t.Errorf("%d introspections, want 2", got)
	}
}

// TestIntrospectionNoRedirects: neither the introspection nor the token
// endpoint is followed to where it redirects, so the caller's token and
// the client credentials never reach another host.
func TestIntrospectionNoRedirects(t *testing.T) {
	var stolen atomic.Int64
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stolen.Add(1) }))
	defer thief.Close()
	as := authntest.NewAuthServer(t)
	redirect := func(to string) *httptest.Server {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusTemporaryRedirect) // 307 re-sends the body
		}))
		t.Cleanup(hs.Close)
		return hs
	}
	for name, cfg := range map[string]authn.IntrospectionConfig{
		"introspection": {URL: redirect(thief.URL).URL + "/introspect", TokenURL: as.URL + "/token", ClientID: authntest.ClientID, ClientSecret: authntest.ClientSecret},
		"token":         {URL: as.URL + "/introspect", TokenURL: redirect(thief.URL).URL + "/token", ClientID: authntest.ClientID, ClientSecret: authntest.ClientSecret},
		"basic":         {URL: redirect(thief.URL).URL + "/introspect", ClientID: authntest.ClientID, ClientSecret: authntest.ClientSecret},
	} {
		a := newAuthenticator(t, authn.Config{Introspection: &cfg})
		id, reason := a.Check(context.Background(), "callers-token")
		if id != nil || !strings.Contains(reason, "redirect refused") {
			t.Errorf("%s: identity %v, reason %q", name, id, reason)
		}
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

// TestIntrospectionRedactsURL: a failure names the endpoint without its
// userinfo and query.
func TestIntrospectionRedactsURL(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	addr := hs.URL
	hs.Close()
	cfg := authn.IntrospectionConfig{
		URL:      strings.Replace(addr, "http://", "http://bob:pw-s3cret@", 1) + "/introspect?api_key=s3cret",
		ClientID: authntest.ClientID,
	}
	a := newAuthenticator(t, authn.Config{Introspection: &cfg})
	_, reason := a.Check(context.Background(), "some-token")
	if strings.Contains(reason, "s3cret") || strings.Contains(reason, "bob") || !strings.Contains(reason, addr+"/introspect?…") {
		t.Errorf("reason %q", reason)
	}
}
