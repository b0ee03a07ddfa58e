package authn

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/semaphore"

	"github.com/dorismcp/doris/internal/outbound"
)

const (
	defaultIntrospectionTTL = time.Minute
	// refusalTTL is how long a refused token is refused again without
	// asking.
	refusalTTL = 30 * time.Second
	// maxIntroInFlight bounds the introspection requests in flight at
	// once.
	maxIntroInFlight = 8
	// maxIntroCache bounds each of the caches of active verdicts and of
	// refusals.
	maxIntroCache     = 10_000
	introFetchTimeout = 10 * time.Second
	introMaxBytes     = 64 << 10
)

// IntrospectionConfig accepts opaque tokens an authorization server
// vouches for (RFC 7662); see the root package's IntrospectionConfig,
// which converts to it, for what each field means.
type IntrospectionConfig struct {
	URL                    string
	ClientID, ClientSecret string
	TokenURL               string
	Audience               string
	// CacheTTL bounds how long an active verdict is reused; default one
	// minute, never past the token's exp.
	CacheTTL time.Duration
}

// Normalize checks cfg and fills its defaults.
func (cfg *IntrospectionConfig) Normalize() error {
	if err := outbound.CheckURL(cfg.URL); err != nil {
		return fmt.Errorf("URL: %w", err)
	}
	if cfg.TokenURL != "" {
		if err := outbound.CheckURL(cfg.TokenURL); err != nil {
			return fmt.Errorf("TokenURL: %w", err)
		}
	}
	if cfg.ClientID == "" {
		return errors.New("empty ClientID")
	}
	if cfg.CacheTTL < 0 {
		return fmt.Errorf("negative CacheTTL %v", cfg.CacheTTL)
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = defaultIntrospectionTTL
	}
	return nil
}

// introspector asks an authorization server about opaque tokens and caches
// its verdicts by token digest; see "Introspection under load" in the
// package documentation.
type introspector struct {
	cfg    IntrospectionConfig
	client *http.Client
	ts     oauth2.TokenSource // nil: HTTP Basic client authentication
	slots  *semaphore.Weighted
	ctx    context.Context // the Authenticator's: flights end with it
	loops  *sync.WaitGroup // the Authenticator's, which waits for flights
	// queued counts the flights waiting for a slot.
	queued atomic.Int64

	mu      sync.Mutex
	closed  bool // no flight starts once set
	active  map[[sha256.Size]byte]verdict
	refused map[[sha256.Size]byte]verdict
	flights map[[sha256.Size]byte]*flight
}

// verdict is a cached answer: an identity or a refusal, until a time.
type verdict struct {
	id    *Identity
	err   error
	until time.Time
}

// flight is one introspection request shared by the requests that present
// the same token while it runs. It is cancelled when the last of them
// stops waiting.
type flight struct {
	done    chan struct{}
	id      *Identity // set before done closes
	err     error
	waiters int // guarded by introspector.mu
	cancel  context.CancelFunc
}

// refusal is the authorization server's verdict against a token, as
// opposed to a failure to get one; only refusals are cached.
type refusal string

func (r refusal) Error() string { return string(r) }

func newIntrospector(ctx context.Context, cfg IntrospectionConfig, rt http.RoundTripper, loops *sync.WaitGroup) *introspector {
	in := &introspector{
		cfg:     cfg,
		client:  outbound.Client(rt, introFetchTimeout),
		slots:   semaphore.NewWeighted(maxIntroInFlight),
		ctx:     ctx,
		loops:   loops,
		active:  make(map[[sha256.Size]byte]verdict),
		refused: make(map[[sha256.Size]byte]verdict),
		flights: make(map[[sha256.Size]byte]*flight),
	}
	if cfg.TokenURL != "" {
		cc := &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL}
		// The token source outlives requests: it fetches with the
		// Authenticator's context and the bounded client, which does
		// not follow redirects either.
		in.ts = cc.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, in.client))
	}
	return in
}

// verify answers from the caches, else joins or starts the flight for
// digest and waits for it within ctx.
func (in *introspector) verify(ctx context.Context, token string, digest [sha256.Size]byte) (*Identity, error) {
	now := time.Now()
	in.mu.Lock()
	if v, ok := in.active[digest]; ok && now.Before(v.until) {
		in.mu.Unlock()
		return v.id, nil
	}
	if v, ok := in.refused[digest]; ok && now.Before(v.until) {
		in.mu.Unlock()
		return nil, v.err
	}
	f := in.flights[digest]
	if f == nil {
		if in.closed {
			in.mu.Unlock()
			return nil, errors.New("authenticator closed")
		}
		fctx, cancel := context.WithCancel(in.ctx)
		f = &flight{done: make(chan struct{}), cancel: cancel}
		in.flights[digest] = f
		in.loops.Go(func() { in.fly(fctx, f, token, digest) })
	}
	f.waiters++
	in.mu.Unlock()

	select {
	case <-f.done:
		return f.id, f.err
	case <-ctx.Done():
		in.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody waits for it any more: a later request starts afresh.
			f.cancel()
			if in.flights[digest] == f {
				delete(in.flights, digest)
			}
		}
		in.mu.Unlock()
		return nil, context.Cause(ctx)
	}
}

// close keeps new flights from starting, before the Authenticator waits
// for those running.
func (in *introspector) close() {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
}

// fly asks the authorization server, within a slot, and records the
// verdict. The caches are written under the same lock that removes the
// flight, so a request either joins the flight or finds its verdict.
func (in *introspector) fly(ctx context.Context, f *flight, token string, digest [sha256.Size]byte) {
	defer f.cancel()
	id, err := in.ask(ctx, token)
	now := time.Now()
	in.mu.Lock()
	var r refusal
	switch {
	case err == nil:
		until := now.Add(in.cfg.CacheTTL)
		if !id.Expires.IsZero() && id.Expires.Before(until) {
			until = id.Expires
		}
		store(in.active, digest, verdict{id: id, until: until}, now)
	case errors.As(err, &r):
		store(in.refused, digest, verdict{err: err, until: now.Add(refusalTTL)}, now)
	}
	if in.flights[digest] == f {
		delete(in.flights, digest)
	}
	f.id, f.err = id, err
	in.mu.Unlock()
	close(f.done)
}

// store adds v to cache, first making room in a full cache: the expired
// verdicts go, or else arbitrary ones. Called with mu held.
func store(cache map[[sha256.Size]byte]verdict, digest [sha256.Size]byte, v verdict, now time.Time) {
	if len(cache) >= maxIntroCache {
		for k, e := range cache {
			if !now.Before(e.until) {
				delete(cache, k)
			}
		}
		for k := range cache {
			if len(cache) < maxIntroCache {
				break
			}
			delete(cache, k)
		}
	}
	cache[digest] = v
}

// sweep drops expired verdicts, so the caches hold only live ones.
func (in *introspector) sweep(ctx context.Context) {
	t := time.NewTicker(min(in.cfg.CacheTTL, refusalTTL))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			in.mu.Lock()
			for _, cache := range []map[[sha256.Size]byte]verdict{in.active, in.refused} {
				for k, v := range cache {
					if !now.Before(v.until) {
						delete(cache, k)
					}
				}
			}
			in.mu.Unlock()
		}
	}
}

// introspection is the part of an RFC 7662 response read here.
type introspection struct {
	Active   bool            `json:"active"`
	Scope    string          `json:"scope"`
	Exp      int64           `json:"exp"`
	Sub      string          `json:"sub"`
	Username string          `json:"username"`
	ClientID string          `json:"client_id"`
	Aud      json.RawMessage `json:"aud"`
}

// ask sends one introspection request once a slot is free.
func (in *introspector) ask(ctx context.Context, token string) (*Identity, error) {
	in.queued.Add(1)
	err := in.slots.Acquire(ctx, 1)
	in.queued.Add(-1)
	if err != nil {
		return nil, err
	}
	defer in.slots.Release(1)
	ctx, cancel := context.WithTimeout(ctx, introFetchTimeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, outbound.Scrub(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if in.ts != nil {
		tok, err := in.ts.Token()
		if err != nil {
			return nil, fmt.Errorf("client credentials: %w", outbound.Scrub(err))
		}
		tok.SetAuthHeader(req)
	} else {
		req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("authorization server unreachable: %w", outbound.Scrub(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("authorization server answered HTTP %d", resp.StatusCode)
	}
	var r introspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, introMaxBytes)).Decode(&r); err != nil {
		return nil, fmt.Errorf("unreadable introspection response: %w", err)
	}
	if !r.Active {
		return nil, refusal("token inactive")
	}
	id := &Identity{Method: "introspection", Scopes: strings.Fields(r.Scope)}
	if r.Exp > 0 {
		id.Expires = time.Unix(r.Exp, 0)
		if !time.Now().Before(id.Expires) {
			return nil, refusal("token expired")
		}
	}
	if in.cfg.Audience != "" && !audienceHas(r.Aud, in.cfg.Audience) {
		return nil, refusal("token not meant for this audience")
	}
	for _, n := range []string{r.Sub, r.Username, r.ClientID} {
		if n != "" {
			id.Name = n
			break
		}
	}
	return id, nil
}

func audienceHas(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, want)
}
