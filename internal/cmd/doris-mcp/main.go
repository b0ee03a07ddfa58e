// Command doris-mcp serves Apache Doris over MCP, on HTTP or stdio.
//
// It reads the reference server's environment variables: DORIS_HOST,
// DORIS_PORT, DORIS_USER, DORIS_PASSWORD, DORIS_DATABASE (the cluster),
// TRANSPORT (http or stdio), SERVER_HOST and SERVER_PORT (the HTTP
// listener). Flags override them. With no DORIS_HOST it starts the built-in
// sample database and serves that.
//
// This is the host of the library: it owns the signals. On SIGINT or
// SIGTERM it calls Shutdown with a deadline, then stops the HTTP server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/dorissim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "doris-mcp:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func run() error {
	port, _ := strconv.Atoi(env("SERVER_PORT", "3000"))
	transport := flag.String("transport", env("TRANSPORT", "http"), "http or stdio")
	host := flag.String("host", env("SERVER_HOST", "127.0.0.1"), "HTTP listen host")
	flag.IntVar(&port, "port", port, "HTTP listen port")
	grace := flag.Duration("shutdown-timeout", 30*time.Second, "how long Shutdown lets calls in flight finish")
	stateful := flag.Duration("stateful", 0, "keep stateful MCP sessions, closing them after this idle time (0: stateless)")
	verbose := flag.Bool("v", false, "log debug events")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	// Standard output belongs to the MCP stream in stdio mode: log to stderr.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	opts, err := doris.EnvOptions(os.LookupEnv)
	if err != nil {
		return err
	}
	if len(opts) == 0 {
		sim, err := dorissim.Start(dorissim.Options{Logger: log.With("component", "sample")})
		if err != nil {
			return fmt.Errorf("starting the sample database: %w", err)
		}
		defer sim.Close()
		log.Info("DORIS_HOST is not set: serving the built-in sample database", "addr", sim.Addr(), "database", dorissim.SampleDB)
		opts = append(opts, doris.WithDSN(sim.DSN(dorissim.SampleDB)), doris.WithFEHTTP(sim.FEHTTPAddr()))
	}
	opts = append(opts, doris.WithLogger(log))
	if *stateful > 0 {
		opts = append(opts, doris.WithStatefulSessions(*stateful))
	}
	srv, err := doris.New(opts...)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch *transport {
	case "stdio":
		return serveStdio(ctx, srv, *grace)
	case "http", "streamable-http":
		return serveHTTP(ctx, srv, net.JoinHostPort(*host, strconv.Itoa(port)), *grace, log)
	default:
		srv.Shutdown(context.Background())
		return fmt.Errorf("unknown transport %q (want http or stdio)", *transport)
	}
}

func serveStdio(ctx context.Context, srv *doris.Server, grace time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- srv.ServeStdio(context.Background()) }()
	select {
	case err := <-served: // the client closed the stream
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		return errors.Join(err, srv.Shutdown(sctx))
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		err := srv.Shutdown(sctx)
		if serr := <-served; !errors.Is(serr, doris.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}
}

func serveHTTP(ctx context.Context, srv *doris.Server, addr string, grace time.Duration, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/mcp", srv.Handler())
	mux.Handle("/live", srv.LiveHandler())
	mux.Handle("/ready", srv.ReadyHandler())
	httpSrv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	log.Info("serving MCP over HTTP", "url", "http://"+ln.Addr().String()+"/mcp")
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()

	var serveErr error
	select {
	case serveErr = <-served:
	case <-ctx.Done():
		log.Info("signal received: shutting down", "grace", grace)
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err = errors.Join(srv.Shutdown(sctx), httpSrv.Shutdown(sctx))
	if serveErr == nil {
		serveErr = <-served
	}
	if !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(serveErr, err)
	}
	return err
}
