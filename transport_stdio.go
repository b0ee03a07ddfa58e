package doris

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/telemetry"

	"github.com/dorismcp/doris/internal/admit"
)

// ServeStdio serves one MCP session over standard input and output until
// the client closes its end (nil), ctx ends (ctx.Err()) or Shutdown closes
// the session ([ErrServerClosed]). Whatever ends the session, the calls in
// flight are answered before it closes: Shutdown drains them as it
// documents; when the client closes its end or ctx ends they are cancelled,
// their queries killed, and each answers with an error result (when ctx
// ends, within a short grace for a call that ignores cancellation). Nothing
// but MCP messages is written to standard output.
//
// Standard input is read a line at a time, each line one JSON-RPC message,
// or a batch of them at protocol versions before 2025-06-18. A line that is
// not JSON is answered with a parse error (-32700), and one that is JSON
// but not a message the session can take with an invalid-request error
// (-32600), carrying the line's id when it has one; the session goes on.
// So does it after a line longer than [mcp.DefaultMaxLineLength], which is
// answered with a parse error and skipped.
//
// Closing the session closes standard input, as the go-sdk's stdio
// transport does.
func (s *Server) ServeStdio(ctx context.Context) error {
	return s.ServeTransport(ctx, &mcp.StdioTransport{})
}

// ServeTransport is [Server.ServeStdio] over any go-sdk transport: one MCP
// session over t (pipes, an in-memory transport, a connection the host
// accepted), with the same results and the same shutdown behaviour. Over
// the go-sdk's newline-delimited streams, [mcp.StdioTransport] and
// [mcp.IOTransport], lines are read as ServeStdio reads them, their
// MaxLineLength bounding a line (zero: [mcp.DefaultMaxLineLength];
// negative: no bound).
func (s *Server) ServeTransport(ctx context.Context, t mcp.Transport) error {
	if s.gate.IsClosed() {
		return ErrServerClosed
	}
	t, lines := lineTransport(t, s.log)
	// Closing a session waits for its handlers: when ctx ends they are
	// cancelled first, through the same merge as Shutdown's hard stop. The
	// stop travels in the context the session is connected with, so it
	// reaches even a call read before Connect returns.
	stop, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	cctx := admit.WithCarrier(ctx, admit.Carrier{Ctx: stop, Cause: func() error { return context.Cause(stop) }})
	cctx = telemetry.WithTransport(cctx, telemetry.TransportPipe)
	tt := &trackedTransport{Transport: t, gate: &s.gate, limit: s.cfg.query.MaxInFlight, lines: lines,
		stop: func(err error) { cancel(fmt.Errorf("session ended: %w", err)) }}
	ss, err := s.mcp.Connect(cctx, tt, nil)
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
		// The go-sdk writes nothing once the session is closing: let the
		// cancelled calls' error results out first, within one grace.
		wctx, wcancel := context.WithTimeout(context.Background(), s.grace)
		tt.conn.wait(wctx)
		wcancel()
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
	limit int               // calls in flight, over the whole Server
	lines *lineReader       // the stream's reader, when it is read by lines
	stop  func(cause error) // cancels the session's calls

	conn *trackedConn // set by Connect
}

func (t *trackedTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.Transport.Connect(ctx)
	if err != nil {
		return nil, err
	}
	t.conn = &trackedConn{Connection: c, gate: t.gate, limit: t.limit, lines: t.lines, stop: t.stop, pending: make(map[jsonrpc.ID]int), dups: make(map[jsonrpc.ID]int)}
	return t.conn, nil
}

type trackedConn struct {
	mcp.Connection
	gate  *admit.Gate
	limit int
	lines *lineReader       // nil unless the stream is read by lines
	stop  func(cause error) // cancels the session's calls; may be nil

	mu sync.Mutex
	// pending counts, per id, the calls admitted and not yet answered; dups
	// those of them read while another call with the same id was pending.
	// The go-sdk answers such a duplicate with an error response without an
	// id, unless the first call's response was on its way, in which case it
	// runs the second as a call of its own: either way, exactly one
	// response ends each admitted call.
	pending map[jsonrpc.ID]int
	dups    map[jsonrpc.ID]int
	n       int           // admitted, unanswered calls in all
	idle    chan struct{} // closed when n drops to zero or the conn closes; nil while nobody waits
	closed  bool
	// initID is the id of the initialize call whose response, when the
	// stream is read by lines, tells lines the negotiated protocol version.
	initID jsonrpc.ID
}

func (c *trackedConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	for {
		msg, err := c.Connection.Read(ctx)
		if err != nil {
			// Once Read fails the go-sdk writes none of the responses of
			// the calls in flight. Nobody is left to send another call:
			// cancel them, killing their queries, and let their error
			// results be written first. Closing the conn, which Shutdown
			// and a broken output lead to, ends the wait.
			if c.stop != nil {
				cause := err
				if errors.Is(err, io.EOF) {
					cause = errInputClosed
				}
				c.stop(cause)
			}
			c.wait(context.Background())
			return nil, err
		}
		req, ok := msg.(*jsonrpc.Request)
		if !ok || !req.IsCall() || req.Method == methodListen {
			return msg, nil
		}
		c.mu.Lock()
		closed := c.closed
		if c.lines != nil && req.Method == "initialize" {
			c.initID = req.ID
		}
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
	resp, ok := msg.(*jsonrpc.Response)
	if ok {
		c.noteInitialized(resp)
	}
	err := c.Connection.Write(ctx, msg)
	if ok && c.answered(resp.ID) {
		c.gate.Leave()
	}
	return err
}

// noteInitialized tells the line reader, if any, the protocol version in
// the response to initialize, before the client can read it.
func (c *trackedConn) noteInitialized(resp *jsonrpc.Response) {
	if c.lines == nil {
		return
	}
	c.mu.Lock()
	init := c.initID.IsValid() && resp.ID == c.initID
	if init {
		c.initID = jsonrpc.ID{}
	}
	c.mu.Unlock()
	if init && resp.Error == nil {
		var r struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		if json.Unmarshal(resp.Result, &r) == nil {
			c.lines.negotiated(r.ProtocolVersion)
		}
	}
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
	if c.n == 0 {
		c.wakeLocked()
	}
	return true
}

// wait returns once every call admitted on c has been answered or c is
// closed, or when ctx ends.
func (c *trackedConn) wait(ctx context.Context) {
	c.mu.Lock()
	if c.n == 0 || c.closed {
		c.mu.Unlock()
		return
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	idle := c.idle
	c.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

func (c *trackedConn) wakeLocked() {
	if c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
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
	c.wakeLocked()
	c.mu.Unlock()
	c.gate.LeaveN(n)
	return err
}

// errInputClosed is why calls in flight are cancelled when the client
// closes its end of a stream.
var errInputClosed = errors.New("the client closed its input")

// Protocol facts the line reader holds to the go-sdk's.
const (
	// noBatchVersion is the first protocol version without JSON-RPC
	// batches; the go-sdk refuses a batch from then on.
	noBatchVersion = "2025-06-18"
	// maxNesting bounds the nesting of objects and arrays in a line, as
	// the go-sdk bounds a message's.
	maxNesting = 1000
)

// lineTransport reads the go-sdk's newline-delimited transports through a
// lineReader. The go-sdk decodes such a stream as one sequence of JSON
// values and ends the session at the first that is not a message it can
// take, dropping the responses of the calls in flight; the lineReader
// hands it only lines it will take and answers every other line itself.
// Other transports are returned as they are.
func lineTransport(t mcp.Transport, log *slog.Logger) (mcp.Transport, *lineReader) {
	var (
		r     io.ReadCloser
		w     io.WriteCloser
		limit int
	)
	switch t := t.(type) {
	case *mcp.StdioTransport:
		r, w, limit = os.Stdin, nopWriteCloser{os.Stdout}, t.MaxLineLength
	case *mcp.IOTransport:
		r, w, limit = t.Reader, t.Writer, t.MaxLineLength
	default:
		return t, nil
	}
	if limit == 0 {
		limit = mcp.DefaultMaxLineLength
	}
	out := &lineWriter{w: w}
	lr := &lineReader{src: bufio.NewReaderSize(r, 64<<10), rc: r, out: out, max: limit, log: log, open: make(map[jsonrpc.ID]struct{})}
	out.batchAnswered = lr.batchAnswered
	// The lines handed on are bounded already.
	return &mcp.IOTransport{Reader: lr, Writer: out, MaxLineLength: -1}, lr
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// lineWriter is the one writer of a stream's output, shared by the go-sdk
// and the lineReader's answers. Each of them writes a whole line in one
// Write, which lineWriter serializes, so lines never interleave; once it is
// closed no more writes begin.
type lineWriter struct {
	mu     sync.Mutex
	w      io.WriteCloser
	closed atomic.Bool
	// batchAnswered sees each array the go-sdk writes, the answer to a
	// batch, before the client can.
	batchAnswered func(line []byte)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return 0, io.ErrClosedPipe
	}
	if len(p) > 0 && p[0] == '[' && w.batchAnswered != nil {
		w.batchAnswered(p)
	}
	return w.w.Write(p)
}

// Close does not wait for a Write in progress: it may be blocked on a
// reader that is gone, and closing may be what ends it.
func (w *lineWriter) Close() error {
	if w.closed.Swap(true) {
		return nil
	}
	return w.w.Close()
}

// lineReader reads a stream a line at a time for the go-sdk's decoder: a
// line holding one JSON-RPC message, or a batch the go-sdk takes, is passed
// on; any other line is answered on the output with a JSON-RPC error and
// dropped. Read is called by the go-sdk's one reading goroutine; the rest
// is safe for concurrent use.
type lineReader struct {
	src *bufio.Reader
	rc  io.Closer
	out *lineWriter
	max int // the longest line taken, in bytes, without its end; negative: no bound
	log *slog.Logger

	line []byte // the line being read
	next []byte // what is passed on and not yet read
	err  error  // the read error to return once next is read

	mu      sync.Mutex
	version string                  // the negotiated protocol version, once known
	open    map[jsonrpc.ID]struct{} // calls of batches passed on and not yet answered
}

func (r *lineReader) Read(p []byte) (int, error) {
	for len(r.next) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		line, long, err := r.readLine()
		r.err = err
		if long {
			err = r.reply(jsonrpc.ID{}, jsonrpc.CodeParseError, fmt.Sprintf("parse error: line longer than %d bytes", r.max))
		} else {
			err = r.take(line)
		}
		if err != nil {
			return 0, err
		}
	}
	n := copy(p, r.next)
	r.next = r.next[n:]
	return n, nil
}

func (r *lineReader) Close() error { return r.rc.Close() }

// readLine reads the next line, without its end. Past the bound it keeps
// reading to the end of the line but holds none of it, and reports long.
func (r *lineReader) readLine() (line []byte, long bool, err error) {
	if cap(r.line) > 1<<20 {
		r.line = nil // keep no long line's room
	}
	r.line = r.line[:0]
	for {
		chunk, err := r.src.ReadSlice('\n')
		if !long {
			r.line = append(r.line, chunk...)
			if r.max >= 0 && len(r.line)-len("\r\n") > r.max {
				long, r.line = true, r.line[:0]
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(r.line, []byte("\n")), []byte("\r"))
		if r.max >= 0 && len(line) > r.max {
			long = true
		}
		return line, long, err
	}
}

// take passes line on, or answers it.
func (r *lineReader) take(line []byte) error {
	// JSON's whitespace only: the go-sdk's decoder takes no other.
	line = bytes.Trim(line, " \t\r\n")
	switch {
	case len(line) == 0:
		return nil // the go-sdk skips blank lines too
	case !json.Valid(line):
		return r.reply(jsonrpc.ID{}, jsonrpc.CodeParseError, "parse error: not a JSON value")
	case line[0] == '[':
		return r.batch(line)
	case string(line) == "null": // the go-sdk would read an empty batch
		return r.reply(jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, "invalid request: null")
	}
	if _, err := jsonrpc.DecodeMessage(line); err != nil {
		return r.reply(lineID(line), jsonrpc.CodeInvalidRequest, "invalid request: "+err.Error())
	}
	r.next = append(line, '\n')
	return nil
}

// batch passes on a batch the go-sdk takes as it takes it, or answers it.
// The go-sdk answers a batch's calls with one array once all are answered;
// it takes no batch from protocol version 2025-06-18, and ends the session
// over a batch with an id used twice or still held by an earlier batch
// (open, here). It would also wait, in vain, for an answer to a
// notification in a batch: the notifications and responses of a batch are
// passed on as lines of their own, those before its first call ahead of
// the calls.
func (r *lineReader) batch(line []byte) error {
	r.mu.Lock()
	version := r.version
	r.mu.Unlock()
	if version >= noBatchVersion {
		return r.reply(jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, "invalid request: protocol version "+version+" has no JSON-RPC batches")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(line, &elems); err != nil || len(elems) == 0 {
		return r.reply(jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, "invalid request: an empty batch")
	}
	if nesting(line) > maxNesting {
		return r.reply(jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, fmt.Sprintf("invalid request: nested deeper than %d", maxNesting))
	}
	var (
		calls, before, after [][]byte
		ids                  []jsonrpc.ID
	)
	for i, raw := range elems {
		msg, err := jsonrpc.DecodeMessage(raw)
		if err != nil {
			return r.reply(jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, fmt.Sprintf("invalid request: batch element %d: %v", i, err))
		}
		switch req, ok := msg.(*jsonrpc.Request); {
		case ok && req.IsCall():
			calls = append(calls, raw)
			ids = append(ids, req.ID)
		case len(calls) == 0:
			before = append(before, raw)
		default:
			after = append(after, raw)
		}
	}
	r.mu.Lock()
	seen := make(map[jsonrpc.ID]bool, len(ids))
	for _, id := range ids {
		_, open := r.open[id]
		if seen[id] || open {
			r.mu.Unlock()
			return r.reply(jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, fmt.Sprintf("invalid request: batch: id %v is already in use", id.Raw()))
		}
		seen[id] = true
	}
	for _, id := range ids {
		r.open[id] = struct{}{}
	}
	r.mu.Unlock()

	var next []byte
	for _, raw := range before {
		next = append(append(next, raw...), '\n')
	}
	if len(calls) > 0 {
		next = append(next, '[')
		next = append(next, bytes.Join(calls, []byte(","))...)
		next = append(next, "]\n"...)
	}
	for _, raw := range after {
		next = append(append(next, raw...), '\n')
	}
	r.next = next
	return nil
}

// batchAnswered frees the ids of the calls answered in line, the answer to
// a batch. The go-sdk frees each as its call is answered, before it writes
// the batch's answer, so the ids held here are always a superset of its.
func (r *lineReader) batchAnswered(line []byte) {
	var resps []struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(line, &resps) != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, resp := range resps {
		if id, err := jsonrpc.MakeID(resp.ID); err == nil {
			delete(r.open, id)
		}
	}
}

// negotiated records the protocol version initialize settled on.
func (r *lineReader) negotiated(version string) {
	r.mu.Lock()
	r.version = version
	r.mu.Unlock()
}

// reply answers a line that is not passed on. It writes one line, through
// the writer the session's messages go through.
func (r *lineReader) reply(id jsonrpc.ID, code int64, message string) error {
	r.log.Debug("stream line answered with an error", "code", code, "err", message)
	b, err := json.Marshal(struct {
		JSONRPC string         `json:"jsonrpc"`
		ID      any            `json:"id"`
		Error   *jsonrpc.Error `json:"error"`
	}{"2.0", id.Raw(), &jsonrpc.Error{Code: code, Message: message}})
	if err != nil {
		return err
	}
	_, err = r.out.Write(append(b, '\n'))
	return err
}

// lineID is the id of a JSON object that is not a valid message, if it
// has one the go-sdk could read.
func lineID(line []byte) jsonrpc.ID {
	var fields map[string]json.RawMessage
	if json.Unmarshal(line, &fields) != nil {
		return jsonrpc.ID{}
	}
	var v any
	if json.Unmarshal(fields["id"], &v) != nil {
		return jsonrpc.ID{}
	}
	id, err := jsonrpc.MakeID(v)
	if err != nil {
		return jsonrpc.ID{}
	}
	return id
}

// nesting is how deeply objects and arrays nest in a JSON value.
func nesting(data []byte) int {
	var depth, deepest int
	inString, escaped := false, false
	for _, b := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}
