package authn

import (
	"crypto/sha256"
	"fmt"
	"time"
)

// Hooks for the black-box tests of package authn_test.

// MaxIntroCache is the bound of each introspection cache.
const MaxIntroCache = maxIntroCache

// PollTokenFile runs one check of the token file, as the watcher does.
func (a *Authenticator) PollTokenFile() { a.file.poll() }

// JWKSKey is the key of kid in the JWKS cache.
func (a *Authenticator) JWKSKey(kid string) (any, bool) { return a.jwt.jwks.Key(kid) }

// IntrospectionQueued counts the introspection requests waiting for a
// slot.
func (a *Authenticator) IntrospectionQueued() int64 { return a.intro.queued.Load() }

// IntrospectionWaiters counts the requests waiting for the introspection
// of token.
func (a *Authenticator) IntrospectionWaiters(token string) int {
	in := a.intro
	in.mu.Lock()
	defer in.mu.Unlock()
	if f := in.flights[sha256.Sum256([]byte(token))]; f != nil {
		return f.waiters
	}
	return 0
}

// IntrospectionCached reports until when the active verdict on token is
// cached.
func (a *Authenticator) IntrospectionCached(token string) (time.Time, bool) {
	in := a.intro
	in.mu.Lock()
	defer in.mu.Unlock()
	v, ok := in.active[sha256.Sum256([]byte(token))]
	return v.until, ok
}

// IntrospectionCacheLen counts the active verdicts and the refusals
// cached.
func (a *Authenticator) IntrospectionCacheLen() (active, refused int) {
	in := a.intro
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.active), len(in.refused)
}

// ForgetIntrospections empties both caches.
func (a *Authenticator) ForgetIntrospections() {
	in := a.intro
	in.mu.Lock()
	clear(in.active)
	clear(in.refused)
	in.mu.Unlock()
}

// FillIntrospectionCaches fills both caches with live verdicts on other
// tokens.
func (a *Authenticator) FillIntrospectionCaches() {
	in := a.intro
	in.mu.Lock()
	defer in.mu.Unlock()
	until := time.Now().Add(time.Hour)
	for i := range maxIntroCache {
		in.active[sha256.Sum256(fmt.Appendf(nil, "active-%d", i))] = verdict{id: &Identity{}, until: until}
		in.refused[sha256.Sum256(fmt.Appendf(nil, "refused-%d", i))] = verdict{err: refusal("x"), until: until}
	}
}
