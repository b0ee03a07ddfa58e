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
// Calls in flight ([WithMaxInFlight]), the memory results hold
// ([WithResultBudget]), connections ([WithPoolWait]) and each response
// write ([WithHTTPLimits]) are bounded, so no client can hold the host's
// memory, CPU, connections or exit hostage. A stateless call is cancelled,
// and its query killed, when its HTTP request ends.
//
// # Stdio
//
// [Server.ServeStdio] speaks MCP over standard input and output, for agent
// binaries launched by a desktop client. Logs go to the [WithLogger]
// logger, never to standard output.
//
// # Authentication
//
// [Server.Handler] checks bearer tokens before it reads a request's body:
// static tokens ([WithBearerTokens], [WithTokenFile]), JWTs with fixed keys
// or a JWKS ([WithJWT]) and OAuth 2.0 token introspection
// ([WithIntrospection]); [WithToolScopes] limits tools by scope, and a
// static token may run its calls on its own Doris account. Tool handlers
// read the caller with [PrincipalFromContext]. With no method configured,
// only requests that arrived on a loopback address are served, unless
// [WithInsecureNoAuth]. Stdio is not authenticated: its parent process
// owns it.
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
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sync/semaphore"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
	"github.com/dorismcp/doris/internal/tools"
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
	mcp     *mcp.Server
	handler http.Handler
	pool    *pool
	auth    *authenticator
	budget  *budget
	// builtin names the library's own tools, which never send
	// notifications while they run.
	builtin map[string]bool
	// sessions tracks the calls of stateful HTTP sessions, for DELETE.
	sessions sessionWork
	// stateless finds stateless calls for the cancellations that name them.
	stateless statelessCalls

	// gate admits new work until Shutdown closes it, and counts the calls
	// whose responses have yet to be delivered.
	gate gate
	// streams counts the long-lived HTTP requests (GET streams, listens)
	// admitted before Shutdown: it returns only once those it ended have
	// left, so the host's http.Server.Shutdown finds nothing to wait for.
	streams gate
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
	if err := newTelemetry(&cfg); err != nil {
		return nil, fmt.Errorf("doris: %w", err)
	}

	s := &Server{
		cfg:          cfg,
		log:          cfg.logger,
		shutdownDone: make(chan struct{}),
		grace:        closeGrace,
	}
	s.hard, s.stopHard = context.WithCancelCause(context.Background())
	s.budget = newBudget(cfg.resultBudget, cfg.poolWait)
	var err error
	if s.auth, err = newAuthenticator(&s.cfg.auth, cfg.logger); err != nil {
		return nil, fmt.Errorf("doris: %w", err)
	}
	feHTTP, err := newFEHTTP(&s.cfg)
	if err != nil {
		s.auth.Close(context.Background())
		return nil, fmt.Errorf("doris: %w", err)
	}
	instructions := "Apache Doris, read-only. Use get_db_list, get_db_table_list and get_table_schema to explore; exec_query runs one read-only statement with bounded results. " +
		"get_cluster_nodes, get_monitoring_metrics, get_memory_stats, get_table_data_size and get_sql_profile answer operational questions."
	if cfg.instructions != "" {
		instructions += "\n\n" + cfg.instructions
	}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: cfg.name, Version: cfg.version}, &mcp.ServerOptions{
		Logger:       sdkLogger(cfg.logger),
		Instructions: instructions,
	})

	// The pool starts its loops, so it comes after everything that can fail.
	s.pool = newPool(&s.cfg)
	builtin, err := tools.Register(s.mcp, tools.Config{
		Exec: s.pool,
		Default: query.Limits{
			MaxRows: cfg.rowLimit, MaxBytes: cfg.byteLimit, Timeout: cfg.queryTimeout,
		},
		Max: query.Limits{
			MaxRows: cfg.maxRowLimit, MaxBytes: cfg.maxByteLimit, Timeout: cfg.maxQueryTimeout,
		},
		Mask:         cfg.masker,
		Unmasked:     unmasked(cfg.exemption),
		Logger:       cfg.logger,
		MaxStatement: cfg.maxStatement,
		Guard:        sqlguard.Options{AllowExternal: cfg.allowExternal},
		Reserve:      s.budget.reserve,
		FEHTTP:       feHTTP,
		BEConfigured: len(cfg.feHTTP.backends) > 0,
	})
	if err != nil {
		s.pool.Close(context.Background())
		s.auth.Close(context.Background())
		return nil, fmt.Errorf("doris: %w", err)
	}
	// Added last, so they are the outermost: the tool catalog's own
	// middleware (resources/list) runs inside them, with the hard stop, a
	// budget holder and the caller's principal.
	s.mcp.AddReceivingMiddleware(s.withHardStop, s.withPrincipal)
	s.builtin = make(map[string]bool, len(builtin))
	for _, name := range builtin {
		s.builtin[name] = true
	}
	s.closers = []component{
		{"auth", s.auth.Close},
		{"pool", s.pool.Close},
	}
	if feHTTP != nil {
		s.closers = append(s.closers, component{"fehttp", func(context.Context) error { feHTTP.Close(); return nil }})
	}
	if s.handler, err = s.newHTTPHandler(); err != nil {
		s.pool.Close(context.Background())
		s.auth.Close(context.Background())
		return nil, fmt.Errorf("doris: %w", err)
	}
	if err := s.observe(); err != nil {
		s.pool.Close(context.Background())
		return nil, fmt.Errorf("doris: %w", err)
	}
	return s, nil
}

func unmasked(e MaskExemption) func(context.Context) bool {
	if e == nil {
		return nil
	}
	return e.Unmasked
}

// MCP returns the underlying MCP server so a host can register its own
// tools, resources and prompts. They share the Server's transports and
// shutdown: their handlers' contexts are cancelled by Shutdown's hard stop.
func (s *Server) MCP() *mcp.Server { return s.mcp }

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
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := context.AfterFunc(s.hard, func() { cancel(context.Cause(s.hard)) })
		defer stop()
		if c, ok := ctx.Value(carrierKey{}).(carrier); ok {
			stopCarrier := context.AfterFunc(c.ctx, func() { cancel(c.cause()) })
			defer stopCarrier()
		}
		if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok {
			s.log.Debug("call started", "method", method, "tool", p.Name)
		}
		ctx, call := s.startCall(ctx, method, req)
		if s.cfg.stateful {
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss.ID() != "" {
				defer s.sessions.call(ss.ID(), cancel)()
			}
		}
		// What the call's result holds of the memory budget is released
		// when the handler returns, or later, when the HTTP request that
		// carries its response ends.
		h := holderFrom(ctx)
		if h == nil {
			h = s.budget.holder()
			ctx = withHolder(ctx, h)
		} else {
			h.hold()
		}
		defer h.release()
		res, err := next(ctx, method, req)
		call.End(res, err)
		return res, err
	}
}

// carrierKey is the context key of a [carrier]. The go-sdk passes the values
// of the context a session was connected with on to its handlers' contexts,
// though not that context's cancellation.
type carrierKey struct{}

// A carrier is what brings calls to a session: when ctx ends, its calls can
// no longer be answered and are cancelled with the given cause.
type carrier struct {
	ctx   context.Context
	cause func() error
}

func withCarrier(ctx context.Context, c carrier) context.Context {
	return context.WithValue(ctx, carrierKey{}, c)
}

// budget bounds the memory the Server's results hold at once, over every
// call. A result of n bytes costs about resultCost·n while it is read,
// encoded and sent (its rows, their encoding, the text copy, the protocol's
// encoding of the message). A call holds room for its largest result while
// it runs, and for the result it got until its response is delivered, so
// clients that ask for large results and read them slowly cannot make the
// host's memory grow without bound.
type budget struct {
	sem  *semaphore.Weighted
	size int64
	wait time.Duration
}

// resultCost is the memory a result byte costs at the peak of its call,
// measured with results of 16 MiB.
const resultCost = 8

func newBudget(size int64, wait time.Duration) *budget {
	return &budget{sem: semaphore.NewWeighted(size), size: size, wait: wait}
}

// reserve holds room for a result of up to n bytes, waiting at most the
// budget's wait, on behalf of the holder in ctx.
func (b *budget) reserve(ctx context.Context, n int) (shrink func(used int), err error) {
	h := holderFrom(ctx)
	if h == nil {
		return nil, errors.New("internal error: no budget holder for this call")
	}
	want := min(resultCost*int64(n), b.size) // a result larger than the budget waits for all of it
	wctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	if err := b.sem.Acquire(wctx, want); err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, fmt.Errorf("server busy: results in flight fill its memory budget; retry shortly or ask for a smaller max_bytes (this one may take %d bytes)", n)
	}
	h.add(want)
	return func(used int) {
		h.giveBack(want - min(resultCost*int64(used), want))
	}, nil
}

func (b *budget) holder() *budgetHolder { return &budgetHolder{b: b, refs: 1} }

// A budgetHolder holds the budget reserved for the calls of one request
// until the last of its references is released: the handler that ran the
// call, and the HTTP request that delivers its response.
type budgetHolder struct {
	b    *budget
	mu   sync.Mutex
	refs int
	n    int64
}

func (h *budgetHolder) hold() {
	h.mu.Lock()
	h.refs++
	h.mu.Unlock()
}

func (h *budgetHolder) add(n int64) {
	h.mu.Lock()
	h.n += n
	h.mu.Unlock()
}

// giveBack releases n of what h holds at once.
func (h *budgetHolder) giveBack(n int64) {
	h.mu.Lock()
	h.n -= n
	h.mu.Unlock()
	h.b.sem.Release(n)
}

func (h *budgetHolder) release() {
	h.mu.Lock()
	h.refs--
	var n int64
	if h.refs == 0 {
		n, h.n = h.n, 0
	}
	h.mu.Unlock()
	if n > 0 {
		h.b.sem.Release(n)
	}
}

type holderKey struct{}

func withHolder(ctx context.Context, h *budgetHolder) context.Context {
	return context.WithValue(ctx, holderKey{}, h)
}

func holderFrom(ctx context.Context) *budgetHolder {
	h, _ := ctx.Value(holderKey{}).(*budgetHolder)
	return h
}
