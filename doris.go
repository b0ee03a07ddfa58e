// Package doris serves Apache Doris over the Model Context Protocol (MCP)
// from inside any Go program.
//
// A [Server] exposes Doris as MCP tools (run a read-only query, list
// databases and tables, describe a table, …). Every statement a caller
// influences passes a read-only guard and runs with bounded rows, bytes and
// time; a query whose call is cancelled or times out is killed in Doris.
//
//	srv, err := doris.New(doris.WithDSN("reader:secret@tcp(fe:9030)/sales"))
//	if err != nil { … }
//	mux := http.NewServeMux()
//	mux.Handle("/mcp", srv.Handler())
//	mux.Handle("/ready", srv.ReadyHandler())
//	httpSrv := &http.Server{Addr: ":8080", Handler: mux}
//	go httpSrv.ListenAndServe()
//	<-ctx.Done() // the host's signal handling
//	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
//	defer cancel()
//	err = srv.Shutdown(shutdownCtx) // drains, then ends every MCP stream
//	httpCtx, cancelHTTP := context.WithTimeout(context.Background(), time.Second)
//	defer cancelHTTP()
//	if httpSrv.Shutdown(httpCtx) != nil {
//		httpSrv.Close() // a client reconnecting just then must not hold the exit
//	}
//
// # HTTP
//
// [Server.Handler] is a Streamable HTTP MCP endpoint to mount on any
// [http.ServeMux]; the host owns the listener and the [http.Server]. It is
// stateless by default, so any replica can serve any request;
// [WithStatefulSessions] keeps sessions and standalone GET streams instead.
// [Server.LiveHandler] and [Server.ReadyHandler] are for probes.
//
// Every request is treated as hostile until it has passed cheap checks
// (Host, Origin, token, content type and length) that run before its body
// is read; the body is read within bounded time and size and scanned once.
// Calls in flight and the memory results hold ([QueryLimits]),
// connections ([PoolLimits]) and each response write ([HTTPLimits]) are
// bounded, so no client can hold the host's
// memory, CPU, connections or exit hostage. A stateless call is cancelled,
// and its query killed, when its HTTP request ends.
//
// # Stdio
//
// [Server.ServeStdio] speaks MCP over standard input and output, for agent
// binaries launched by a desktop client. Logs go to the [WithLogger]
// logger, never to standard output. Each line is one message: a line that
// is not one is answered with a JSON-RPC error and the session goes on, and
// when the session ends, every call in flight is answered first.
//
// # Authentication
//
// [Server.Handler] checks bearer tokens before it reads a request's body:
// static tokens ([WithBearerTokens], [WithTokenFile]), JWTs with fixed keys
// or a JWKS ([WithJWT]) and OAuth 2.0 token introspection
// ([WithIntrospection]); [WithToolScopes] limits tools, and the resources
// that give their data, by scope, and a static token may run its calls on
// its own Doris account. Tool handlers read the caller with
// [PrincipalFromContext]. With no method configured, only requests that
// arrived on a loopback address are served, unless [WithInsecureNoAuth].
// Stdio is not authenticated: its parent process owns it.
//
// # Shutdown
//
// [Server.Shutdown] stops taking new work at once (ReadyHandler and new HTTP
// requests answer 503), lets calls in flight finish until shortly before the
// context's deadline, then cancels the rest and kills their queries, each of
// which answers its client with an error result. It then closes every MCP
// session — it never waits for clients to disconnect — and closes the
// authenticator and the connection pool concurrently. Its error joins every
// step's error. The library never handles signals: the host decides when to
// call Shutdown.
//
// # Doris-only tools
//
// Besides the tools that work on any MySQL-protocol server, some answer
// what only Doris knows: its catalogs and cluster nodes over SQL, and
// query profiles, table sizes, metrics and BE memory over its HTTP API,
// which [WithFEHTTP] points at ([WithBEHTTP] when the BEs cannot be found
// from SHOW BACKENDS). Every tool is listed whatever the backend; one it
// cannot serve answers with an error saying what is missing.
//
// # Observability
//
// [WithMeterProvider] and [WithTracerProvider] take any OpenTelemetry
// providers; the library uses only the API, so without them telemetry
// costs nothing. Metrics and spans follow the semantic conventions for MCP
// servers and database clients, with the library's own under doris.mcp.*;
// a request's span joins the caller's trace from params._meta.traceparent.
// [Server.Stats] gives the same picture without OpenTelemetry. Each tool
// call logs one Info line with stable keys and never a statement's
// literals.
//
// # Host tools
//
// [Server.MCP] returns the underlying go-sdk server, so a host can add its
// own tools, resources or prompts beside the built-in ones.
package doris

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/pool"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
	"github.com/dorismcp/doris/internal/telemetry"
	"github.com/dorismcp/doris/internal/tools"

	"github.com/dorismcp/doris/internal/admit"
	"github.com/dorismcp/doris/internal/httpgate"
)

// ErrServerClosed is returned by [Server.ServeStdio], and to new work, once
// [Server.Shutdown] has begun.
var ErrServerClosed = errors.New("doris: server closed")

// errShuttingDown is the cause given to the contexts of calls cancelled by
// Shutdown's hard stop.
var errShuttingDown = errors.New("server is shutting down")

// Server serves one Doris deployment over MCP. Create it with [New]; it is
// safe for concurrent use, and two Servers in one process share nothing.
type Server struct {
	cfg     config
	log     *slog.Logger
	tel     *telemetry.Telemetry
	mcp     *mcp.Server
	handler http.Handler
	pool    *pool.Pool
	auth    *authenticator
	budget  *admit.Budget
	// inflight shares the limit on calls in flight between principals.
	inflight *admit.Share
	// unreadyLogged is when the health check whose failure ReadyHandler
	// last logged ran, in Unix nanoseconds.
	unreadyLogged atomic.Int64
	// builtin are the handlers of the library's own tools, by name; they
	// never send notifications while they run.
	builtin map[string]mcp.ToolHandler
	// direct runs a call of a builtin tool through the receiving
	// middleware, for the gate's direct path; hostMCP turns that path off.
	direct  mcp.MethodHandler
	hostMCP atomic.Bool
	// impl is what the server says it is.
	impl *mcp.Implementation
	// web is the HTTP gate in front of the go-sdk's transport.
	web *httpgate.Handler

	// gate admits new work until Shutdown closes it, and counts the calls
	// whose responses have yet to be delivered.
	gate admit.Gate
	// streams counts the long-lived HTTP requests (GET streams, listens)
	// admitted before Shutdown: it returns only once those it ended have
	// left, so the host's http.Server.Shutdown finds nothing to wait for.
	streams admit.Gate
	// hard is merged into every request's context; Shutdown cancels it when
	// the drain runs out of time.
	hard     context.Context
	stopHard context.CancelCauseFunc

	// closers are the components Shutdown closes concurrently, by name.
	closers []component

	// grace is how long past its deadline Shutdown waits, in all, for what
	// is ending anyway; closeGrace but in tests.
	grace        time.Duration
	shutdownOnce sync.Once
	shutdownDone chan struct{}
	shutdownErr  error
}

type component struct {
	name  string
	close func(context.Context) error
}

// New validates the options and returns a Server ready to serve. It never
// waits on the network: Doris is first contacted by the background health
// check and by the first call. Release the Server with [Server.Shutdown].
func New(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("doris: option %d is nil", i)
		}
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("doris: %w", err)
		}
	}
	if err := cfg.normalize(); err != nil {
		return nil, fmt.Errorf("doris: %w", err)
	}

	s := &Server{
		cfg:          cfg,
		log:          cfg.logger,
		shutdownDone: make(chan struct{}),
		grace:        closeGrace,
	}
	// Each component is added to s.closers as it starts; a failure closes
	// those started before it.
	if err := s.start(); err != nil {
		for _, c := range slices.Backward(s.closers) {
			c.close(context.Background())
		}
		return nil, fmt.Errorf("doris: %w", err)
	}
	return s, nil
}

// start starts the Server's components on its validated configuration.
func (s *Server) start() (err error) {
	cfg := s.cfg
	if s.tel, err = newTelemetry(&cfg); err != nil {
		return err
	}
	s.closers = append(s.closers, component{"telemetry", s.tel.Close})
	s.hard, s.stopHard = context.WithCancelCause(context.Background())
	s.inflight = admit.NewShare(int64(cfg.query.MaxInFlight))
	s.budget = admit.NewBudget(cfg.query.ResultBudget, resultCost, min(cfg.pool.Wait, memoryWait))
	if s.auth, err = newAuthenticator(&s.cfg.auth, cfg.logger); err != nil {
		return err
	}
	s.closers = append(s.closers, component{"auth", s.auth.Close})
	feHTTP, err := newFEHTTP(&s.cfg)
	if err != nil {
		return err
	}
	if feHTTP != nil {
		s.closers = append(s.closers, component{"fehttp", func(context.Context) error { feHTTP.Close(); return nil }})
	}
	instructions := "Apache Doris, read-only. Use get_db_list, get_db_table_list and get_table_schema to explore; exec_query runs one read-only statement with bounded results. " +
		"get_cluster_nodes, get_monitoring_metrics, get_memory_stats, get_table_data_size and get_sql_profile answer operational questions."
	if cfg.instructions != "" {
		instructions += "\n\n" + cfg.instructions
	}
	s.impl = &mcp.Implementation{Name: cfg.name, Version: cfg.version}
	s.mcp = mcp.NewServer(s.impl, &mcp.ServerOptions{
		Logger:       sdkLogger(cfg.logger),
		Instructions: instructions,
	})

	s.pool = newPool(&s.cfg, feHTTP, s.tel)
	s.closers = append(s.closers, component{"pool", s.pool.Close})
	s.builtin, err = tools.Register(s.mcp, tools.Config{
		Exec: s.pool,
		Default: query.Limits{
			MaxRows: cfg.query.DefaultRows, MaxBytes: int(cfg.query.DefaultBytes), Timeout: cfg.query.DefaultTimeout,
		},
		Max: query.Limits{
			MaxRows: cfg.query.MaxRows, MaxBytes: int(cfg.query.MaxBytes), Timeout: cfg.query.MaxTimeout,
		},
		Mask:         newMasker(cfg.maskRules),
		Unmasked:     cfg.unmasked,
		Logger:       cfg.logger,
		MaxStatement: int(cfg.query.MaxStatementBytes),
		Guard:        sqlguard.Options{AllowExternal: cfg.allowExternal},
		Memory:       memory,
		Tracer:       s.tel,
		Report:       s.tel,
		FEHTTP:       feHTTP,
		BEConfigured: len(cfg.feHTTP.backends) > 0,
		Domains:      cfg.domains,
		MayCall:      s.mayCall,
	})
	if err != nil {
		return err
	}
	// Added last, so they are the outermost: the tool catalog's own
	// middleware (resources/list) runs inside them, with the hard stop, a
	// budget holder and the caller's principal.
	// The gate's direct calls run through the same list, outermost first.
	receiving := []mcp.Middleware{s.withHardStop, s.withPrincipal}
	s.mcp.AddReceivingMiddleware(receiving...)
	s.direct = s.runTool
	for _, m := range slices.Backward(receiving) {
		s.direct = m(s.direct)
	}
	if s.handler, err = s.newHTTPHandler(); err != nil {
		return err
	}
	return s.observe()
}

// MCP returns the underlying MCP server so a host can register its own
// tools, resources and prompts. They share the Server's transports and
// shutdown: their handlers' contexts are cancelled by Shutdown's hard stop.
//
// Once MCP has been called, every request goes through the go-sdk's
// transport, so that what the host adds or replaces is always what
// answers; until then, the plainest stateless calls of the library's own
// tools are answered without it (see [Server.Handler]).
func (s *Server) MCP() *mcp.Server {
	s.hostMCP.Store(true)
	return s.mcp
}

// sdkLogger is the logger handed to the go-sdk. It logs every session
// connecting and disconnecting at Info, once per request in stateless mode:
// those become Debug events here.
func sdkLogger(l *slog.Logger) *slog.Logger {
	return slog.New(demoteInfo{l.Handler()})
}

type demoteInfo struct{ slog.Handler }

func (h demoteInfo) Enabled(ctx context.Context, level slog.Level) bool {
	return h.Handler.Enabled(ctx, demote(level))
}

func (h demoteInfo) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h demoteInfo) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteInfo{h.Handler.WithAttrs(attrs)}
}

func (h demoteInfo) WithGroup(name string) slog.Handler { return demoteInfo{h.Handler.WithGroup(name)} }

func demote(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

// withHardStop merges into every handler's context the Server's hard stop
// (the go-sdk does not cancel handlers when a session closes) and the end of
// what carries the call: the HTTP request of a stateless call, the
// ServeTransport of a stream session.
func (s *Server) withHardStop(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		ctx, cancel := admit.Stoppable(ctx, s.hard)
		defer cancel(nil)
		if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok {
			s.log.Debug("call started", "method", method, "tool", p.Name)
		}
		ctx, call := s.startCall(ctx, method, req)
		if s.cfg.stateful {
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss.ID() != "" {
				defer s.web.TrackSessionCall(ss.ID(), principalName(ctx, req), cancel)()
			}
		}
		// What the call's result holds of the memory budget is released
		// when the handler returns, or later, when the HTTP request that
		// carries its response ends.
		c := admit.ChargeFrom(ctx)
		if c == nil {
			c = s.budget.Charge(principalName(ctx, req))
			ctx = admit.WithCharge(ctx, c)
		} else {
			c.Hold()
		}
		defer c.Release()
		res, err := next(ctx, method, req)
		call.End(res, err)
		return res, err
	}
}

// resultCost is the memory a result byte costs at the peak of its call,
// measured with results of 16 MiB.
const resultCost = 8

// memoryWait is the longest a result waits for room in the budget before
// it ends early.
const memoryWait = time.Second

// memory is the budget room of the call of ctx, for the tool catalog.
func memory(ctx context.Context) query.Memory {
	if c := admit.ChargeFrom(ctx); c != nil {
		return c
	}
	return nil
}

// newTelemetry builds the Server's telemetry from its options (no-op
// without providers).
func newTelemetry(cfg *config) (*telemetry.Telemetry, error) {
	ns := ""
	if cfg.dsn != nil {
		ns = cfg.dsn.DBName
	}
	return telemetry.New(telemetry.Options{Meters: cfg.meters, Tracers: cfg.tracers, Logger: cfg.logger, Namespace: ns})
}

// observe registers the instruments read at each collection, and has
// Shutdown unregister them.
func (s *Server) observe() error {
	err := s.tel.Observe(telemetry.Source{
		InFlight: func() int64 { return int64(s.gate.Active()) },
		Pools: func() []telemetry.PoolState {
			ps := poolStats(s.pool)
			out := make([]telemetry.PoolState, len(ps))
			for i, p := range ps {
				out[i] = telemetry.PoolState{Name: poolName(p), Idle: int64(p.Idle), InUse: int64(p.InUse)}
			}
			return out
		},
		Health: func() []telemetry.HealthState {
			hs := poolHealth(s.pool)
			out := make([]telemetry.HealthState, len(hs))
			for i, h := range hs {
				host, port := splitAddress(h.Address)
				out[i] = telemetry.HealthState{Address: host, Port: port, Healthy: h.Healthy}
			}
			return out
		},
	})
	if err != nil {
		return err
	}
	return nil
}

// poolName is a pool's db.client.connection.pool.name: user@host:port, or
// "host" for the pool a host passed with WithDB, of which nothing is known.
func poolName(p PoolStats) string {
	if p.Account == "" && p.Address == "" {
		return "host"
	}
	return p.Account + "@" + p.Address
}

func splitAddress(addr string) (string, int) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			port, err := strconv.Atoi(addr[i+1:])
			if err != nil {
				return addr, 0
			}
			return addr[:i], port
		}
	}
	return addr, 0
}

// protocolVersionHeader carries the negotiated MCP version on HTTP requests.
const protocolVersionHeader = "Mcp-Protocol-Version"

// startCall starts the telemetry of one MCP request: its server span, its
// duration, its log line. Once a stateful session is initialized, its
// duration is recorded when it ends.
func (s *Server) startCall(ctx context.Context, method string, req mcp.Request) (context.Context, *telemetry.Call) {
	r := telemetry.Request{Method: method, Transport: telemetry.TransportFrom(ctx)}
	// A request without params (tools/list, say) has a typed nil.
	if params := req.GetParams(); params != nil && !reflect.ValueOf(params).IsNil() {
		r.Meta = params.GetMeta()
		if p, ok := params.(*mcp.CallToolParamsRaw); ok {
			r.Tool = p.Name
		}
	}
	// The version each request carries (2026-07-28 on), else the one its
	// session negotiated.
	if pv, ok := req.(interface{ ProtocolVersion() string }); ok {
		r.Protocol = pv.ProtocolVersion()
	}
	if extra := req.GetExtra(); extra != nil && extra.Header != nil {
		r.Header = extra.Header
		if r.Protocol == "" {
			r.Protocol = extra.Header.Get(protocolVersionHeader)
		}
	}
	if p := principalOf(ctx, req); p != nil {
		r.Principal = p.Name
	}
	if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss != nil {
		r.Session = ss.ID()
		if method == "notifications/initialized" && r.Transport == telemetry.TransportTCP {
			// A stateful HTTP session; ServeTransport records its own.
			go func(start time.Time) { s.sessionEnded(ss, start, r.Transport, ss.Wait()) }(time.Now())
		}
	}
	return s.tel.StartRequest(ctx, r)
}

// sessionEnded records the duration of a session that ended with err;
// Shutdown closes every session, so none outlives the Server.
func (s *Server) sessionEnded(ss *mcp.ServerSession, start time.Time, transport string, err error) {
	if errors.Is(err, mcp.ErrConnectionClosed) || errors.Is(err, io.EOF) || s.gate.IsClosed() {
		err = nil
	}
	protocol := ""
	if ip := ss.InitializeParams(); ip != nil {
		protocol = ip.ProtocolVersion
	}
	s.tel.RecordSession(time.Since(start), transport, protocol, err)
}

// killReason is why a statement whose context ended with cause is killed.
func killReason(cause error) string {
	var te *query.TimeoutError
	switch {
	case errors.Is(cause, errShuttingDown):
		return telemetry.KillShutdown
	case errors.As(cause, &te):
		return telemetry.KillTimeout
	case query.LimitStop(cause):
		return telemetry.KillLimit
	}
	return telemetry.KillCancel
}

// phaseTimer records the phase that has just ended, timed from start, and
// returns a func that records each next phase from the end of the last.
func (s *Server) phaseTimer(first string, start time.Time) func(phase string) {
	last := start
	record := func(phase string) {
		now := time.Now()
		s.tel.ShutdownPhase(phase, now.Sub(last))
		last = now
	}
	record(first)
	return record
}

// Stats is a snapshot of what the Server is doing, for hosts that watch it
// without OpenTelemetry (a status page, a test, a log line). It is cheap:
// it reads counters and database/sql's pool statistics, takes no lock that
// a call holds while it runs, and sends nothing to Doris.
type Stats struct {
	// InFlight counts the calls admitted and not yet answered, over every
	// transport: the work Shutdown drains.
	InFlight int
	// Sessions counts the MCP sessions open: stateful HTTP sessions, stdio
	// and other ServeTransport sessions, and the one-request sessions of
	// stateless HTTP calls in progress.
	Sessions int
	// Pools has one entry per connection pool: the default account first,
	// then one per Doris account that per-user connections opened.
	Pools []PoolStats
	// Health has the last health check of each FE the Server checks.
	Health []HealthStats
	// Killed counts the queries killed in Doris since New, by reason: the
	// KILL statements issued, each for a statement still running when its
	// call ended.
	Killed KilledStats
	// ResultMemory is the memory the results in flight are charged for in
	// the budget ([QueryLimits].ResultBudget), in bytes: rows read and responses
	// not yet delivered.
	ResultMemory int64
	// Draining is true from the moment Shutdown starts.
	Draining bool
}

// PoolStats describes one connection pool.
type PoolStats struct {
	// Account is the Doris user the pool connects as; empty for a pool the
	// host passed with [WithDB].
	Account string
	// Address is the FE's host:port the pool connects to; empty with WithDB.
	Address string
	// Open is the number of connections open, in use or idle.
	Open int
	// InUse is the number of connections running a statement.
	InUse int
	// Idle is the number of open connections waiting for work.
	Idle int
	// WaitCount is the number of times a call waited for a free
	// connection, in all.
	WaitCount int64
	// WaitDuration is the total time calls waited for a free connection.
	WaitDuration time.Duration
}

// HealthStats is the last health check of one FE.
type HealthStats struct {
	// Address is the FE's host:port; empty with WithDB.
	Address string
	// Healthy is true when the last check reached Doris. It is false
	// before the first check completes.
	Healthy bool
	// Checked is when the last check completed; zero before the first.
	Checked time.Time
}

// KilledStats counts queries killed in Doris, by why they were.
type KilledStats struct {
	// Cancel: the caller cancelled the call, closed its request or pipe,
	// or its session was deleted.
	Cancel int64
	// Timeout: the call's time limit ran out before the engine stopped
	// the statement itself.
	Timeout int64
	// Shutdown: Shutdown's deadline cancelled the call.
	Shutdown int64
	// Limit: the result reached its row or byte limit and the rest of the
	// statement was not wanted.
	Limit int64
}

// Stats returns a snapshot of the Server's activity. It is safe to call
// often and concurrently, also during and after Shutdown.
func (s *Server) Stats() Stats {
	k := s.tel.KilledSoFar()
	return Stats{
		InFlight:     s.gate.Active(),
		Sessions:     s.sessionCount(),
		Pools:        poolStats(s.pool),
		Health:       poolHealth(s.pool),
		Killed:       KilledStats{Cancel: k.Cancel, Timeout: k.Timeout, Shutdown: k.Shutdown, Limit: k.Limit},
		Draining:     s.gate.IsClosed(),
		ResultMemory: s.budget.Used(),
	}
}

// principalName names who a call runs for, as the go-sdk's TokenInfo.UserID
// does; "" for anonymous callers.
func principalName(ctx context.Context, req mcp.Request) string {
	return principalID(principalOf(ctx, req))
}

// principalID names p across authentication methods; "" for nil.
func principalID(p *Principal) string {
	if p == nil {
		return ""
	}
	return p.Method + ":" + p.Name
}
