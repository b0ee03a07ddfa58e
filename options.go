package doris

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
	"github.com/dorismcp/doris/internal/telemetry"
)

// Defaults used when an option is absent or set to zero, and the ceilings
// no deployment can raise its limits above. Each option documents its own.
const (
	defaultMaxOpenConns        = 20
	defaultMaxIdleConns        = 5
	defaultConnMaxLifetime     = 30 * time.Minute
	defaultConnMaxIdleTime     = 5 * time.Minute
	defaultHealthCheckInterval = 10 * time.Second
	defaultQueryTimeout        = 30 * time.Second
	defaultMaxQueryTimeout     = 300 * time.Second
	defaultRowLimit            = 100
	defaultMaxRowLimit         = 10_000
	defaultByteLimit           = 1 << 20
	defaultMaxByteLimit        = hardMaxByteLimit

	hardMaxRowLimit  = 100_000
	hardMaxByteLimit = 16 << 20

	defaultPoolWait     = 5 * time.Second
	defaultMaxStatement = 1 << 20
	defaultBodyTimeout  = 10 * time.Second
	defaultWriteTimeout = 30 * time.Second
	defaultMaxBatch     = 32
	defaultMaxSessions  = 2000
	defaultMaxInFlight  = 256
	defaultResultBudget = 160 << 20

	defaultPoolIdleTimeout = 10 * time.Minute
	defaultDialTimeout     = 10 * time.Second
	defaultRetryAfter      = 5 * time.Second
)

// An Option configures a [Server]. Options are applied in order by [New],
// which then validates the whole configuration; a bad value is an error from
// New, never a panic. An option given twice keeps the later: a struct
// option ([QueryLimits], [PoolLimits], [HTTPLimits]) is replaced as a
// whole, and a list option replaces the list.
type Option func(*config) error

// config is the validated configuration of a Server. New copies it; nothing
// outside the Server holds a reference to it.
type config struct {
	dsn      *mysql.Config // parsed DSN; nil when db is set
	dsnSet   bool
	db       *sql.DB // host-owned pool; never closed by the library
	logger   *slog.Logger
	stateful bool
	idle     time.Duration

	pool            PoolLimits
	query           QueryLimits
	poolIdleTimeout time.Duration

	allowedHosts   []string
	trustedOrigins []string
	http           HTTPLimits
	frontends      []string // FE query addresses besides the DSN's
	allowExternal  bool
	allowedFuncs   []string

	retryAfter   time.Duration
	name         string
	version      string
	instructions string
	domains      bool

	feHTTP feHTTPConfig

	maskRules []MaskRule
	maskSet   bool
	unmasked  func(context.Context) bool

	auth    authConfig // see auth.go
	meters  metric.MeterProvider
	tracers trace.TracerProvider
}

// WithDSN connects to Doris through a go-sql-driver/mysql DSN, for example
// "user:pass@tcp(fe-host:9030)/db". The Server owns the resulting pool and
// closes it on [Server.Shutdown].
func WithDSN(dsn string) Option {
	return func(c *config) error {
		if strings.TrimSpace(dsn) == "" {
			return errors.New("WithDSN: empty DSN")
		}
		parsed, err := mysql.ParseDSN(dsn)
		if err != nil {
			// The driver's message may quote part of the DSN, password
			// included: never pass that part on.
			msg := err.Error()
			creds := dsn
			if at := strings.LastIndexByte(dsn, '@'); at >= 0 {
				creds = dsn[:at]
			} else if slash := strings.IndexByte(dsn, '/'); slash >= 0 {
				creds = dsn[:slash]
			}
			if _, pass, ok := strings.Cut(creds, ":"); ok && pass != "" {
				msg = strings.ReplaceAll(msg, pass, "***")
			}
			return fmt.Errorf("WithDSN: unusable DSN (want user:password@tcp(host:port)/db?params): %s", msg)
		}
		if parsed.MultiStatements {
			return errors.New("WithDSN: multiStatements=true is refused: it would let one tool call run several statements")
		}
		if cs := unsafeCharset(parsed); cs != "" {
			return fmt.Errorf("WithDSN: character set %q is refused: the read-only guard reads SQL as utf8mb4, and in a multibyte set such as gbk a quote or backslash can be swallowed by the character before it; use charset=utf8mb4", cs)
		}
		c.dsn = parsed
		c.dsnSet = true
		return nil
	}
}

// unsafeCharset returns the first connection character set cfg asks for
// (charset=… or the collation's) that the guard's lexer does not model, or
// "" when all are safe. The driver's default is utf8mb4.
func unsafeCharset(cfg *mysql.Config) string {
	var sets []string
	dsn := cfg.FormatDSN()
	if i := strings.LastIndexByte(dsn, '/'); i >= 0 {
		if _, q, ok := strings.Cut(dsn[i:], "?"); ok {
			if v, err := url.ParseQuery(q); err == nil && v.Get("charset") != "" {
				sets = strings.Split(v.Get("charset"), ",")
			}
		}
	}
	if cfg.Collation != "" {
		set, _, _ := strings.Cut(cfg.Collation, "_")
		sets = append(sets, set)
	}
	for _, cs := range sets {
		if !sqlguard.SafeCharset(strings.TrimSpace(cs)) {
			return cs
		}
	}
	return ""
}

// WithFrontends names more FE query addresses ("host:port") of the same
// cluster besides the DSN's, for failover: calls go to the first FE that is
// up, in order (the DSN's first); an FE that cannot be reached is skipped
// until the health check sees it answer again, and [Server.ReadyHandler]
// answers 200 while at least one does. Every FE has its own connections, so
// a query cancelled on one is killed on that one. Needs [WithDSN].
func WithFrontends(addrs ...string) Option {
	return func(c *config) error {
		for _, a := range addrs {
			host, port, err := net.SplitHostPort(a)
			if err != nil || host == "" || port == "" {
				return fmt.Errorf("WithFrontends: %q is not host:port", a)
			}
		}
		c.frontends = slices.Clone(addrs)
		return nil
	}
}

// WithDB serves queries from a pool the host owns. The Server uses it but
// never closes it, and cannot reset the sessions of its connections, so a
// query that changes the session (a different database, say) causes its
// connection to be discarded afterwards.
func WithDB(db *sql.DB) Option {
	return func(c *config) error {
		if db == nil {
			return errors.New("WithDB: nil *sql.DB")
		}
		c.db = db
		return nil
	}
}

// WithStatefulSessions makes [Server.Handler] keep MCP sessions (the
// Mcp-Session-Id header and standalone GET streams) instead of the default
// stateless mode, which suits several replicas behind a load balancer.
// Sessions idle for longer than idle are closed; zero keeps them until the
// client deletes them or the Server shuts down.
func WithStatefulSessions(idle time.Duration) Option {
	return func(c *config) error {
		if idle < 0 {
			return fmt.Errorf("WithStatefulSessions: negative idle timeout %v", idle)
		}
		c.stateful = true
		c.idle = idle
		return nil
	}
}

// WithLogger sets the logger for the Server's own events. A nil logger, or
// no WithLogger at all, discards them. Nothing is ever written to stdout.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithMeterProvider has the Server record its metrics with mp: the
// OpenTelemetry semantic conventions' mcp.server.operation.duration,
// mcp.server.session.duration, db.client.operation.duration and
// db.client.connection.count, and its own doris.mcp.* metrics (rows and
// bytes returned, truncations, guard rejections, queries killed, calls in
// flight, health, shutdown phases). Without it, or with nil, no metric is
// recorded and none costs anything. The library uses only the
// OpenTelemetry API: the SDK and its exporters are the host's choice.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error {
		c.meters = mp
		return nil
	}
}

// WithTracerProvider has the Server trace with tp: a server span per MCP
// request (named like "tools/call exec_query"), joined to the caller's
// trace from the request's params._meta (traceparent, tracestate) or else
// its HTTP headers, and a client span per Doris statement, named after its
// summary, which never holds a literal. Without it, or with nil, nothing is
// traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error {
		c.tracers = tp
		return nil
	}
}

// QueryLimits bound what one call may ask of Doris and what all calls hold
// at once. A zero field means its default; a default left zero never
// exceeds the maximum given, and a maximum left zero is at least the
// default given.
type QueryLimits struct {
	// DefaultRows is the rows a query returns when the caller does not
	// ask (default 100); MaxRows the most a caller may ask for (default
	// 10,000, at most 100,000).
	DefaultRows, MaxRows int
	// DefaultBytes is the encoded result size a query returns when the
	// caller does not ask (default 1 MiB); MaxBytes the most a caller may
	// ask for (default and at most 16 MiB).
	DefaultBytes, MaxBytes int64
	// DefaultTimeout is the time a query may run when the caller does not
	// ask (default 30 s, at least 1 s); MaxTimeout the most a caller may
	// ask for (default 300 s).
	DefaultTimeout, MaxTimeout time.Duration
	// MaxStatementBytes bounds the SQL text a caller may send (default
	// 1 MiB): a longer statement is refused before it is read.
	MaxStatementBytes int64
	// MaxInFlight bounds the calls the Server runs at once, over every
	// transport (default 256). A call beyond it is refused at once: over
	// HTTP with 429 and Retry-After. The limit is shared between
	// principals: one authenticated principal may hold all but an eighth
	// of it (at least one call), so another always finds room.
	MaxInFlight int
	// ResultBudget bounds the memory the Server's results hold at once,
	// over all calls (default 160 MiB). A result of n bytes is counted as
	// 8n, the memory it takes at the peak of its call (rows, their
	// encoding, the text copy for older clients, the protocol's encoding).
	// A result is charged as its rows are read, in chunks (16 KiB of
	// result first, then doubling up to 1 MiB at a time), and holds what
	// it was charged until its response is delivered (for stateful
	// sessions: until its handler returns). A result that finds no room
	// waits up to a second (at most [PoolLimits].Wait), then ends early
	// with truncated set and truncation_reason "server_memory". The budget
	// is shared between principals: one authenticated principal may hold
	// all but an eighth of it, and when room frees up, the principal
	// holding least is served first.
	ResultBudget int64
}

// WithQueryLimits sets the limits of [QueryLimits].
func WithQueryLimits(l QueryLimits) Option {
	return func(c *config) error {
		if l.DefaultRows < 0 || l.MaxRows < 0 || l.DefaultBytes < 0 || l.MaxBytes < 0 || l.DefaultTimeout < 0 ||
			l.MaxTimeout < 0 || l.MaxStatementBytes < 0 || l.MaxInFlight < 0 || l.ResultBudget < 0 {
			return fmt.Errorf("WithQueryLimits: negative limit in %+v", l)
		}
		c.query = l
		return nil
	}
}

// PoolLimits bound the connections the Server opens to Doris. A zero field
// means its default. Only HealthCheckInterval and Wait apply with [WithDB],
// whose own limits are shared between principals the same way.
type PoolLimits struct {
	// MaxOpen bounds the connections open at once (default 20); MaxIdle
	// those kept idle (default 5, at most MaxOpen). The connections are
	// shared between principals: one authenticated principal may hold all
	// but an eighth of them (at least one), and a freed connection goes
	// first to the waiting principal that holds fewest.
	MaxOpen, MaxIdle int
	// MaxLifetime bounds how long a connection lives (default 30 minutes),
	// MaxIdleTime how long it stays idle (default 5 minutes).
	MaxLifetime, MaxIdleTime time.Duration
	// Wait bounds how long a call waits for a free connection when all
	// are busy (default 5 s); it then fails with a message saying so, and
	// [Server.ReadyHandler] reports the pool saturated for a health
	// interval.
	Wait time.Duration
	// HealthCheckInterval is how often the pool pings Doris (default 10 s,
	// at least 10 ms); the result drives [Server.ReadyHandler].
	HealthCheckInterval time.Duration
}

// WithPoolLimits sets the limits of [PoolLimits].
func WithPoolLimits(l PoolLimits) Option {
	return func(c *config) error {
		if l.MaxOpen < 0 || l.MaxIdle < 0 || l.MaxLifetime < 0 || l.MaxIdleTime < 0 || l.Wait < 0 ||
			l.HealthCheckInterval < 0 {
			return fmt.Errorf("WithPoolLimits: negative limit in %+v", l)
		}
		c.pool = l
		return nil
	}
}

// A MaskRule hides part of the values of result columns whose names match
// the regular expression Columns (matched case-insensitively). Mask
// receives each value as text and returns what the caller sees.
type MaskRule struct {
	Columns string
	Mask    func(value string) string
}

// WithMasking replaces the default mask rules ([DefaultMaskRules]) applied
// to every result the Server returns. WithMasking() with no rules turns
// masking off.
func WithMasking(rules ...MaskRule) Option {
	return func(c *config) error {
		for i, r := range rules {
			if r.Columns == "" || r.Mask == nil {
				return fmt.Errorf("WithMasking: rule %d needs both Columns and Mask", i)
			}
			if _, err := regexp.Compile(r.Columns); err != nil {
				return fmt.Errorf("WithMasking: rule %d: %w", i, err)
			}
		}
		c.maskRules, c.maskSet = slices.Clone(rules), true
		return nil
	}
}

// WithMaskExemption lets the callers for whom unmasked reports true see
// values unmasked; the call's context carries who the caller is
// ([PrincipalFromContext]).
func WithMaskExemption(unmasked func(ctx context.Context) bool) Option {
	return func(c *config) error {
		if unmasked == nil {
			return errors.New("WithMaskExemption: nil function")
		}
		c.unmasked = unmasked
		return nil
	}
}

// newMasker compiles mask rules, their patterns checked by WithMasking.
func newMasker(rules []MaskRule) *query.Masker {
	compiled := make([]query.MaskRule, len(rules))
	for i, r := range rules {
		compiled[i] = query.MaskRule{Columns: regexp.MustCompile("(?i)" + r.Columns), Mask: r.Mask}
	}
	return query.NewMasker(compiled)
}

// KeepEnds returns a mask that keeps the first prefix and last suffix
// characters and stars the rest: KeepEnds(3, 4)("13812345678") is
// "138****5678". A value too short to keep anything is starred whole.
func KeepEnds(prefix, suffix int) func(string) string {
	prefix, suffix = max(prefix, 0), max(suffix, 0)
	return func(s string) string {
		n := utf8.RuneCountInString(s)
		if n <= prefix+suffix {
			return strings.Repeat("*", n)
		}
		r := []rune(s)
		return string(r[:prefix]) + strings.Repeat("*", n-prefix-suffix) + string(r[n-suffix:])
	}
}

// MaskEmail keeps the first and last characters of an address's local part
// and its whole domain: "alice.wong@example.com" becomes
// "a********g@example.com". A value without '@' is starred whole.
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return strings.Repeat("*", utf8.RuneCountInString(s))
	}
	return KeepEnds(1, 1)(s[:at]) + s[at:]
}

// DefaultMaskRules are the rules a Server applies unless told otherwise,
// those of the reference server: phone and mobile numbers keep 3+4
// characters, e-mail addresses the ends of their local part, identity card
// numbers 6+4.
func DefaultMaskRules() []MaskRule {
	return []MaskRule{
		{Columns: `phone|mobile`, Mask: KeepEnds(3, 4)},
		{Columns: `e_?mail`, Mask: MaskEmail},
		{Columns: `id_?card|identity`, Mask: KeepEnds(6, 4)},
	}
}

// WithAllowedHosts sets the Host header values [Server.Handler] accepts,
// as names ("mcp.example.com") or name:port. Without it the handler applies
// the MCP DNS-rebinding rule: a request that arrived on a loopback address
// must name a loopback host, since a web page whose host name an attacker
// rebound to 127.0.0.1 would otherwise reach a local server. Set it when a
// proxy on the same host forwards the public Host header.
func WithAllowedHosts(hosts ...string) Option {
	return func(c *config) error {
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, "/ ") {
				return fmt.Errorf("WithAllowedHosts: %q is not a host or host:port", h)
			}
		}
		c.allowedHosts = slices.Clone(hosts)
		return nil
	}
}

// WithTrustedOrigins lets browser requests from these origins
// ("https://app.example.com") through the cross-origin check of
// [Server.Handler], which otherwise refuses cross-origin requests from
// browsers ([http.CrossOriginProtection]).
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) error {
		cop := http.NewCrossOriginProtection()
		for _, o := range origins {
			if err := cop.AddTrustedOrigin(o); err != nil {
				return fmt.Errorf("WithTrustedOrigins: %w", err)
			}
		}
		c.trustedOrigins = slices.Clone(origins)
		return nil
	}
}

// HTTPLimits bound what one HTTP request may hold of the Server. A zero
// field means its default.
type HTTPLimits struct {
	// MaxBodyBytes bounds a request body. Default 4 MiB.
	MaxBodyBytes int64
	// BodyTimeout bounds the time a request body takes to arrive. Default 10 s.
	BodyTimeout time.Duration
	// WriteTimeout bounds each write of a response: a client that stops
	// reading releases what its response holds after it. Default 30 s.
	WriteTimeout time.Duration
	// MaxBatch bounds the calls one request may carry. Default 32.
	MaxBatch int
	// MaxSessions bounds the stateful sessions open at once
	// ([WithStatefulSessions]). Default 2,000.
	MaxSessions int
}

// WithHTTPLimits sets the limits of [HTTPLimits].
func WithHTTPLimits(l HTTPLimits) Option {
	return func(c *config) error {
		if l.MaxBodyBytes < 0 || l.BodyTimeout < 0 || l.WriteTimeout < 0 || l.MaxBatch < 0 || l.MaxSessions < 0 {
			return fmt.Errorf("WithHTTPLimits: negative limit in %+v", l)
		}
		c.http = l
		return nil
	}
}

// WithExternalFunctions lets callers use SQL functions that call services
// outside Doris, such as its AI functions (AI_GENERATE, EMBED, …), which
// send data to a model provider and cost money per call. They are refused
// by default.
func WithExternalFunctions() Option {
	return func(c *config) error {
		c.allowExternal = true
		return nil
	}
}

// WithAllowedFunctions lets callers' SQL call the functions named, besides
// the engine's built-ins known to be free of side effects: typically the
// deployment's own user-defined or stored functions, or a built-in of a
// newer Doris release. Every other name is refused, since an unqualified
// call can reach a stored function of the caller's database whose body
// the guard cannot read. Names are matched without regard to case and
// cannot be qualified.
func WithAllowedFunctions(names ...string) Option {
	return func(c *config) error {
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, ".`'\" (),;") || !utf8.ValidString(n) {
				return fmt.Errorf("WithAllowedFunctions: %q is not a plain function name", n)
			}
		}
		c.allowedFuncs = slices.Clone(names)
		return nil
	}
}

// WithServerInfo sets the implementation name and version the Server
// reports to MCP clients.
func WithServerInfo(name, version string) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("WithServerInfo: empty name")
		}
		c.name, c.version = name, version
		return nil
	}
}

// WithInstructions adds text to the instructions the Server gives MCP
// clients when they connect, after its own description of the tools: what
// the data is, say, or which database to start with.
func WithInstructions(text string) Option {
	return func(c *config) error {
		c.instructions = strings.TrimSpace(text)
		return nil
	}
}

// WithDomainTools lists the tools the way the reference Doris MCP server's
// 1.0 release does: one tool per domain (doris_query, doris_catalog,
// doris_cluster, doris_pipeline, doris_governance), each answering a call
// with no arguments with its child tools and their argument schemas, and
// running a child named by child_tool with its arguments. The children are
// the flat tools under the 1.0 names (execute_query is exec_query), with
// the flat tools' arguments and results; tools/list shrinks from every
// tool's schema to five short entries. Scopes given by [WithToolScopes]
// name the flat tools and apply to the children. Without this option the
// flat 0.6 catalogue is listed.
func WithDomainTools() Option {
	return func(c *config) error {
		c.domains = true
		return nil
	}
}

func defaultConfig() config {
	return config{name: "doris-mcp", version: "dev"}
}

// normalize fills defaults and checks the configuration as a whole.
func (c *config) normalize() error {
	if c.dsnSet && c.db != nil {
		return errors.New("WithDSN and WithDB are mutually exclusive")
	}
	if !c.dsnSet && c.db == nil {
		return errors.New("no database configured: use WithDSN or WithDB")
	}
	if len(c.frontends) > 0 && c.db != nil {
		return errors.New("WithFrontends needs WithDSN: a host's pool (WithDB) connects where the host decided")
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	// A default left unset never exceeds a maximum given, and a maximum
	// left unset is at least a default given.
	p, q := &c.pool, &c.query
	setDefault(&p.MaxOpen, max(defaultMaxOpenConns, p.MaxIdle))
	setDefault(&p.MaxIdle, min(defaultMaxIdleConns, p.MaxOpen))
	setDefault(&p.MaxLifetime, defaultConnMaxLifetime)
	setDefault(&p.MaxIdleTime, defaultConnMaxIdleTime)
	setDefault(&p.HealthCheckInterval, defaultHealthCheckInterval)
	setDefault(&p.Wait, defaultPoolWait)
	setDefault(&c.poolIdleTimeout, defaultPoolIdleTimeout)
	setDefault(&q.MaxStatementBytes, defaultMaxStatement)
	setDefault(&q.MaxTimeout, max(defaultMaxQueryTimeout, q.DefaultTimeout))
	setDefault(&q.DefaultTimeout, min(defaultQueryTimeout, q.MaxTimeout))
	setDefault(&q.MaxRows, max(defaultMaxRowLimit, q.DefaultRows))
	setDefault(&q.DefaultRows, min(defaultRowLimit, q.MaxRows))
	setDefault(&q.MaxBytes, max(defaultMaxByteLimit, q.DefaultBytes))
	setDefault(&q.DefaultBytes, min(defaultByteLimit, q.MaxBytes))
	setDefault(&q.MaxInFlight, defaultMaxInFlight)
	setDefault(&q.ResultBudget, defaultResultBudget)
	setDefault(&c.retryAfter, defaultRetryAfter)
	setDefault(&c.http.MaxBodyBytes, mcp.DefaultMaxRequestBodyBytes)
	setDefault(&c.http.BodyTimeout, defaultBodyTimeout)
	setDefault(&c.http.WriteTimeout, defaultWriteTimeout)
	setDefault(&c.http.MaxBatch, defaultMaxBatch)
	setDefault(&c.http.MaxSessions, defaultMaxSessions)

	if err := c.auth.normalize(c.db != nil); err != nil {
		return err
	}
	switch {
	case p.MaxIdle > p.MaxOpen:
		return fmt.Errorf("PoolLimits: MaxIdle %d exceeds MaxOpen %d", p.MaxIdle, p.MaxOpen)
	case p.HealthCheckInterval < 10*time.Millisecond:
		return fmt.Errorf("PoolLimits: HealthCheckInterval %v is below 10ms", p.HealthCheckInterval)
	case q.DefaultTimeout > q.MaxTimeout:
		return fmt.Errorf("QueryLimits: DefaultTimeout %v exceeds MaxTimeout %v", q.DefaultTimeout, q.MaxTimeout)
	case q.DefaultTimeout < time.Second:
		// Engines count statement time in seconds or milliseconds, and
		// some read zero as "no limit".
		return fmt.Errorf("QueryLimits: DefaultTimeout %v is below one second", q.DefaultTimeout)
	case q.MaxRows > hardMaxRowLimit:
		return fmt.Errorf("QueryLimits: MaxRows %d exceeds the hard cap of %d", q.MaxRows, hardMaxRowLimit)
	case q.DefaultRows > q.MaxRows:
		return fmt.Errorf("QueryLimits: DefaultRows %d exceeds MaxRows %d", q.DefaultRows, q.MaxRows)
	case q.MaxBytes > hardMaxByteLimit:
		return fmt.Errorf("QueryLimits: MaxBytes %d exceeds the hard cap of %d", q.MaxBytes, hardMaxByteLimit)
	case q.DefaultBytes > q.MaxBytes:
		return fmt.Errorf("QueryLimits: DefaultBytes %d exceeds MaxBytes %d", q.DefaultBytes, q.MaxBytes)
	case q.MaxStatementBytes > math.MaxInt32:
		return fmt.Errorf("QueryLimits: MaxStatementBytes %d exceeds 2 GiB", q.MaxStatementBytes)
	}
	if !c.maskSet {
		c.maskRules = DefaultMaskRules()
	}
	if c.dsn != nil {
		// The pool needs these to read values faithfully; the caller's other
		// parameters are kept.
		c.dsn = c.dsn.Clone()
		c.dsn.ParseTime = false
		c.dsn.InterpolateParams = false
		if c.dsn.Timeout == 0 {
			c.dsn.Timeout = defaultDialTimeout // the driver's default waits on the OS
		}
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// feHTTPConfig is where the Doris HTTP APIs are and how to log in.
type feHTTPConfig struct {
	addr         string   // FE base URL, "http://host:8030"; empty: not configured
	backends     []string // BE webservers, host:port; empty: discovered
	user, passwd string
	credsSet     bool
}

// WithFEHTTP gives the address of the Doris FE's HTTP port (http_port in
// fe.conf, 8030 by default), as "host:port" or as a URL such as
// "https://fe-host:8030" or "http://proxy/doris" (a path is kept, for a
// reverse proxy). The tools that read what Doris offers only over HTTP
// need it: get_sql_profile, get_table_data_size, get_monitoring_metrics
// and get_memory_stats; without it they answer with an error saying so.
// The HTTP API is reached with the DSN's user and password unless
// [WithFEHTTPCredentials] says otherwise; most of its endpoints need the
// ADMIN privilege. Point it at the master FE: the client follows no
// redirect to another host.
func WithFEHTTP(addr string) Option {
	return func(c *config) error {
		addr = strings.TrimSpace(addr)
		if addr == "" {
			return errors.New("WithFEHTTP: empty address")
		}
		if !strings.Contains(addr, "://") {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return fmt.Errorf("WithFEHTTP: %q is neither host:port nor a URL", addr)
			}
			addr = "http://" + addr
		}
		// The client validates the rest (scheme, no credentials in the
		// URL); checked here so a bad address fails New.
		if _, err := dorishttp.New(dorishttp.Config{FEURL: addr}); err != nil {
			return fmt.Errorf("WithFEHTTP: %w", err)
		}
		c.feHTTP.addr = addr
		return nil
	}
}

// WithFEHTTPCredentials sets the account the Doris HTTP APIs are reached
// with, when it is not the DSN's, and always with [WithDB], whose pool's
// account the Server cannot see.
func WithFEHTTPCredentials(user, password string) Option {
	return func(c *config) error {
		if user == "" {
			return errors.New("WithFEHTTPCredentials: empty user")
		}
		c.feHTTP.user, c.feHTTP.passwd, c.feHTTP.credsSet = user, password, true
		return nil
	}
}

// WithBEHTTP gives the BE webserver addresses (webserver_port in be.conf,
// 8040 by default) as "host:port", for get_monitoring_metrics and
// get_memory_stats. Without it the BEs are found on each call from SHOW
// BACKENDS (Host and HttpPort), which is right unless the addresses the
// BEs registered with are not reachable from here (NAT, containers). It
// needs [WithFEHTTP]: the BEs are reached with its scheme and credentials.
func WithBEHTTP(addrs ...string) Option {
	return func(c *config) error {
		if len(addrs) == 0 {
			return errors.New("WithBEHTTP: no address")
		}
		for _, a := range addrs {
			if _, err := dorishttp.BackendAddr(splitHostPort(a)); err != nil {
				return fmt.Errorf("WithBEHTTP: %q is not host:port", a)
			}
		}
		c.feHTTP.backends = slices.Clone(addrs)
		return nil
	}
}

func splitHostPort(addr string) (host, port string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", ""
	}
	return host, port
}

// newFEHTTP builds the HTTP client of the configuration, or nil when no FE
// HTTP address was given.
func newFEHTTP(c *config) (*dorishttp.Client, error) {
	h := c.feHTTP
	if h.addr == "" {
		if len(h.backends) > 0 {
			return nil, errors.New("WithBEHTTP needs WithFEHTTP: the BEs are reached with its scheme and credentials")
		}
		return nil, nil
	}
	user, passwd := h.user, h.passwd
	if !h.credsSet {
		if c.dsn == nil {
			return nil, errors.New("WithFEHTTP with WithDB needs WithFEHTTPCredentials: the Server cannot see the account of a pool it did not open")
		}
		user, passwd = c.dsn.User, c.dsn.Passwd
	}
	return dorishttp.New(dorishttp.Config{
		FEURL:    h.addr,
		Backends: h.backends,
		User:     user,
		Password: passwd,
		// A call's HTTP requests are bounded like its statements.
		Timeout: c.query.DefaultTimeout,
		// Each request made for a call is a client span of the call.
		WrapTransport: telemetry.Transport,
	})
}
