package authn_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dorismcp/doris/internal/authn"
	"github.com/dorismcp/doris/internal/authn/authntest"
)

var jwtRS256 = jwt.SigningMethodRS256

// verifying returns an Authenticator accepting JWTs per cfg, closed when
// the test ends; gap is its KidRefreshGap.
func verifying(t *testing.T, cfg authn.JWTConfig, gap time.Duration) *authn.Authenticator {
	t.Helper()
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	return newAuthenticator(t, authn.Config{JWT: &cfg, KidRefreshGap: gap})
}

// TestJWTClaims: the identity comes from sub (else client_id), scope or
// scp, and exp; what the configuration requires is checked.
func TestJWTClaims(t *testing.T) {
	k := authntest.Keys()
	a := verifying(t, authn.JWTConfig{
		Issuer: authntest.Issuer, Audience: authntest.Audience, Algorithms: []string{"RS256", "HS256", "ES256", "EdDSA"},
		Keys: map[string]any{"r": &k.RSA.PublicKey, "h": k.HMAC, "e": &k.EC.PublicKey, "d": k.Ed.Public()},
	}, 0)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name   string
		token  string
		sub    string
		scopes string
	}{
		{"scope", authntest.SignJWT(t, jwtRS256, k.RSA, "r", jwt.MapClaims{"scope": "a b", "exp": exp.Unix()}), "svc", "a b"},
		{"scp string", authntest.SignJWT(t, jwt.SigningMethodHS256, k.HMAC, "h", jwt.MapClaims{"scp": "a", "exp": exp.Unix()}), "svc", "a"},
		{"scp list", authntest.SignJWT(t, jwt.SigningMethodES256, k.EC, "e", jwt.MapClaims{"scp": []string{"a", "c"}, "exp": exp.Unix()}), "svc", "a c"},
		{"client_id", authntest.SignJWT(t, jwt.SigningMethodEdDSA, k.Ed, "d", jwt.MapClaims{"sub": nil, "client_id": "cli", "exp": exp.Unix()}), "cli", ""},
	} {
		id, reason := a.Check(ctx, tc.token)
		if id == nil {
			t.Errorf("%s: refused: %s", tc.name, reason)
			continue
		}
		if id.Name != tc.sub || id.Method != "jwt" || strings.Join(id.Scopes, " ") != tc.scopes || !id.Expires.Equal(exp) {
			t.Errorf("%s: identity %+v", tc.name, id)
		}
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&k.RSA.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	for name, token := range map[string]string{
		"HMAC with the RSA key's PEM":  authntest.SignJWT(t, jwt.SigningMethodHS256, pubPEM, "r", nil),
		"ES256 under an RSA kid":       authntest.SignJWT(t, jwt.SigningMethodES256, k.EC, "r", nil),
		"alg none":                     authntest.SignJWT(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "r", nil),
		"no exp":                       authntest.SignJWT(t, jwtRS256, k.RSA, "r", jwt.MapClaims{"exp": nil}),
		"wrong issuer":                 authntest.SignJWT(t, jwtRS256, k.RSA, "r", jwt.MapClaims{"iss": "https://evil.test"}),
		"no kid, no key under no kid":  authntest.SignJWT(t, jwtRS256, k.RSA, "", nil),
		"algorithm not listed (RS512)": authntest.SignJWT(t, jwt.SigningMethodRS512, k.RSA, "r", nil),
	} {
		if id, _ := a.Check(ctx, token); id != nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestJWTConfigNormalize(t *testing.T) {
	k := authntest.Keys()
	key := map[string]any{"k": &k.RSA.PublicKey}
	for _, tc := range []struct {
		cfg  authn.JWTConfig
		want string
	}{
		{authn.JWTConfig{Keys: key}, "no algorithms"},
		{authn.JWTConfig{Algorithms: []string{"none"}, Keys: key}, `"none" is not accepted`},
		{authn.JWTConfig{Algorithms: []string{"RS256"}}, "no keys"},
		{authn.JWTConfig{Algorithms: []string{"HS256"}, Keys: map[string]any{"k": []byte("short")}}, "shorter than 32"},
		{authn.JWTConfig{Algorithms: []string{"RS256"}, Keys: map[string]any{"k": k.RSA}}, "unusable key type"},
		{authn.JWTConfig{Algorithms: []string{"RS256"}, Keys: key, Leeway: time.Hour}, "leeway"},
		{authn.JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: "http://idp.example.com/jwks"}, "https"},
	} {
		if err := tc.cfg.Normalize(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	hmac := []byte(strings.Repeat("k", 32))
	cfg := authn.JWTConfig{Algorithms: []string{"HS256"}, Keys: map[string]any{"k": hmac}}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	hmac[0] = 'X'
	if cfg.Keys["k"].([]byte)[0] != 'k' || cfg.Leeway != 30*time.Second {
		t.Errorf("normalized config %+v shares the caller's key or lacks the default leeway", cfg)
	}
}

// TestJWKSDownAtStart: with the JWKS endpoint down there are no keys and
// tokens are refused; once it is up, a token is accepted; down again, the
// cached key keeps working.
func TestJWKSDownAtStart(t *testing.T) {
	k := authntest.Keys()
	jwks := authntest.NewJWKS(t, nil)
	jwks.Set(true, nil)
	a := verifying(t, authn.JWTConfig{Issuer: authntest.Issuer, Audience: authntest.Audience, Algorithms: []string{"RS256"}, JWKSURL: jwks.URL}, time.Nanosecond)
	token := authntest.SignJWT(t, jwtRS256, k.RSA, "r1", nil)
	authntest.WaitFor(t, "a JWKS fetch", func() bool { return jwks.Fetches() > 0 })
	ctx := context.Background()
	if id, _ := a.Check(ctx, token); id != nil {
		t.Fatal("accepted with the JWKS down")
	}
	jwks.Set(false, map[string]any{"r1": &k.RSA.PublicKey})
	if id, reason := a.Check(ctx, token); id == nil {
		t.Fatalf("JWKS up: refused: %s", reason)
	}
	jwks.Set(true, nil)
	if id, reason := a.Check(ctx, token); id == nil {
		t.Fatalf("JWKS down again: refused despite the cached key: %s", reason)
	}
}

// TestJWKSRotation: a new kid is accepted on first sight, the old one as
// long as it is published, and not after.
func TestJWKSRotation(t *testing.T) {
	k := authntest.Keys()
	jwks := authntest.NewJWKS(t, map[string]any{"old": &k.RSA.PublicKey})
	a := verifying(t, authn.JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: jwks.URL}, time.Nanosecond)
	authntest.WaitFor(t, "the first fetch", func() bool { _, ok := a.JWKSKey("old"); return ok })
	oldTok := authntest.SignJWT(t, jwtRS256, k.RSA, "old", nil)
	newTok := authntest.SignJWT(t, jwtRS256, k.RSA2, "new", nil)
	strangerTok := authntest.SignJWT(t, jwtRS256, k.RSA3, "stranger", nil)
	steps := []struct {
		publish map[string]any
		token   string
		accept  bool
	}{
		{map[string]any{"old": &k.RSA.PublicKey}, oldTok, true},
		{map[string]any{"old": &k.RSA.PublicKey}, newTok, false},
		{map[string]any{"old": &k.RSA.PublicKey, "new": &k.RSA2.PublicKey}, newTok, true}, // first sight
		{map[string]any{"old": &k.RSA.PublicKey, "new": &k.RSA2.PublicKey}, oldTok, true}, // overlap
		{map[string]any{"new": &k.RSA2.PublicKey}, strangerTok, false},                    // its refresh drops "old"
		{map[string]any{"new": &k.RSA2.PublicKey}, oldTok, false},
		{map[string]any{"new": &k.RSA2.PublicKey}, newTok, true},
	}
	for i, st := range steps {
		jwks.Set(false, st.publish)
		if id, reason := a.Check(context.Background(), st.token); (id != nil) != st.accept {
			t.Fatalf("step %d: accepted %v, want %v (%s)", i, id != nil, st.accept, reason)
		}
	}
}

// TestJWKSUnknownKidRateLimited: tokens with unknown kids trigger one
// refresh, not one each.
func TestJWKSUnknownKidRateLimited(t *testing.T) {
	k := authntest.Keys()
	jwks := authntest.NewJWKS(t, map[string]any{"r1": &k.RSA.PublicKey})
	a := verifying(t, authn.JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: jwks.URL}, 0)
	authntest.WaitFor(t, "the first fetch", func() bool { _, ok := a.JWKSKey("r1"); return ok })
	before := jwks.Fetches()
	for i := range 5 {
		if id, _ := a.Check(context.Background(), authntest.SignJWT(t, jwtRS256, k.RSA, fmt.Sprintf("unknown-%d", i), nil)); id != nil {
			t.Fatalf("unknown kid %d accepted", i)
		}
	}
	if got := jwks.Fetches() - before; got != 1 {
		t.Errorf("five unknown kids caused %d fetches, want 1", got)
	}
}

// TestJWKSBackgroundRefresh: with refreshes on unknown kids held back, the
// background loop retries a JWKS that was down at start until it gets the
// keys.
func TestJWKSBackgroundRefresh(t *testing.T) {
	k := authntest.Keys()
	jwks := authntest.NewJWKS(t, nil)
	jwks.Set(true, nil)
	a := verifying(t, authn.JWTConfig{Algorithms: []string{"RS256"}, JWKSURL: jwks.URL}, time.Hour)
	token := authntest.SignJWT(t, jwtRS256, k.RSA, "r1", nil)
	authntest.WaitFor(t, "two failed fetches", func() bool { return jwks.Fetches() >= 2 })
	if id, _ := a.Check(context.Background(), token); id != nil {
		t.Fatal("accepted without keys")
	}
	jwks.Set(false, map[string]any{"r1": &k.RSA.PublicKey})
	authntest.WaitFor(t, "the keys", func() bool { id, _ := a.Check(context.Background(), token); return id != nil })
}
