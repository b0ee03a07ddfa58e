// Package authntest provides what tests of authentication need from the
// outside world: signing keys, signed JWTs, a JWKS endpoint whose keys a
// test changes, and an OAuth 2.0 authorization server (client-credentials
// token endpoint and RFC 7662 introspection) that counts, and can hold, the
// requests it gets. It is for tests only.
//
//	k := authntest.Keys()
//	is := authntest.NewIssuer(t, map[string]any{"k1": &k.RSA.PublicKey})
//	token := authntest.SignJWT(t, jwt.SigningMethodRS256, k.RSA, "k1", nil)
//	as := authntest.NewAuthServer(t)
//	as.Set("opaque", map[string]any{"active": true, "sub": "alice"})
package authntest

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The iss and aud SignJWT writes unless told otherwise.
const (
	Issuer   = "https://issuer.test"
	Audience = "doris-mcp"
)

// KeyRing holds private keys of every kind a verifier accepts.
type KeyRing struct {
	RSA, RSA2, RSA3 *rsa.PrivateKey
	EC              *ecdsa.PrivateKey
	Ed              ed25519.PrivateKey
	HMAC            []byte
}

// Keys returns keys generated once per test binary.
var Keys = sync.OnceValue(func() KeyRing {
	var k KeyRing
	mustRSA := func() *rsa.PrivateKey {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return key
	}
	k.RSA, k.RSA2, k.RSA3 = mustRSA(), mustRSA(), mustRSA()
	var err error
	if k.EC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if _, k.Ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	k.HMAC = []byte("an HMAC key of at least thirty-two bytes")
	return k
})

// SignJWT signs claims with method and key under kid (none when empty).
// iss, aud, sub, exp (in an hour) and iat are filled in unless claims
// gives them; a nil value removes one.
func SignJWT(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	full := jwt.MapClaims{
		"iss": Issuer, "aud": Audience, "sub": "svc",
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

// Digest is the hex SHA-256 of secret, as token files hold it.
func Digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// KeySet encodes public keys as a JWKS, written by hand as an issuer would
// publish it. HMAC keys ([]byte) appear as "oct" keys, which verifiers
// must skip.
func KeySet(keys map[string]any) []byte {
	b64 := base64.RawURLEncoding.EncodeToString
	out := []map[string]string{}
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

// JWKS is an issuer's key set endpoint that a test can change or take
// down (503), counting fetches. It closes when the test ends.
type JWKS struct {
	URL     string
	fetches atomic.Int64
	mu      sync.Mutex
	body    []byte
	down    bool
}

// NewJWKS publishes keys (see [KeySet]) at the returned endpoint's URL.
func NewJWKS(t testing.TB, keys map[string]any) *JWKS {
	j := &JWKS{body: KeySet(keys)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		j.mu.Lock()
		down, body := j.down, j.body
		j.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(hs.Close)
	j.URL = hs.URL + "/jwks"
	return j
}

// Set publishes keys, or takes the endpoint down.
func (j *JWKS) Set(down bool, keys map[string]any) { j.SetBody(down, KeySet(keys)) }

// SetBody publishes body as it is.
func (j *JWKS) SetBody(down bool, body []byte) {
	j.mu.Lock()
	j.down, j.body = down, body
	j.mu.Unlock()
}

// Fetches counts the requests the endpoint got.
func (j *JWKS) Fetches() int64 { return j.fetches.Load() }

// The client an AuthServer accepts, and the access token it issues it.
const (
	ClientID     = "doris-mcp"
	ClientSecret = "client-secret"
	AccessToken  = "as-issued-access-token"
)

// AuthServer is an OAuth 2.0 authorization server: a client-credentials
// token endpoint (/token) and an introspection endpoint (/introspect) that
// requires the access token it issued. A token it was not told about is
// inactive. While held, introspections wait until released. It closes when
// the test ends.
type AuthServer struct {
	URL string

	tokensIssued   atomic.Int64
	introspections atomic.Int64
	inFlight       atomic.Int64
	maxInFlight    atomic.Int64

	mu       sync.Mutex
	verdicts map[string]map[string]any
	hold     chan struct{} // nil: not held
}

// NewAuthServer starts an authorization server.
func NewAuthServer(t testing.TB) *AuthServer {
	as := &AuthServer{verdicts: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		if r.ParseForm() != nil || r.Form.Get("grant_type") != "client_credentials" || !ok || id != ClientID || secret != ClientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		as.tokensIssued.Add(1)
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, AccessToken)
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+AccessToken {
			http.Error(w, "client not authenticated", http.StatusUnauthorized)
			return
		}
		as.introspections.Add(1)
		n := as.inFlight.Add(1)
		defer as.inFlight.Add(-1)
		for m := as.maxInFlight.Load(); n > m && !as.maxInFlight.CompareAndSwap(m, n); m = as.maxInFlight.Load() {
		}
		r.ParseForm()
		as.mu.Lock()
		v, ok := as.verdicts[r.Form.Get("token")]
		hold := as.hold
		as.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if !ok {
			v = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	as.URL = hs.URL
	return as
}

// Set makes the server answer verdict about token.
func (as *AuthServer) Set(token string, verdict map[string]any) {
	as.mu.Lock()
	as.verdicts[token] = verdict
	as.mu.Unlock()
}

// Hold makes introspections wait until the returned func is called.
func (as *AuthServer) Hold() (release func()) {
	ch := make(chan struct{})
	as.mu.Lock()
	as.hold = ch
	as.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			as.mu.Lock()
			as.hold = nil
			as.mu.Unlock()
			close(ch)
		})
	}
}

// Introspections counts the introspection requests of the authenticated
// client.
func (as *AuthServer) Introspections() int64 { return as.introspections.Load() }

// InFlight counts the introspections being answered now; MaxInFlight the
// most there were at once.
func (as *AuthServer) InFlight() int64    { return as.inFlight.Load() }
func (as *AuthServer) MaxInFlight() int64 { return as.maxInFlight.Load() }

// TokensIssued counts the client-credentials tokens issued.
func (as *AuthServer) TokensIssued() int64 { return as.tokensIssued.Load() }

// WaitFor polls cond until it holds, failing the test after ten seconds.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Logs is a slog handler that keeps every record, with its level and
// attributes, as a line of text: what reached the log, as a test reads it.
type Logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *Logs) Enabled(context.Context, slog.Level) bool { return true }

func (l *Logs) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.Key + "=" + a.Value.String()
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return nil
}

func (l *Logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *Logs) WithGroup(string) slog.Handler      { return l }

// String is every line logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// Has reports whether some line logged so far contains s.
func (l *Logs) Has(s string) bool { return strings.Contains(l.String(), s) }
