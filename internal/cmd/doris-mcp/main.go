// Command doris-mcp serves Apache Doris over MCP, on Streamable HTTP or
// stdio.
//
// It reads the reference server's environment variables (DORIS_HOST,
// DORIS_PORT, DORIS_USER, DORIS_PASSWORD, DORIS_DATABASE for the cluster;
// TRANSPORT, SERVER_HOST, SERVER_PORT for the listener), so a configuration
// written for apache/doris-mcp-server keeps working; flags override them.
// With no DORIS_HOST it serves a built-in sample database, and says so to
// the operator and to every MCP client, so nobody mistakes it for a cluster.
// Account variables without DORIS_HOST are refused: they show a cluster was
// meant, and the sample database would silently stand in for it.
// Authentication comes from DORIS_MCP_TOKENS_FILE, DORIS_MCP_JWKS_URL and
// their companions (see authOptions); without any, HTTP is served only on a
// loopback SERVER_HOST unless -insecure-no-auth is given.
//
// The command is the library's host, so it owns what the library leaves to
// hosts: flags, signals and the HTTP listener. It parses its flags on its
// own FlagSet because dependencies register theirs on the global one.
//
// A first SIGINT or SIGTERM starts a graceful shutdown: the library's
// Shutdown drains calls in flight for up to -shutdown-timeout. A second
// signal is the operator saying "now": the calls left are cancelled, their
// queries killed and their clients answered with error results, and the
// drain ends as soon as those answers are written. A third gets the default
// behaviour and ends the process outright.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/dorissim"
)

// Exit statuses: a configuration the command refuses is a usage error, as
// with the flag package's own ExitOnError.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stderr))
}

// run is the whole command; it returns the exit status.
func run(args []string, lookup func(string) (string, bool), stderr io.Writer) int {
	cfg, err := parseConfig(args, lookup, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		// The FlagSet has already explained its own errors, with the usage.
		var fe flagError
		if !errors.As(err, &fe) {
			fmt.Fprintln(stderr, "doris-mcp:", err)
		}
		return exitUsage
	}
	if err := serve(cfg, stderr); err != nil {
		fmt.Fprintln(stderr, "doris-mcp:", err)
		return exitFailed
	}
	return exitOK
}

// config is the command's configuration, from flags and environment.
type config struct {
	transport   string // "http" or "stdio"
	addr        string // HTTP listen address
	grace       time.Duration
	stateful    bool
	sessionIdle time.Duration
	verbose     bool
	// cluster is the Doris cluster named in the environment; nil means
	// the sample database.
	cluster *cluster
	// auth holds the authentication options from the environment.
	auth []doris.Option
	// metrics serves /metrics in Prometheus text (HTTP only).
	metrics bool
	// domains lists one tool per domain (doris.WithDomainTools).
	domains bool
	// lookup reads the environment, for the OTLP exporters' variables.
	lookup func(string) (string, bool)
}

// flagError marks an error the FlagSet has already printed.
type flagError struct{ error }

const usageText = `Usage: doris-mcp [flags]

Serves Apache Doris over the Model Context Protocol: Streamable HTTP at
http://HOST:PORT/mcp (with /live and /ready probes), or standard input and
output. With no DORIS_HOST it serves a built-in sample database instead of a
cluster, and tells MCP clients so.

Flags:
`

const envText = `
Environment (flags override them):
  DORIS_HOST             the Doris FE to connect to; unset: the sample database
  DORIS_HOSTS            more FEs for failover, comma-separated host or host:port
  DORIS_PORT             the FE's MySQL port (default 9030)
  DORIS_USER             the account (default root)
  DORIS_PASSWORD         its password
  DORIS_DATABASE         the default database
  DORIS_MAX_CONNECTIONS  connections open to Doris at once (default 20)
  DORIS_QUERY_TIMEOUT    seconds a call may run by default (default 30)
  DORIS_MAX_ROWS         the most rows a call may ask for (default 10000)
  DORIS_FE_HTTP_PORT     the FE's HTTP port, for profiles, metrics and kills by
                         query id (default 8030)
  DORIS_BE_HOSTS         BE hosts, comma-separated host or host:port (default:
                         found with SHOW BACKENDS)
  DORIS_BE_WEBSERVER_PORT  the BEs' webserver port (default 8040)
  MCP_TOOL_EXPOSURE_MODE as -tools (hierarchical is domains)
  TRANSPORT              as -transport
  SERVER_HOST            as -host
  SERVER_PORT            as -port
  DORIS_MCP_TOKENS_FILE    JSON list of static tokens by digest, reloaded on change
  DORIS_MCP_JWKS_URL       JWKS of the issuer of accepted JWTs
  DORIS_MCP_JWT_ISSUER     required iss of those JWTs
  DORIS_MCP_JWT_AUDIENCE   required aud of those JWTs
  DORIS_MCP_JWT_ALGORITHMS comma-separated (default RS256,ES256)
  OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_EXPORTER_OTLP_* variables)
                           export traces and metrics over OTLP/HTTP
Without authentication, HTTP is served only on a loopback host unless
-insecure-no-auth is given.
DORIS_PORT, DORIS_USER, DORIS_PASSWORD or DORIS_DATABASE without DORIS_HOST
is an error.

Signals: the first SIGINT or SIGTERM drains calls in flight for up to
-shutdown-timeout; a second cancels them at once; a third ends the process.
`

// parseConfig reads the flags in args over the environment from lookup.
// Usage and flag errors are written to out.
func parseConfig(args []string, lookup func(string) (string, bool), out io.Writer) (config, error) {
	env := func(name, def string) string {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	port := 3000
	if v := env("SERVER_PORT", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return config{}, errors.New("SERVER_PORT: not a port number")
		}
		port = n
	}

	var cfg config
	fs := flag.NewFlagSet("doris-mcp", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageText)
		fs.PrintDefaults()
		fmt.Fprint(out, envText)
	}
	fs.StringVar(&cfg.transport, "transport", env("TRANSPORT", "http"), "http or stdio")
	host := fs.String("host", env("SERVER_HOST", "127.0.0.1"), "HTTP listen `host`")
	fs.IntVar(&port, "port", port, "HTTP listen `port` (0: any free port, logged at start)")
	fs.DurationVar(&cfg.grace, "shutdown-timeout", 30*time.Second, "how long a shutdown lets calls in flight finish before cancelling them")
	fs.BoolVar(&cfg.stateful, "stateful", false, "keep MCP sessions and standalone GET streams (default: stateless, for replicas behind a load balancer)")
	fs.DurationVar(&cfg.sessionIdle, "session-idle", 30*time.Minute, "with -stateful, close sessions idle this long (0: keep them until the client ends them)")
	fs.BoolVar(&cfg.verbose, "v", false, "log debug events, including every MCP request")
	insecure := fs.Bool("insecure-no-auth", false, "serve HTTP on a non-loopback host without authentication")
	fs.BoolVar(&cfg.metrics, "metrics", false, "serve OpenTelemetry metrics in Prometheus text at /metrics (HTTP transport)")
	tools := fs.String("tools", env("MCP_TOOL_EXPOSURE_MODE", "flat"), "flat: every tool (the reference server's 0.6 names); domains: one tool per domain, as its 1.0 release")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, flagError{err}
	}
	switch *tools {
	case "flat":
	case "domains", "hierarchical": // the reference server's name
		cfg.domains = true
	default:
		return config{}, fmt.Errorf("-tools or MCP_TOOL_EXPOSURE_MODE: unknown mode %q (want flat or domains)", *tools)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q: doris-mcp takes only flags (see -h)", fs.Arg(0))
	}

	switch cfg.transport {
	case "http", "streamable-http": // the reference server's name
		cfg.transport = "http"
	case "stdio":
	default:
		return config{}, fmt.Errorf("-transport or TRANSPORT: unknown transport %q (want http or stdio)", cfg.transport)
	}
	if port < 0 || port > 65535 {
		return config{}, fmt.Errorf("-port: %d is not a port number", port)
	}
	cfg.addr = net.JoinHostPort(*host, strconv.Itoa(port))
	if cfg.grace <= 0 {
		return config{}, errors.New("-shutdown-timeout: must be positive")
	}
	idleSet := false
	fs.Visit(func(f *flag.Flag) { idleSet = idleSet || f.Name == "session-idle" })
	if idleSet && !cfg.stateful {
		return config{}, errors.New("-session-idle: sessions are kept only with -stateful")
	}
	if cfg.sessionIdle < 0 {
		return config{}, errors.New("-session-idle: must not be negative")
	}

	var err error
	if cfg.cluster, err = readCluster(lookup); err != nil {
		return config{}, err
	}
	if cfg.metrics && cfg.transport != "http" {
		return config{}, errors.New("-metrics: /metrics is served beside /mcp, on the HTTP transport only")
	}
	cfg.lookup = lookup
	if cfg.auth, err = authOptions(lookup, cfg.transport, *host, *insecure); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// sampleInstructions tells MCP clients, and through them the people using
// them, that the data is not theirs.
const sampleInstructions = "This server is connected to the built-in sample database of doris-mcp, not to an Apache Doris cluster: DORIS_HOST is not set. " +
	"Its data (database `sample`) is a small made-up example; do not present results from it as real data. " +
	"It speaks Doris's protocol, statements and SHOW output, but is not Doris: EXPLAIN shows a simpler engine's plan tree, not Doris's fragments; " +
	"SUM of a DECIMAL column is a DOUBLE; NDV and APPROX_COUNT_DISTINCT are exact; BITMAP, HLL and other Doris-only functions are missing; " +
	"information_schema reports MySQL engines and collations; a killed statement may run on in the engine for a while."

// serve runs the server until the transport ends or a signal stops it.
func serve(cfg config, stderr io.Writer) error {
	level := slog.LevelInfo
	if cfg.verbose {
		level = slog.LevelDebug
	}
	// Standard output belongs to the MCP stream in stdio mode: log to stderr.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var opts []doris.Option
	if cfg.cluster != nil {
		opts = cfg.cluster.options()
	} else {
		sim, err := dorissim.Start(dorissim.Options{Logger: log.With("component", "sample")})
		if err != nil {
			return fmt.Errorf("starting the sample database: %w", err)
		}
		defer sim.Close()
		// The DSN lets a reader try their own embedding against the sample
		// while this process runs; it carries no secret.
		log.Warn("DORIS_HOST is not set: serving the built-in sample database, not a Doris cluster",
			"addr", sim.Addr(), "database", dorissim.SampleDB, "dsn", sim.DSN(dorissim.SampleDB), "fe_http", sim.FEHTTPAddr())
		opts = []doris.Option{doris.WithDSN(sim.DSN(dorissim.SampleDB)), doris.WithFEHTTP(sim.FEHTTPAddr()), doris.WithInstructions(sampleInstructions)}
	}
	opts = append(opts, cfg.auth...)
	if cfg.domains {
		opts = append(opts, doris.WithDomainTools())
	}
	opts = append(opts, doris.WithLogger(log))
	tel, err := newTelemetry(cfg.metrics, cfg.lookup)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.close(ctx); err != nil {
			log.Warn("flushing telemetry", "err", err)
		}
	}()
	opts = append(opts, tel.opts...)
	if cfg.stateful {
		opts = append(opts, doris.WithStatefulSessions(cfg.sessionIdle))
	}
	srv, err := doris.New(opts...)
	if err != nil {
		return err
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	stop := watchSignals(sigs, func() { signal.Stop(sigs) }, log)
	defer stop.close()

	switch cfg.transport {
	case "stdio":
		err = serveStdio(srv, stop, cfg.grace)
	default:
		err = serveHTTP(srv, stop, cfg.addr, cfg.grace, tel.metrics, log)
	}
	return err
}

// stopper is what the operator's signals ask for.
type stopper struct {
	// graceful is closed by the first signal.
	graceful <-chan struct{}
	// shutdown is cancelled by the second signal; the library's Shutdown
	// runs within it, so the drain ends at once: calls in flight are
	// cancelled, their queries killed, and each answers its client with an
	// error result.
	shutdown context.Context
	close    func()
}

// watchSignals turns the signals received on sigs into a stopper. After the
// second signal it calls release, which should restore the signals'
// default behaviour, so that a third ends the process whatever the state of
// the shutdown.
func watchSignals(sigs <-chan os.Signal, release func(), log *slog.Logger) *stopper {
	graceful := make(chan struct{})
	shutdown, cancelShutdown := context.WithCancel(context.Background())
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer release()
		select {
		case sig := <-sigs:
			log.Info("signal received: shutting down gracefully; send it again to cancel calls in flight", "signal", sig)
			close(graceful)
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			log.Warn("second signal: cancelling calls in flight now", "signal", sig)
			cancelShutdown()
		case <-done:
		}
	})
	var once sync.Once
	return &stopper{graceful: graceful, shutdown: shutdown, close: func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			cancelShutdown()
		})
	}}
}

// shutdownContext bounds the library's Shutdown: grace from now, cut short
// by a second signal.
func (s *stopper) shutdownContext(grace time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.shutdown, grace)
}

func serveStdio(srv *doris.Server, stop *stopper, grace time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- srv.ServeStdio(context.Background()) }()
	select {
	case err := <-served: // the client closed the stream
		sctx, cancel := stop.shutdownContext(grace)
		defer cancel()
		return errors.Join(err, srv.Shutdown(sctx))
	case <-stop.graceful:
		sctx, cancel := stop.shutdownContext(grace)
		defer cancel()
		err := srv.Shutdown(sctx)
		if serr := <-served; !errors.Is(serr, doris.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}
}

// httpGrace bounds http.Server.Shutdown once the library's Shutdown has
// returned. By then every call has been answered or cancelled and every
// MCP stream ended; what may remain is a response still being written, and
// connections accepted but without a request yet, which net/http counts as
// busy for five seconds. Neither is worth holding the exit for longer.
const httpGrace = time.Second

// The HTTP server's limits, the values the README gives hosts. ReadTimeout
// and WriteTimeout stay zero: they would cut stateful GET streams and long
// calls, and the library bounds body reads and response writes itself.
const (
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes a keep-alive connection that has carried no
	// request for this long.
	idleTimeout = time.Minute
	// maxHeaderBytes leaves room for a large JWT; a request whose header
	// is larger gets 431.
	maxHeaderBytes = 64 << 10
)

// newHTTPServer is the command's http.Server for h, closing connections
// left idle between requests after idle.
func newHTTPServer(addr string, h http.Handler, idle time.Duration) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idle,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

func serveHTTP(srv *doris.Server, stop *stopper, addr string, grace time.Duration, metrics http.Handler, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/mcp", srv.Handler())
	mux.Handle("/live", srv.LiveHandler())
	mux.Handle("/ready", srv.ReadyHandler())
	if metrics != nil {
		mux.Handle("/metrics", metrics)
	}
	httpSrv := newHTTPServer(addr, mux, idleTimeout)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return errors.Join(err, srv.Shutdown(context.Background()))
	}
	log.Info("serving MCP over HTTP", "url", "http://"+ln.Addr().String()+"/mcp")
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()

	var serveErr error
	select {
	case serveErr = <-served:
	case <-stop.graceful:
	}
	sctx, cancel := stop.shutdownContext(grace)
	defer cancel()
	err = srv.Shutdown(sctx)

	deadline, _ := sctx.Deadline()
	hctx, hcancel := context.WithDeadline(context.Background(), minTime(deadline, time.Now().Add(httpGrace)))
	defer hcancel()
	if herr := httpSrv.Shutdown(hctx); herr != nil {
		// The bounded grace running out is expected, not a failure: close
		// what is left.
		if !errors.Is(herr, context.DeadlineExceeded) {
			err = errors.Join(err, fmt.Errorf("stopping the HTTP server: %w", herr))
		}
		log.Debug("closing the HTTP connections left", "err", herr)
		if cerr := httpSrv.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the HTTP server: %w", cerr))
		}
	}
	if serveErr == nil {
		serveErr = <-served
	}
	if !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(serveErr, err)
	}
	return err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
