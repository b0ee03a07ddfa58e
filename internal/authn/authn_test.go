package authn_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/dorismcp/doris/internal/authn"
	"github.com/dorismcp/doris/internal/authn/authntest"
)

// newAuthenticator returns an Authenticator on cfg, closed when the test
// ends.
func newAuthenticator(t *testing.T, cfg authn.Config) *authn.Authenticator {
	t.Helper()
	return newLogged(t, cfg, nil)
}

func newLogged(t *testing.T, cfg authn.Config, log *slog.Logger) *authn.Authenticator {
	t.Helper()
	a, err := authn.New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return a
}

// tokenContext is the context of a request the go-sdk's bearer check let
// through with ti.
func tokenContext(t *testing.T, ti *auth.TokenInfo) context.Context {
	t.Helper()
	var ctx context.Context
	verify := func(context.Context, string, *http.Request) (*auth.TokenInfo, error) { return ti, nil }
	h := auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(
		http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { ctx = r.Context() }))
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	r.Header.Set("Authorization", "Bearer x")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if ctx == nil {
		t.Fatal("the bearer check refused the request")
	}
	return ctx
}

func TestStaticTokens(t *testing.T) {
	a := newAuthenticator(t, authn.Config{Tokens: []authn.Token{
		{Secret: "static-secret-alice-0123456789", Name: "alice", Scopes: []string{"r", "w"}},
		{Digest: authntest.Digest("static-secret-reader-0123456789"), Name: "reader",
			Account: authn.Account{User: "ro", Password: "pw", Database: "sales"}},
		{Secret: "static-secret-expired-012345678", Name: "old", Expires: time.Now().Add(-time.Minute)},
	}})
	ctx := context.Background()
	id, reason := a.Check(ctx, "static-secret-alice-0123456789")
	if id == nil || id.Name != "alice" || id.Method != "static" || strings.Join(id.Scopes, ",") != "r,w" || id.Account != nil {
		t.Errorf("alice: %+v, %q", id, reason)
	}
	id, _ = a.Check(ctx, "static-secret-reader-0123456789")
	if id == nil || id.Account == nil || *id.Account != (authn.Account{User: "ro", Password: "pw", Database: "sales"}) {
		t.Errorf("reader: %+v", id)
	}
	for token, want := range map[string]string{
		"static-secret-expired-012345678":          "static token old expired",
		"static-secret-alice-0123456780":           "static: unknown token",
		strings.Repeat("x", authn.MaxTokenBytes+1): "exceeds",
	} {
		if id, reason := a.Check(ctx, token); id != nil || !strings.Contains(reason, want) {
			t.Errorf("%.20s…: %+v, reason %q, want %q", token, id, reason, want)
		}
	}
}

func TestCheckToken(t *testing.T) {
	tests := []struct {
		tok  authn.Token
		want string
	}{
		{authn.Token{Secret: "static-secret-0123456789", Name: "ok"}, ""},
		{authn.Token{Digest: authntest.Digest("x"), Name: "ok", Account: authn.Account{User: "u", Database: "d"}}, ""},
		{authn.Token{Secret: "short", Name: "x"}, "shorter than 16"},
		{authn.Token{Secret: strings.Repeat("s", authn.MaxTokenBytes+1), Name: "x"}, "longer than"},
		{authn.Token{Secret: "static-secret-0123456789", Digest: authntest.Digest("x"), Name: "x"}, "both Token and Digest"},
		{authn.Token{Digest: "abc", Name: "x"}, "not a hex SHA-256"},
		{authn.Token{Name: "x"}, "neither Token nor Digest"},
		{authn.Token{Secret: "static-secret-0123456789"}, "no Name"},
		{authn.Token{Secret: "static-secret-0123456789", Name: "x", Account: authn.Account{Password: "p"}}, "DorisPassword without DorisUser"},
		{authn.Token{Secret: "static-secret-0123456789", Name: "x", Account: authn.Account{Database: "d"}}, "DorisDatabase without DorisUser"},
		{authn.Token{Secret: "static-secret-0123456789", Name: "x", Scopes: []string{"a b"}}, "malformed scope"},
	}
	for _, tc := range tests {
		err := authn.CheckToken(tc.tok)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckToken(%s): %v, want %q", tc.tok.Name, err, tc.want)
		}
	}
	_, err := authn.New(authn.Config{Tokens: []authn.Token{
		{Secret: "static-secret-0123456789", Name: "a"},
		{Digest: authntest.Digest("static-secret-0123456789"), Name: "b"},
	}}, nil)
	if err == nil || !strings.Contains(err.Error(), "same secret") {
		t.Errorf("duplicate secrets: %v", err)
	}
}

// TestVerify: the go-sdk verifier gives the identity in its TokenInfo,
// where IdentityOf finds it, and refuses with ErrInvalidToken, logging
// why but never the token.
func TestVerify(t *testing.T) {
	logs := &authntest.Logs{}
	a := newLogged(t, authn.Config{Tokens: []authn.Token{{Secret: "static-secret-alice-0123456789", Name: "alice", Scopes: []string{"r"}}}}, slog.New(logs))
	r := httptest.NewRequest("POST", "/mcp", nil)
	ti, err := a.Verify(r.Context(), "static-secret-alice-0123456789", r)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tokenContext(t, ti)
	req := &mcp.CallToolRequest{Extra: &mcp.RequestExtra{TokenInfo: ti}}
	if id := authn.IdentityOf(context.Background(), req); id == nil || id.Name != "alice" {
		t.Errorf("identity %+v from the request's TokenInfo", id)
	}
	if id := authn.IdentityOf(ctx, nil); id == nil || id.Name != "alice" || ti.UserID != "static:alice" || ti.Scopes[0] != "r" {
		t.Errorf("identity %+v, TokenInfo %+v", id, ti)
	}
	if id := authn.IdentityOf(context.Background(), nil); id != nil {
		t.Errorf("identity %+v without a TokenInfo", id)
	}
	if _, err := a.Verify(r.Context(), "static-secret-unknown-0123456", r); err != auth.ErrInvalidToken {
		t.Errorf("unknown token: %v", err)
	}
	if got := logs.String(); !strings.Contains(got, "static: unknown token") || strings.Contains(got, "static-secret-unknown") {
		t.Errorf("log:\n%s", got)
	}
}

func TestChallenge(t *testing.T) {
	plain := newAuthenticator(t, authn.Config{})
	if got := plain.Challenge("", nil); got != `Bearer realm="doris-mcp"` {
		t.Errorf("no credentials: %s", got)
	}
	meta, err := authn.MetadataURL("https://mcp.example.com/mcp/")
	if err != nil || meta != "https://mcp.example.com/.well-known/oauth-protected-resource/mcp" {
		t.Fatalf("MetadataURL: %q, %v", meta, err)
	}
	a := newAuthenticator(t, authn.Config{MetadataURL: meta})
	want := `Bearer realm="doris-mcp", error="insufficient_scope", scope="a b", resource_metadata="` + meta + `"`
	if got := a.Challenge("insufficient_scope", []string{"a", "b"}); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{"/mcp", "ftp://x/mcp", "mcp.example.com"} {
		if _, err := authn.MetadataURL(bad); err == nil {
			t.Errorf("MetadataURL(%q) accepted", bad)
		}
	}
}

// TestClose: every background task ends with Close.
func TestClose(t *testing.T) {
	k := authntest.Keys()
	jwks := authntest.NewJWKS(t, map[string]any{"r1": &k.RSA.PublicKey})
	as := authntest.NewAuthServer(t)
	as.Set("opaque", map[string]any{"active": true, "sub": "a"})
	path := writeTokenFile(t, `[{"name":"f","digest":"`+authntest.Digest("file-secret-0123456789")+`"}]`)
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	jc := authn.JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: jwks.URL}
	ic := authn.IntrospectionConfig{URL: as.URL + "/introspect", TokenURL: as.URL + "/token", ClientID: authntest.ClientID, ClientSecret: authntest.ClientSecret}
	for _, c := range []interface{ Normalize() error }{&jc, &ic} {
		if err := c.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	a, err := authn.New(authn.Config{TokenFile: path, FilePoll: time.Millisecond, JWT: &jc, Introspection: &ic}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	authntest.WaitFor(t, "the JWKS", func() bool { _, ok := a.JWKSKey("r1"); return ok })
	for _, tok := range []string{"file-secret-0123456789", "opaque", authntest.SignJWT(t, jwtRS256, k.RSA, "r1", nil)} {
		if id, reason := a.Check(ctx, tok); id == nil {
			t.Fatalf("refused: %s", reason)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.Close(cctx); err != nil {
		t.Fatal(err)
	}
	if id, _ := a.Check(ctx, "never-seen"); id != nil {
		t.Error("accepted after Close")
	}
	goleak.VerifyNone(t, opts...)
}
