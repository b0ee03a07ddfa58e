package doris

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/dorismcp/doris/internal/authn"
	"github.com/dorismcp/doris/internal/pool"
	"github.com/dorismcp/doris/internal/tools"
)

// BearerToken is a static token and what it grants.
type BearerToken struct {
	Token  string // the secret; New keeps only its SHA-256 digest
	Digest string // or: hex SHA-256 of the secret, for configuration that must not hold secrets
	Name   string // the principal, for logs and metrics (never the token)
	Scopes []string
	// Expires is when the token stops being accepted; zero: no expiry.
	Expires time.Time
	// DorisUser and DorisPassword, when set, serve this token's calls from
	// that Doris account's own pool instead of the Server's account. If the
	// account cannot log in, the calls fail: they never fall back to the
	// Server's account.
	DorisUser, DorisPassword string
	// DorisDatabase is the default database of DorisUser's connections.
	// Empty means none: the account does not inherit the database of the
	// Server's DSN, on which it may have no rights (and then could not
	// connect at all), so its calls name their database (db_name, db.table).
	DorisDatabase string
}

// JWTConfig accepts JSON Web Tokens signed by a known key.
type JWTConfig struct {
	// Issuer and Audience, when set, must match the iss and aud claims.
	Issuer, Audience string
	// Algorithms lists the signing algorithms accepted (HS256, RS256,
	// ES256, EdDSA, …); required. "none", and anything not listed, is
	// refused, and a key is only used with algorithms of its own kind, so
	// an HMAC token never verifies against the bytes of a public key.
	Algorithms []string
	// Keys are the verification keys by kid: []byte for HMAC (at least 32
	// bytes), *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey. The
	// key under "" verifies tokens without a kid.
	Keys map[string]any
	// JWKSURL is a JSON Web Key Set (RSA, EC and Ed25519 keys), fetched in
	// the background with bounded time and size, cached, and refreshed
	// every five minutes (sooner, with backoff, after a failure). A token
	// with an unknown kid triggers one refresh, at most every ten seconds,
	// so a rotated key is accepted on first sight; while the endpoint is
	// down the cached keys keep working. https, or http on a loopback host.
	// Redirects are not followed, and logs and errors show the URL without
	// its userinfo and query.
	JWKSURL string
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30 s,
	// at most 5 minutes.
	Leeway time.Duration
}

// IntrospectionConfig accepts opaque tokens an OAuth 2.0 authorization
// server vouches for through token introspection (RFC 7662).
type IntrospectionConfig struct {
	// URL is the introspection endpoint; https, or http on a loopback host.
	URL string
	// ClientID and ClientSecret authenticate this server to the
	// authorization server: with TokenURL set, through a client-credentials
	// access token (golang.org/x/oauth2/clientcredentials); otherwise with
	// HTTP Basic authentication.
	ClientID, ClientSecret string
	// TokenURL is the authorization server's token endpoint, for the
	// client-credentials grant. Optional.
	TokenURL string
	// Audience, when set, must be among the token's aud values.
	Audience string
	// CacheTTL bounds how long an active result is reused (default one
	// minute); never past the token's exp. A revoked token keeps working
	// for at most this long. At most 10,000 results are cached.
	CacheTTL time.Duration
}

// Principal is who an HTTP request authenticated as.
type Principal struct {
	// Name identifies the principal in logs and metrics: a static token's
	// Name, a JWT's sub, an introspected token's sub, username or client_id.
	Name string
	// Method is "static", "jwt" or "introspection".
	Method  string
	Scopes  []string
	Expires time.Time // zero: none
	// DorisUser is the Doris account the principal's calls use; empty for
	// the Server's own account.
	DorisUser string
	// account holds the password too: behind a pointer, so printing a
	// Principal never prints it.
	account *authn.Account
}

// HasScope reports whether the principal was granted scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// authConfig is the authentication part of config: the methods, as
// package authn takes them, and what the Server does with principals.
type authConfig struct {
	authn.Config
	toolScopes   map[string][]string
	resourceMeta *oauthex.ProtectedResourceMetadata
	insecure     bool
}

// normalize checks the authentication configuration as a whole; hostPool
// is true with WithDB, which cannot open pools for other accounts.
func (c *authConfig) normalize(hostPool bool) error {
	for _, t := range c.Tokens {
		if hostPool && t.Account.User != "" {
			return fmt.Errorf("WithBearerTokens: token %s has a DorisUser, which needs WithDSN, not WithDB", t.Name)
		}
	}
	switch {
	case c.insecure && c.Methods():
		return errors.New("WithInsecureNoAuth contradicts the authentication configured")
	case c.Methods():
	case len(c.toolScopes) > 0:
		return errors.New("WithToolScopes needs an authentication method (WithBearerTokens, WithTokenFile, WithJWT or WithIntrospection)")
	case c.resourceMeta != nil:
		return errors.New("WithResourceMetadata needs an authentication method")
	}
	return nil
}

// WithBearerTokens accepts static bearer tokens. The Server keeps only
// their SHA-256 digests and compares them in constant time. Each token
// needs a Name, and secrets of at least 16 characters.
func WithBearerTokens(tokens ...BearerToken) Option {
	return func(c *config) error {
		c.auth.Tokens = nil
		for i, t := range tokens {
			at := authn.Token{
				Secret: t.Token, Digest: t.Digest, Name: t.Name, Scopes: slices.Clone(t.Scopes), Expires: t.Expires,
				Account: authn.Account{User: t.DorisUser, Password: t.DorisPassword, Database: t.DorisDatabase},
			}
			if err := authn.CheckToken(at); err != nil {
				return fmt.Errorf("WithBearerTokens: token %d: %w", i, err)
			}
			c.auth.Tokens = append(c.auth.Tokens, at)
		}
		return nil
	}
}

// WithTokenFile accepts the static tokens listed in a JSON file, by digest:
//
//	[{"name": "ci", "digest": "<hex SHA-256 of the secret>", "scopes": ["read"],
//	  "expires": "2027-01-01T00:00:00Z", "doris_user": "ci_reader", "doris_password": "…",
//	  "doris_database": "sales"}]
//
// Only name and digest are required; the doris_ fields are those of
// [BearerToken]. New fails if the file cannot be read. The file is read
// again every second and reloaded when its bytes change (also when a
// rewrite keeps its size and modification time); requests see the old
// list or the new one, never a mix. A file deleted, unreadable or invalid
// revokes every token it listed, with a warning, until it is good again:
// a token removed with the file must stop working. Replace the file
// atomically (write beside it, then rename), as Kubernetes updates Secrets.
func WithTokenFile(path string) Option {
	return func(c *config) error {
		if strings.TrimSpace(path) == "" {
			return errors.New("WithTokenFile: empty path")
		}
		if c.auth.TokenFile != "" {
			return errors.New("WithTokenFile: given twice")
		}
		c.auth.TokenFile = path
		return nil
	}
}

// WithJWT accepts JSON Web Tokens; see [JWTConfig]. Scopes come from the
// scope claim (space-separated) or scp (a string or a list); the principal
// is the sub claim. Tokens must carry exp.
func WithJWT(cfg JWTConfig) Option {
	return func(c *config) error {
		if c.auth.JWT != nil {
			return errors.New("WithJWT: given twice")
		}
		jc := authn.JWTConfig(cfg)
		if err := jc.Normalize(); err != nil {
			return fmt.Errorf("WithJWT: %w", err)
		}
		c.auth.JWT = &jc
		return nil
	}
}

// WithIntrospection accepts opaque tokens an authorization server vouches
// for; see [IntrospectionConfig]. An inactive token gets 401, and is refused
// again without asking for 30 seconds; requests with the same token share
// one introspection request, and at most eight are in flight at once, so
// unknown tokens cannot make this server flood the authorization server.
// Redirects are not followed.
func WithIntrospection(cfg IntrospectionConfig) Option {
	return func(c *config) error {
		if c.auth.Introspection != nil {
			return errors.New("WithIntrospection: given twice")
		}
		ic := authn.IntrospectionConfig(cfg)
		if err := ic.Normalize(); err != nil {
			return fmt.Errorf("WithIntrospection: %w", err)
		}
		c.auth.Introspection = &ic
		return nil
	}
}

// WithToolScopes names, by tool, the scopes a caller needs to call it (all
// of them). tools/list shows a caller only the tools it may call; a call
// lacking a scope is refused with HTTP 403 insufficient_scope when the gate
// can tell from the request, and otherwise with a tool error naming the
// missing scope. Tools not named need no scope. Stdio, owned by its parent
// process, is not subject to scopes.
//
// Resources need the scopes of the tools whose data they give, to be
// listed as to be read: a table's definition those of get_table_schema
// and get_table_indexes, a view's those of get_table_schema, the default
// database's summary those of get_db_table_list and get_table_basic_info;
// listing its tables also needs get_db_table_list's. The built-in prompts
// only write plans and need no scope.
func WithToolScopes(scopes map[string][]string) Option {
	return func(c *config) error {
		m, err := authn.ToolScopes(scopes)
		if err != nil {
			return fmt.Errorf("WithToolScopes: %w", err)
		}
		c.auth.toolScopes = m
		return nil
	}
}

// WithResourceMetadata describes this server as an OAuth 2.0 protected
// resource (RFC 9728). [Server.ResourceMetadataHandler] serves it, and 401
// and 403 responses point to it with resource_metadata in their
// WWW-Authenticate header: the URL formed from m.Resource by inserting
// /.well-known/oauth-protected-resource before its path, where the host
// mounts the handler.
func WithResourceMetadata(m *oauthex.ProtectedResourceMetadata) Option {
	return func(c *config) error {
		if m == nil {
			return errors.New("WithResourceMetadata: nil metadata")
		}
		u, err := authn.MetadataURL(m.Resource)
		if err != nil {
			return fmt.Errorf("WithResourceMetadata: Resource: %w", err)
		}
		cp := *m
		c.auth.resourceMeta, c.auth.MetadataURL = &cp, u
		return nil
	}
}

// WithInsecureNoAuth serves requests without authentication whatever
// address they arrive on. Without it, and with no authentication method
// configured, [Server.Handler] answers 403 to requests that arrived on a
// non-loopback local address: a server exposed to a network must say who
// may use it.
func WithInsecureNoAuth() Option {
	return func(c *config) error {
		c.auth.insecure = true
		return nil
	}
}

// ResourceMetadataHandler serves the protected-resource metadata of
// [WithResourceMetadata] (RFC 9728), for the host to mount at
// /.well-known/oauth-protected-resource followed by the resource's path.
// Without metadata it answers 404.
func (s *Server) ResourceMetadataHandler() http.Handler {
	if s.cfg.auth.resourceMeta == nil {
		return http.NotFoundHandler()
	}
	return auth.ProtectedResourceMetadataHandler(s.cfg.auth.resourceMeta)
}

type principalKey struct{}

// PrincipalFromContext returns the principal of the HTTP request a tool
// handler serves, in the handlers of built-in tools and of those a host
// adds through [Server.MCP], stateless or stateful. It reports false with
// no authentication configured and over stdio.
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	if !ok {
		return Principal{}, false
	}
	cp := *p
	cp.Scopes = slices.Clone(p.Scopes)
	cp.account = nil
	return cp, true
}

// principalOf is the principal of an authenticated MCP request; nil for
// others. req may be nil.
func principalOf(ctx context.Context, req mcp.Request) *Principal {
	id := authn.IdentityOf(ctx, req)
	if id == nil {
		return nil
	}
	p := &Principal{Name: id.Name, Method: id.Method, Scopes: id.Scopes, Expires: id.Expires, account: id.Account}
	if id.Account != nil {
		p.DorisUser = id.Account.User
	}
	return p
}

// withPrincipal is the receiving middleware of authenticated calls: it
// makes the principal and its Doris account known to handlers, and has the
// scope policy decide what the principal may list and use.
func (s *Server) withPrincipal(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		p := principalOf(ctx, req)
		if p == nil {
			return next(ctx, method, req)
		}
		ctx = context.WithValue(ctx, principalKey{}, p)
		if p.account != nil {
			ctx = pool.WithAccount(ctx, p.account)
		}
		return s.auth.policy.Enforce(ctx, p.Name, p.Scopes, method, req, next)
	}
}

// mayCall reports whether the principal of ctx, if any, may call tool: a
// domain tool's children are checked with it (see [WithDomainTools]).
func (s *Server) mayCall(ctx context.Context, tool string) bool {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p == nil || len(s.auth.policy.Missing(p.Scopes, tool)) == 0
}

// authenticator is the Server's side of package authn: the entry points
// of the HTTP handler, and the scope policy of the MCP layer.
type authenticator struct {
	*authn.Authenticator
	policy   *authn.Policy
	on       bool // some method is configured
	insecure bool
	leeway   time.Duration // JWT clock skew, for the go-sdk's expiry check

	verify        auth.TokenVerifier                                 // see [authn.Authenticator.Verify]
	challenge     func(errCode string, scopes []string) string       // see [authn.Authenticator.Challenge]
	refusedScopes func(ctx context.Context, tools []string) []string // see [authn.Policy.Refused]
}

// newAuthenticator builds the authenticator and starts its background
// tasks. It reads the token file, but never waits on the network.
func newAuthenticator(cfg *authConfig, log *slog.Logger) (*authenticator, error) {
	an, err := authn.New(cfg.Config, log)
	if err != nil {
		return nil, err
	}
	policy := authn.NewPolicy(cfg.toolScopes, authn.Mirror{
		Resource: tools.ResourceTools, Template: tools.TemplateTools, Prompt: tools.PromptTools,
	}, log)
	return &authenticator{
		Authenticator: an, policy: policy, on: cfg.Methods(), insecure: cfg.insecure, leeway: cfg.Leeway(),
		verify: an.Verify, challenge: an.Challenge, refusedScopes: policy.Refused,
	}, nil
}

// challengeWriter gives the go-sdk's 401 responses the WWW-Authenticate
// header RFC 6750 asks for: the go-sdk sends none without metadata or
// required scopes, and no error code.
type challengeWriter struct {
	http.ResponseWriter
	a           *authenticator
	credentials bool                // the request carried an Authorization header
	refused     func(reason string) // counts a refusal by its reason
}

func (w *challengeWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		errCode, reason := "", "missing_token"
		if w.credentials {
			errCode, reason = "invalid_token", "invalid_token"
		}
		w.Header().Set("WWW-Authenticate", w.a.challenge(errCode, nil))
		w.refused(reason)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *challengeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
