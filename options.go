package doris

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
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
// New, never a panic.
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

	maxOpenConns        int
	maxIdleConns        int
	connMaxLifetime     time.Duration
	connMaxIdleTime     time.Duration
	healthCheckInterval time.Duration
	poolIdleTimeout     time.Duration
	poolWait            time.Duration
	maxStatement        int

	queryTimeout    time.Duration
	maxQueryTimeout time.Duration
	rowLimit        int
	maxRowLimit     int
	byteLimit       int
	maxByteLimit    int

	allowedHosts   []string
	trustedOrigins []string
	http           HTTPLimits
	maxInFlight    int
	frontends      []string // FE query addresses besides the DSN's
	allowExternal  bool
	allowedFuncs   []string
	resultBudget   int64

	retryAfter   time.Duration
	name         string
	version      string
	instructions string
	domains      bool

	feHTTP feHTTPConfig

	maskRules []MaskRule
	maskSet   bool
	exemption MaskExemption
	masker    *query.Masker // compiled from maskRules by normalize

	auth    authConfig // see auth.go
	meters  metric.MeterProvider
	tracers trace.TracerProvider
	tel     *telemetry.Telemetry // built by New
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
		c.frontends = append(c.frontends, addrs...)
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

// WithPoolSize bounds the connections the Server opens to Doris: maxOpen at
// once (default 20), maxIdle kept idle (default 5). The connections are
// shared between principals: one authenticated principal may hold all but
// an eighth of them (at least one), and a freed connection goes first to
// the waiting principal that holds fewest. Zero means the default; ignored
// with [WithDB], whose own limit is shared the same way.
func WithPoolSize(maxOpen, maxIdle int) Option {
	return func(c *config) error {
		if maxOpen < 0 || maxIdle < 0 {
			return fmt.Errorf("WithPoolSize: negative size (maxOpen %d, maxIdle %d)", maxOpen, maxIdle)
		}
		c.maxOpenConns, c.maxIdleConns = maxOpen, maxIdle
		return nil
	}
}

// WithPoolWait bounds how long a call waits for a free connection when all
// are busy (default 5 s); it then fails with a message saying so, and
// [Server.ReadyHandler] reports the pool saturated for a health interval.
// Zero means the default.
func WithPoolWait(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithPoolWait: negative duration %v", d)
		}
		c.poolWait = d
		return nil
	}
}

// WithMaxStatementBytes bounds the SQL text a caller may send (default
// 1 MiB): a longer statement is refused before it is read. Zero means the
// default.
func WithMaxStatementBytes(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("WithMaxStatementBytes: negative size %d", n)
		}
		c.maxStatement = n
		return nil
	}
}

// WithConnLifetime bounds how long a connection lives in total (maxLifetime,
// default 30 minutes) and while idle (maxIdleTime, default 5 minutes). Zero
// means the default; ignored with [WithDB].
func WithConnLifetime(maxLifetime, maxIdleTime time.Duration) Option {
	return func(c *config) error {
		if maxLifetime < 0 || maxIdleTime < 0 {
			return fmt.Errorf("WithConnLifetime: negative duration (%v, %v)", maxLifetime, maxIdleTime)
		}
		c.connMaxLifetime, c.connMaxIdleTime = maxLifetime, maxIdleTime
		return nil
	}
}

// WithHealthCheckInterval sets how often the pool pings Doris; the result
// drives [Server.ReadyHandler]. Default 10 s; zero means the default.
func WithHealthCheckInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || (d > 0 && d < 10*time.Millisecond) {
			return fmt.Errorf("WithHealthCheckInterval: %v is not a usable interval (minimum 10ms)", d)
		}
		c.healthCheckInterval = d
		return nil
	}
}

// WithQueryTimeout sets the time a query may run when the caller does not
// ask (def, default 30 s) and the most a caller may ask for (max, default
// 300 s). Zero means the default.
func WithQueryTimeout(def, max time.Duration) Option {
	return func(c *config) error {
		if def < 0 || max < 0 {
			return fmt.Errorf("WithQueryTimeout: negative duration (%v, %v)", def, max)
		}
		c.queryTimeout, c.maxQueryTimeout = def, max
		return nil
	}
}

// WithMaxRows sets the rows a query returns when the caller does not ask
// (def, default 100) and the most a caller may ask for (max, default 10,000,
// at most 100,000). Zero means the default.
func WithMaxRows(def, max int) Option {
	return func(c *config) error {
		if def < 0 || max < 0 {
			return fmt.Errorf("WithMaxRows: negative row count (%d, %d)", def, max)
		}
		c.rowLimit, c.maxRowLimit = def, max
		return nil
	}
}

// WithMaxBytes sets the encoded result size a query returns when the caller
// does not ask (def, default 1 MiB) and the most a caller may ask for (max,
// default and at most 16 MiB). Zero means the default.
func WithMaxBytes(def, max int) Option {
	return func(c *config) error {
		if def < 0 || max < 0 {
			return fmt.Errorf("WithMaxBytes: negative size (%d, %d)", def, max)
		}
		c.byteLimit, c.maxByteLimit = def, max
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

// MaskExemption decides, per call, whether its caller sees values
// unmasked; the call's context carries who the caller is.
type MaskExemption interface {
	Unmasked(ctx context.Context) bool
}

// WithMaskExemption lets the callers e accepts see unmasked values.
func WithMaskExemption(e MaskExemption) Option {
	return func(c *config) error {
		if e == nil {
			return errors.New("WithMaskExemption: nil exemption")
		}
		c.exemption = e
		return nil
	}
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

// WithMaxInFlight bounds the calls the Server runs at once, over every
// transport (default 256). A call beyond it is refused at once: over HTTP
// with 429 and Retry-After. The limit is shared between principals: one
// authenticated principal may hold all but an eighth of it (at least one
// call), so another always finds room. Zero means the default.
func WithMaxInFlight(calls int) Option {
	return func(c *config) error {
		if calls < 0 {
			return fmt.Errorf("WithMaxInFlight: negative limit %d", calls)
		}
		c.maxInFlight = calls
		return nil
	}
}

// WithResultBudget bounds the memory the Server's results hold at once,
// over all calls (default 160 MiB). A result of n bytes is counted as 8n,
// the memory it takes at the peak of its call (rows, their encoding, the
// text copy for older clients, the protocol's encoding). A result is
// charged as its rows are read, in chunks (16 KiB of result first, then
// doubling up to 1 MiB at a time), and holds what it was charged until its
// response is delivered (for stateful sessions: until its handler
// returns). A result that finds no room waits up to a second (at most the
// pool wait, [WithPoolWait]), then ends early with truncated set and
// truncation_reason "server_memory". The budget is shared between
// principals: one authenticated principal may hold all but an eighth of
// it, and when room frees up, the principal holding least is served first.
// Zero means the default.
func WithResultBudget(bytes int64) Option {
	return func(c *config) error {
		if bytes < 0 {
			return fmt.Errorf("WithResultBudget: negative size %d", bytes)
		}
		c.resultBudget = bytes
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
		c.allowedFuncs = append(c.allowedFuncs, names...)
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
	// Maxima first: a default left unset never exceeds a maximum set lower.
	setDefault(&c.maxOpenConns, defaultMaxOpenConns)
	setDefault(&c.maxIdleConns, min(defaultMaxIdleConns, c.maxOpenConns))
	setDefault(&c.connMaxLifetime, defaultConnMaxLifetime)
	setDefault(&c.connMaxIdleTime, defaultConnMaxIdleTime)
	setDefault(&c.healthCheckInterval, defaultHealthCheckInterval)
	setDefault(&c.poolIdleTimeout, defaultPoolIdleTimeout)
	setDefault(&c.poolWait, defaultPoolWait)
	setDefault(&c.maxStatement, defaultMaxStatement)
	setDefault(&c.maxQueryTimeout, defaultMaxQueryTimeout)
	setDefault(&c.queryTimeout, min(defaultQueryTimeout, c.maxQueryTimeout))
	setDefault(&c.maxRowLimit, defaultMaxRowLimit)
	setDefault(&c.rowLimit, min(defaultRowLimit, c.maxRowLimit))
	setDefault(&c.maxByteLimit, defaultMaxByteLimit)
	setDefault(&c.byteLimit, min(defaultByteLimit, c.maxByteLimit))
	setDefault(&c.retryAfter, defaultRetryAfter)
	setDefault(&c.http.MaxBodyBytes, mcp.DefaultMaxRequestBodyBytes)
	setDefault(&c.http.BodyTimeout, defaultBodyTimeout)
	setDefault(&c.http.WriteTimeout, defaultWriteTimeout)
	setDefault(&c.http.MaxBatch, defaultMaxBatch)
	setDefault(&c.http.MaxSessions, defaultMaxSessions)
	setDefault(&c.maxInFlight, defaultMaxInFlight)
	setDefault(&c.resultBudget, defaultResultBudget)

	if err := c.auth.normalize(c.db != nil); err != nil {
		return err
	}
	if c.maxIdleConns > c.maxOpenConns {
		return fmt.Errorf("pool: %d idle connections exceed the maximum of %d open", c.maxIdleConns, c.maxOpenConns)
	}
	if c.queryTimeout > c.maxQueryTimeout {
		return fmt.Errorf("query timeout %v exceeds its maximum %v", c.queryTimeout, c.maxQueryTimeout)
	}
	if c.queryTimeout < time.Second {
		// Engines count statement time in seconds or milliseconds, and
		// some read zero as "no limit".
		return fmt.Errorf("query timeout %v is below one second", c.queryTimeout)
	}
	if c.maxRowLimit > hardMaxRowLimit {
		return fmt.Errorf("maximum row limit %d exceeds the hard cap of %d", c.maxRowLimit, hardMaxRowLimit)
	}
	if c.rowLimit > c.maxRowLimit {
		return fmt.Errorf("row limit %d exceeds its maximum %d", c.rowLimit, c.maxRowLimit)
	}
	if c.maxByteLimit > hardMaxByteLimit {
		return fmt.Errorf("maximum byte limit %d exceeds the hard cap of %d", c.maxByteLimit, hardMaxByteLimit)
	}
	if c.byteLimit > c.maxByteLimit {
		return fmt.Errorf("byte limit %d exceeds its maximum %d", c.byteLimit, c.maxByteLimit)
	}
	if !c.maskSet {
		c.maskRules = DefaultMaskRules()
	}
	rules := make([]query.MaskRule, len(c.maskRules))
	for i, r := range c.maskRules {
		rules[i] = query.MaskRule{Columns: regexp.MustCompile("(?i)" + r.Columns), Mask: r.Mask}
	}
	c.masker = query.NewMasker(rules)
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

// EnvOptions turns the reference server's environment variables into
// options: DORIS_HOST, DORIS_HOSTS (more FEs for failover, comma-separated,
// host or host:port; its first stands for DORIS_HOST when that is unset),
// DORIS_PORT (default 9030), DORIS_USER (default root),
// DORIS_PASSWORD, DORIS_DATABASE, DORIS_MAX_CONNECTIONS, DORIS_QUERY_TIMEOUT
// and DORIS_MAX_ROWS, and for the HTTP APIs ([WithFEHTTP], [WithBEHTTP])
// DORIS_FE_HTTP_PORT (default 8030), DORIS_BE_HOSTS (comma-separated hosts
// or host:port; default: found with SHOW BACKENDS) and
// DORIS_BE_WEBSERVER_PORT (default 8040). lookup is usually [os.LookupEnv]. With none of them
// set it returns no options, so a host can fall back to something else;
// account or database variables without DORIS_HOST are an error, since
// they show a cluster was meant. A malformed value is an error naming the
// variable, never its value, which may be secret.
func EnvOptions(lookup func(string) (string, bool)) ([]Option, error) {
	get := func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	host := get("DORIS_HOST")
	var others []string // DORIS_HOSTS: more FEs, for failover
	for _, h := range strings.Split(get("DORIS_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			others = append(others, h)
		}
	}
	if host == "" && len(others) > 0 {
		host, others = others[0], others[1:]
	}
	if host == "" {
		for _, k := range []string{"DORIS_PORT", "DORIS_USER", "DORIS_PASSWORD", "DORIS_DATABASE"} {
			if v, ok := lookup(k); ok && v != "" {
				return nil, fmt.Errorf("%s is set but DORIS_HOST is not: set DORIS_HOST to the Doris FE to connect to", k)
			}
		}
		return nil, nil
	}
	if strings.ContainsAny(host, "/()@ ") {
		return nil, errors.New("DORIS_HOST: not a host name or address")
	}
	if strings.Count(host, ":") == 1 {
		return nil, errors.New("DORIS_HOST: give the port in DORIS_PORT")
	}
	port := get("DORIS_PORT")
	if port == "" {
		port = "9030"
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return nil, errors.New("DORIS_PORT: not a port number")
	}
	cfg := mysql.NewConfig()
	cfg.User = get("DORIS_USER")
	if cfg.User == "" {
		cfg.User = "root"
	}
	cfg.Passwd, _ = lookup("DORIS_PASSWORD")
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = get("DORIS_DATABASE")
	opts := []Option{WithDSN(cfg.FormatDSN())}
	if len(others) > 0 {
		addrs := make([]string, len(others))
		for i, h := range others {
			if strings.ContainsAny(h, "/()@ ") {
				return nil, errors.New("DORIS_HOSTS: not a list of host names or addresses")
			}
			addrs[i] = h
			if _, _, err := net.SplitHostPort(h); err != nil {
				addrs[i] = net.JoinHostPort(h, port)
			}
		}
		opts = append(opts, WithFrontends(addrs...))
	}

	if v := get("DORIS_MAX_CONNECTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, errors.New("DORIS_MAX_CONNECTIONS: not a positive integer")
		}
		opts = append(opts, WithPoolSize(n, min(n, defaultMaxIdleConns)))
	}
	if v := get("DORIS_QUERY_TIMEOUT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, errors.New("DORIS_QUERY_TIMEOUT: not a positive number of seconds")
		}
		d := time.Duration(n) * time.Second
		opts = append(opts, WithQueryTimeout(d, max(d, defaultMaxQueryTimeout)))
	}
	if v := get("DORIS_MAX_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > hardMaxRowLimit {
			return nil, fmt.Errorf("DORIS_MAX_ROWS: not an integer between 1 and %d", hardMaxRowLimit)
		}
		opts = append(opts, WithMaxRows(min(n, defaultRowLimit), n))
	}
	httpOpts, err := envHTTPOptions(host, get)
	if err != nil {
		return nil, err
	}
	return append(opts, httpOpts...), nil
}

// envHTTPOptions reads the HTTP API variables of EnvOptions:
// DORIS_FE_HTTP_PORT (default 8030, on DORIS_HOST), DORIS_BE_HOSTS (BE
// hosts, comma-separated, each optionally host:port) and
// DORIS_BE_WEBSERVER_PORT (default 8040, for the hosts given without one).
func envHTTPOptions(host string, get func(string) string) ([]Option, error) {
	port := func(k, def string) (string, error) {
		v := get(k)
		if v == "" {
			return def, nil
		}
		if n, err := strconv.Atoi(v); err != nil || n <= 0 || n > 65535 {
			return "", fmt.Errorf("%s: not a port number", k)
		}
		return v, nil
	}
	fePort, err := port("DORIS_FE_HTTP_PORT", "8030")
	if err != nil {
		return nil, err
	}
	opts := []Option{WithFEHTTP(net.JoinHostPort(host, fePort))}
	bePort, err := port("DORIS_BE_WEBSERVER_PORT", "8040")
	if err != nil {
		return nil, err
	}
	var bes []string
	for _, h := range strings.Split(get("DORIS_BE_HOSTS"), ",") {
		h = strings.TrimSpace(h)
		switch {
		case h == "":
			continue
		case strings.ContainsAny(h, "/()@ "):
			return nil, errors.New("DORIS_BE_HOSTS: not a comma-separated list of hosts")
		case strings.Count(h, ":") == 1:
			bes = append(bes, h)
		default:
			bes = append(bes, net.JoinHostPort(strings.Trim(h, "[]"), bePort))
		}
	}
	if len(bes) > 0 {
		opts = append(opts, WithBEHTTP(bes...))
	}
	return opts, nil
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
		Timeout: c.queryTimeout,
		// Each request made for a call is a client span of the call.
		WrapTransport: telemetry.Transport,
	})
}
