package doris

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/dorismcp/doris/internal/httpgate"
	"github.com/dorismcp/doris/internal/jwks"
)

// Authentication bounds and defaults.
const (
	// maxTokenBytes bounds a bearer token: a longer one is refused before
	// any parsing, so a client cannot make the server decode megabytes of
	// base64 per request.
	maxTokenBytes = 8 << 10
	// minStaticToken is the shortest static secret accepted: shorter ones
	// can be guessed.
	minStaticToken = 16

	defaultLeeway     = 30 * time.Second
	maxLeeway         = 5 * time.Minute
	defaultIntroTTL   = time.Minute
	maxIntroCache     = 10_000
	defaultFilePoll   = time.Second
	jwksKidRefreshGap = 10 * time.Second
	introFetchTimeout = 10 * time.Second
	introMaxBytes     = 64 << 10
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
	JWKSURL string
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30 s,
	// at most 5 minutes.
	Leeway time.Duration

	// kidRefreshGap overrides jwksKidRefreshGap (tests).
	kidRefreshGap time.Duration
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
	// minute); never past the token's own exp. A revoked token keeps
	// working for at most this long. At most 10,000 results are cached.
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
	account *account
}

// HasScope reports whether the principal was granted scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// authConfig is the authentication part of config.
type authConfig struct {
	tokens        []BearerToken
	tokenFile     string
	jwt           *JWTConfig
	introspection *IntrospectionConfig
	toolScopes    map[string][]string
	resourceMeta  *oauthex.ProtectedResourceMetadata
	insecure      bool
	filePoll      time.Duration // token file poll interval; defaultFilePoll but in tests
}

// methods reports whether any authentication method is configured.
func (c *authConfig) methods() bool {
	return len(c.tokens) > 0 || c.tokenFile != "" || c.jwt != nil || c.introspection != nil
}

// normalize checks the authentication configuration as a whole; hostPool
// is true with WithDB, which cannot open pools for other accounts.
func (c *authConfig) normalize(hostPool bool) error {
	if hostPool {
		for _, t := range c.tokens {
			if t.DorisUser != "" {
				return fmt.Errorf("WithBearerTokens: token %s has a DorisUser, which needs WithDSN, not WithDB", t.Name)
			}
		}
	}
	if c.insecure && c.methods() {
		return errors.New("WithInsecureNoAuth contradicts the authentication configured")
	}
	if !c.methods() {
		if len(c.toolScopes) > 0 {
			return errors.New("WithToolScopes needs an authentication method (WithBearerTokens, WithTokenFile, WithJWT or WithIntrospection)")
		}
		if c.resourceMeta != nil {
			return errors.New("WithResourceMetadata needs an authentication method")
		}
	}
	setDefault(&c.filePoll, defaultFilePoll)
	return nil
}

// WithBearerTokens accepts static bearer tokens. The Server keeps only
// their SHA-256 digests and compares them in constant time. It may be given
// several times; each token needs a Name, and secrets of at least 16
// characters.
func WithBearerTokens(tokens ...BearerToken) Option {
	return func(c *config) error {
		for i, t := range tokens {
			if _, err := staticFrom(t); err != nil {
				return fmt.Errorf("WithBearerTokens: token %d: %w", i, err)
			}
			t.Scopes = slices.Clone(t.Scopes)
			c.auth.tokens = append(c.auth.tokens, t)
		}
		return nil
	}
}

// WithTokenFile accepts the static tokens listed in a JSON file, by digest:
//
//	[{"name": "ci", "digest": "<hex SHA-256 of the secret>", "scopes": ["read"],
//	  "expires": "2027-01-01T00:00:00Z", "doris_user": "ci_reader", "doris_password": "…"}]
//
// Only name and digest are required. New fails if the file cannot be read.
// The file is checked for changes (modification time and size) every
// second and reloaded; requests see either the old list or the new one,
// never a mix. A reload that fails is logged and the old list kept.
func WithTokenFile(path string) Option {
	return func(c *config) error {
		if strings.TrimSpace(path) == "" {
			return errors.New("WithTokenFile: empty path")
		}
		if c.auth.tokenFile != "" {
			return errors.New("WithTokenFile: given twice")
		}
		c.auth.tokenFile = path
		return nil
	}
}

// jwtAlgorithms are the algorithms WithJWT accepts, by the key type each
// needs.
var jwtAlgorithms = map[string]string{
	"HS256": "hmac", "HS384": "hmac", "HS512": "hmac",
	"RS256": "rsa", "RS384": "rsa", "RS512": "rsa",
	"PS256": "rsa", "PS384": "rsa", "PS512": "rsa",
	"ES256": "P-256", "ES384": "P-384", "ES512": "P-521",
	"EdDSA": "ed25519",
}

// WithJWT accepts JSON Web Tokens; see [JWTConfig]. Scopes come from the
// scope claim (space-separated) or scp (a string or a list); the principal
// is the sub claim. Tokens must carry exp.
func WithJWT(cfg JWTConfig) Option {
	return func(c *config) error {
		if c.auth.jwt != nil {
			return errors.New("WithJWT: given twice")
		}
		if len(cfg.Algorithms) == 0 {
			return errors.New("WithJWT: no algorithms: list the ones the issuer signs with")
		}
		for _, a := range cfg.Algorithms {
			if _, ok := jwtAlgorithms[a]; !ok {
				return fmt.Errorf("WithJWT: algorithm %q is not accepted", a)
			}
		}
		if len(cfg.Keys) == 0 && cfg.JWKSURL == "" {
			return errors.New("WithJWT: no keys and no JWKSURL")
		}
		keys := make(map[string]any, len(cfg.Keys))
		for kid, k := range cfg.Keys {
			if err := jwks.CheckKey(k); err != nil {
				return fmt.Errorf("WithJWT: key %q: %w", kid, err)
			}
			if b, ok := k.([]byte); ok {
				k = slices.Clone(b)
			}
			keys[kid] = k
		}
		cfg.Keys = keys
		cfg.Algorithms = slices.Clone(cfg.Algorithms)
		if cfg.JWKSURL != "" {
			if err := checkFetchURL(cfg.JWKSURL); err != nil {
				return fmt.Errorf("WithJWT: JWKSURL: %w", err)
			}
		}
		switch {
		case cfg.Leeway < 0 || cfg.Leeway > maxLeeway:
			return fmt.Errorf("WithJWT: leeway %v is outside 0 to %v", cfg.Leeway, maxLeeway)
		case cfg.Leeway == 0:
			cfg.Leeway = defaultLeeway
		}
		setDefault(&cfg.kidRefreshGap, jwksKidRefreshGap)
		c.auth.jwt = &cfg
		return nil
	}
}

// checkFetchURL accepts https URLs, and http ones on loopback hosts: keys
// and token verdicts fetched in clear text over a network could be forged.
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && httpgate.IsLoopback(u.Host):
		return nil
	}
	return errors.New("want an https URL (http only on a loopback host)")
}

// WithIntrospection accepts opaque tokens an authorization server vouches
// for; see [IntrospectionConfig]. An inactive token gets 401.
func WithIntrospection(cfg IntrospectionConfig) Option {
	return func(c *config) error {
		if c.auth.introspection != nil {
			return errors.New("WithIntrospection: given twice")
		}
		if err := checkFetchURL(cfg.URL); err != nil {
			return fmt.Errorf("WithIntrospection: URL: %w", err)
		}
		if cfg.TokenURL != "" {
			if err := checkFetchURL(cfg.TokenURL); err != nil {
				return fmt.Errorf("WithIntrospection: TokenURL: %w", err)
			}
		}
		if cfg.ClientID == "" {
			return errors.New("WithIntrospection: empty ClientID")
		}
		if cfg.CacheTTL < 0 {
			return fmt.Errorf("WithIntrospection: negative CacheTTL %v", cfg.CacheTTL)
		}
		setDefault(&cfg.CacheTTL, defaultIntroTTL)
		c.auth.introspection = &cfg
		return nil
	}
}

// WithToolScopes names, by tool, the scopes a caller needs to call it (all
// of them). tools/list shows a caller only the tools it may call; a call
// lacking a scope is refused with HTTP 403 insufficient_scope when the gate
// can tell from the request, and otherwise with a tool error naming the
// missing scope. Tools not named need no scope. Stdio, owned by its parent
// process, is not subject to scopes.
func WithToolScopes(scopes map[string][]string) Option {
	return func(c *config) error {
		m := make(map[string][]string, len(scopes))
		for tool, ss := range scopes {
			if tool == "" {
				return errors.New("WithToolScopes: empty tool name")
			}
			for _, s := range ss {
				if s == "" || strings.ContainsAny(s, " \t\"\\") {
					return fmt.Errorf("WithToolScopes: tool %s: malformed scope %q", tool, s)
				}
			}
			m[tool] = slices.Clone(ss)
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
		if _, err := metadataURL(m.Resource); err != nil {
			return fmt.Errorf("WithResourceMetadata: Resource: %w", err)
		}
		cp := *m
		c.auth.resourceMeta = &cp
		return nil
	}
}

// metadataURL is where RFC 9728 §3.1 says the metadata of resource lives.
func metadataURL(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("want an absolute http(s) URL")
	}
	path := strings.TrimSuffix(u.Path, "/")
	u.Path = "/.well-known/oauth-protected-resource" + path
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String(), nil
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

// tokenInfoPrincipal is the key of the Principal in auth.TokenInfo.Extra.
const tokenInfoPrincipal = "doris.principal"

// principalOf finds the principal of a call: in the TokenInfo the go-sdk
// hands each request (stateless and stateful alike), else in the context of
// a stateless request.
func principalOf(ctx context.Context, req mcp.Request) *Principal {
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
	p, _ := ti.Extra[tokenInfoPrincipal].(*Principal)
	return p
}

// accountKey is the context key of the Doris account a call runs as, read
// by pool.Do.
type accountKey struct{}

type account struct{ user, password string }

func accountFrom(ctx context.Context) (account, bool) {
	a, ok := ctx.Value(accountKey{}).(account)
	return a, ok
}

// withPrincipal is the receiving middleware of authenticated calls: it
// makes the principal and its Doris account known to handlers, shows
// tools/list only the tools the principal may call, and refuses calls to
// the others.
func (s *Server) withPrincipal(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		p := principalOf(ctx, req)
		if p == nil {
			return next(ctx, method, req)
		}
		ctx = context.WithValue(ctx, principalKey{}, p)
		if p.account != nil {
			ctx = context.WithValue(ctx, accountKey{}, *p.account)
		}
		switch method {
		case "tools/call":
			if r, ok := req.(*mcp.CallToolRequest); ok && r.Params != nil {
				if missing := s.auth.missingScopes(p, r.Params.Name); len(missing) > 0 {
					s.log.Info("call refused: missing scope", "principal", p.Name, "tool", r.Params.Name, "missing", missing)
					return &mcp.CallToolResult{
						IsError: true,
						Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("insufficient scope: tool %s needs scope %s", r.Params.Name, strings.Join(missing, " "))}},
					}, nil
				}
			}
		case "tools/list":
			res, err := next(ctx, method, req)
			if lr, ok := res.(*mcp.ListToolsResult); ok && err == nil && len(s.auth.scopes) > 0 {
				cp := *lr
				cp.Tools = slices.DeleteFunc(slices.Clone(lr.Tools), func(t *mcp.Tool) bool {
					return len(s.auth.missingScopes(p, t.Name)) > 0
				})
				return &cp, nil
			}
			return res, err
		}
		return next(ctx, method, req)
	}
}

// authenticator checks the bearer tokens of HTTP requests before they reach
// the MCP layer. It owns every background task of authentication (JWKS
// refresh, token file watch, introspection cache sweep); Close stops them.
type authenticator struct {
	log      *slog.Logger
	on       bool // some method is configured
	insecure bool
	static   []staticToken
	file     *tokenFile
	jwt      *jwtVerifier
	intro    *introspector
	scopes   map[string][]string
	metaURL  string
	leeway   time.Duration

	// transport carries every request the authenticator makes (JWKS,
	// tokens, introspection); Close closes its idle connections.
	transport *http.Transport
	ctx       context.Context
	cancel    context.CancelFunc
	loops     sync.WaitGroup
}

// newAuthenticator builds the authenticator and starts its background
// tasks. It reads the token file, but never waits on the network.
func newAuthenticator(cfg *authConfig, log *slog.Logger) (*authenticator, error) {
	a := &authenticator{log: log, on: cfg.methods(), insecure: cfg.insecure, scopes: cfg.toolScopes}
	for _, t := range cfg.tokens {
		st, _ := staticFrom(t) // checked by the option
		a.static = append(a.static, st)
	}
	if err := uniqueDigests(a.static); err != nil {
		return nil, fmt.Errorf("WithBearerTokens: %w", err)
	}
	if cfg.resourceMeta != nil {
		a.metaURL, _ = metadataURL(cfg.resourceMeta.Resource)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.transport = http.DefaultTransport.(*http.Transport).Clone()
	if cfg.tokenFile != "" {
		f := &tokenFile{path: cfg.tokenFile, log: log}
		if err := f.load(); err != nil {
			a.cancel()
			return nil, fmt.Errorf("WithTokenFile: %w", err)
		}
		a.file = f
		a.start(func(ctx context.Context) { f.watch(ctx, cfg.filePoll) })
	}
	if cfg.jwt != nil {
		a.jwt = newJWTVerifier(*cfg.jwt, log, a.transport)
		a.leeway = cfg.jwt.Leeway
		if a.jwt.jwks != nil {
			a.start(a.jwt.jwks.Run)
		}
	}
	if cfg.introspection != nil {
		a.intro = newIntrospector(a.ctx, *cfg.introspection, a.transport)
		a.start(a.intro.sweep)
	}
	return a, nil
}

func (a *authenticator) start(loop func(context.Context)) {
	a.loops.Go(func() { loop(a.ctx) })
}

// Close stops the background tasks and waits for them within ctx.
func (a *authenticator) Close(ctx context.Context) error {
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

// missingScopes lists the scopes tool needs that p lacks.
func (a *authenticator) missingScopes(p *Principal, tool string) []string {
	var missing []string
	for _, s := range a.scopes[tool] {
		if !p.HasScope(s) {
			missing = append(missing, s)
		}
	}
	return missing
}

// verify is the go-sdk TokenVerifier: it accepts a token if one of the
// configured methods does. Every refusal is auth.ErrInvalidToken, with
// nothing for the client to learn from; the log has the reason.
func (a *authenticator) verify(ctx context.Context, token string, r *http.Request) (*auth.TokenInfo, error) {
	p, reason := a.check(ctx, token)
	if p == nil {
		a.log.Info("authentication refused", "reason", reason, "remote", r.RemoteAddr)
		return nil, auth.ErrInvalidToken
	}
	a.log.Debug("authenticated", "principal", p.Name, "method", p.Method)
	return &auth.TokenInfo{
		Scopes:     p.Scopes,
		Expiration: p.Expires,
		// Binds a stateful session to its principal in the go-sdk.
		UserID: p.Method + ":" + p.Name,
		Extra:  map[string]any{tokenInfoPrincipal: p},
	}, nil
}

// check returns the principal of token, or why none.
func (a *authenticator) check(ctx context.Context, token string) (*Principal, string) {
	if len(token) > maxTokenBytes {
		return nil, fmt.Sprintf("token of %d bytes exceeds %d", len(token), maxTokenBytes)
	}
	var reasons []string
	digest := sha256.Sum256([]byte(token))
	sets := [][]staticToken{a.static}
	if a.file != nil {
		sets = append(sets, *a.file.tokens.Load())
	}
	for _, set := range sets {
		if t := matchStatic(set, digest); t != nil {
			if !t.expires.IsZero() && !time.Now().Before(t.expires) {
				return nil, "static token " + t.name + " expired"
			}
			return t.principal(), ""
		}
	}
	if len(a.static) > 0 || a.file != nil {
		reasons = append(reasons, "static: unknown token")
	}
	if a.jwt != nil {
		if strings.Count(token, ".") == 2 {
			p, err := a.jwt.verify(ctx, token)
			if err == nil {
				return p, ""
			}
			reasons = append(reasons, "jwt: "+err.Error())
		} else {
			reasons = append(reasons, "jwt: not a JWT")
		}
	}
	if a.intro != nil {
		p, err := a.intro.verify(ctx, token, digest)
		if err == nil {
			return p, ""
		}
		reasons = append(reasons, "introspection: "+err.Error())
	}
	return nil, strings.Join(reasons, "; ")
}

// challenge is the WWW-Authenticate value of a refusal (RFC 6750 §3):
// errCode is "" for a request without credentials, invalid_token or
// insufficient_scope.
func (a *authenticator) challenge(errCode string, scopes []string) string {
	params := []string{`realm="doris-mcp"`}
	if errCode != "" {
		params = append(params, `error="`+errCode+`"`)
	}
	if len(scopes) > 0 {
		params = append(params, `scope="`+strings.Join(scopes, " ")+`"`)
	}
	if a.metaURL != "" {
		params = append(params, `resource_metadata="`+a.metaURL+`"`)
	}
	return "Bearer " + strings.Join(params, ", ")
}

// staticToken is a static token as kept: its digest, never the secret.
type staticToken struct {
	digest        [sha256.Size]byte
	name          string
	scopes        []string
	expires       time.Time
	dorisUser     string
	dorisPassword string
}

func (t *staticToken) principal() *Principal {
	p := &Principal{Name: t.name, Method: "static", Scopes: t.scopes, Expires: t.expires}
	if t.dorisUser != "" {
		p.DorisUser = t.dorisUser
		p.account = &account{t.dorisUser, t.dorisPassword}
	}
	return p
}

func staticFrom(t BearerToken) (staticToken, error) {
	st := staticToken{
		name: t.Name, scopes: slices.Clone(t.Scopes), expires: t.Expires,
		dorisUser: t.DorisUser, dorisPassword: t.DorisPassword,
	}
	switch {
	case t.Name == "":
		return st, errors.New("no Name")
	case t.Token != "" && t.Digest != "":
		return st, errors.New("both Token and Digest given")
	case t.Token != "":
		if len(t.Token) < minStaticToken {
			return st, fmt.Errorf("secret shorter than %d characters", minStaticToken)
		}
		if len(t.Token) > maxTokenBytes {
			return st, fmt.Errorf("secret longer than %d bytes", maxTokenBytes)
		}
		st.digest = sha256.Sum256([]byte(t.Token))
	case t.Digest != "":
		b, err := hex.DecodeString(t.Digest)
		if err != nil || len(b) != sha256.Size {
			return st, errors.New("Digest is not a hex SHA-256")
		}
		copy(st.digest[:], b)
	default:
		return st, errors.New("neither Token nor Digest given")
	}
	if t.DorisPassword != "" && t.DorisUser == "" {
		return st, errors.New("DorisPassword without DorisUser")
	}
	for _, s := range t.Scopes {
		if s == "" || strings.ContainsAny(s, " \t") {
			return st, fmt.Errorf("malformed scope %q", s)
		}
	}
	return st, nil
}

func uniqueDigests(ts []staticToken) error {
	seen := make(map[[sha256.Size]byte]string, len(ts))
	for _, t := range ts {
		if other, ok := seen[t.digest]; ok {
			return fmt.Errorf("tokens %s and %s have the same secret", other, t.name)
		}
		seen[t.digest] = t.name
	}
	return nil
}

// matchStatic compares digest with every token's in constant time, without
// stopping at a match, so timing tells nothing of which token matched.
func matchStatic(set []staticToken, digest [sha256.Size]byte) *staticToken {
	var found *staticToken
	for i := range set {
		if subtle.ConstantTimeCompare(set[i].digest[:], digest[:]) == 1 {
			found = &set[i]
		}
	}
	return found
}

// tokenFile is a token file and the list last loaded from it, swapped
// atomically on reload.
type tokenFile struct {
	path   string
	log    *slog.Logger
	tokens atomic.Pointer[[]staticToken]
	// What the last load saw, to notice changes; used by the watcher only
	// after the first load.
	modTime time.Time
	size    int64
}

// fileToken is one entry of a token file.
type fileToken struct {
	Name          string    `json:"name"`
	Digest        string    `json:"digest"`
	Scopes        []string  `json:"scopes"`
	Expires       time.Time `json:"expires"`
	DorisUser     string    `json:"doris_user"`
	DorisPassword string    `json:"doris_password"`
}

func (f *tokenFile) load() error {
	fh, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(io.LimitReader(fh, 16<<20))
	dec.DisallowUnknownFields() // a "token" field, say: the file holds digests only
	var entries []fileToken
	if err := dec.Decode(&entries); err != nil {
		return fmt.Errorf("%s: not a JSON list of tokens: %w", f.path, err)
	}
	set := make([]staticToken, 0, len(entries))
	for i, e := range entries {
		st, err := staticFrom(BearerToken{
			Digest: e.Digest, Name: e.Name, Scopes: e.Scopes, Expires: e.Expires,
			DorisUser: e.DorisUser, DorisPassword: e.DorisPassword,
		})
		if err != nil {
			return fmt.Errorf("%s: entry %d: %w", f.path, i, err)
		}
		set = append(set, st)
	}
	if err := uniqueDigests(set); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	f.tokens.Store(&set)
	f.modTime, f.size = fi.ModTime(), fi.Size()
	return nil
}

// watch reloads the file whenever its modification time or size changes.
func (f *tokenFile) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(f.path)
		if err != nil {
			if !f.modTime.IsZero() {
				f.log.Warn("token file unreadable; keeping the tokens last loaded", "path", f.path, "err", err)
				f.modTime, f.size = time.Time{}, -1
			}
			continue
		}
		if fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
			continue
		}
		if err := f.load(); err != nil {
			f.log.Warn("token file reload failed; keeping the tokens last loaded", "err", err)
			f.modTime, f.size = fi.ModTime(), fi.Size() // retried when it changes again
			continue
		}
		f.log.Info("token file reloaded", "path", f.path, "tokens", len(*f.tokens.Load()))
	}
}

// jwtVerifier checks JWTs against static keys and a JWKS.
type jwtVerifier struct {
	cfg    JWTConfig
	parser *jwt.Parser
	jwks   *jwks.Cache // nil without JWKSURL
}

func newJWTVerifier(cfg JWTConfig, log *slog.Logger, rt http.RoundTripper) *jwtVerifier {
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
		v.jwks = jwks.New(cfg.JWKSURL, rt, cfg.kidRefreshGap, log)
	}
	return v
}

func (v *jwtVerifier) verify(ctx context.Context, token string) (*Principal, error) {
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
	p := &Principal{Method: "jwt", Scopes: scopesOf(claims)}
	p.Name, _ = claims["sub"].(string)
	if p.Name == "" {
		p.Name, _ = claims["client_id"].(string)
	}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		p.Expires = exp.Time
	}
	return p, nil
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
	switch kind := jwtAlgorithms[alg]; kind {
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

// introspector asks an authorization server about opaque tokens (RFC 7662)
// and caches active verdicts.
type introspector struct {
	cfg    IntrospectionConfig
	client *http.Client
	ts     oauth2.TokenSource // nil: HTTP Basic client authentication

	mu    sync.Mutex
	cache map[[sha256.Size]byte]introEntry
}

type introEntry struct {
	p     *Principal
	until time.Time
}

func newIntrospector(ctx context.Context, cfg IntrospectionConfig, rt http.RoundTripper) *introspector {
	in := &introspector{
		cfg:    cfg,
		client: &http.Client{Transport: rt, Timeout: introFetchTimeout},
		cache:  make(map[[sha256.Size]byte]introEntry),
	}
	if cfg.TokenURL != "" {
		cc := &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL}
		// The token source outlives requests: it fetches with the
		// authenticator's context and a bounded client.
		in.ts = cc.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, in.client))
	}
	return in
}

func (in *introspector) verify(ctx context.Context, token string, digest [sha256.Size]byte) (*Principal, error) {
	now := time.Now()
	in.mu.Lock()
	e, ok := in.cache[digest]
	in.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.p, nil
	}
	p, err := in.ask(ctx, token)
	if err != nil {
		return nil, err
	}
	until := now.Add(in.cfg.CacheTTL)
	if !p.Expires.IsZero() && p.Expires.Before(until) {
		until = p.Expires
	}
	in.mu.Lock()
	if len(in.cache) >= maxIntroCache {
		in.evict(now)
	}
	in.cache[digest] = introEntry{p, until}
	in.mu.Unlock()
	return p, nil
}

// evict makes room in a full cache: the expired entries go, or else one
// arbitrary entry. Called with mu held.
func (in *introspector) evict(now time.Time) {
	for k, e := range in.cache {
		if !now.Before(e.until) {
			delete(in.cache, k)
		}
	}
	for k := range in.cache {
		if len(in.cache) < maxIntroCache {
			break
		}
		delete(in.cache, k)
	}
}

// sweep drops expired verdicts, so the cache holds only live ones.
func (in *introspector) sweep(ctx context.Context) {
	t := time.NewTicker(in.cfg.CacheTTL)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			in.mu.Lock()
			for k, e := range in.cache {
				if !now.Before(e.until) {
					delete(in.cache, k)
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

func (in *introspector) ask(ctx context.Context, token string) (*Principal, error) {
	ctx, cancel := context.WithTimeout(ctx, introFetchTimeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if in.ts != nil {
		tok, err := in.ts.Token()
		if err != nil {
			return nil, fmt.Errorf("client credentials: %w", err)
		}
		tok.SetAuthHeader(req)
	} else {
		req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("authorization server unreachable: %w", err)
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
		return nil, errors.New("token inactive")
	}
	p := &Principal{Method: "introspection", Scopes: strings.Fields(r.Scope)}
	if r.Exp > 0 {
		p.Expires = time.Unix(r.Exp, 0)
		if !time.Now().Before(p.Expires) {
			return nil, errors.New("token expired")
		}
	}
	if in.cfg.Audience != "" && !audienceHas(r.Aud, in.cfg.Audience) {
		return nil, errors.New("token not meant for this audience")
	}
	for _, n := range []string{r.Sub, r.Username, r.ClientID} {
		if n != "" {
			p.Name = n
			break
		}
	}
	return p, nil
}

func audienceHas(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, want)
}

// challengeWriter gives the go-sdk's 401 responses the WWW-Authenticate
// header RFC 6750 asks for: the go-sdk sends none without metadata or
// required scopes, and no error code.
type challengeWriter struct {
	http.ResponseWriter
	a           *authenticator
	credentials bool // the request carried an Authorization header
	// refused counts a refusal by its reason.
	refused func(reason string)
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

// arrivedOnLoopback reports whether r came in on a loopback address. A
// request without a local address (a host serving it by other means than
// net/http's server) is not known to be local, so it is not.
func arrivedOnLoopback(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return ok && local != nil && httpgate.IsLoopback(local.String())
}

// refusedScopes lists the scopes missing for the tools called, for
// the gate to answer 403 before the MCP layer. It can only refuse: the
// receiving middleware decides for what it cannot read here.
func (a *authenticator) refusedScopes(ctx context.Context, tools []string) []string {
	if len(a.scopes) == 0 || len(tools) == 0 {
		return nil
	}
	ti := auth.TokenInfoFromContext(ctx)
	if ti == nil {
		return nil
	}
	p, _ := ti.Extra[tokenInfoPrincipal].(*Principal)
	if p == nil {
		return nil
	}
	var missing []string
	for _, tool := range tools {
		for _, s := range a.missingScopes(p, tool) {
			if !slices.Contains(missing, s) {
				missing = append(missing, s)
			}
		}
	}
	return missing
}
