package doris

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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
// the drain short. Shutdown is idempotent and safe to call concurrently:
// every call returns the same result once the first has finished.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.shutdownErr = s.shutdown(ctx)
		close(s.shutdownDone)
	})
	<-s.shutdownDone
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	start := time.Now()
	s.gate.close()
	s.log.Info("shutdown started", "in_flight", s.gate.active())

	var errs []error
	dctx, cancel := drainContext(ctx)
	drainErr := s.gate.wait(dctx)
	cancel()
	if drainErr != nil {
		n := s.gate.active()
		s.log.Warn("shutdown deadline: cancelling calls in flight", "calls", n)
		s.stopHard(errShuttingDown)
		// The cancelled calls now answer with error results; give them the
		// reserve to be written.
		if err := s.gate.wait(ctx); err != nil {
			s.log.Warn("calls still unanswered at the deadline", "calls", s.gate.active())
		}
		errs = append(errs, fmt.Errorf("doris: shutdown: %d calls cancelled: %w", n, drainErr))
	}
	s.stopHard(errShuttingDown)

	if err := s.closeSessions(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := waitGrace(ctx, &s.streams); err != nil {
		errs = append(errs, fmt.Errorf("doris: shutdown: %d HTTP streams still open: %w", s.streams.active(), err))
	}

	slots := make([]error, len(s.closers))
	var g errgroup.Group
	for i, c := range s.closers {
		g.Go(func() error {
			if err := c.close(ctx); err != nil {
				slots[i] = fmt.Errorf("doris: shutdown: closing %s: %w", c.name, err)
			}
			return nil // every step runs whatever the others do
		})
	}
	g.Wait()
	errs = append(errs, slots...)

	err := errors.Join(errs...)
	s.log.Info("shutdown finished", "took", time.Since(start), "err", err)
	return err
}

// drainContext ends a little before ctx's deadline, keeping a reserve for
// cancelling what is left and writing its error results.
func drainContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(max(time.Until(deadline)/10, 20*time.Millisecond), 500*time.Millisecond)
	return context.WithDeadline(ctx, deadline.Add(-reserve))
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
	}
	// Idle sessions close in moments: a context that was already over
	// should not turn that into an error.
	select {
	case <-done:
		return nil
	case <-time.After(closeGrace):
		return fmt.Errorf("doris: shutdown: closing sessions: %w", ctx.Err())
	}
}

// waitGrace waits for g to empty, until closeGrace past ctx's end.
func waitGrace(ctx context.Context, g *gate) error {
	if g.wait(ctx) == nil {
		return nil
	}
	gctx, cancel := context.WithTimeout(context.Background(), closeGrace)
	defer cancel()
	if g.wait(gctx) == nil {
		return nil
	}
	return ctx.Err()
}

// closeGrace is how long past the deadline Shutdown waits for sessions
// that are closing anyway.
const closeGrace = 100 * time.Millisecond

// gate admits new work until it is closed and counts the work admitted and
// not yet finished.
type gate struct {
	mu     sync.Mutex
	closed bool
	n      int
	idle   chan struct{} // closed when n drops to zero; nil while nobody waits
}

// enter admits one unit of work, or reports false once the gate is closed.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n < 0 {
		panic("doris: gate left more often than entered")
	}
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

func (g *gate) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

func (g *gate) active() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// wait returns nil once no work is admitted, or ctx's error.
func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
