package doris

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/telemetry"

	"github.com/dorismcp/doris/internal/admit"
)

// ServeStdio serves one MCP session over standard input and output until
// the client closes its end (nil), ctx ends (ctx.Err()) or Shutdown closes
// the session ([ErrServerClosed]). A call in flight when Shutdown starts has
// its response written before ServeStdio returns. Nothing but MCP messages
// is written to standard output.
//
// Closing the session closes standard input, as the go-sdk's stdio
// transport does.
func (s *Server) ServeStdio(ctx context.Context) error {
	return s.ServeTransport(ctx, &mcp.StdioTransport{})
}

// ServeTransport is [Server.ServeStdio] over any go-sdk transport: one MCP
// session over t (pipes, an in-memory transport, a connection the host
// accepted), with the same results and the same shutdown behaviour.
func (s *Server) ServeTransport(ctx context.Context, t mcp.Transport) error {
	if s.gate.IsClosed() {
		return ErrServerClosed
	}
	// Closing a session waits for its handlers: when ctx ends they are
	// cancelled first, through the same merge as Shutdown's hard stop. The
	// stop travels in the context the session is connected with, so it
	// reaches even a call read before Connect returns.
	stop, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	cctx := admit.WithCarrier(ctx, admit.Carrier{Ctx: stop, Cause: func() error { return context.Cause(stop) }})
	cctx = telemetry.WithTransport(cctx, telemetry.TransportPipe)
	ss, err := s.mcp.Connect(cctx, &trackedTransport{Transport: t, gate: &s.gate, limit: s.cfg.maxInFlight}, nil)
	if err != nil {
		return err
	}
	// Shutdown may have enumerated the sessions before this one existed.
	if s.gate.IsClosed() {
		ss.Close()
		return ErrServerClosed
	}
	done := make(chan error, 1)
	go func() { done <- ss.Wait() }()
	defer func(start time.Time) { s.sessionEnded(ss, start, telemetry.TransportPipe, err) }(time.Now())
	select {
	case err = <-done:
	case <-ctx.Done():
		cancel(fmt.Errorf("session ended: %w", context.Cause(ctx)))
		ss.Close()
		<-done
		return ctx.Err()
	}
	s.log.Debug("stream session ended", "err", err)
	if s.gate.IsClosed() {
		return ErrServerClosed
	}
	if errors.Is(err, io.EOF) || errors.Is(err, mcp.ErrConnectionClosed) {
		return nil
	}
	return err
}

// trackedTransport admits each call read from the stream through the gate
// and counts it until its response is written: the go-sdk drops responses
// written after its session closes, so Shutdown must not close a session
// before its calls are answered. Once the gate closes, new calls are
// answered with an error without reaching the server.
type trackedTransport struct {
	mcp.Transport
	gate  *admit.Gate
	limit int // calls in flight, over the whole Server
}

func (t *trackedTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.Transport.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &trackedConn{Connection: c, gate: t.gate, limit: t.limit, pending: make(map[jsonrpc.ID]int), dups: make(map[jsonrpc.ID]int)}, nil
}

type trackedConn struct {
	mcp.Connection
	gate  *admit.Gate
	limit int

	mu sync.Mutex
	// pending counts, per id, the calls admitted and not yet answered; dups
	// those of them read while another call with the same id was pending.
	// The go-sdk answers such a duplicate with an error response without an
	// id, unless the first call's response was on its way, in which case it
	// runs the second as a call of its own: either way, exactly one
	// response ends each admitted call.
	pending map[jsonrpc.ID]int
	dups    map[jsonrpc.ID]int
	n       int // admitted, unanswered calls in all
	closed  bool
}

func (c *trackedConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	for {
		msg, err := c.Connection.Read(ctx)
		if err != nil {
			return nil, err
		}
		req, ok := msg.(*jsonrpc.Request)
		if !ok || !req.IsCall() || req.Method == methodListen {
			return msg, nil
		}
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return msg, nil // the go-sdk answers nothing read after Close
		}
		if refused := c.gate.EnterN(1, c.limit); refused != admit.Admitted {
			e := admit.ShuttingDown
			if refused == admit.Full {
				e = admit.Busy
			}
			if err := c.Connection.Write(ctx, &jsonrpc.Response{ID: req.ID, Error: e}); err != nil {
				return nil, err
			}
			continue
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			c.gate.Leave()
			return msg, nil
		}
		if c.pending[req.ID] > 0 {
			c.dups[req.ID]++
		}
		c.pending[req.ID]++
		c.n++
		c.mu.Unlock()
		return msg, nil
	}
}

func (c *trackedConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	err := c.Connection.Write(ctx, msg)
	if resp, ok := msg.(*jsonrpc.Response); ok && c.answered(resp.ID) {
		c.gate.Leave()
	}
	return err
}

// answered records a response written with id, and reports whether it
// ended an admitted call.
func (c *trackedConn) answered(id jsonrpc.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !id.IsValid() {
		// The go-sdk's answer to a duplicate id (or to a message it could
		// not parse, when no duplicate is pending).
		for dup := range c.dups {
			id = dup
			break
		}
		if !id.IsValid() {
			return false
		}
	}
	if c.pending[id] == 0 {
		return false
	}
	c.pending[id]--
	if c.dups[id] > 0 {
		c.dups[id]--
	}
	if c.pending[id] == 0 {
		delete(c.pending, id)
		delete(c.dups, id)
	}
	c.n--
	return true
}

// Close releases the calls that will never be answered.
func (c *trackedConn) Close() error {
	err := c.Connection.Close()
	c.mu.Lock()
	n := c.n
	c.n = 0
	clear(c.pending)
	clear(c.dups)
	c.closed = true
	c.mu.Unlock()
	c.gate.LeaveN(n)
	return err
}
