package doris

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
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
	if n := s.gate.active(); n != 0 {
		t.Errorf("%d calls still counted in flight", n)
	}
}

// A client reusing the id of a call in flight gets no second answer from
// the go-sdk; that must not leave work counted forever.
func TestStdioReusedID(t *testing.T) {
	dsn := backend(t)
	s := newServer(t, dsn)
	clientR, serverW := io.Pipe()
	serverR, clientW := io.Pipe()
	go s.ServeTransport(context.Background(), &mcp.IOTransport{Reader: serverR, Writer: serverW})
	go io.Copy(io.Discard, clientR)
	send := func(line string) {
		if _, err := io.WriteString(clientW, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"SELECT COUNT(*) FROM seq_1_to_1000 a, seq_1_to_300 b"}}}`
	send(call)
	send(call)
	waitFor(t, 10*time.Second, "the calls to be answered", func() bool { return s.gate.active() == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Shutdown waited %v for a call that was never going to be answered", took)
	}
	clientW.Close()
}
