package doris_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
)

// ServeTransport returns promptly when its context ends, cancelling the
// calls in flight and killing their queries.
func TestServeTransportContextEnds(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	cs, served := servePipes(t, ctx, s, nil)
	answered := make(chan string, 1)
	go func() {
		_, msg, err := call(context.Background(), cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 120})
		answered <- fmt.Sprint(msg, err)
	}()
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
	start := time.Now()
	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("ServeTransport: %v, want context.Canceled", err)
	}
	// The call was answered, with an error result, before the session closed.
	if got := <-answered; !strings.Contains(got, "session ended") || strings.Contains(got, "connection closed") {
		t.Errorf("the call in flight got %q, want an error result saying the session ended", got)
	}
	waitFor(t, 3*time.Second, "the query to be killed", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
	t.Logf("query gone from the engine %v after the context ended", time.Since(start))
	if n := s.InFlight(); n != 0 {
		t.Errorf("%d calls still counted in flight", n)
	}
}

// lineClient speaks raw JSON-RPC lines to a stream session, so it can send
// what the go-sdk's client never would.
type lineClient struct {
	t     testing.TB
	w     io.Writer
	lines chan string // the server's output, a line at a time; closed at its end
}

func newLineClient(t testing.TB, w io.Writer, r io.Reader) *lineClient {
	c := &lineClient{t: t, w: w, lines: make(chan string, 1024)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	return c
}

// serveLines serves s over a pair of pipes, as ServeStdio serves standard
// input and output, with the given MaxLineLength, and returns a lineClient
// on the other ends. The client's pipes are closed when the test ends.
func serveLines(t testing.TB, ctx context.Context, s *doris.Server, maxLine int) (c *lineClient, input io.Closer, served <-chan error) {
	t.Helper()
	clientR, serverW := io.Pipe()
	serverR, clientW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- s.ServeTransport(ctx, &mcp.IOTransport{Reader: serverR, Writer: serverW, MaxLineLength: maxLine})
	}()
	t.Cleanup(func() {
		clientW.Close()
		clientR.Close()
	})
	return newLineClient(t, clientW, clientR), clientW, done
}

func (c *lineClient) send(lines ...string) {
	c.t.Helper()
	if _, err := io.WriteString(c.w, strings.Join(lines, "\n")+"\n"); err != nil {
		c.t.Fatalf("writing to the server: %v", err)
	}
}

// next returns the server's next line. The bound only keeps a broken
// server from hanging the test.
func (c *lineClient) next() string {
	c.t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			c.t.Fatal("the server closed its output")
		}
		return l
	case <-time.After(30 * time.Second):
		c.t.Fatal("no line from the server in 30 s")
	}
	return ""
}

// lineReply is one JSON-RPC response line, as the server wrote it.
type lineReply struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *jsonrpc.Error  `json:"error"`
	line   string
}

func (r lineReply) id() string { return string(r.ID) }

// reply returns the server's next line, which must be one response.
func (c *lineClient) reply() lineReply {
	c.t.Helper()
	line := c.next()
	var r lineReply
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		c.t.Fatalf("the server wrote %q, not a response: %v", line, err)
	}
	r.line = line
	return r
}

// batchReply returns the server's next line, which must be an array of
// responses, by id.
func (c *lineClient) batchReply() map[string]lineReply {
	c.t.Helper()
	line := c.next()
	var rs []lineReply
	if err := json.Unmarshal([]byte(line), &rs); err != nil {
		c.t.Fatalf("the server wrote %q, not an array of responses: %v", line, err)
	}
	byID := make(map[string]lineReply, len(rs))
	for _, r := range rs {
		byID[r.id()] = r
	}
	return byID
}

// initialize opens the session at protocol version.
func (c *lineClient) initialize(version string) {
	c.t.Helper()
	c.send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"` + version + `","capabilities":{},"clientInfo":{"name":"lines","version":"1"}}}`)
	r := c.reply()
	var res struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if r.Error != nil || json.Unmarshal(r.Result, &res) != nil || res.ProtocolVersion != version {
		c.t.Fatalf("initialize at %s: %s", version, r.line)
	}
	c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

func ping(id string) string { return `{"jsonrpc":"2.0","id":"` + id + `","method":"ping"}` }

func execQuery(id, sql string) string {
	args, _ := json.Marshal(map[string]any{"sql": sql})
	return `{"jsonrpc":"2.0","id":"` + id + `","method":"tools/call","params":{"name":"exec_query","arguments":` + string(args) + `}}`
}

// wantError checks r is an error response with code, for id (a JSON
// value; "null" when the line had none).
func wantError(t testing.TB, r lineReply, code int64, id string) {
	t.Helper()
	if r.Error == nil || r.Error.Code != code || r.id() != id || !strings.Contains(r.line, `"jsonrpc":"2.0"`) {
		t.Errorf("got %s, want a JSON-RPC error %d with id %s", r.line, code, id)
	}
}

// wantRows checks r is the result of an exec_query call with n rows.
func wantRows(t testing.TB, r lineReply, n int) {
	t.Helper()
	var res struct {
		IsError           bool   `json:"isError"`
		StructuredContent result `json:"structuredContent"`
	}
	if r.Error != nil || json.Unmarshal(r.Result, &res) != nil || res.IsError || res.StructuredContent.RowCount != n {
		t.Errorf("got %s, want a result of %d rows", r.line, n)
	}
}

// A line that is not a JSON-RPC message, between two calls on standard
// input, is answered with a parse error and ServeStdio serves on: both
// calls are answered. Closing standard input then ends the session.
func TestServeStdioMalformedLine(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	stdin, stdout := os.Stdin, os.Stdout
	os.Stdin, os.Stdout = inR, outW
	defer func() { os.Stdin, os.Stdout = stdin, stdout }()
	served := make(chan error, 1)
	go func() { served <- s.ServeStdio(context.Background()) }()

	c := newLineClient(t, inW, outR)
	c.initialize("2025-06-18")
	os.Stdin, os.Stdout = stdin, stdout // ServeStdio has taken them
	c.send(execQuery("1", "SELECT 1"), `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":`, execQuery("3", "SELECT 1"))
	got := map[string]lineReply{}
	var order []string
	for range 3 {
		r := c.reply()
		got[r.id()] = r
		order = append(order, r.id())
	}
	wantError(t, got["null"], jsonrpc.CodeParseError, "null")
	wantRows(t, got[`"1"`], 1)
	wantRows(t, got[`"3"`], 1)
	if strings.Join(order, " ") == `"3" null "1"` || strings.Join(order, " ") == `"3" "1" null` {
		t.Errorf("answers in the order %v: the parse error came after the call that followed the line", order)
	}

	inW.Close()
	if err := <-served; err != nil {
		t.Errorf("ServeStdio after standard input closed: %v, want nil", err)
	}
	outW.Close()
}

// Each kind of line the session cannot take is answered with the error
// JSON-RPC defines for it, with the line's id when it has one, and the
// session goes on; a blank line is skipped, a line ending in CRLF taken.
func TestStdioBadLines(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	const maxLine = 256
	c, _, _ := serveLines(t, context.Background(), s, maxLine)
	c.initialize("2025-06-18")
	for i, tc := range []struct {
		name, line string
		code       int64  // 0: a message the session takes
		id         string // the id of the answer, as JSON
	}{
		{"cut short", `{"jsonrpc":"2.0","id":3,"method":"ping"`, jsonrpc.CodeParseError, "null"},
		{"not JSON", `ping please`, jsonrpc.CodeParseError, "null"},
		{"two values", ping("x") + " " + ping("y"), jsonrpc.CodeParseError, "null"},
		{"trailing comma", ping("x") + ",", jsonrpc.CodeParseError, "null"},
		{"space JSON does not know", "\u00a0" + ping("x"), jsonrpc.CodeParseError, "null"},
		{"longer than the bound", `{"jsonrpc":"2.0","id":"x","method":"ping","params":{"pad":"` + strings.Repeat("x", maxLine) + `"}}`, jsonrpc.CodeParseError, "null"},
		{"wrong version", `{"jsonrpc":"1.0","id":3,"method":"ping"}`, jsonrpc.CodeInvalidRequest, "3"},
		{"wrong version, string id", `{"jsonrpc":"1.0","id":"a-3","method":"ping"}`, jsonrpc.CodeInvalidRequest, `"a-3"`},
		{"method not a string", `{"jsonrpc":"2.0","id":4,"method":5}`, jsonrpc.CodeInvalidRequest, "4"},
		{"id an object", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, jsonrpc.CodeInvalidRequest, "null"},
		{"a number", `42`, jsonrpc.CodeInvalidRequest, "null"},
		{"null", `null`, jsonrpc.CodeInvalidRequest, "null"},
		{"response without id", `{"jsonrpc":"2.0","result":{}}`, jsonrpc.CodeInvalidRequest, "null"},
		{"empty batch", `[]`, jsonrpc.CodeInvalidRequest, "null"},
		{"blank", " \t ", 0, ""},
		{"CRLF", ping("crlf") + "\r", 0, `"crlf"`},
		{"space around", "  " + ping("spaced") + "\t", 0, `"spaced"`},
		{"within the bound", `{"jsonrpc":"2.0","id":"long","method":"ping","params":{"pad":"` + strings.Repeat("x", maxLine-70) + `"}}`, 0, `"long"`},
	} {
		after := fmt.Sprintf(`"after-%d"`, i)
		c.send(tc.line, ping(strings.Trim(after, `"`)))
		// An error is written before the next line is read; two calls
		// are answered in either order.
		want := map[string]bool{after: true}
		switch {
		case tc.code != 0:
			wantError(t, c.reply(), tc.code, tc.id)
		case tc.id != "":
			want[tc.id] = true
		}
		for range want {
			if r := c.reply(); r.Error != nil || !want[r.id()] {
				t.Fatalf("%s: got %s, want a result for one of %v", tc.name, r.line, want)
			}
		}
	}
}

// Garbage arriving while a call runs neither ends the session nor loses
// the call: the garbage gets its parse error, a call sent after it its
// result, and the slow call its result when it is done.
func TestStdioGarbageWhileCallInFlight(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	q := slowQuery(t, db, 500*time.Millisecond, 500*time.Millisecond)
	s := newServer(t, dsn)
	c, _, _ := serveLines(t, context.Background(), s, 0)
	c.initialize("2025-06-18")
	c.send(execQuery("slow", q))
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_1000") == 1 })
	c.send(`{"jsonrpc":"2.0","id":"garbage",`, execQuery("quick", "SELECT 1"))
	got := map[string]lineReply{}
	for range 3 {
		r := c.reply()
		got[r.id()] = r
	}
	wantError(t, got["null"], jsonrpc.CodeParseError, "null")
	wantRows(t, got[`"quick"`], 1)
	wantRows(t, got[`"slow"`], 1)
}

// When the client closes its input with a call in flight, the call is
// cancelled, its query killed, and its error result written before the
// session ends.
func TestStdioInputClosedAnswersCallInFlight(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn)
	c, input, served := serveLines(t, context.Background(), s, 0)
	c.initialize("2025-06-18")
	c.send(execQuery("long", testdb.LongQuery))
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
	input.Close()
	r := c.reply()
	var res struct {
		IsError bool `json:"isError"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if r.id() != `"long"` || json.Unmarshal(r.Result, &res) != nil || !res.IsError || len(res.Content) == 0 ||
		!strings.Contains(res.Content[0].Text, doris.ErrInputClosed.Error()) {
		t.Errorf("got %s, want an error result saying the client closed its input", r.line)
	}
	if err := <-served; err != nil {
		t.Errorf("ServeTransport: %v, want nil", err)
	}
	waitFor(t, 5*time.Second, "the query to be killed", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
}

// Batches follow the go-sdk for the negotiated protocol: before 2025-06-18
// a batch's calls are answered with one array (its notifications need no
// answer), and a batch the go-sdk would end the session over is refused
// instead; from 2025-06-18 every batch is refused, and the session goes on.
func TestStdioBatch(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	db := openDB(t, dsn)
	s := newServer(t, dsn)

	t.Run("2025-03-26", func(t *testing.T) {
		c, _, _ := serveLines(t, context.Background(), s, 0)
		c.initialize("2025-03-26")
		c.send(`[` + ping("a") + `,{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"gone"}},` + ping("b") + `]`)
		got := c.batchReply()
		if len(got) != 2 || got[`"a"`].Error != nil || got[`"b"`].Error != nil || got[`"a"`].Result == nil || got[`"b"`].Result == nil {
			t.Errorf("got %v, want the results of calls a and b in one array", got)
		}

		deep := `{"jsonrpc":"2.0","id":"deep","method":"ping","params":{"x":` + strings.Repeat("[", doris.MaxNesting-2) + strings.Repeat("]", doris.MaxNesting-2) + `}}`
		for _, bad := range []string{
			`[` + ping("c") + `,` + ping("c") + `]`, // an id used twice
			`[` + ping("d") + `,42]`,                // an element not a message
			`[` + deep + `]`,                        // nested too deep as a whole
		} {
			c.send(bad, ping("alive"))
			wantError(t, c.reply(), jsonrpc.CodeInvalidRequest, "null")
			if r := c.reply(); r.id() != `"alive"` || r.Error != nil {
				t.Fatalf("after %.40s…: got %s, want the ping's result", bad, r.line)
			}
		}

		// An id still in use by a batch in flight.
		q := slowQuery(t, db, 500*time.Millisecond, 500*time.Millisecond)
		c.send(`[` + execQuery("s", q) + `]`)
		waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_1000") == 1 })
		c.send(`[`+ping("s")+`]`, ping("alive"))
		wantError(t, c.reply(), jsonrpc.CodeInvalidRequest, "null")
		if r := c.reply(); r.id() != `"alive"` {
			t.Fatalf("got %s, want the ping's result", r.line)
		}
		got = c.batchReply()
		if len(got) != 1 {
			t.Fatalf("got %v, want the slow call's result alone in an array", got)
		}
		wantRows(t, got[`"s"`], 1)
		// Answered, its id is free again.
		c.send(`[` + ping("s") + `]`)
		if got := c.batchReply(); len(got) != 1 || got[`"s"`].Error != nil {
			t.Errorf("got %v, want the result of ping s", got)
		}
	})

	t.Run("2025-06-18", func(t *testing.T) {
		c, _, _ := serveLines(t, context.Background(), s, 0)
		c.initialize("2025-06-18")
		c.send(`[`+ping("a")+`,`+ping("b")+`]`, ping("alive"))
		r := c.reply()
		wantError(t, r, jsonrpc.CodeInvalidRequest, "null")
		if !strings.Contains(r.line, "no JSON-RPC batches") {
			t.Errorf("got %s, want an error saying the protocol has no batches", r.line)
		}
		if r := c.reply(); r.id() != `"alive"` {
			t.Errorf("got %s, want the ping's result", r.line)
		}
	})
}

// The session's answers and the line reader's errors share one output:
// with calls answered concurrently and garbage between them, every line
// written is one whole message.
func TestStdioLinesDoNotInterleave(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	c, _, _ := serveLines(t, context.Background(), s, 0)
	c.initialize("2025-06-18")
	const n = 200
	var lines []string
	for i := range n {
		lines = append(lines, ping(fmt.Sprint(i)), `{"garbage":`+strings.Repeat(" ", i))
	}
	c.send(lines...)
	results, errs := 0, 0
	for range 2 * n {
		line := c.next()
		var r lineReply
		if !json.Valid([]byte(line)) || json.Unmarshal([]byte(line), &r) != nil {
			t.Fatalf("line %q is not one JSON-RPC message", line)
		}
		switch {
		case r.Error != nil && r.Error.Code == jsonrpc.CodeParseError && r.id() == "null":
			errs++
		case r.Error == nil && r.Result != nil:
			results++
		default:
			t.Errorf("unexpected line %s", line)
		}
	}
	if results != n || errs != n {
		t.Errorf("%d results and %d parse errors, want %d of each", results, errs, n)
	}
}
