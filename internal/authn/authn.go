package authn

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxTokenBytes bounds a bearer token: a longer one is refused before any
// parsing, so a client cannot make the server decode megabytes of base64
// per request.
const MaxTokenBytes = 8 << 10

// Identity is who a token stands for. Identities are shared between the
// requests that present the same token: never change one.
type Identity struct {
	// Name identifies the principal in logs and metrics: a static token's
	// name, a JWT's sub (else client_id), an introspected token's sub,
	// username or client_id.
	Name string
	// Method is "static", "jwt" or "introspection".
	Method  string
	Scopes  []string
	Expires time.Time // zero: none
	// Account is the Doris account of a static token that has its own;
	// nil otherwise.
	Account *Account
}

// Account is a Doris account a static token's calls run as.
type Account struct {
	User, Password string
	// Database is the account's default database; empty for none.
	Database string
}

// Config is what the Authenticator checks tokens with. Options check its
// parts as they are given ([CheckToken], [JWTConfig.Normalize],
// [IntrospectionConfig.Normalize]); New checks them again.
type Config struct {
	Tokens []Token
	// TokenFile lists more static tokens, by digest; checked for changes
	// every FilePoll (default one second).
	TokenFile     string
	FilePoll      time.Duration
	JWT           *JWTConfig
	Introspection *IntrospectionConfig
	// MetadataURL, when set, is the resource_metadata of every challenge.
	MetadataURL string
	// KidRefreshGap is how often at most a JWT with an unknown kid makes
	// the JWKS be fetched again; default ten seconds.
	KidRefreshGap time.Duration
}

// Methods reports whether any authentication method is configured.
func (c *Config) Methods() bool {
	return len(c.Tokens) > 0 || c.TokenFile != "" || c.JWT != nil || c.Introspection != nil
}

// Leeway is the clock skew allowed on the expiry of tokens: the JWTs'
// leeway, zero without them.
func (c *Config) Leeway() time.Duration {
	if c.JWT == nil {
		return 0
	}
	return c.JWT.Leeway
}

const (
	defaultFilePoll = time.Second
	// defaultKidRefreshGap is how often at most a token with an unknown
	// kid makes the JWKS be fetched again.
	defaultKidRefreshGap = 10 * time.Second
)

// Authenticator checks bearer tokens. It owns the background tasks of
// authentication (JWKS refresh, token file watch, introspection requests
// and cache sweep) and the HTTP transport they use; Close ends them.
type Authenticator struct {
	log     *slog.Logger
	static  []static
	file    *tokenFile
	jwt     *jwtVerifier
	intro   *introspector
	metaURL string

	transport *http.Transport
	ctx       context.Context
	cancel    context.CancelFunc
	loops     sync.WaitGroup
}

// New builds the Authenticator, logging to log (nil: nowhere), and starts
// its background tasks. It reads the token file, but never waits on the
// network.
func New(cfg Config, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{log: log, metaURL: cfg.MetadataURL}
	for _, t := range cfg.Tokens {
		st, err := parseToken(t)
		if err != nil {
			return nil, fmt.Errorf("static token %s: %w", t.Name, err)
		}
		a.static = append(a.static, st)
	}
	if err := uniqueDigests(a.static); err != nil {
		return nil, fmt.Errorf("static tokens: %w", err)
	}
	// Normalized again, on copies: harmless for configurations the options
	// checked, and what makes any other usable.
	if cfg.JWT != nil {
		jc := *cfg.JWT
		if err := jc.Normalize(); err != nil {
			return nil, fmt.Errorf("JWT: %w", err)
		}
		cfg.JWT = &jc
	}
	if cfg.Introspection != nil {
		ic := *cfg.Introspection
		if err := ic.Normalize(); err != nil {
			return nil, fmt.Errorf("introspection: %w", err)
		}
		cfg.Introspection = &ic
	}
	var file *tokenFile
	if cfg.TokenFile != "" {
		file = &tokenFile{path: cfg.TokenFile, log: log}
		if err := file.load(); err != nil {
			return nil, fmt.Errorf("token file: %w", err)
		}
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.transport = http.DefaultTransport.(*http.Transport).Clone()
	if file != nil {
		a.file = file
		poll := cfg.FilePoll
		if poll <= 0 {
			poll = defaultFilePoll
		}
		a.loops.Go(func() { file.watch(a.ctx, poll) })
	}
	if cfg.JWT != nil {
		gap := cfg.KidRefreshGap
		if gap <= 0 {
			gap = defaultKidRefreshGap
		}
		a.jwt = newJWTVerifier(*cfg.JWT, gap, log, a.transport)
		if a.jwt.jwks != nil {
			a.loops.Go(func() { a.jwt.jwks.Run(a.ctx) })
		}
	}
	if cfg.Introspection != nil {
		a.intro = newIntrospector(a.ctx, *cfg.Introspection, a.transport, &a.loops)
		a.loops.Go(func() { a.intro.sweep(a.ctx) })
	}
	return a, nil
}

// Close stops the background tasks and waits for them within ctx.
func (a *Authenticator) Close(ctx context.Context) error {
	if a.intro != nil {
		a.intro.close()
	}
	a.cancel()
	done := make(chan struct{})
	go func() {
		a.loops.Wait()
		close(done)
	}()
	select {
	case <-done:
		a.transport.CloseIdleConnections()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("authenticator: background tasks still running: %w", context.Cause(ctx))
	}
}

// Verify is a go-sdk TokenVerifier: the TokenInfo of the token's
// identity (see [IdentityOf]), or auth.ErrInvalidToken, which tells the
// client nothing; the log has the reason.
func (a *Authenticator) Verify(ctx context.Context, token string, r *http.Request) (*auth.TokenInfo, error) {
	id, reason := a.Check(ctx, token)
	if id == nil {
		a.log.Info("authentication refused", "reason", reason, "remote", r.RemoteAddr)
		return nil, auth.ErrInvalidToken
	}
	a.log.Debug("authenticated", "principal", id.Name, "method", id.Method)
	return TokenInfo(id), nil
}

// identityKey is the key of the Identity in auth.TokenInfo.Extra.
const identityKey = "doris.identity"

// TokenInfo is what the go-sdk keeps of id for the requests it
// authenticated.
func TokenInfo(id *Identity) *auth.TokenInfo {
	return &auth.TokenInfo{
		Scopes:     id.Scopes,
		Expiration: id.Expires,
		// Binds a stateful session to its principal in the go-sdk.
		UserID: id.Method + ":" + id.Name,
		Extra:  map[string]any{identityKey: id},
	}
}

// IdentityOf finds the identity of an MCP request: in the TokenInfo the
// go-sdk hands each request (stateless and stateful alike), else in the
// context of a stateless request; req may be nil. Nil for a request that
// was not authenticated.
func IdentityOf(ctx context.Context, req mcp.Request) *Identity {
	var ti *auth.TokenInfo
	if req != nil {
		if ex := req.GetExtra(); ex != nil {
			ti = ex.TokenInfo
		}
	}
	if ti == nil {
		ti = auth.TokenInfoFromContext(ctx)
	}
	if ti == nil {
		return nil
	}
	id, _ := ti.Extra[identityKey].(*Identity)
	return id
}

// Check returns who token stands for, or nil and why not. The reason is
// for the log: it never holds the token, and a client must not see it.
func (a *Authenticator) Check(ctx context.Context, token string) (*Identity, string) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Sprintf("token of %d bytes exceeds %d", len(token), MaxTokenBytes)
	}
	var reasons []string
	digest := sha256.Sum256([]byte(token))
	sets := [][]static{a.static}
	if a.file != nil {
		sets = append(sets, *a.file.tokens.Load())
	}
	for _, set := range sets {
		if t := matchStatic(set, digest); t != nil {
			if !t.id.Expires.IsZero() && !time.Now().Before(t.id.Expires) {
				return nil, "static token " + t.id.Name + " expired"
			}
			return t.id, ""
		}
	}
	if len(a.static) > 0 || a.file != nil {
		reasons = append(reasons, "static: unknown token")
	}
	if a.jwt != nil {
		if strings.Count(token, ".") == 2 {
			id, err := a.jwt.verify(ctx, token)
			if err == nil {
				return id, ""
			}
			reasons = append(reasons, "jwt: "+err.Error())
		} else {
			reasons = append(reasons, "jwt: not a JWT")
		}
	}
	if a.intro != nil {
		id, err := a.intro.verify(ctx, token, digest)
		if err == nil {
			return id, ""
		}
		reasons = append(reasons, "introspection: "+err.Error())
	}
	return nil, strings.Join(reasons, "; ")
}
