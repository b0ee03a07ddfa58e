package doris

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dorismcp/doris/internal/admit"
	"golang.org/x/sync/errgroup"
)

// Shutdown stops the Server gracefully, within ctx:
//
//  1. New work is refused at once: [Server.ReadyHandler] answers 503, new
//     HTTP requests get 503 with Retry-After and a JSON-RPC error, and stdio
//     answers new calls with an error. Work in flight goes on.
//  2. Calls in flight are given until shortly before ctx's deadline to
//     finish; each that does has its response delivered.
//  3. Calls still running then are cancelled and their queries killed in
//     Doris; each answers its client with an error result.
//  4. Every MCP session is closed, concurrently: stateful GET streams end
//     and [Server.ServeStdio] returns. Shutdown never waits for clients to
//     disconnect, so the host's http.Server.Shutdown afterwards returns at
//     once.
//  5. The authenticator and the connection pool are closed concurrently.
//
// The result joins every step's error, and ctx.Err() when the deadline cut
// the drain short. Once ctx has ended, what is left (writing the error
// results of cancelled calls, closing sessions and components) gets at most
// one short grace of 100 ms more, after which Shutdown returns whatever is
// still unfinished as an error.
//
// Shutdown is idempotent and safe to call concurrently. Like
// [http.Server.Shutdown], every call waits for the one shutdown until it
// finishes or the call's own ctx ends, and returns ctx.Err() in the latter
// case; the first call's ctx sets the drain's deadline. Calls that see the
// shutdown finish all return its result.
func (s *Server) Shutdown(ctx context.Context) error {
	first := false
	s.shutdownOnce.Do(func() { first = true })
	if first {
		s.shutdownErr = s.shutdown(ctx)
		close(s.shutdownDone)
		return s.shutdownErr
	}
	select {
	case <-s.shutdownDone:
		return s.shutdownErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) shutdown(ctx context.Context) error {
	start := time.Now()
	s.gate.Close()
	s.log.Info("shutdown started", "in_flight", s.gate.Active())
	// Everything past ctx's end shares one grace.
	gctx, cancelGrace := admit.GraceContext(ctx, s.grace)
	defer cancelGrace()

	var errs []error
	dctx, cancel := admit.DrainContext(ctx)
	drainErr := s.gate.Wait(dctx)
	cancel()
	phase := s.phaseTimer("drain", start)
	if drainErr != nil {
		n := s.gate.Active()
		s.log.Warn("shutdown deadline: cancelling calls in flight", "calls", n)
		s.stopHard(errShuttingDown)
		// The cancelled calls now answer with error results; give them the
		// reserve to be written.
		if s.gate.Wait(gctx) != nil {
			s.log.Warn("calls still unanswered at the deadline", "calls", s.gate.Active())
		}
		errs = append(errs, fmt.Errorf("doris: shutdown: %d calls cancelled: %w", n, drainErr))
		phase("cancel")
	}
	s.stopHard(errShuttingDown)

	if s.closeSessions(gctx) != nil {
		errs = append(errs, fmt.Errorf("doris: shutdown: closing sessions: %w", ctx.Err()))
	}
	phase("sessions")
	if s.streams.Wait(gctx) != nil {
		errs = append(errs, fmt.Errorf("doris: shutdown: %d HTTP streams still open: %w", s.streams.Active(), ctx.Err()))
	}
	phase("streams")

	slots := make([]error, len(s.closers))
	var g errgroup.Group
	for i, c := range s.closers {
		g.Go(func() error {
			if err := c.close(gctx); err != nil {
				slots[i] = fmt.Errorf("doris: shutdown: closing %s: %w", c.name, err)
			}
			return nil // every step runs whatever the others do
		})
	}
	g.Wait()
	phase("close")
	errs = append(errs, slots...)

	err := errors.Join(errs...)
	s.log.Info("shutdown finished", "took", time.Since(start), "err", err)
	return err
}

// closeSessions closes every MCP session concurrently. Closing a session
// waits for its handlers, which the hard stop has cancelled; a handler that
// ignores cancellation is left behind when ctx ends.
func (s *Server) closeSessions(ctx context.Context) error {
	var wg sync.WaitGroup
	for ss := range s.mcp.Sessions() {
		wg.Go(func() {
			if err := ss.Close(); err != nil {
				s.log.Debug("closing session", "session", ss.ID(), "err", err)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// closeGrace is how long past its deadline Shutdown waits, in all, for
// what is ending anyway: error results being written, idle sessions
// closing, components releasing what they hold.
const closeGrace = 100 * time.Millisecond
