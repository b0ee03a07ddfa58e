// Package jwks fetches and parses JSON Web Key Sets (RFC 7517, 7518, 8037):
// the public keys an issuer publishes for the JWTs it signs. Neither
// golang-jwt nor the go-sdk reads JWKs. A fetch is bounded in time and
// size, never follows a redirect, and names the URL in logs and errors
// without its userinfo or query (see package outbound); keys the verifier
// could not use safely (symmetric ones, encryption keys, short RSA keys) are
// skipped, and the cached keys keep working while the issuer cannot be
// reached.
//
//	c := jwks.New(url, transport, 10*time.Second, log)
//	go c.Run(ctx)          // fetches now, then every five minutes
//	key, ok := c.Key(kid)  // ok is false for a kid not fetched yet
//	if !ok {
//		c.RefreshForKid() // at most once per gap
//		key, ok = c.Key(kid)
//	}
package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/dorismcp/doris/internal/outbound"
)

const (
	fetchTimeout = 10 * time.Second
	maxBytes     = 1 << 20
	refreshEvery = 5 * time.Minute
	minBackoff   = 500 * time.Millisecond

	// MinHMACKey is the shortest HMAC key accepted for JWTs (RFC 7518 §3.2
	// asks for at least the hash size).
	MinHMACKey = 32
)

// New returns an empty cache of the key set at url, fetched through rt,
// refreshed for an unknown kid at most once per gap.
func New(url string, rt http.RoundTripper, gap time.Duration, log *slog.Logger) *Cache {
	c := &Cache{url: url, name: outbound.Redact(url), log: log, client: outbound.Client(rt, fetchTimeout), gap: gap}
	c.keys.Store(&map[string]any{})
	return c
}

// Key returns the key of kid, if the last fetch had it.
func (c *Cache) Key(kid string) (any, bool) {
	k, ok := (*c.keys.Load())[kid]
	return k, ok
}

// CheckKey reports whether k is a key the verifier accepts: an HMAC secret
// of at least MinHMACKey bytes, an RSA key of at least 2048 bits, an ECDSA
// or an Ed25519 key.
func CheckKey(k any) error {
	switch k := k.(type) {
	case []byte:
		if len(k) < MinHMACKey {
			return fmt.Errorf("HMAC key of %d bytes is shorter than %d", len(k), MinHMACKey)
		}
	case *rsa.PublicKey:
		if k == nil || k.N == nil || k.N.BitLen() < 2048 {
			return errors.New("RSA key shorter than 2048 bits")
		}
	case *ecdsa.PublicKey:
		if k == nil {
			return errors.New("nil ECDSA key")
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return errors.New("malformed Ed25519 key")
		}
	default:
		return fmt.Errorf("unusable key type %T (want []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey)", k)
	}
	return nil
}

// A Cache holds the keys of a JWKS by kid, swapped atomically on each
// refresh. Run keeps it fresh; RefreshForKid fetches early for a token
// whose kid is not known yet.
type Cache struct {
	url    string
	name   string // url as logged
	log    *slog.Logger
	client *http.Client
	keys   atomic.Pointer[map[string]any]
	group  singleflight.Group
	gap    time.Duration

	mu         sync.Mutex
	lastKidRef time.Time
	ctx        context.Context // the loop's, for refreshes triggered by requests
}

// Run fetches the keys at once, then every refreshEvery, retrying
// failures with exponential backoff, until ctx ends.
func (c *Cache) Run(ctx context.Context) {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	backoff := minBackoff
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := refreshEvery
		if err := c.refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("JWKS fetch failed; keeping the cached keys", "url", c.name, "err", err, "retry_in", backoff)
			wait, backoff = backoff, min(2*backoff, refreshEvery)
		} else {
			backoff = minBackoff
		}
		t.Reset(wait)
	}
}

// RefreshForKid refreshes the keys for a token whose kid is unknown, at
// most once per gap, sharing the fetch with concurrent callers. It does
// nothing before Run has started.
func (c *Cache) RefreshForKid() {
	c.mu.Lock()
	lctx := c.ctx
	if lctx == nil || time.Since(c.lastKidRef) < c.gap {
		c.mu.Unlock()
		return
	}
	c.lastKidRef = time.Now()
	c.mu.Unlock()
	// Bound by the loop's context, not the caller's: others wait for it.
	if err := c.refresh(lctx); err != nil {
		c.log.Warn("JWKS fetch for an unknown kid failed", "url", c.name, "err", err)
	}
}

func (c *Cache) refresh(ctx context.Context) error {
	_, err, _ := c.group.Do("", func() (any, error) {
		keys, err := c.fetch(ctx)
		if err != nil {
			return nil, err
		}
		c.keys.Store(&keys)
		c.log.Debug("JWKS fetched", "url", c.name, "keys", len(keys))
		return nil, nil
	})
	return err
}

func (c *Cache) fetch(ctx context.Context) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, outbound.Scrub(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, outbound.Scrub(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, outbound.Scrub(err)
	}
	if len(body) > maxBytes {
		return nil, fmt.Errorf("JWKS larger than %d bytes", maxBytes)
	}
	return Parse(body, c.log)
}

// jwk is the part of a JSON Web Key (RFC 7517, 7518, 8037) read here.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// Parse reads the public keys of a key set by kid. Neither golang-jwt
// nor the go-sdk parses JWKs. Keys it cannot use (symmetric ones,
// encryption keys, unknown types, short RSA keys) are skipped and logged;
// a document that is not a key set is an error.
func Parse(body []byte, log *slog.Logger) (map[string]any, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("not a JWKS: %w", err)
	}
	keys := make(map[string]any, len(set.Keys))
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		key, err := k.publicKey()
		if err == nil {
			err = CheckKey(key)
		}
		if err != nil {
			log.Warn("JWKS key skipped", "kid", k.Kid, "err", err)
			continue
		}
		keys[k.Kid] = key
	}
	return keys, nil
}

func (k jwk) publicKey() (any, error) {
	b64 := base64.RawURLEncoding
	switch k.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("malformed RSA key")
		}
		eb := new(big.Int).SetBytes(e)
		if eb.Int64() < 3 || eb.Int64()%2 == 0 {
			return nil, errors.New("malformed RSA exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eb.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported curve %q", k.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, errors.New("malformed EC key")
		}
		return ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	case "OKP":
		x, err := b64.DecodeString(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("malformed or unsupported OKP key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unsupported key type %q", k.Kty)
}
