package doris

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
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
	if s.gate.isClosed() {
		return ErrServerClosed
	}
	// Closing a session waits for its handlers: when ctx ends they are
	// cancelled first, through the same merge as Shutdown's hard stop. The
	// stop travels in the context the session is connected with, so it
	// reaches even a call read before Connect returns.
	stop, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	cctx := withCarrier(ctx, carrier{stop, func() error { return context.Cause(stop) }})
	ss, err := s.mcp.Connect(cctx, &trackedTransport{Transport: t, gate: &s.gate, limit: s.cfg.maxInFlight}, nil)
	if err != nil {
		return err
	}
	// Shutdown may have enumerated the sessions before this one existed.
	if s.gate.isClosed() {
		ss.Close()
		return ErrServerClosed
	}
	done := make(chan error, 1)
	go func() { done <- ss.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		cancel(fmt.Errorf("session ended: %w", context.Cause(ctx)))
		ss.Close()
		<-done
		return ctx.Err()
	}
	s.log.Debug("stream session ended", "err", err)
	if s.gate.isClosed() {
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
	gate  *gate
	limit int // calls in flight, over the whole Server
}

func (t *trackedTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.Transport.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &trackedConn{Connection: c, gate: t.gate, limit: t.limit, pending: make(map[jsonrpc.ID]struct{})}, nil
}

type trackedConn struct {
	mcp.Connection
	gate  *gate
	limit int

	mu      sync.Mutex
	pending map[jsonrpc.ID]struct{}
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
		_, dup := c.pending[req.ID]
		closed := c.closed
		c.mu.Unlock()
		if dup || closed {
			// The go-sdk answers neither a reused id nor anything read after
			// Close: such a message is no work to wait for.
			return msg, nil
		}
		if refused := c.gate.enterN(1, c.limit); refused != gateOpen {
			e := shutdownError
			if refused == gateFull {
				e = busyError
			}
			if err := c.Connection.Write(ctx, &jsonrpc.Response{ID: req.ID, Error: e}); err != nil {
				return nil, err
			}
			continue
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			c.gate.leave()
			return msg, nil
		}
		c.pending[req.ID] = struct{}{}
		c.mu.Unlock()
		return msg, nil
	}
}

func (c *trackedConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	err := c.Connection.Write(ctx, msg)
	if resp, ok := msg.(*jsonrpc.Response); ok {
		c.mu.Lock()
		_, admitted := c.pending[resp.ID]
		delete(c.pending, resp.ID)
		c.mu.Unlock()
		if admitted {
			c.gate.leave()
		}
	}
	return err
}

// Close releases the calls that will never be answered.
func (c *trackedConn) Close() error {
	err := c.Connection.Close()
	c.mu.Lock()
	n := len(c.pending)
	clear(c.pending)
	c.closed = true
	c.mu.Unlock()
	for range n {
		c.gate.leave()
	}
	return err
}
