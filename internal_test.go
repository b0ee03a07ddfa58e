package doris

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/dorismcp/doris/internal/admit"
	"github.com/dorismcp/doris/internal/authn"
	"github.com/dorismcp/doris/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Unit tests of the root package's unexported parts.

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
	testdb.Parallel(t)
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

// TestPrincipalPrintsNoPassword: a host that logs a Principal does not log
// its Doris password.
func TestPrincipalPrintsNoPassword(t *testing.T) {
	testdb.Parallel(t)
	id := &authn.Identity{Name: "alice", Method: "static", Account: &authn.Account{User: "u", Password: "hunter2-password"}}
	p := principalOf(context.Background(), &mcp.CallToolRequest{Extra: &mcp.RequestExtra{TokenInfo: authn.TokenInfo(id)}})
	if p == nil || p.DorisUser != "u" || p.account == nil {
		t.Fatalf("principal %+v", p)
	}
	for _, s := range []string{fmt.Sprintf("%+v", *p), fmt.Sprintf("%#v", *p), fmt.Sprint(p)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("printed principal shows the password: %s", s)
		}
	}
}

func TestPoolName(t *testing.T) {
	testdb.Parallel(t)
	for _, tc := range []struct {
		p    PoolStats
		want string
	}{
		{PoolStats{Account: "reader", Address: "fe:9030"}, "reader@fe:9030"},
		{PoolStats{}, "host"},
	} {
		if got := poolName(tc.p); got != tc.want {
			t.Errorf("poolName(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
