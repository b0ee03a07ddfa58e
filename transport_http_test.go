package doris_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
)

// In the default stateless mode a call ends with its HTTP request: a client
// of any protocol version that gives up on a call (cancelling it, or
// closing the request) has its query killed in the engine at once, not left
// to run until its time limit.
func TestStatelessCancelKillsQuery(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	s := newServer(t, dsn)
	hs := serveHTTP(t, s)
	db := openDB(t, dsn)
	inFlight := func() bool { return running(t, db, "seq_1_to_20000") == 1 }
	gone := func() bool { return running(t, db, "seq_1_to_20000") == 0 }

	for _, version := range []string{"2025-06-18", "2025-11-25", "2026-07-28"} {
		t.Run("go-sdk client "+version, func(t *testing.T) {
			cs := connect(t, context.Background(), hs.URL+"/mcp", nil, version)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, _, err := call(ctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 120})
				done <- err
			}()
			waitFor(t, 5*time.Second, "the query to run", inFlight)
			cancel()
			start := time.Now()
			if err := <-done; err == nil {
				t.Error("the cancelled call returned no error")
			}
			waitFor(t, time.Second, "the cancelled query to leave the engine", gone)
			t.Logf("gone %v after the cancel", time.Since(start))
		})
	}
	t.Run("raw HTTP request closed", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + testdb.LongQuery + `","timeout_seconds":120}}}`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+"/mcp", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		waitFor(t, 5*time.Second, "the query to run", inFlight)
		cancel()
		<-done
		start := time.Now()
		waitFor(t, time.Second, "the query of the closed request to leave the engine", gone)
		t.Logf("gone %v after the close", time.Since(start))
	})
}

// post sends a raw POST to the MCP endpoint and returns the status and body.
func post(t *testing.T, url string, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if h, ok := header["Host"]; ok {
		req.Host = h
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// postAsync sends a raw POST from another goroutine and delivers the
// response body, or the error, when it ends.
func postAsync(ctx context.Context, url, body string, header map[string]string) <-chan string {
	out := make(chan string, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out <- string(b)
	}()
	return out
}

// postUnread sends a call over a raw connection whose client never reads:
// its receive buffer is small and nothing drains it. The connection is
// closed when the test ends.
func postUnread(t testing.TB, addr, body string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"+
		"Mcp-Protocol-Version: 2025-06-18\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body)
	return conn
}

const listCall = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`

// Hostile bodies: deep nesting neither crashes the process nor costs more
// than one pass, and what the cheap checks refuse is refused unread.
func TestGateHostileBodies(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	hs := serveHTTP(t, s)
	deep := `{"id":` + strings.Repeat("[", 2<<20)
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"text/plain from a web page", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"text/plain", map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"rebound host", map[string]string{"Host": "evil.example"}, http.StatusForbidden},
		{"json", nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, body := post(t, hs.URL+"/mcp", deep, tc.header); code != tc.want {
				t.Errorf("status %d (%.100s), want %d", code, body, tc.want)
			}
		})
	}
	// Params that are not an object get a message without Go type names.
	code, _, body := post(t, hs.URL+"/mcp", `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":"x"}`, map[string]string{"Mcp-Protocol-Version": "2025-06-18"})
	if code != http.StatusBadRequest || !strings.Contains(body, "params must be an object") || strings.Contains(body, "mcp.") {
		t.Errorf("string params: %d %s", code, body)
	}
	// Still serving.
	if code, _, body := post(t, hs.URL+"/mcp", listCall, map[string]string{"Mcp-Protocol-Version": "2025-06-18"}); code != http.StatusOK {
		t.Errorf("after hostile bodies: %d %s", code, body)
	}
}

// Host and Origin checks follow the options: a same-host proxy keeping the
// public Host, and trusted browser origins.
func TestGateHostAndOrigin(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	plain := serveHTTP(t, newServer(t, dsn))
	configured := serveHTTP(t, newServer(t, dsn, doris.WithAllowedHosts("mcp.example.com"), doris.WithTrustedOrigins("https://app.example.com")))
	v := map[string]string{"Mcp-Protocol-Version": "2025-06-18"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"Mcp-Protocol-Version": "2025-06-18"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		url    string
		header map[string]string
		want   int
	}{
		{"loopback host", plain.URL, v, 200},
		{"public host on loopback", plain.URL, with("Host", "mcp.example.com"), 403},
		{"allowed host", configured.URL, with("Host", "mcp.example.com"), 200},
		{"allowed host with port", configured.URL, with("Host", "mcp.example.com:443"), 200},
		{"other host", configured.URL, with("Host", "evil.example"), 403},
		{"cross-origin browser", plain.URL, with("Origin", "https://app.example.com", "Sec-Fetch-Site", "cross-site"), 403},
		{"trusted origin", configured.URL, with("Host", "mcp.example.com", "Origin", "https://app.example.com", "Sec-Fetch-Site", "cross-site"), 200},
		{"untrusted origin", configured.URL, with("Host", "mcp.example.com", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), 403},
	} {
		if code, _, body := post(t, tc.url+"/mcp", listCall, tc.header); code != tc.want {
			t.Errorf("%s: %d (%.100s), want %d", tc.name, code, body, tc.want)
		}
	}
	if _, err := doris.New(doris.WithDSN(dsn), doris.WithTrustedOrigins("not an origin")); err == nil {
		t.Error("a malformed trusted origin was accepted")
	}
}

// A body that never ends is given up after the body timeout: no goroutine
// waits on it for ever, and the host's http.Server.Shutdown finds nothing
// busy.
func TestGateSlowBody(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t), doris.WithHTTPLimits(doris.HTTPLimits{BodyTimeout: 200 * time.Millisecond}))
	hs := serveHTTP(t, s)
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\n", hs.Listener.Addr())
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a body that never ends: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
}

// Limits on calls: per request, and in flight over the Server.
func TestGateCallLimits(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn, doris.WithHTTPLimits(doris.HTTPLimits{MaxBatch: 2}), doris.WithQueryLimits(doris.QueryLimits{MaxInFlight: 1}))
	hs := serveHTTP(t, s)
	batch := `[` + strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"tools/list"},`, 2) + `{"jsonrpc":"2.0","id":3,"method":"tools/list"}]`
	if code, _, body := post(t, hs.URL+"/mcp", batch, map[string]string{"Mcp-Protocol-Version": "2025-03-26"}); code != http.StatusBadRequest || !strings.Contains(body, "at most 2 messages") {
		t.Errorf("batch of 3 calls: %d %s", code, body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A raw request: a client library may send requests of its own.
	long := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + testdb.LongQuery + `","timeout_seconds":120}}}`
	failed := postAsync(ctx, hs.URL+"/mcp", long, map[string]string{"Mcp-Protocol-Version": "2025-06-18"})
	waitFor(t, 5*time.Second, "the query to run", func() bool {
		select {
		case msg := <-failed:
			t.Fatalf("the long call ended: %s", msg)
		default:
		}
		return running(t, db, "seq_1_to_20000") == 1
	})
	code, h, body := post(t, hs.URL+"/mcp", listCall, map[string]string{"Mcp-Protocol-Version": "2025-06-18"})
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "too many calls") {
		t.Errorf("call beyond the in-flight limit: %d %q %s", code, h.Get("Retry-After"), body)
	}
}

// A client that asks for a large result and never reads it releases what
// the response holds after the write timeout.
func TestGateWriteTimeout(t *testing.T) {
	testdb.Parallel(t)
	var logs lockedBuffer
	s := newServer(t, testdb.DSN(t), doris.WithHTTPLimits(doris.HTTPLimits{WriteTimeout: 300 * time.Millisecond}),
		doris.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	hs := serveHTTP(t, s)
	// 12 MB of rows: more than the socket buffers take.
	postUnread(t, hs.Listener.Addr().String(), `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":{`+
		`"sql":"SELECT REPEAT('xxxxxxxxxx', 1500) AS pad, seq FROM seq_1_to_800","max_rows":1000,"max_bytes":16777216}}}`)
	waitFor(t, 5*time.Second, "the call to be admitted", func() bool { return s.InFlight() == 1 })
	waitFor(t, 30*time.Second, "the unread response to be given up", func() bool { return s.InFlight() == 0 })
	// Given up because the write timed out, not for another reason.
	if !strings.Contains(logs.String(), "the write timed out") || !strings.Contains(logs.String(), "write_timeout=300ms") {
		t.Errorf("no write timeout logged:\n%s", logs.String())
	}
}

// A DELETE of a stateful session with calls running cancels them, kills
// their queries and lets each answer its client before the session closes.
func TestStatefulDeleteEndsCalls(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn, doris.WithStatefulSessions(time.Minute))
	hs := serveHTTP(t, s)
	cs := connect(t, context.Background(), hs.URL+"/mcp", nil, "2025-06-18")
	// The response to read is the one on the call's own POST.
	body := `{"jsonrpc":"2.0","id":70,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + testdb.LongQuery + `","timeout_seconds":120}}}`
	out := postAsync(context.Background(), hs.URL+"/mcp", body, map[string]string{"Mcp-Session-Id": cs.ID(), "Mcp-Protocol-Version": "2025-06-18"})
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
	req, _ := http.NewRequest(http.MethodDelete, hs.URL+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", cs.ID())
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := <-out; !strings.Contains(got, "session was deleted") {
		t.Errorf("call of the deleted session: %q, want an error result saying the session was deleted", got)
	}
	waitFor(t, time.Second, "the query to be killed", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
}

// Stateful sessions are bounded in number.
func TestStatefulSessionCap(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t), doris.WithStatefulSessions(time.Minute), doris.WithHTTPLimits(doris.HTTPLimits{MaxSessions: 2}))
	hs := serveHTTP(t, s)
	connect(t, context.Background(), hs.URL+"/mcp", nil, "2025-06-18")
	connect(t, context.Background(), hs.URL+"/mcp", nil, "2025-06-18")
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	code, _, body := post(t, hs.URL+"/mcp", init, nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "too many sessions") {
		t.Errorf("third session: %d %s, want 503 too many sessions", code, body)
	}
	// The go-sdk reads the first value of a body and ignores what follows;
	// the gate refuses what it cannot read to the end.
	for _, tail := range []string{"0", " {}", "]", "\x00"} {
		code, _, body := post(t, hs.URL+"/mcp", init+tail, nil)
		if code != http.StatusBadRequest || !strings.Contains(body, "-32700") {
			t.Errorf("initialize followed by %q: %d %s, want 400 parse error", tail, code, body)
		}
	}
	if n := s.Sessions(); n != 2 {
		t.Errorf("%d sessions open, want 2", n)
	}
}

// Every message of a batch counts against MaxBatch, notifications too.
func TestBatchCountsNotifications(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t), doris.WithHTTPLimits(doris.HTTPLimits{MaxBatch: 4}))
	hs := serveHTTP(t, s)
	note := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`
	batch := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat(note+",", n), ",") + "]" }
	v := map[string]string{"Mcp-Protocol-Version": "2025-03-26"} // the last version with batches
	if code, _, body := post(t, hs.URL+"/mcp", batch(5), v); code != http.StatusBadRequest || !strings.Contains(body, "at most 4 messages") {
		t.Errorf("5 notifications: %d %s, want 400", code, body)
	}
	if code, _, body := post(t, hs.URL+"/mcp", batch(4), v); code != http.StatusAccepted {
		t.Errorf("4 notifications: %d %s, want 202", code, body)
	}
}

// The result budget: a result that a client does not read holds its bytes
// until its response is given up; a call that finds no room meanwhile
// waits briefly, then ends its result early, saying why.
func TestResultBudget(t *testing.T) {
	testdb.Parallel(t)
	// The unread response is held until its client goes away below; the
	// write timeout only bounds a broken test.
	s := newServer(t, testdb.DSN(t), doris.WithQueryLimits(doris.QueryLimits{ResultBudget: 24 << 20}),
		doris.WithHTTPLimits(doris.HTTPLimits{WriteTimeout: time.Minute}))
	hs := serveHTTP(t, s)
	big := `{"sql":"SELECT REPEAT('x', 1500) AS pad, seq FROM seq_1_to_10000","max_rows":10000,"max_bytes":2097152}`
	unread := postUnread(t, hs.Listener.Addr().String(), `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":`+big+`}}`)
	waitFor(t, 5*time.Second, "the unread result to be held", func() bool {
		return s.Stats().ResultMemory >= doris.ResultCost*2<<20 && s.InFlight() == 1
	})

	cs := connect(t, context.Background(), hs.URL+"/mcp", nil, "")
	var args map[string]any
	json.Unmarshal([]byte(big), &args)
	r := mustCall(t, context.Background(), cs, "exec_query", args)
	if !r.Truncated || r.TruncationReason != "server_memory" || r.RowCount == 0 || r.RowCount >= 1390 {
		t.Errorf("a large call with little room: %d rows, truncated %v (%s); want some rows, cut for server memory",
			r.RowCount, r.Truncated, r.TruncationReason)
	}
	unread.Close()
	waitFor(t, 10*time.Second, "the unread response to be given up", func() bool { return s.InFlight() == 0 && s.ResultMemoryHeld() == 0 })
	if r := mustCall(t, context.Background(), cs, "exec_query", args); r.Truncated && r.TruncationReason != "byte_limit" {
		t.Errorf("after the budget freed: %d rows, truncated for %s", r.RowCount, r.TruncationReason)
	}
}

// A stateless client that cancels a call with a notification on a request
// of its own, keeping the call's request open (as the TypeScript SDK does),
// has the call cancelled and its query killed, when the id names exactly
// one call in flight.
func TestStatelessCancelNotification(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn)
	hs := serveHTTP(t, s)
	v := map[string]string{"Mcp-Protocol-Version": "2025-11-25"}
	callBody := func(id int) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"%s","timeout_seconds":120}}}`, id, testdb.LongQuery)
	}
	cancelBody := func(id int) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%d,"reason":"user abort"}}`, id)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	// Two calls with the same id: a cancellation naming it is ambiguous and
	// cancels neither.
	a, b := postAsync(ctx, hs.URL+"/mcp", callBody(5), v), postAsync(ctx, hs.URL+"/mcp", callBody(5), v)
	waitFor(t, 5*time.Second, "both queries to run", func() bool { return running(t, db, "seq_1_to_20000") == 2 })
	if code, _, _ := post(t, hs.URL+"/mcp", cancelBody(5), v); code != http.StatusAccepted {
		t.Fatalf("cancellation: %d", code)
	}
	if n := running(t, db, "seq_1_to_20000"); n != 2 {
		t.Errorf("an ambiguous cancellation stopped %d of 2 queries", 2-n)
	}
	stop()
	<-a
	<-b
	waitFor(t, 5*time.Second, "the queries to end", func() bool { return running(t, db, "seq_1_to_20000") == 0 })

	got := postAsync(context.Background(), hs.URL+"/mcp", callBody(6), v)
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
	post(t, hs.URL+"/mcp", cancelBody(6), v)
	waitFor(t, time.Second, "the cancelled query to leave the engine", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
	if body := <-got; !strings.Contains(body, "cancelled by the client") {
		t.Errorf("the cancelled call answered %q", body)
	}
}

// Results are charged by what they hold, not by their worst case: 64 calls
// at once, each of one row, all run with the default budget on a pool
// large enough for them.
func TestManySmallCallsAtOnce(t *testing.T) {
	testdb.Parallel(t)
	const calls = 64
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	q, release := heldQuery(t, db, 3*time.Second, 2*time.Second)
	s := newServer(t, dsn, doris.WithPoolLimits(doris.PoolLimits{MaxOpen: calls + 8, MaxIdle: 8}))
	hs := serveHTTP(t, s)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + q + `"}}}`
	var outs []<-chan string
	for range calls {
		outs = append(outs, postAsync(context.Background(), hs.URL+"/mcp", body, nil))
	}
	waitFor(t, 10*time.Second, "every call to run in the engine", func() bool { return running(t, db, "seq_1_to_1000") == calls })
	release()
	for i, out := range outs {
		if got := <-out; !strings.Contains(got, `"row_count":1`) {
			t.Errorf("call %d answered %.300s", i, got)
		}
	}
}

// One principal's many slow calls cannot shut another out: the limit on
// calls in flight and the connections are shared, so another principal's
// call is admitted and gets a connection at once.
func TestGreedyPrincipal(t *testing.T) {
	testdb.Parallel(t)
	const greedy = 30
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	q, release := heldQuery(t, db, 4*time.Second, 3*time.Second)
	s := newServer(t, dsn, doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 8, MaxIdle: 8, Wait: time.Second}), doris.WithQueryLimits(doris.QueryLimits{MaxInFlight: 16}),
		doris.WithBearerTokens(
			doris.BearerToken{Token: "greedy-token-0123456789abcdef", Name: "greedy"},
			doris.BearerToken{Token: "modest-token-0123456789abcdef", Name: "modest"},
		))
	hs := serveHTTP(t, s)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + q + `"}}}`
	hdr := map[string]string{"Authorization": "Bearer greedy-token-0123456789abcdef"}
	var outs []<-chan string
	for range greedy {
		outs = append(outs, postAsync(context.Background(), hs.URL+"/mcp", body, hdr))
	}
	// All but a reserve: one of the 8 connections, two of the 16 calls.
	waitFor(t, 10*time.Second, "the greedy calls to hold their share", func() bool { return running(t, db, "seq_1_to_1000") == 7 })

	hc := &http.Client{Transport: tokenTransport{token: "modest-token-0123456789abcdef", base: http.DefaultTransport}}
	cs := connect(t, context.Background(), hs.URL+"/mcp", hc, "")
	r := mustCall(t, context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT name FROM products ORDER BY id LIMIT 2"})
	if r.RowCount != 2 {
		t.Errorf("the other principal's call: %d rows", r.RowCount)
	}
	if n := running(t, db, "seq_1_to_1000"); n != 7 {
		t.Errorf("the greedy calls ended before the other's was answered (%d running): the test proves nothing", n)
	}
	release()
	var busy, ok int
	for _, out := range outs {
		switch got := <-out; {
		case strings.Contains(got, `"row_count":1`):
			ok++
		case strings.Contains(got, "too many calls in flight"), strings.Contains(got, "connections to Doris are busy"):
			busy++
		default:
			t.Errorf("a greedy call answered %.300s", got)
		}
	}
	if ok < 7 || ok+busy != greedy {
		t.Errorf("greedy calls: %d answered, %d refused as busy", ok, busy)
	}
}

// Another principal's DELETE of a stateful session touches nothing: the
// go-sdk refuses it, and the session's calls run on.
func TestStatefulDeleteByAnother(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	q, release := heldQuery(t, db, 2*time.Second, time.Second)
	s := newServer(t, dsn, doris.WithStatefulSessions(time.Minute), doris.WithBearerTokens(
		doris.BearerToken{Token: "owner-token-0123456789abcdef", Name: "owner"},
		doris.BearerToken{Token: "other-token-0123456789abcdef", Name: "other"},
	))
	hs := serveHTTP(t, s)
	hc := &http.Client{Transport: tokenTransport{token: "owner-token-0123456789abcdef", base: http.DefaultTransport}}
	cs := connect(t, context.Background(), hs.URL+"/mcp", hc, "2025-06-18")
	body := `{"jsonrpc":"2.0","id":70,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + q + `"}}}`
	out := postAsync(context.Background(), hs.URL+"/mcp", body, map[string]string{"Mcp-Session-Id": cs.ID(),
		"Mcp-Protocol-Version": "2025-06-18", "Authorization": "Bearer owner-token-0123456789abcdef"})
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_1000") == 1 })
	req, _ := http.NewRequest(http.MethodDelete, hs.URL+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", cs.ID())
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	req.Header.Set("Authorization", "Bearer other-token-0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another principal's DELETE: %d, want 403", resp.StatusCode)
	}
	if n := running(t, db, "seq_1_to_1000"); n != 1 {
		t.Errorf("after another principal's DELETE, %d queries run, want the owner's 1", n)
	}
	release()
	if got := <-out; !strings.Contains(got, `"row_count":1`) {
		t.Errorf("the owner's call answered %.300s", got)
	}
}

// Once draining, GET and DELETE are refused before authentication: no
// token is checked, and no introspection is asked for, for work refused.
func TestDrainingRefusesStreamsUnauthenticated(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t), doris.WithStatefulSessions(time.Minute),
		doris.WithBearerTokens(doris.BearerToken{Token: "owner-token-0123456789abcdef", Name: "owner"}))
	hs := serveHTTP(t, s)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(method, hs.URL+"/mcp", nil)
		req.Header.Set("Mcp-Session-Id", "whatever")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s while draining, without a token: %d, want 503 with Retry-After", method, resp.StatusCode)
		}
	}
}
