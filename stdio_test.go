package doris

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/dorismcp/doris/internal/admit"
)

// ServeTransport returns promptly when its context ends, cancelling the
// calls in flight and killing their queries.
func TestServeTransportContextEnds(t *testing.T) {
	leakCheck(t)
	dsn := backend(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	cs, served := servePipes(t, ctx, s, nil)
	go call(context.Background(), cs, "exec_query", map[string]any{"sql": longQuery, "timeout_seconds": 120})
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
	start := time.Now()
	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("ServeTransport: %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("ServeTransport returned %v after its context ended", took)
	}
	waitFor(t, 3*time.Second, "the query to be killed", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
	t.Logf("query gone from the engine %v after the context ended", time.Since(start))
	if n := s.gate.Active(); n != 0 {
		t.Errorf("%d calls still counted in flight", n)
	}
}

// fakeConn is a scripted mcp.Connection: Read returns the queued
// messages in order, then blocks until closed.
type fakeConn struct {
	in     chan jsonrpc.Message
	closed chan struct{}
}

func (f *fakeConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case m := <-f.in:
		return m, nil
	default:
	}
	select {
	case m := <-f.in:
		return m, nil
	case <-f.closed:
		return nil, io.EOF
	}
}
func (f *fakeConn) Write(context.Context, jsonrpc.Message) error { return nil }
func (f *fakeConn) Close() error                                 { close(f.closed); return nil }
func (f *fakeConn) SessionID() string                            { return "" }

// Every call the stdio wrapper admits is counted until exactly one response
// ends it, however ids are reused: a duplicate of a call in flight (the
// go-sdk rejects it with an id-less error), a reuse racing the first
// call's response (the go-sdk runs it as a call of its own), and calls left
// unanswered at Close.
func TestStdioReusedID(t *testing.T) {
	var g admit.Gate
	f := &fakeConn{in: make(chan jsonrpc.Message, 8), closed: make(chan struct{})}
	c := &trackedConn{Connection: f, gate: &g, pending: map[jsonrpc.ID]int{}, dups: map[jsonrpc.ID]int{}}
	ctx := context.Background()
	id := func(v int64) jsonrpc.ID { i, _ := jsonrpc.MakeID(float64(v)); return i }
	read := func(v int64) {
		t.Helper()
		f.in <- &jsonrpc.Request{ID: id(v), Method: "tools/call"}
		if _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	answer := func(i jsonrpc.ID) { c.Write(ctx, &jsonrpc.Response{ID: i, Result: []byte("{}")}) }
	want := func(n int) {
		t.Helper()
		if got := g.Active(); got != n {
			t.Fatalf("%d calls counted, want %d", got, n)
		}
	}

	read(1)
	read(1) // a duplicate while 1 runs
	want(2)
	answer(jsonrpc.ID{}) // the go-sdk's rejection of the duplicate
	want(1)
	answer(id(1))
	want(0)

	read(2)
	read(2) // reused as the first response goes out: the go-sdk runs it
	want(2)
	answer(id(2))
	answer(id(2))
	want(0)
	answer(jsonrpc.ID{}) // a parse error's answer ends nothing
	want(0)

	read(3)
	read(4)
	c.Close()
	want(0)
	read(5) // after Close: never answered, never counted
	want(0)
}
