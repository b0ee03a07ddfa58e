package doris_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"go.uber.org/goleak"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/authn"
	"github.com/dorismcp/doris/internal/authn/authntest"
	"github.com/dorismcp/doris/internal/testdb"
)

// The mechanisms are tested in package authn; these tests drive them
// through the public options and the HTTP handler.

const (
	testIssuer   = authntest.Issuer
	testAudience = authntest.Audience
	testResource = "https://mcp.example.com/mcp"
)

var (
	signJWT  = authntest.SignJWT
	digestOf = authntest.Digest
)

// introspectionOf is the configuration that makes a Server ask as.
func introspectionOf(as *authntest.AuthServer) doris.IntrospectionConfig {
	return doris.IntrospectionConfig{
		URL: as.URL + "/introspect", TokenURL: as.URL + "/token",
		ClientID: authntest.ClientID, ClientSecret: authntest.ClientSecret, Audience: testAudience,
	}
}

// tokenTransport adds a bearer token to every request.
type tokenTransport struct {
	token string
	base  http.RoundTripper
}

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r)
}

func bearerClient(t testing.TB, token string) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tokenTransport{token, tr}}
}

const listBody = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`

func callBody(tool string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}}}`
}

// authPost sends one JSON-RPC body to url with the given Authorization
// header (none when empty).
func authPost(t testing.TB, url, authorization, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestAuthAttacks sends the usual attacks on bearer authentication, and
// the tokens each method must accept, to Handler over real HTTP.
func TestAuthAttacks(t *testing.T) {
	testdb.Parallel(t)
	k := authntest.Keys()
	jwks := authntest.NewJWKS(t, map[string]any{"j1": &k.EC.PublicKey, "j2": k.Ed.Public()})
	as := authntest.NewAuthServer(t)
	as.Set("opaque-active", map[string]any{"active": true, "sub": "opaque-user", "scope": "doris:read doris:query", "aud": testAudience, "exp": time.Now().Add(time.Hour).Unix()})
	as.Set("opaque-revoked", map[string]any{"active": false})
	as.Set("opaque-other-aud", map[string]any{"active": true, "sub": "x", "aud": []string{"someone-else"}})

	s := newServer(t, testdb.DSN(t),
		doris.WithBearerTokens(
			doris.BearerToken{Token: "static-secret-alice-0123456789", Name: "alice", Scopes: []string{"doris:read", "doris:query"}},
			doris.BearerToken{Digest: digestOf("static-secret-reader-0123456789"), Name: "reader", Scopes: []string{"doris:read"}},
			doris.BearerToken{Token: "static-secret-expired-012345678", Name: "old", Expires: time.Now().Add(-time.Minute)},
		),
		doris.WithJWT(doris.JWTConfig{
			Issuer: testIssuer, Audience: testAudience,
			Algorithms: []string{"RS256", "HS256", "ES256", "EdDSA"},
			Keys:       map[string]any{"k1": &k.RSA.PublicKey, "h1": k.HMAC},
			JWKSURL:    jwks.URL,
		}),
		doris.WithIntrospection(introspectionOf(as)),
		doris.WithToolScopes(map[string][]string{"exec_query": {"doris:query"}}),
		doris.WithResourceMetadata(&oauthex.ProtectedResourceMetadata{Resource: testResource, AuthorizationServers: []string{testIssuer}}),
	)
	hs := serveHTTP(t, s)
	endpoint := hs.URL + "/mcp"

	pubDER, _ := x509.MarshalPKIXPublicKey(&k.RSA.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	now := time.Now()
	rs := func(claims jwt.MapClaims) string { return signJWT(t, jwt.SigningMethodRS256, k.RSA, "k1", claims) }
	const metaURL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	noCreds := `Bearer realm="doris-mcp", resource_metadata="` + metaURL + `"`
	invalid := `Bearer realm="doris-mcp", error="invalid_token", resource_metadata="` + metaURL + `"`

	tests := []struct {
		name      string
		auth      string // the Authorization header
		url       string // default endpoint
		body      string // default listBody
		code      int
		challenge string
	}{
		{name: "no header", code: 401, challenge: noCreds},
		{name: "basic", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:static-secret-alice-0123456789")), code: 401, challenge: invalid},
		{name: "bearer with nothing", auth: "Bearer ", code: 401, challenge: invalid},
		{name: "alg none", auth: "Bearer " + signJWT(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", nil), code: 401, challenge: invalid},
		{name: "HS256 signed with the RSA public key's bytes", auth: "Bearer " + signJWT(t, jwt.SigningMethodHS256, pubPEM, "k1", nil), code: 401, challenge: invalid},
		{name: "HS256 with the RSA key's DER bytes", auth: "Bearer " + signJWT(t, jwt.SigningMethodHS256, pubDER, "k1", nil), code: 401, challenge: invalid},
		{name: "wrong key", auth: "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.RSA2, "k1", nil), code: 401, challenge: invalid},
		{name: "algorithm not listed", auth: "Bearer " + signJWT(t, jwt.SigningMethodRS512, k.RSA, "k1", nil), code: 401, challenge: invalid},
		{name: "expired", auth: "Bearer " + rs(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()}), code: 401, challenge: invalid},
		{name: "no exp", auth: "Bearer " + rs(jwt.MapClaims{"exp": nil}), code: 401, challenge: invalid},
		{name: "not yet valid", auth: "Bearer " + rs(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()}), code: 401, challenge: invalid},
		{name: "issued in the future", auth: "Bearer " + rs(jwt.MapClaims{"iat": now.Add(time.Hour).Unix()}), code: 401, challenge: invalid},
		{name: "wrong iss", auth: "Bearer " + rs(jwt.MapClaims{"iss": "https://evil.test"}), code: 401, challenge: invalid},
		{name: "wrong aud", auth: "Bearer " + rs(jwt.MapClaims{"aud": "another-api"}), code: 401, challenge: invalid},
		{name: "unknown kid", auth: "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.RSA, "k-unknown", nil), code: 401, challenge: invalid},
		{name: "9 KiB token", auth: "Bearer " + rs(jwt.MapClaims{"pad": strings.Repeat("a", 9<<10)}), code: 401, challenge: invalid},
		{name: "token only in the query string", url: endpoint + "?access_token=static-secret-alice-0123456789", code: 401, challenge: noCreds},
		{name: "revoked (introspection inactive)", auth: "Bearer opaque-revoked", code: 401, challenge: invalid},
		{name: "introspection: other audience", auth: "Bearer opaque-other-aud", code: 401, challenge: invalid},
		{name: "static wrong", auth: "Bearer static-secret-alice-0123456780", code: 401, challenge: invalid},
		{name: "static expired", auth: "Bearer static-secret-expired-012345678", code: 401, challenge: invalid},
		{name: "missing scope", auth: "Bearer static-secret-reader-0123456789", body: callBody("exec_query"), code: 403,
			challenge: `Bearer realm="doris-mcp", error="insufficient_scope", scope="doris:query", resource_metadata="` + metaURL + `"`},
		{name: "missing scope in a batch", auth: "Bearer static-secret-reader-0123456789", body: "[" + listBody + "," + strings.Replace(callBody("exec_query"), `"id":1`, `"id":2`, 1) + "]", code: 403,
			challenge: `Bearer realm="doris-mcp", error="insufficient_scope", scope="doris:query", resource_metadata="` + metaURL + `"`},

		{name: "accepted: static token", auth: "Bearer static-secret-alice-0123456789", code: 200},
		{name: "accepted: static token by digest", auth: "Bearer static-secret-reader-0123456789", code: 200},
		{name: "accepted: RS256", auth: "Bearer " + rs(nil), code: 200},
		{name: "accepted: RS256 within the leeway", auth: "Bearer " + rs(jwt.MapClaims{"exp": now.Add(-10 * time.Second).Unix(), "iat": now.Add(-time.Minute).Unix()}), code: 200},
		{name: "accepted: HS256", auth: "Bearer " + signJWT(t, jwt.SigningMethodHS256, k.HMAC, "h1", nil), code: 200},
		{name: "accepted: ES256 from the JWKS", auth: "Bearer " + signJWT(t, jwt.SigningMethodES256, k.EC, "j1", nil), code: 200},
		{name: "accepted: EdDSA from the JWKS", auth: "Bearer " + signJWT(t, jwt.SigningMethodEdDSA, k.Ed, "j2", nil), code: 200},
		{name: "accepted: introspection", auth: "Bearer opaque-active", code: 200},
		{name: "accepted: scope held", auth: "Bearer static-secret-alice-0123456789", body: callBody("get_db_list"), code: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, body := endpoint, listBody
			if tc.url != "" {
				url = tc.url
			}
			if tc.body != "" {
				body = tc.body
			}
			resp, got := authPost(t, url, tc.auth, body)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tc.code, got)
			}
			if diff := cmp.Diff(tc.challenge, resp.Header.Get("WWW-Authenticate")); diff != "" {
				t.Errorf("WWW-Authenticate (-want +got):\n%s", diff)
			}
			if tc.code == 401 {
				// Nothing that tells an attacker which check failed.
				if got := strings.TrimSpace(got); got != "invalid token" && got != "no bearer token" {
					t.Errorf("body %q says too much", got)
				}
			}
		})
	}
}

func TestResourceMetadataHandler(t *testing.T) {
	testdb.Parallel(t)
	meta := &oauthex.ProtectedResourceMetadata{Resource: testResource, AuthorizationServers: []string{testIssuer}, ScopesSupported: []string{"doris:read"}}
	s := newServer(t, testdb.DSN(t), doris.WithBearerTokens(doris.BearerToken{Token: "static-secret-alice-0123456789", Name: "alice"}), doris.WithResourceMetadata(meta))
	rec := httptest.NewRecorder()
	s.ResourceMetadataHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-protected-resource/mcp", nil))
	var got oauthex.ProtectedResourceMetadata
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("status %d, body %q: %v", rec.Code, rec.Body, err)
	}
	if diff := cmp.Diff(*meta, got); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
}

// TestToolScopes: tools/list shows a principal only what it may call, and
// a call the gate cannot judge is refused by the middleware with a tool
// error naming the scope.
func TestToolScopes(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t),
		doris.WithBearerTokens(
			doris.BearerToken{Token: "token-of-the-reader-0123", Name: "reader", Scopes: []string{"doris:read"}},
			doris.BearerToken{Token: "token-of-the-analyst-0123", Name: "analyst", Scopes: []string{"doris:read", "doris:query"}},
		),
		doris.WithToolScopes(map[string][]string{"exec_query": {"doris:query"}, "get_db_list": {"doris:read"}}),
	)
	endpoint := serveHTTP(t, s).URL + "/mcp"
	ctx := context.Background()
	names := func(token string) []string {
		cs := connect(t, ctx, endpoint, bearerClient(t, token), "")
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tool := range res.Tools {
			out = append(out, tool.Name)
		}
		return out
	}
	reader, analyst := names("token-of-the-reader-0123"), names("token-of-the-analyst-0123")
	if slices.Contains(reader, "exec_query") || !slices.Contains(reader, "get_db_list") {
		t.Errorf("reader sees %v", reader)
	}
	if !slices.Contains(analyst, "exec_query") || len(analyst) != len(reader)+1 {
		t.Errorf("analyst sees %v, reader %v", analyst, reader)
	}

	// The reader's call through the client is refused by the gate (403).
	cs := connect(t, ctx, endpoint, bearerClient(t, "token-of-the-reader-0123"), "")
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "exec_query", Arguments: map[string]any{"sql": "SELECT 1"}}); err == nil {
		t.Error("reader's exec_query succeeded")
	}

	// The middleware refuses what reaches it.
	id := &authn.Identity{Name: "reader", Method: "static", Scopes: []string{"doris:read"}}
	req := &mcp.CallToolRequest{
		Params: &mcp.CallToolParamsRaw{Name: "exec_query"},
		Extra:  &mcp.RequestExtra{TokenInfo: authn.TokenInfo(id)},
	}
	called := false
	next := func(context.Context, string, mcp.Request) (mcp.Result, error) {
		called = true
		return &mcp.CallToolResult{}, nil
	}
	res, err := s.WithPrincipal(next)(ctx, "tools/call", req)
	if err != nil {
		t.Fatal(err)
	}
	cr := res.(*mcp.CallToolResult)
	if called || !cr.IsError || !strings.Contains(cr.Content[0].(*mcp.TextContent).Text, "needs scope doris:query") {
		t.Errorf("middleware: called=%v, result %+v", called, cr)
	}
}

// TestPrincipalInHostTools: a tool the host adds through MCP() sees the
// principal, in stateless and stateful mode.
func TestPrincipalInHostTools(t *testing.T) {
	testdb.Parallel(t)
	for _, stateful := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateful=%v", stateful), func(t *testing.T) {
			opts := []doris.Option{doris.WithBearerTokens(doris.BearerToken{Token: "token-of-the-analyst-0123", Name: "analyst", Scopes: []string{"a", "b"}})}
			if stateful {
				opts = append(opts, doris.WithStatefulSessions(0))
			}
			s := newServer(t, testdb.DSN(t), opts...)
			mcp.AddTool(s.MCP(), &mcp.Tool{Name: "whoami"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
				p, ok := doris.PrincipalFromContext(ctx)
				if !ok {
					return nil, nil, fmt.Errorf("no principal")
				}
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: p.Method + ":" + p.Name + ":" + strings.Join(p.Scopes, ",")}}}, nil, nil
			})
			ctx := context.Background()
			cs := connect(t, ctx, serveHTTP(t, s).URL+"/mcp", bearerClient(t, "token-of-the-analyst-0123"), "")
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Content[0].(*mcp.TextContent).Text; got != "static:analyst:a,b" {
				t.Errorf("whoami = %q", got)
			}
		})
	}
}

// TestSafeDefault invokes the handler with the local address a request
// arrived on, as net/http's server sets it.
func TestSafeDefault(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	open := newServer(t, dsn)
	insecure := newServer(t, dsn, doris.WithInsecureNoAuth())
	authed := newServer(t, dsn, doris.WithBearerTokens(doris.BearerToken{Token: "static-secret-alice-0123456789", Name: "alice"}))
	public := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 8080}
	loop := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}

	tests := []struct {
		name  string
		s     *doris.Server
		local net.Addr // nil: none in the context
		auth  string
		code  int
	}{
		{"no auth, non-loopback", open, public, "", 403},
		{"no auth, no local address", open, nil, "", 403},
		{"no auth, loopback", open, loop, "", 200},
		{"insecure, non-loopback", insecure, public, "", 200},
		{"auth, non-loopback, no token", authed, public, "", 401},
		{"auth, non-loopback, token", authed, public, "Bearer static-secret-alice-0123456789", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://mcp.internal/mcp", strings.NewReader(listBody))
			if tc.local != nil {
				r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, tc.local))
				if tc.local == loop {
					r.Host = "127.0.0.1:8080"
				}
			}
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json, text/event-stream")
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			tc.s.Handler().ServeHTTP(rec, r)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d; body %q", rec.Code, tc.code, rec.Body)
			}
			if tc.code == 403 && !strings.Contains(rec.Body.String(), "WithInsecureNoAuth") {
				t.Errorf("403 body %q does not name WithInsecureNoAuth", rec.Body)
			}
		})
	}
}

func TestTokenFile(t *testing.T) {
	testdb.Parallel(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.json")
	write := func(entries ...map[string]any) {
		b, _ := json.Marshal(entries)
		// Written beside and renamed, as a secret volume is updated.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(map[string]any{"name": "first", "digest": digestOf("first-secret-0123456789")})
	s := newServer(t, testdb.DSN(t), doris.WithTokenFile(path), doris.WithFilePoll(5*time.Millisecond))
	endpoint := serveHTTP(t, s).URL + "/mcp"
	status := func(secret string) int {
		resp, _ := authPost(t, endpoint, "Bearer "+secret, listBody)
		return resp.StatusCode
	}
	if got := status("first-secret-0123456789"); got != 200 {
		t.Fatalf("first: %d", got)
	}
	if got := status("second-secret-0123456789"); got != 401 {
		t.Fatalf("second before reload: %d", got)
	}
	write(map[string]any{"name": "second", "digest": digestOf("second-secret-0123456789"), "scopes": []string{"x"}})
	waitFor(t, 5*time.Second, "the reload", func() bool { return status("second-secret-0123456789") == 200 })
	if got := status("first-secret-0123456789"); got != 401 {
		t.Errorf("first after reload: %d, want 401", got)
	}

	// Deleted: every token it listed is refused.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the revocation", func() bool { return status("second-secret-0123456789") == 401 })

	// A file that holds secrets instead of digests is refused.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"name":"x","token":"plain-secret-0123456789"}]`), 0o600)
	if _, err := doris.New(doris.WithDSN("u:p@tcp(127.0.0.1:1)/db"), doris.WithTokenFile(bad)); err == nil {
		t.Error("New accepted a token file with a plain token")
	}
	if _, err := doris.New(doris.WithDSN("u:p@tcp(127.0.0.1:1)/db"), doris.WithTokenFile(filepath.Join(dir, "missing.json"))); err == nil {
		t.Error("New accepted a missing token file")
	}
}

func TestAuthOptions(t *testing.T) {
	testdb.Parallel(t)
	k := authntest.Keys()
	tok := doris.BearerToken{Token: "static-secret-alice-0123456789", Name: "alice"}
	tests := []struct {
		name string
		opts []doris.Option
		want string // in the error; "" for none
	}{
		{"short static token", []doris.Option{doris.WithBearerTokens(doris.BearerToken{Token: "short", Name: "x"})}, "shorter than 16"},
		{"token and digest", []doris.Option{doris.WithBearerTokens(doris.BearerToken{Token: tok.Token, Digest: digestOf("x"), Name: "x"})}, "both Token and Digest"},
		{"bad digest", []doris.Option{doris.WithBearerTokens(doris.BearerToken{Digest: "abc", Name: "x"})}, "not a hex SHA-256"},
		{"no name", []doris.Option{doris.WithBearerTokens(doris.BearerToken{Token: tok.Token})}, "no Name"},
		{"duplicate secret", []doris.Option{doris.WithBearerTokens(tok, doris.BearerToken{Digest: digestOf(tok.Token), Name: "bob"})}, "same secret"},
		{"password without user", []doris.Option{doris.WithBearerTokens(doris.BearerToken{Token: tok.Token, Name: "a", DorisPassword: "p"})}, "DorisPassword without DorisUser"},
		{"database without user", []doris.Option{doris.WithBearerTokens(doris.BearerToken{Token: tok.Token, Name: "a", DorisDatabase: "d"})}, "DorisDatabase without DorisUser"},
		{"jwt without algorithms", []doris.Option{doris.WithJWT(doris.JWTConfig{Keys: map[string]any{"k": &k.RSA.PublicKey}})}, "no algorithms"},
		{"jwt none", []doris.Option{doris.WithJWT(doris.JWTConfig{Algorithms: []string{"none"}, Keys: map[string]any{"k": &k.RSA.PublicKey}})}, `"none" is not accepted`},
		{"jwt without keys", []doris.Option{doris.WithJWT(doris.JWTConfig{Algorithms: []string{"RS256"}})}, "no keys"},
		{"jwt short hmac key", []doris.Option{doris.WithJWT(doris.JWTConfig{Algorithms: []string{"HS256"}, Keys: map[string]any{"k": []byte("short")}})}, "shorter than 32"},
		{"jwt private key", []doris.Option{doris.WithJWT(doris.JWTConfig{Algorithms: []string{"RS256"}, Keys: map[string]any{"k": k.RSA}})}, "unusable key type"},
		{"jwt leeway", []doris.Option{doris.WithJWT(doris.JWTConfig{Algorithms: []string{"RS256"}, Keys: map[string]any{"k": &k.RSA.PublicKey}, Leeway: time.Hour})}, "leeway"},
		{"jwks over plain http", []doris.Option{doris.WithJWT(doris.JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: "http://idp.example.com/jwks"})}, "https"},
		{"introspection without client", []doris.Option{doris.WithIntrospection(doris.IntrospectionConfig{URL: "https://as.example.com/introspect"})}, "ClientID"},
		{"scopes without auth", []doris.Option{doris.WithToolScopes(map[string][]string{"exec_query": {"q"}})}, "needs an authentication method"},
		{"insecure with auth", []doris.Option{doris.WithInsecureNoAuth(), doris.WithBearerTokens(tok)}, "contradicts"},
		{"metadata without auth", []doris.Option{doris.WithResourceMetadata(&oauthex.ProtectedResourceMetadata{Resource: testResource})}, "needs an authentication method"},
		{"metadata without resource", []doris.Option{doris.WithBearerTokens(tok), doris.WithResourceMetadata(&oauthex.ProtectedResourceMetadata{})}, "Resource"},
		{"doris account with WithDB", []doris.Option{doris.WithBearerTokens(doris.BearerToken{Token: tok.Token, Name: "a", DorisUser: "u"})}, "needs WithDSN"},
		{"valid", []doris.Option{doris.WithBearerTokens(tok), doris.WithJWT(doris.JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: "https://idp.example.com/jwks"})}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := doris.WithDSN("u:p@tcp(127.0.0.1:1)/db")
			if strings.Contains(tc.name, "WithDB") {
				base = doris.WithDB(openDB(t, "u:p@tcp(127.0.0.1:1)/db"))
			}
			s, err := doris.New(append([]doris.Option{base}, tc.opts...)...)
			if s != nil {
				s.Shutdown(context.Background())
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestAuthLifecycle: every background task of the authenticator ends with
// Shutdown.
func TestAuthLifecycle(t *testing.T) {
	k := authntest.Keys()
	jwks := authntest.NewJWKS(t, map[string]any{"r1": &k.RSA.PublicKey})
	as := authntest.NewAuthServer(t)
	as.Set("opaque", map[string]any{"active": true, "sub": "a", "aud": testAudience})
	path := filepath.Join(t.TempDir(), "tokens.json")
	os.WriteFile(path, []byte(`[{"name":"f","digest":"`+digestOf("file-secret-0123456789")+`"}]`), 0o600)
	dsn := testdb.DSN(t)
	// The fixtures above outlive the check; the Server must not.
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	s, err := doris.New(doris.WithDSN(dsn), doris.WithTokenFile(path), doris.WithFilePoll(time.Millisecond),
		doris.WithJWT(doris.JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: jwks.URL}), doris.WithIntrospection(introspectionOf(as)))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	for _, tok := range []string{"file-secret-0123456789", "opaque", signJWT(t, jwt.SigningMethodRS256, k.RSA, "r1", nil)} {
		waitFor(t, 5*time.Second, "acceptance", func() bool {
			resp, _ := authPost(t, hs.URL, "Bearer "+tok, listBody)
			return resp.StatusCode == 200
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	hs.Close()
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, opts...)
}

// grantsBackend returns the DSN of the integration server and a root
// connection to it, for tests of accounts and grants: MariaDB named by
// DORIS_TEST_DSN, with root reached through DORIS_TEST_ROOT_DSN (e.g.
// root@unix(/tmp/mdb/sock)/sample) or, as in CI, DORISSIM_MARIADB_DSN.
// The simulator has no grants, so the test is skipped without them.
func grantsBackend(t *testing.T) (dsn string, root *sql.DB) {
	t.Helper()
	rootDSN := testdb.RootDSN()
	if !testdb.Real() || rootDSN == "" {
		t.Skip("needs DORIS_TEST_DSN and a root DSN in DORIS_TEST_ROOT_DSN (MariaDB; the simulator has no grants)")
	}
	return testdb.RealDSN(t), openDB(t, rootDSN)
}

// TestPerTokenAccounts: on MariaDB, two tokens mapped to two accounts with
// different grants see different data, and a token whose account cannot
// log in gets an error, never the Server's account's data.
func TestPerTokenAccounts(t *testing.T) {
	testdb.Parallel(t)
	dsn, admin := grantsBackend(t)
	setup := []string{
		"CREATE DATABASE IF NOT EXISTS auth_b",
		"CREATE OR REPLACE TABLE auth_b.secrets (v INT)",
		"INSERT INTO auth_b.secrets VALUES (42)",
		"DROP USER IF EXISTS 'auth_a'@'127.0.0.1', 'auth_b'@'127.0.0.1'",
		"CREATE USER 'auth_a'@'127.0.0.1' IDENTIFIED BY 'pass-a'",
		"CREATE USER 'auth_b'@'127.0.0.1' IDENTIFIED BY 'pass-b'",
		"GRANT SELECT ON sample.* TO 'auth_a'@'127.0.0.1'",
		"GRANT SELECT ON sample.customers TO 'auth_b'@'127.0.0.1'",
		"GRANT SELECT ON auth_b.* TO 'auth_b'@'127.0.0.1'",
	}
	for _, q := range setup {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		admin.Exec("DROP USER IF EXISTS 'auth_a'@'127.0.0.1', 'auth_b'@'127.0.0.1'")
		admin.Exec("DROP DATABASE IF EXISTS auth_b")
	})
	s := newServer(t, dsn, doris.WithBearerTokens(
		doris.BearerToken{Token: "token-of-account-a-0123", Name: "a", DorisUser: "auth_a", DorisPassword: "pass-a", DorisDatabase: "sample"},
		doris.BearerToken{Token: "token-of-account-b-0123", Name: "b", DorisUser: "auth_b", DorisPassword: "pass-b"},
		doris.BearerToken{Token: "token-with-bad-password", Name: "bad", DorisUser: "auth_a", DorisPassword: "wrong"},
	))
	endpoint := serveHTTP(t, s).URL + "/mcp"
	ctx := context.Background()
	session := func(token string) *mcp.ClientSession {
		return connect(t, ctx, endpoint, bearerClient(t, token), "")
	}
	dbs := func(cs *mcp.ClientSession) []string {
		var out []string
		for _, row := range mustCall(t, ctx, cs, "get_db_list", nil).Rows {
			out = append(out, fmt.Sprint(row[0]))
		}
		slices.Sort(out)
		return out
	}
	a, b, bad := session("token-of-account-a-0123"), session("token-of-account-b-0123"), session("token-with-bad-password")
	if got := dbs(a); slices.Contains(got, "auth_b") || !slices.Contains(got, "sample") {
		t.Errorf("account a sees %v", got)
	}
	if got := dbs(b); !slices.Contains(got, "auth_b") || !slices.Contains(got, "sample") {
		t.Errorf("account b sees %v", got)
	}
	secret := map[string]any{"sql": "SELECT v FROM auth_b.secrets"}
	if r := mustCall(t, ctx, b, "exec_query", secret); r.RowCount != 1 {
		t.Errorf("account b: %d rows", r.RowCount)
	}
	if _, toolErr, err := call(ctx, a, "exec_query", secret); err != nil || toolErr == "" {
		t.Errorf("account a read auth_b: err %v, tool error %q", err, toolErr)
	}
	orders := map[string]any{"sql": "SELECT COUNT(*) FROM sample.orders"}
	mustCall(t, ctx, a, "exec_query", orders)
	if _, toolErr, err := call(ctx, b, "exec_query", orders); err != nil || toolErr == "" {
		t.Errorf("account b read sample.orders: err %v, tool error %q", err, toolErr)
	}
	// A cancelled call of account a is killed through account a: the
	// Server's account may not kill another account's queries.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, _, err := call(cctx, a, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 120})
		done <- err
	}()
	waitFor(t, 5*time.Second, "account a's query to run", func() bool { return running(t, admin, "seq_1_to_20000") == 1 })
	cancel()
	<-done
	waitFor(t, 2*time.Second, "account a's cancelled query to be killed", func() bool { return running(t, admin, "seq_1_to_20000") == 0 })

	// The bad password is refused after a good session on the same user
	// opened its pool: pools are per user and password.
	for _, tool := range []string{"get_db_list", "exec_query"} {
		_, toolErr, err := call(ctx, bad, tool, orders)
		if tool == "get_db_list" {
			_, toolErr, err = call(ctx, bad, tool, nil)
		}
		if err != nil || !strings.Contains(toolErr, "cannot log in") {
			t.Errorf("bad password, %s: err %v, tool error %q", tool, err, toolErr)
		}
	}
}

// BenchmarkAuth measures tools/call with a verified RS256 JWT (cached key)
// and with a static token against no authentication, in one run.
func BenchmarkAuth(b *testing.B) {
	benchNoLeaks(b)
	k := authntest.Keys()
	dsn := testdb.DSN(b)
	quiet := doris.WithLogger(slog.New(slog.DiscardHandler))
	none := newServer(b, dsn, quiet)
	authed := newServer(b, dsn, quiet,
		doris.WithBearerTokens(doris.BearerToken{Token: "static-secret-bench-0123456789", Name: "bench"}),
		doris.WithJWT(doris.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256"}, Keys: map[string]any{"k1": &k.RSA.PublicKey}}))
	noneURL, authURL := serveHTTP(b, none).URL+"/mcp", serveHTTP(b, authed).URL+"/mcp"
	ctx := context.Background()
	plain := &http.Transport{}
	b.Cleanup(plain.CloseIdleConnections)
	sessions := []struct {
		name string
		cs   *mcp.ClientSession
	}{
		{"none", connect(b, ctx, noneURL, &http.Client{Transport: plain}, "")},
		{"static", connect(b, ctx, authURL, bearerClient(b, "static-secret-bench-0123456789"), "")},
		{"jwt", connect(b, ctx, authURL, bearerClient(b, signJWT(b, jwt.SigningMethodRS256, k.RSA, "k1", jwt.MapClaims{"exp": time.Now().Add(24 * time.Hour).Unix()})), "")},
	}
	args := map[string]any{"sql": benchSmallQuery}
	for _, s := range sessions { // warm connections, pools and caches alike
		for range 50 {
			if _, err := benchCall(ctx, s.cs, args); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Interleaved, so that drift in a shared machine's load weighs on the
	// three paths alike.
	spent := make([]time.Duration, len(sessions))
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		round++
		for j := range sessions {
			i := (j + round) % len(sessions) // no path always first
			s := sessions[i]
			start := time.Now()
			n, err := benchCall(ctx, s.cs, args)
			spent[i] += time.Since(start)
			if err := benchExpectRows("exec_query", 10, n, err); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i, s := range sessions {
		b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), s.name+"_ns/call")
		if i > 0 {
			b.ReportMetric(float64(spent[i])/float64(spent[0]), s.name+"/none")
		}
	}
}

// BenchmarkVerify is the cost of the bearer check alone, per request.
func BenchmarkVerify(b *testing.B) {
	k := authntest.Keys()
	s := newServer(b, testdb.DSN(b), doris.WithLogger(slog.New(slog.DiscardHandler)),
		doris.WithBearerTokens(doris.BearerToken{Token: "static-secret-bench-0123456789", Name: "bench"}),
		doris.WithJWT(doris.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256"}, Keys: map[string]any{"k1": &k.RSA.PublicKey}}))
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	for _, tc := range []struct{ name, token string }{
		{"static", "static-secret-bench-0123456789"},
		{"jwt-rs256", signJWT(b, jwt.SigningMethodRS256, k.RSA, "k1", nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.VerifyToken(r, tc.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// lockedBuffer is a log sink read while the Server writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAuthLogs: refusals are logged with their reason and, where known,
// the principal, never with the token.
func TestAuthLogs(t *testing.T) {
	testdb.Parallel(t)
	k := authntest.Keys()
	var logs lockedBuffer
	s, err := doris.New(doris.WithDSN(testdb.DSN(t)), doris.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		doris.WithBearerTokens(doris.BearerToken{Token: "static-secret-expired-012345678", Name: "old-job", Expires: time.Now().Add(-time.Minute)}),
		doris.WithJWT(doris.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256"}, Keys: map[string]any{"k1": &k.RSA.PublicKey}}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	endpoint := serveHTTP(t, s).URL + "/mcp"
	expiredJWT := signJWT(t, jwt.SigningMethodRS256, k.RSA, "k1", jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()})
	for _, tok := range []string{"static-secret-expired-012345678", expiredJWT, "static-secret-unknown-0123456"} {
		authPost(t, endpoint, "Bearer "+tok, listBody)
	}
	got := logs.String()
	for _, want := range []string{"static token old-job expired", "token is expired", "unknown token"} {
		if !strings.Contains(got, want) {
			t.Errorf("logs lack %q:\n%s", want, got)
		}
	}
	for _, secret := range []string{"static-secret-expired-012345678", expiredJWT, "static-secret-unknown-0123456", strings.Split(expiredJWT, ".")[2]} {
		if strings.Contains(got, secret) {
			t.Errorf("logs show a token:\n%s", got)
		}
	}
}

// TestResourceScopes: resources give the data of the tools they mirror,
// and need their scopes to be listed and read, over HTTP with the go-sdk
// client; every list and read given to a principal is marked private.
func TestResourceScopes(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t),
		doris.WithBearerTokens(
			doris.BearerToken{Token: "token-of-the-reader-0123", Name: "reader", Scopes: []string{"doris:read"}},
			doris.BearerToken{Token: "token-of-the-designer-0123", Name: "designer", Scopes: []string{"doris:read", "doris:schema"}},
		),
		doris.WithToolScopes(map[string][]string{"get_table_schema": {"doris:schema"}, "get_table_basic_info": {"doris:stats"}}),
	)
	endpoint := serveHTTP(t, s).URL + "/mcp"
	ctx := context.Background()
	const (
		table = "doris://table/sample/customers"
		view  = "doris://view/sample/customer_order_totals"
		stats = "doris://stats/database"
	)
	type seen struct {
		resources, templates []string
		prompts              int
		read                 map[string]string // by URI: "ok" or the error
	}
	look := func(token string) seen {
		t.Helper()
		cs := connect(t, ctx, endpoint, bearerClient(t, token), "")
		var out seen
		rl, err := cs.ListResources(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		tl, err := cs.ListResourceTemplates(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := cs.ListPrompts(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		tools, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for what, scope := range map[string]string{"resources/list": rl.CacheScope, "resources/templates/list": tl.CacheScope, "prompts/list": pl.CacheScope, "tools/list": tools.CacheScope} {
			if scope != "private" {
				t.Errorf("%s: %s has cacheScope %q, want private", token, what, scope)
			}
		}
		for _, r := range rl.Resources {
			out.resources = append(out.resources, r.URI)
		}
		for _, r := range tl.ResourceTemplates {
			out.templates = append(out.templates, r.URITemplate)
		}
		out.prompts = len(pl.Prompts)
		out.read = map[string]string{}
		for _, uri := range []string{table, view, stats} {
			res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
			switch {
			case err != nil:
				out.read[uri] = err.Error()
			case res.CacheScope != "private":
				t.Errorf("%s: reading %s has cacheScope %q, want private", token, uri, res.CacheScope)
				fallthrough
			default:
				out.read[uri] = "ok"
			}
		}
		return out
	}

	reader := look("token-of-the-reader-0123")
	if len(reader.resources) != 0 || len(reader.templates) != 0 {
		t.Errorf("the reader, refused get_table_schema and get_table_basic_info, lists %v and %v", reader.resources, reader.templates)
	}
	for uri, got := range reader.read {
		if !strings.Contains(got, "insufficient scope") {
			t.Errorf("the reader reads %s: %s", uri, got)
		}
	}
	if !strings.Contains(reader.read[table], "needs scope doris:schema") || !strings.Contains(reader.read[stats], "needs scope doris:stats") {
		t.Errorf("refusals do not name the scope: %v", reader.read)
	}
	if reader.prompts != 6 {
		t.Errorf("the reader sees %d prompts, want all 6: they only write plans", reader.prompts)
	}

	designer := look("token-of-the-designer-0123")
	if !slices.Contains(designer.resources, table) || !slices.Contains(designer.resources, view) || slices.Contains(designer.resources, stats) {
		t.Errorf("the designer lists %v", designer.resources)
	}
	if len(designer.templates) != 2 {
		t.Errorf("the designer lists templates %v", designer.templates)
	}
	if designer.read[table] != "ok" || designer.read[view] != "ok" || !strings.Contains(designer.read[stats], "insufficient scope") {
		t.Errorf("the designer reads %v", designer.read)
	}

	// Without a principal, what everyone gets may be cached by anyone.
	open := newServer(t, testdb.DSN(t))
	cs := connect(t, ctx, serveHTTP(t, open).URL+"/mcp", &http.Client{}, "")
	if tl, err := cs.ListTools(ctx, nil); err != nil || tl.CacheScope != "public" {
		t.Errorf("unauthenticated tools/list: cacheScope %q, %v", tl.CacheScope, err)
	}
}

// TestIntrospectionOneRequestOverHTTP: 400 concurrent requests with the
// same bogus token cost the authorization server one introspection.
func TestIntrospectionOneRequestOverHTTP(t *testing.T) {
	testdb.Parallel(t)
	as := authntest.NewAuthServer(t)
	s := newServer(t, testdb.DSN(t), doris.WithLogger(slog.New(slog.DiscardHandler)), doris.WithIntrospection(introspectionOf(as)))
	counting := &countingHandler{next: s.Handler(), n: map[string]int{}}
	hs := httptest.NewServer(counting)
	defer hs.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	release := as.Hold()
	defer release()
	const n = 400
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, hs.URL, strings.NewReader(listBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer bogus-opaque-token")
			resp, err := client.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	waitFor(t, 10*time.Second, "every request to reach the bearer check", func() bool { return counting.active(http.MethodPost) == n })
	release()
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", code)
		}
	}
	if got := as.Introspections(); got != 1 {
		t.Errorf("%d introspection requests for %d requests with one token, want 1", got, n)
	}
}

// TestPerTokenDatabase: on MariaDB, a token's own Doris account does not
// inherit the DSN's default database: an account with rights on guardtest
// only connects without one, or with guardtest as its own, and one whose
// token names a database it may not use is told which.
func TestPerTokenDatabase(t *testing.T) {
	testdb.Parallel(t)
	dsn, admin := grantsBackend(t)
	for _, q := range []string{
		"DROP USER IF EXISTS 'guard_only'@'127.0.0.1'",
		"CREATE USER 'guard_only'@'127.0.0.1' IDENTIFIED BY 'pass-guard'",
		"GRANT SELECT ON guardtest.* TO 'guard_only'@'127.0.0.1'",
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { admin.Exec("DROP USER IF EXISTS 'guard_only'@'127.0.0.1'") })
	account := doris.BearerToken{DorisUser: "guard_only", DorisPassword: "pass-guard"}
	with := func(secret, name, db string) doris.BearerToken {
		tok := account
		tok.Token, tok.Name, tok.DorisDatabase = secret, name, db
		return tok
	}
	s := newServer(t, dsn, doris.WithBearerTokens(
		with("token-guard-no-database-01", "none", ""),
		with("token-guard-own-database-01", "own", "guardtest"),
		with("token-guard-dsn-database-01", "dsn", "sample"),
	))
	endpoint := serveHTTP(t, s).URL + "/mcp"
	ctx := context.Background()
	session := func(token string) *mcp.ClientSession { return connect(t, ctx, endpoint, bearerClient(t, token), "") }

	none := session("token-guard-no-database-01")
	if r := mustCall(t, ctx, none, "exec_query", map[string]any{"sql": "SELECT DATABASE(), COUNT(*) FROM guardtest.touched"}); r.Rows[0][0] != nil {
		t.Errorf("no default database expected, got %v", r.Rows[0][0])
	}
	own := session("token-guard-own-database-01")
	if r := mustCall(t, ctx, own, "exec_query", map[string]any{"sql": "SELECT DATABASE(), COUNT(*) FROM touched"}); r.Rows[0][0] != "guardtest" {
		t.Errorf("default database %v, want guardtest", r.Rows[0][0])
	}
	refused := session("token-guard-dsn-database-01")
	_, toolErr, err := call(ctx, refused, "get_db_list", nil)
	if err != nil || !strings.Contains(toolErr, `may not use database "sample"`) || strings.Contains(toolErr, "cannot log in") {
		t.Errorf("account refused its database: err %v, tool error %q", err, toolErr)
	}
}
