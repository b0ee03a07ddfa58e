package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dorismcp/doris/internal/jwks"
	"github.com/dorismcp/doris/internal/outbound"
)

const (
	defaultLeeway = 30 * time.Second
	maxLeeway     = 5 * time.Minute
)

// JWTConfig accepts JSON Web Tokens signed by a known key; see the root
// package's JWTConfig, which converts to it, for what each field means.
type JWTConfig struct {
	Issuer, Audience string
	Algorithms       []string
	Keys             map[string]any
	JWKSURL          string
	Leeway           time.Duration
}

// algorithms are the algorithms accepted, by the key type each needs.
var algorithms = map[string]string{
	"HS256": "hmac", "HS384": "hmac", "HS512": "hmac",
	"RS256": "rsa", "RS384": "rsa", "RS512": "rsa",
	"PS256": "rsa", "PS384": "rsa", "PS512": "rsa",
	"ES256": "P-256", "ES384": "P-384", "ES512": "P-521",
	"EdDSA": "ed25519",
}

// Normalize checks cfg, fills its defaults, and copies the keys and
// algorithms, so the caller's later changes do not reach the verifier.
func (cfg *JWTConfig) Normalize() error {
	if len(cfg.Algorithms) == 0 {
		return errors.New("no algorithms: list the ones the issuer signs with")
	}
	for _, a := range cfg.Algorithms {
		if _, ok := algorithms[a]; !ok {
			return fmt.Errorf("algorithm %q is not accepted", a)
		}
	}
	if len(cfg.Keys) == 0 && cfg.JWKSURL == "" {
		return errors.New("no keys and no JWKSURL")
	}
	keys := make(map[string]any, len(cfg.Keys))
	for kid, k := range cfg.Keys {
		if err := jwks.CheckKey(k); err != nil {
			return fmt.Errorf("key %q: %w", kid, err)
		}
		if b, ok := k.([]byte); ok {
			k = slices.Clone(b)
		}
		keys[kid] = k
	}
	cfg.Keys = keys
	cfg.Algorithms = slices.Clone(cfg.Algorithms)
	if cfg.JWKSURL != "" {
		if err := outbound.CheckURL(cfg.JWKSURL); err != nil {
			return fmt.Errorf("JWKSURL: %w", err)
		}
	}
	switch {
	case cfg.Leeway < 0 || cfg.Leeway > maxLeeway:
		return fmt.Errorf("leeway %v is outside 0 to %v", cfg.Leeway, maxLeeway)
	case cfg.Leeway == 0:
		cfg.Leeway = defaultLeeway
	}
	return nil
}

// jwtVerifier checks JWTs against static keys and a JWKS.
type jwtVerifier struct {
	cfg    JWTConfig
	parser *jwt.Parser
	jwks   *jwks.Cache // nil without JWKSURL
}

func newJWTVerifier(cfg JWTConfig, kidRefreshGap time.Duration, log *slog.Logger, rt http.RoundTripper) *jwtVerifier {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v := &jwtVerifier{cfg: cfg, parser: jwt.NewParser(opts...)}
	if cfg.JWKSURL != "" {
		v.jwks = jwks.New(cfg.JWKSURL, rt, kidRefreshGap, log)
	}
	return v
}

func (v *jwtVerifier) verify(ctx context.Context, token string) (*Identity, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		alg := t.Method.Alg()
		key, err := v.key(ctx, kid)
		if err != nil {
			return nil, err
		}
		if !keyFits(alg, key) {
			return nil, fmt.Errorf("key %q is not a %s key", kid, alg)
		}
		return key, nil
	})
	if err != nil {
		return nil, err
	}
	id := &Identity{Method: "jwt", Scopes: scopesOf(claims)}
	id.Name, _ = claims["sub"].(string)
	if id.Name == "" {
		id.Name, _ = claims["client_id"].(string)
	}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		id.Expires = exp.Time
	}
	return id, nil
}

func (v *jwtVerifier) key(ctx context.Context, kid string) (any, error) {
	if k, ok := v.cfg.Keys[kid]; ok {
		return k, nil
	}
	if v.jwks == nil {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	if k, ok := v.jwks.Key(kid); ok {
		return k, nil
	}
	v.jwks.RefreshForKid()
	if k, ok := v.jwks.Key(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown kid %q", kid)
}

// keyFits reports whether key is of the kind alg verifies with, so that no
// token can pick an algorithm that reads a key as something else.
func keyFits(alg string, key any) bool {
	switch kind := algorithms[alg]; kind {
	case "hmac":
		_, ok := key.([]byte)
		return ok
	case "rsa":
		_, ok := key.(*rsa.PublicKey)
		return ok
	case "ed25519":
		_, ok := key.(ed25519.PublicKey)
		return ok
	case "P-256", "P-384", "P-521":
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve.Params().Name == kind
	}
	return false
}

// scopesOf reads scope (space-separated) or scp (a string or a list).
func scopesOf(claims map[string]any) []string {
	if s, ok := claims["scope"].(string); ok {
		return strings.Fields(s)
	}
	switch scp := claims["scp"].(type) {
	case string:
		return strings.Fields(scp)
	case []any:
		var out []string
		for _, v := range scp {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
