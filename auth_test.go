package doris

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"go.uber.org/goleak"

	jwkset "github.com/dorismcp/doris/internal/jwks"
)

// Test keys, generated once per test binary run.
var testKeys = sync.OnceValue(func() (k struct {
	rsa, rsa2, rsa3 *rsa.PrivateKey
	ec              *ecdsa.PrivateKey
	ed              ed25519.PrivateKey
	hmac            []byte
},
) {
	mustRSA := func() *rsa.PrivateKey {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return key
	}
	k.rsa, k.rsa2, k.rsa3 = mustRSA(), mustRSA(), mustRSA()
	var err error
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	k.hmac = []byte("an HMAC key of at least thirty-two bytes")
	return k
})

const (
	testIssuer   = "https://issuer.test"
	testAudience = "doris-mcp"
	testResource = "https://mcp.example.com/mcp"
)

// signJWT signs claims (exp, iss, aud and sub filled in unless given) with
// method and key under kid.
func signJWT(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	full := jwt.MapClaims{
		"iss": testIssuer, "aud": testAudience, "sub": "svc",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}
	for k, v := range claims {
		if v == nil {
			delete(full, k)
		} else {
			full[k] = v
		}
	}
	tok := jwt.NewWithClaims(method, full)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return s
}

// jwksServer publishes a key set that a test can change, and counts
// fetches; while down it answers 503.
type jwksServer struct {
	mu      sync.Mutex
	keys    map[string]any // public keys by kid
	down    bool
	fetches atomic.Int64
	url     string
}

func newJWKSServer(t testing.TB, keys map[string]any) *jwksServer {
	j := &jwksServer{keys: keys}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		j.mu.Lock()
		defer j.mu.Unlock()
		if j.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwksJSON(j.keys))
	}))
	t.Cleanup(hs.Close)
	j.url = hs.URL + "/jwks"
	return j
}

func (j *jwksServer) set(down bool, keys map[string]any) {
	j.mu.Lock()
	j.down, j.keys = down, keys
	j.mu.Unlock()
}

// jwksJSON encodes public keys as a JWKS, written by hand as an issuer
// would publish it.
func jwksJSON(keys map[string]any) []byte {
	b64 := base64.RawURLEncoding.EncodeToString
	var out []map[string]string
	for kid, k := range keys {
		switch k := k.(type) {
		case *rsa.PublicKey:
			out = append(out, map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
		case *ecdsa.PublicKey:
			raw, _ := k.Bytes()
			out = append(out, map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])})
		case ed25519.PublicKey:
			out = append(out, map[string]string{"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(k)})
		case []byte:
			out = append(out, map[string]string{"kty": "oct", "kid": kid, "k": b64(k)})
		}
	}
	b, _ := json.Marshal(map[string]any{"keys": out})
	return b
}

// authServer is an OAuth 2.0 authorization server: a client-credentials
// token endpoint and an RFC 7662 introspection endpoint that requires the
// access token it issued.
type authServer struct {
	url            string
	tokensIssued   atomic.Int64
	introspections atomic.Int64
	mu             sync.Mutex
	verdicts       map[string]map[string]any // by token
}

const (
	asClientID     = "doris-mcp"
	asClientSecret = "client-secret"
	asAccessToken  = "as-issued-access-token"
)

func newAuthServer(t testing.TB) *authServer {
	as := &authServer{verdicts: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if r.ParseForm() != nil || r.Form.Get("grant_type") != "client_credentials" || !ok || id != asClientID || secret != asClientSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		as.tokensIssued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, asAccessToken)
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+asAccessToken {
			http.Error(w, "client not authenticated", http.StatusUnauthorized)
			return
		}
		as.introspections.Add(1)
		r.ParseForm()
		as.mu.Lock()
		v, ok := as.verdicts[r.Form.Get("token")]
		as.mu.Unlock()
		if !ok {
			v = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	as.url = hs.URL
	return as
}

func (as *authServer) set(token string, verdict map[string]any) {
	as.mu.Lock()
	as.verdicts[token] = verdict
	as.mu.Unlock()
}

func (as *authServer) config() IntrospectionConfig {
	return IntrospectionConfig{
		URL: as.url + "/introspect", TokenURL: as.url + "/token",
		ClientID: asClientID, ClientSecret: asClientSecret, Audience: testAudience,
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

// post sends one JSON-RPC body to url with the given Authorization header
// (none when empty).
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

func digestOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TestAuthAttacks sends the usual attacks on bearer authentication, and
// the tokens each method must accept, to Handler over real HTTP.
func TestAuthAttacks(t *testing.T) {
	k := testKeys()
	jwks := newJWKSServer(t, map[string]any{"j1": &k.ec.PublicKey, "j2": k.ed.Public()})
	as := newAuthServer(t)
	as.set("opaque-active", map[string]any{"active": true, "sub": "opaque-user", "scope": "doris:read doris:query", "aud": testAudience, "exp": time.Now().Add(time.Hour).Unix()})
	as.set("opaque-revoked", map[string]any{"active": false})
	as.set("opaque-other-aud", map[string]any{"active": true, "sub": "x", "aud": []string{"someone-else"}})

	s := newServer(t, backend(t),
		WithBearerTokens(
			BearerToken{Token: "static-secret-alice-0123456789", Name: "alice", Scopes: []string{"doris:read", "doris:query"}},
			BearerToken{Digest: digestOf("static-secret-reader-0123456789"), Name: "reader", Scopes: []string{"doris:read"}},
			BearerToken{Token: "static-secret-expired-012345678", Name: "old", Expires: time.Now().Add(-time.Minute)},
		),
		WithJWT(JWTConfig{
			Issuer: testIssuer, Audience: testAudience,
			Algorithms: []string{"RS256", "HS256", "ES256", "EdDSA"},
			Keys:       map[string]any{"k1": &k.rsa.PublicKey, "h1": k.hmac},
			JWKSURL:    jwks.url,
		}),
		WithIntrospection(as.config()),
		WithToolScopes(map[string][]string{"exec_query": {"doris:query"}}),
		WithResourceMetadata(&oauthex.ProtectedResourceMetadata{Resource: testResource, AuthorizationServers: []string{testIssuer}}),
	)
	hs := serveHTTP(t, s)
	endpoint := hs.URL + "/mcp"

	pubDER, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	now := time.Now()
	rs := func(claims jwt.MapClaims) string { return signJWT(t, jwt.SigningMethodRS256, k.rsa, "k1", claims) }
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
		{name: "wrong key", auth: "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.rsa2, "k1", nil), code: 401, challenge: invalid},
		{name: "algorithm not listed", auth: "Bearer " + signJWT(t, jwt.SigningMethodRS512, k.rsa, "k1", nil), code: 401, challenge: invalid},
		{name: "expired", auth: "Bearer " + rs(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()}), code: 401, challenge: invalid},
		{name: "no exp", auth: "Bearer " + rs(jwt.MapClaims{"exp": nil}), code: 401, challenge: invalid},
		{name: "not yet valid", auth: "Bearer " + rs(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()}), code: 401, challenge: invalid},
		{name: "issued in the future", auth: "Bearer " + rs(jwt.MapClaims{"iat": now.Add(time.Hour).Unix()}), code: 401, challenge: invalid},
		{name: "wrong iss", auth: "Bearer " + rs(jwt.MapClaims{"iss": "https://evil.test"}), code: 401, challenge: invalid},
		{name: "wrong aud", auth: "Bearer " + rs(jwt.MapClaims{"aud": "another-api"}), code: 401, challenge: invalid},
		{name: "unknown kid", auth: "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.rsa, "k-unknown", nil), code: 401, challenge: invalid},
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
		{name: "accepted: HS256", auth: "Bearer " + signJWT(t, jwt.SigningMethodHS256, k.hmac, "h1", nil), code: 200},
		{name: "accepted: ES256 from the JWKS", auth: "Bearer " + signJWT(t, jwt.SigningMethodES256, k.ec, "j1", nil), code: 200},
		{name: "accepted: EdDSA from the JWKS", auth: "Bearer " + signJWT(t, jwt.SigningMethodEdDSA, k.ed, "j2", nil), code: 200},
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
	meta := &oauthex.ProtectedResourceMetadata{Resource: testResource, AuthorizationServers: []string{testIssuer}, ScopesSupported: []string{"doris:read"}}
	s := newServer(t, backend(t), WithBearerTokens(BearerToken{Token: "static-secret-alice-0123456789", Name: "alice"}), WithResourceMetadata(meta))
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

// TestJWKSDownAtStart: with the JWKS endpoint down there are no keys, and
// tokens get 401 (not 500, no panic); once it is up, a token is accepted
// without a restart.
func TestJWKSDownAtStart(t *testing.T) {
	k := testKeys()
	jwks := newJWKSServer(t, map[string]any{"r1": &k.rsa.PublicKey})
	jwks.set(true, map[string]any{"r1": &k.rsa.PublicKey})
	s := newServer(t, backend(t), WithJWT(JWTConfig{
		Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256"},
		JWKSURL: jwks.url, kidRefreshGap: time.Nanosecond,
	}))
	endpoint := serveHTTP(t, s).URL + "/mcp"
	token := "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.rsa, "r1", nil)
	waitFor(t, 5*time.Second, "a JWKS fetch", func() bool { return jwks.fetches.Load() > 0 })
	if resp, body := authPost(t, endpoint, token, listBody); resp.StatusCode != 401 {
		t.Fatalf("JWKS down: status %d, want 401; body %q", resp.StatusCode, body)
	}
	jwks.set(false, map[string]any{"r1": &k.rsa.PublicKey})
	if resp, body := authPost(t, endpoint, token, listBody); resp.StatusCode != 200 {
		t.Fatalf("JWKS up: status %d, want 200; body %q", resp.StatusCode, body)
	}
	// Down again: the cached key keeps working.
	jwks.set(true, nil)
	if resp, body := authPost(t, endpoint, token, listBody); resp.StatusCode != 200 {
		t.Fatalf("JWKS down again: status %d, want 200 from the cached key; body %q", resp.StatusCode, body)
	}
}

// TestJWKSRotation: a new kid is accepted on first sight, the old one as
// long as it is published, and not after.
func TestJWKSRotation(t *testing.T) {
	k := testKeys()
	jwks := newJWKSServer(t, map[string]any{"old": &k.rsa.PublicKey})
	s := newServer(t, backend(t), WithJWT(JWTConfig{
		Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256"},
		JWKSURL: jwks.url, kidRefreshGap: time.Nanosecond,
	}))
	endpoint := serveHTTP(t, s).URL + "/mcp"
	oldTok := "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.rsa, "old", nil)
	newTok := "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.rsa2, "new", nil)
	strangerTok := "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.rsa3, "stranger", nil)

	steps := []struct {
		publish map[string]any
		token   string
		code    int
	}{
		{map[string]any{"old": &k.rsa.PublicKey}, oldTok, 200},
		{map[string]any{"old": &k.rsa.PublicKey}, newTok, 401},
		{map[string]any{"old": &k.rsa.PublicKey, "new": &k.rsa2.PublicKey}, newTok, 200}, // first sight
		{map[string]any{"old": &k.rsa.PublicKey, "new": &k.rsa2.PublicKey}, oldTok, 200}, // overlap
		{map[string]any{"new": &k.rsa2.PublicKey}, strangerTok, 401},                     // its refresh drops "old"
		{map[string]any{"new": &k.rsa2.PublicKey}, oldTok, 401},
		{map[string]any{"new": &k.rsa2.PublicKey}, newTok, 200},
	}
	for i, st := range steps {
		jwks.set(false, st.publish)
		if resp, body := authPost(t, endpoint, st.token, listBody); resp.StatusCode != st.code {
			t.Fatalf("step %d: status %d, want %d; body %q", i, resp.StatusCode, st.code, body)
		}
	}
}

// TestJWKSUnknownKidRateLimited: tokens with unknown kids trigger one
// refresh, not one each.
func TestJWKSUnknownKidRateLimited(t *testing.T) {
	k := testKeys()
	jwks := newJWKSServer(t, map[string]any{"r1": &k.rsa.PublicKey})
	s := newServer(t, backend(t), WithJWT(JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: jwks.url}))
	endpoint := serveHTTP(t, s).URL + "/mcp"
	// The background loop's first fetch, not one for an unknown kid.
	waitFor(t, 5*time.Second, "the first JWKS fetch", func() bool {
		_, ok := s.auth.jwt.jwks.Key("r1")
		return ok
	})
	before := jwks.fetches.Load()
	for i := range 5 {
		tok := "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.rsa, fmt.Sprintf("unknown-%d", i), nil)
		if resp, _ := authPost(t, endpoint, tok, listBody); resp.StatusCode != 401 {
			t.Fatalf("unknown kid %d: status %d", i, resp.StatusCode)
		}
	}
	if got := jwks.fetches.Load() - before; got != 1 {
		t.Errorf("five unknown kids caused %d fetches, want 1", got)
	}
}

func TestParseJWKS(t *testing.T) {
	k := testKeys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	body := jwksJSON(map[string]any{
		"rsa": &k.rsa.PublicKey, "ec": &k.ec.PublicKey, "ed": k.ed.Public(),
		"oct": k.hmac, "short": &small.PublicKey,
	})
	keys, err := jwkset.Parse(body, slog.New(slog.DiscardHandler))
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
	if !keys["rsa"].(*rsa.PublicKey).Equal(&k.rsa.PublicKey) || !keys["ec"].(*ecdsa.PublicKey).Equal(&k.ec.PublicKey) || !keys["ed"].(ed25519.PublicKey).Equal(k.ed.Public()) {
		t.Error("parsed keys differ from the published ones")
	}
	for _, bad := range []string{`{"keys": 3}`, `[]`, `not json`} {
		if _, err := jwkset.Parse([]byte(bad), slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("Parse(%s): no error", bad)
		}
	}
	// A point off the curve is refused.
	off := fmt.Sprintf(`{"keys":[{"kty":"EC","kid":"x","crv":"P-256","x":%q,"y":%q}]}`,
		base64.RawURLEncoding.EncodeToString(make([]byte, 32)), base64.RawURLEncoding.EncodeToString(append(make([]byte, 31), 1)))
	if keys, _ := jwkset.Parse([]byte(off), slog.New(slog.DiscardHandler)); len(keys) != 0 {
		t.Errorf("a point off the curve was accepted")
	}
}

// TestIntrospection: active tokens are accepted and cached, no longer than
// their exp; inactive ones get 401; the cache is bounded.
func TestIntrospection(t *testing.T) {
	as := newAuthServer(t)
	s := newServer(t, backend(t), WithIntrospection(as.config()))
	endpoint := serveHTTP(t, s).URL + "/mcp"
	exp := time.Now().Add(20 * time.Second).Truncate(time.Second)
	as.set("tok-a", map[string]any{"active": true, "sub": "a", "aud": testAudience, "exp": exp.Unix()})

	for i := range 3 {
		if resp, body := authPost(t, endpoint, "Bearer tok-a", listBody); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d; body %q", i, resp.StatusCode, body)
		}
	}
	if n := as.introspections.Load(); n != 1 {
		t.Errorf("%d introspections for three requests, want 1 (cached)", n)
	}
	if n := as.tokensIssued.Load(); n != 1 {
		t.Errorf("%d client-credentials tokens fetched, want 1", n)
	}
	in := s.auth.intro
	in.mu.Lock()
	e := in.cache[sha256.Sum256([]byte("tok-a"))]
	in.mu.Unlock()
	if !e.until.Equal(exp) {
		t.Errorf("cached until %v, want the token's exp %v (before the one-minute TTL)", e.until, exp)
	}

	// Revoked at the server: refused once the cached verdict is gone.
	as.set("tok-a", map[string]any{"active": false})
	in.mu.Lock()
	clear(in.cache)
	in.mu.Unlock()
	if resp, _ := authPost(t, endpoint, "Bearer tok-a", listBody); resp.StatusCode != 401 {
		t.Errorf("revoked: status %d, want 401", resp.StatusCode)
	}

	// Bounded: a full cache makes room.
	in.mu.Lock()
	for i := range maxIntroCache {
		in.cache[sha256.Sum256([]byte(fmt.Sprint(i)))] = introEntry{&Principal{}, time.Now().Add(time.Hour)}
	}
	in.mu.Unlock()
	as.set("tok-b", map[string]any{"active": true, "sub": "b", "aud": testAudience})
	if resp, _ := authPost(t, endpoint, "Bearer tok-b", listBody); resp.StatusCode != 200 {
		t.Errorf("tok-b: status %d", resp.StatusCode)
	}
	in.mu.Lock()
	n := len(in.cache)
	eb := in.cache[sha256.Sum256([]byte("tok-b"))]
	in.mu.Unlock()
	if d := time.Until(eb.until); d <= 0 || d > in.cfg.CacheTTL {
		t.Errorf("a token without exp is cached for %v, want at most the TTL %v", d, in.cfg.CacheTTL)
	}
	if n > maxIntroCache {
		t.Errorf("cache holds %d verdicts, more than %d", n, maxIntroCache)
	}
}

// TestToolScopes: tools/list shows a principal only what it may call, and
// a call the gate cannot judge is refused by the middleware with a tool
// error naming the scope.
func TestToolScopes(t *testing.T) {
	s := newServer(t, backend(t),
		WithBearerTokens(
			BearerToken{Token: "token-of-the-reader-0123", Name: "reader", Scopes: []string{"doris:read"}},
			BearerToken{Token: "token-of-the-analyst-0123", Name: "analyst", Scopes: []string{"doris:read", "doris:query"}},
		),
		WithToolScopes(map[string][]string{"exec_query": {"doris:query"}, "get_db_list": {"doris:read"}}),
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
	p := &Principal{Name: "reader", Method: "static", Scopes: []string{"doris:read"}}
	req := &mcp.CallToolRequest{
		Params: &mcp.CallToolParamsRaw{Name: "exec_query"},
		Extra:  &mcp.RequestExtra{TokenInfo: &auth.TokenInfo{Extra: map[string]any{tokenInfoPrincipal: p}}},
	}
	called := false
	next := func(context.Context, string, mcp.Request) (mcp.Result, error) {
		called = true
		return &mcp.CallToolResult{}, nil
	}
	res, err := s.withPrincipal(next)(ctx, "tools/call", req)
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
	for _, stateful := range []bool{false, true} {
		t.Run(fmt.Sprintf("stateful=%v", stateful), func(t *testing.T) {
			opts := []Option{WithBearerTokens(BearerToken{Token: "token-of-the-analyst-0123", Name: "analyst", Scopes: []string{"a", "b"}})}
			if stateful {
				opts = append(opts, WithStatefulSessions(0))
			}
			s := newServer(t, backend(t), opts...)
			mcp.AddTool(s.MCP(), &mcp.Tool{Name: "whoami"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
				p, ok := PrincipalFromContext(ctx)
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
	dsn := backend(t)
	open := newServer(t, dsn)
	insecure := newServer(t, dsn, WithInsecureNoAuth())
	authed := newServer(t, dsn, WithBearerTokens(BearerToken{Token: "static-secret-alice-0123456789", Name: "alice"}))
	public := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 8080}
	loop := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}

	tests := []struct {
		name  string
		s     *Server
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

// withFilePoll makes the token file checked often, for tests.
func withFilePoll(d time.Duration) Option {
	return func(c *config) error { c.auth.filePoll = d; return nil }
}

func TestTokenFile(t *testing.T) {
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
	s := newServer(t, backend(t), WithTokenFile(path), withFilePoll(5*time.Millisecond))
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

	// A file that holds secrets instead of digests is refused.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"name":"x","token":"plain-secret-0123456789"}]`), 0o600)
	if _, err := New(WithDSN("u:p@tcp(127.0.0.1:1)/db"), WithTokenFile(bad)); err == nil {
		t.Error("New accepted a token file with a plain token")
	}
	if _, err := New(WithDSN("u:p@tcp(127.0.0.1:1)/db"), WithTokenFile(filepath.Join(dir, "missing.json"))); err == nil {
		t.Error("New accepted a missing token file")
	}
}

func TestAuthOptions(t *testing.T) {
	k := testKeys()
	tok := BearerToken{Token: "static-secret-alice-0123456789", Name: "alice"}
	tests := []struct {
		name string
		opts []Option
		want string // in the error; "" for none
	}{
		{"short static token", []Option{WithBearerTokens(BearerToken{Token: "short", Name: "x"})}, "shorter than 16"},
		{"token and digest", []Option{WithBearerTokens(BearerToken{Token: tok.Token, Digest: digestOf("x"), Name: "x"})}, "both Token and Digest"},
		{"bad digest", []Option{WithBearerTokens(BearerToken{Digest: "abc", Name: "x"})}, "not a hex SHA-256"},
		{"no name", []Option{WithBearerTokens(BearerToken{Token: tok.Token})}, "no Name"},
		{"duplicate secret", []Option{WithBearerTokens(tok, BearerToken{Digest: digestOf(tok.Token), Name: "bob"})}, "same secret"},
		{"password without user", []Option{WithBearerTokens(BearerToken{Token: tok.Token, Name: "a", DorisPassword: "p"})}, "DorisPassword without DorisUser"},
		{"jwt without algorithms", []Option{WithJWT(JWTConfig{Keys: map[string]any{"k": &k.rsa.PublicKey}})}, "no algorithms"},
		{"jwt none", []Option{WithJWT(JWTConfig{Algorithms: []string{"none"}, Keys: map[string]any{"k": &k.rsa.PublicKey}})}, `"none" is not accepted`},
		{"jwt without keys", []Option{WithJWT(JWTConfig{Algorithms: []string{"RS256"}})}, "no keys"},
		{"jwt short hmac key", []Option{WithJWT(JWTConfig{Algorithms: []string{"HS256"}, Keys: map[string]any{"k": []byte("short")}})}, "shorter than 32"},
		{"jwt private key", []Option{WithJWT(JWTConfig{Algorithms: []string{"RS256"}, Keys: map[string]any{"k": k.rsa}})}, "unusable key type"},
		{"jwt leeway", []Option{WithJWT(JWTConfig{Algorithms: []string{"RS256"}, Keys: map[string]any{"k": &k.rsa.PublicKey}, Leeway: time.Hour})}, "leeway"},
		{"jwks over plain http", []Option{WithJWT(JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: "http://idp.example.com/jwks"})}, "https"},
		{"introspection without client", []Option{WithIntrospection(IntrospectionConfig{URL: "https://as.example.com/introspect"})}, "ClientID"},
		{"scopes without auth", []Option{WithToolScopes(map[string][]string{"exec_query": {"q"}})}, "needs an authentication method"},
		{"insecure with auth", []Option{WithInsecureNoAuth(), WithBearerTokens(tok)}, "contradicts"},
		{"metadata without auth", []Option{WithResourceMetadata(&oauthex.ProtectedResourceMetadata{Resource: testResource})}, "needs an authentication method"},
		{"metadata without resource", []Option{WithBearerTokens(tok), WithResourceMetadata(&oauthex.ProtectedResourceMetadata{})}, "Resource"},
		{"doris account with WithDB", []Option{WithBearerTokens(BearerToken{Token: tok.Token, Name: "a", DorisUser: "u"})}, "needs WithDSN"},
		{"valid", []Option{WithBearerTokens(tok), WithJWT(JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: "https://idp.example.com/jwks"})}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := WithDSN("u:p@tcp(127.0.0.1:1)/db")
			if strings.Contains(tc.name, "WithDB") {
				base = WithDB(openDB(t, "u:p@tcp(127.0.0.1:1)/db"))
			}
			s, err := New(append([]Option{base}, tc.opts...)...)
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
	k := testKeys()
	jwks := newJWKSServer(t, map[string]any{"r1": &k.rsa.PublicKey})
	as := newAuthServer(t)
	as.set("opaque", map[string]any{"active": true, "sub": "a", "aud": testAudience})
	path := filepath.Join(t.TempDir(), "tokens.json")
	os.WriteFile(path, []byte(`[{"name":"f","digest":"`+digestOf("file-secret-0123456789")+`"}]`), 0o600)
	dsn := backend(t)
	// The fixtures above outlive the check; the Server must not.
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	s, err := New(WithDSN(dsn), WithTokenFile(path), withFilePoll(time.Millisecond),
		WithJWT(JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: jwks.url}), WithIntrospection(as.config()))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	for _, tok := range []string{"file-secret-0123456789", "opaque", signJWT(t, jwt.SigningMethodRS256, k.rsa, "r1", nil)} {
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

// TestPerTokenAccounts: on MariaDB, two tokens mapped to two accounts with
// different grants see different data, and a token whose account cannot
// log in gets an error, never the Server's account's data.
func TestPerTokenAccounts(t *testing.T) {
	dsn, root := os.Getenv("DORIS_TEST_DSN"), os.Getenv("DORISSIM_MARIADB_DSN")
	if dsn == "" || root == "" {
		t.Skip("needs DORIS_TEST_DSN and a root DSN in DORISSIM_MARIADB_DSN (MariaDB; the simulator has no grants)")
	}
	admin := openDB(t, root)
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
	s := newServer(t, dsn, WithBearerTokens(
		BearerToken{Token: "token-of-account-a-0123", Name: "a", DorisUser: "auth_a", DorisPassword: "pass-a"},
		BearerToken{Token: "token-of-account-b-0123", Name: "b", DorisUser: "auth_b", DorisPassword: "pass-b"},
		BearerToken{Token: "token-with-bad-password", Name: "bad", DorisUser: "auth_a", DorisPassword: "wrong"},
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
		_, _, err := call(cctx, a, "exec_query", map[string]any{"sql": longQuery, "timeout_seconds": 120})
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
	k := testKeys()
	dsn := backend(b)
	quiet := WithLogger(slog.New(slog.DiscardHandler))
	none := newServer(b, dsn, quiet)
	authed := newServer(b, dsn, quiet,
		WithBearerTokens(BearerToken{Token: "static-secret-bench-0123456789", Name: "bench"}),
		WithJWT(JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256"}, Keys: map[string]any{"k1": &k.rsa.PublicKey}}))
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
		{"jwt", connect(b, ctx, authURL, bearerClient(b, signJWT(b, jwt.SigningMethodRS256, k.rsa, "k1", jwt.MapClaims{"exp": time.Now().Add(24 * time.Hour).Unix()})), "")},
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
	k := testKeys()
	s := newServer(b, backend(b), WithLogger(slog.New(slog.DiscardHandler)),
		WithBearerTokens(BearerToken{Token: "static-secret-bench-0123456789", Name: "bench"}),
		WithJWT(JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256"}, Keys: map[string]any{"k1": &k.rsa.PublicKey}}))
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	for _, tc := range []struct{ name, token string }{
		{"static", "static-secret-bench-0123456789"},
		{"jwt-rs256", signJWT(b, jwt.SigningMethodRS256, k.rsa, "k1", nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.auth.verify(r.Context(), tc.token, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPrincipalPrintsNoPassword: a host that logs a Principal does not log
// its Doris password.
func TestPrincipalPrintsNoPassword(t *testing.T) {
	st, err := staticFrom(BearerToken{Token: "static-secret-alice-0123456789", Name: "alice", DorisUser: "u", DorisPassword: "hunter2-password"})
	if err != nil {
		t.Fatal(err)
	}
	p := st.principal()
	for _, s := range []string{fmt.Sprintf("%+v", *p), fmt.Sprintf("%#v", *p), fmt.Sprint(p)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("printed principal shows the password: %s", s)
		}
	}
}

// TestJWKSBackgroundRefresh: with refreshes on unknown kids held back, the
// background loop retries a JWKS that was down at start, with backoff,
// until it gets the keys.
func TestJWKSBackgroundRefresh(t *testing.T) {
	k := testKeys()
	jwks := newJWKSServer(t, nil)
	jwks.set(true, nil)
	s := newServer(t, backend(t), WithJWT(JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: jwks.url, kidRefreshGap: time.Hour}))
	endpoint := serveHTTP(t, s).URL + "/mcp"
	token := "Bearer " + signJWT(t, jwt.SigningMethodRS256, k.rsa, "r1", nil)
	waitFor(t, 5*time.Second, "two failed fetches", func() bool { return jwks.fetches.Load() >= 2 })
	if resp, _ := authPost(t, endpoint, token, listBody); resp.StatusCode != 401 {
		t.Fatalf("no keys: status %d, want 401", resp.StatusCode)
	}
	jwks.set(false, map[string]any{"r1": &k.rsa.PublicKey})
	up := jwks.fetches.Load()
	waitFor(t, 10*time.Second, "a fetch after the JWKS came up", func() bool { return jwks.fetches.Load() > up })
	waitFor(t, 5*time.Second, "the keys", func() bool {
		resp, _ := authPost(t, endpoint, token, listBody)
		return resp.StatusCode == 200
	})
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
	k := testKeys()
	var logs lockedBuffer
	s, err := New(WithDSN(backend(t)), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		WithBearerTokens(BearerToken{Token: "static-secret-expired-012345678", Name: "old-job", Expires: time.Now().Add(-time.Minute)}),
		WithJWT(JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256"}, Keys: map[string]any{"k1": &k.rsa.PublicKey}}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	endpoint := serveHTTP(t, s).URL + "/mcp"
	expiredJWT := signJWT(t, jwt.SigningMethodRS256, k.rsa, "k1", jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()})
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
