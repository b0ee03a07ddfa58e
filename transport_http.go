package doris

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/envelope"

	"github.com/dorismcp/doris/internal/admit"
)

// methodListen is the long-lived subscription request of MCP 2026-07-28; it
// is not work to drain, it ends when its session closes.
const methodListen = "subscriptions/listen"

// Handler returns the Streamable HTTP MCP endpoint. Mount it on any path of
// any mux; the host owns the listener. Requests pass, in order, the cheap
// checks (DNS-rebinding Host check, cross-origin check, the bearer token or,
// with no authentication configured, the loopback-only default; content
// type and length), the body read (bounded in size and time), the scope
// check of tool calls, the shutdown gate and the limit on calls in flight,
// and the go-sdk transport, whose response writes are bounded in time.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) newHTTPHandler() (http.Handler, error) {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.cfg.trustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("WithTrustedOrigins: %w", err)
		}
	}
	opts := mcp.StreamableHTTPOptions{
		Stateless:      !s.cfg.stateful,
		SessionTimeout: s.cfg.idle,
		Logger:         sdkLogger(s.log),
		// A client of MCP 2026-07-28 cancels a call by closing its
		// request: that must cancel the handler, and so kill the query.
		PropagateRequestCancellation: true,
		// The gate checks Host and Origin itself, before reading bodies.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        s.cfg.http.MaxBodyBytes,
	}
	getServer := func(*http.Request) *mcp.Server { return s.mcp }
	g := &gateHandler{s: s, cop: cop, next: mcp.NewStreamableHTTPHandler(getServer, &opts)}
	if !s.cfg.stateful {
		// Calls that send nothing before their response are answered as
		// plain JSON: no event-stream framing to write or parse.
		opts.JSONResponse = true
		g.plain = mcp.NewStreamableHTTPHandler(getServer, &opts)
	}
	if s.auth.on {
		g.authed = auth.RequireBearerToken(s.auth.verify, &auth.RequireBearerTokenOptions{
			// Expiry is the verifier's business: static tokens may have
			// none, and JWTs are checked with the configured leeway.
			AllowMissingExpiration: true,
			ClockSkew:              s.auth.leeway,
		})(http.HandlerFunc(g.serve))
	}
	return g, nil
}

// gateHandler admits HTTP work. It refuses what it can tell is unwanted
// before reading a body; a POST carrying calls then counts as work in
// flight, per call, until its response has been written, so Shutdown's
// drain ends only once every admitted call was answered. Once the gate
// closes, new calls, GET streams and DELETEs get 503; POSTs carrying only
// notifications (a cancellation, say) still pass.
type gateHandler struct {
	s    *Server
	cop  *http.CrossOriginProtection
	next http.Handler
	// plain answers with application/json instead of an event stream, for
	// stateless calls that send no notification before their response.
	plain http.Handler
	// authed is the go-sdk's bearer check in front of serve; nil without
	// authentication.
	authed http.Handler
}

func (h *gateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.s.hostAllowed(r) {
		http.Error(w, "Forbidden: invalid Host header", http.StatusForbidden)
		return
	}
	if err := h.cop.Check(r); err != nil {
		http.Error(w, "Forbidden: cross-origin request", http.StatusForbidden)
		return
	}
	// Once draining, nothing but POSTs (which may carry cancellations)
	// passes: no authentication is worth doing for a stream or a DELETE
	// that will be refused.
	if r.Method != http.MethodPost && h.s.gate.IsClosed() {
		h.s.refuse(w, jsonrpc.ID{})
		return
	}
	// Authentication comes before the content checks, so the body of an
	// unauthenticated request is never read.
	if h.authed != nil {
		refused := func(reason string) { h.s.cfg.tel.AuthFailed(r.Context(), reason) }
		h.authed.ServeHTTP(&challengeWriter{ResponseWriter: w, a: h.s.auth, credentials: r.Header.Get("Authorization") != "", refused: refused}, r)
		return
	}
	if !h.s.auth.insecure && !arrivedOnLoopback(r) {
		h.s.cfg.tel.AuthFailed(r.Context(), "not_loopback")
		http.Error(w, "Forbidden: no authentication is configured, so only loopback requests are served; configure authentication, or WithInsecureNoAuth to serve without it", http.StatusForbidden)
		return
	}
	h.serve(w, r)
}

// serve is the gate past authentication.
func (h *gateHandler) serve(w http.ResponseWriter, r *http.Request) {
	if cw, ok := w.(*challengeWriter); ok {
		w = cw.ResponseWriter
	}
	w = &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: h.s.cfg.http.WriteTimeout}
	if r.Method != http.MethodPost {
		if h.s.gate.IsClosed() {
			h.s.refuse(w, jsonrpc.ID{})
			return
		}
		if r.Method == http.MethodDelete && h.s.cfg.stateful {
			// The session's calls end first, each answering its client, so
			// no response is lost when the session closes.
			h.s.sessions.end(r.Context(), r.Header.Get(sessionIDHeader), requester(r))
		}
		h.stream(w, r)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	limit := h.s.cfg.http.MaxBodyBytes
	if r.ContentLength > limit {
		http.Error(w, "request body exceeds "+strconv.FormatInt(limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := h.s.readBody(w, r)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			http.Error(w, "request body exceeds "+strconv.FormatInt(mbe.Limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
		case errors.Is(err, os.ErrDeadlineExceeded):
			http.Error(w, "request body not received within "+h.s.cfg.http.BodyTimeout.String(), http.StatusRequestTimeout)
		default:
			http.Error(w, "reading request body failed", http.StatusBadRequest)
		}
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	in := inspect(body)
	if in.unreadable {
		// What the gate cannot read completely is refused, never guessed
		// at: the transport might read it as something else.
		h.s.refuseWith(w, jsonrpc.ID{}, http.StatusBadRequest, parseError)
		return
	}
	if in.messages > h.s.cfg.http.MaxBatch {
		http.Error(w, fmt.Sprintf("a request may carry at most %d messages, this one has %d", h.s.cfg.http.MaxBatch, in.messages), http.StatusBadRequest)
		return
	}
	if missing := h.s.auth.refusedScopes(r.Context(), in.tools); len(missing) > 0 {
		h.s.cfg.tel.AuthFailed(r.Context(), "insufficient_scope")
		w.Header().Set("WWW-Authenticate", h.s.auth.challenge("insufficient_scope", missing))
		http.Error(w, "insufficient scope", http.StatusForbidden)
		return
	}
	if in.badParams {
		// Answered here: the transport's own message names Go types.
		h.s.refuseWith(w, in.id, http.StatusBadRequest, badParams)
		return
	}
	sid := r.Header.Get(sessionIDHeader)
	if in.initialize && h.s.cfg.stateful && sid == "" && h.s.sessionCount() >= h.s.cfg.http.MaxSessions {
		h.s.log.Warn("session refused: too many sessions", "max", h.s.cfg.http.MaxSessions)
		h.s.refuseWith(w, in.id, http.StatusServiceUnavailable, tooManySessions)
		return
	}
	switch {
	case in.calls > 0:
		who := requester(r)
		if h.s.gate.EnterN(in.calls, 0) == admit.Closed {
			h.s.refuse(w, in.id)
			return
		}
		defer h.s.gate.LeaveN(in.calls)
		// The limit on calls in flight is shared fairly between principals.
		if !h.s.inflight.TryAcquire(who, int64(in.calls)) {
			h.s.busy(w, in.id)
			return
		}
		defer h.s.inflight.Release(who, int64(in.calls))
		if h.s.cfg.stateful && sid != "" {
			defer h.s.sessions.post(sid)()
		}
		if !h.s.cfg.stateful {
			// The results of a stateless request's calls are held until
			// their response has been written.
			charge := h.s.budget.Charge(who)
			defer charge.Release()
			// A stateless call can only be answered on its own request: once
			// the request ends, nobody will read the response, so the call is
			// cancelled. The go-sdk does this only for MCP 2026-07-28.
			// Clients that cancel with a notification on another request are
			// matched by the call's id (see statelessCalls).
			cctx, cancel := context.WithCancelCause(r.Context())
			defer cancel(nil)
			if in.calls == 1 {
				defer h.s.stateless.add(callKey(r, in.rawID), cancel)()
			}
			// Only the calls' contexts end with cctx: the request's own must
			// live on to carry their answers.
			ctx := withCarrier(r.Context(), carrier{cctx, func() error {
				if c := context.Cause(cctx); c != context.Canceled {
					return c
				}
				return errRequestClosed
			}})
			r = r.WithContext(withCharge(ctx, charge))
		}
	case len(in.cancels) > 0 && !h.s.cfg.stateful && (h.s.auth.on || !h.s.auth.insecure):
		for _, id := range in.cancels {
			h.s.stateless.cancel(callKey(r, id))
		}
	case in.listen:
		if h.s.gate.IsClosed() {
			h.s.refuse(w, in.id)
			return
		}
		h.stream(w, r)
		return
	}
	if h.plain != nil && in.calls == 1 && in.single && h.s.quiet(in.method, in.tool) {
		h.plain.ServeHTTP(w, r)
		return
	}
	h.next.ServeHTTP(w, r)
}

// quiet reports whether a call of method (and tool, for tools/call) sends
// nothing to its client before its response: the library's own tools
// never send progress, logs or requests; tools a host adds may.
func (s *Server) quiet(method, tool string) bool {
	switch method {
	case "tools/call":
		return s.builtin[tool]
	case "tools/list", "ping":
		return true
	}
	return false
}

// hostAllowed is the DNS-rebinding check. With allowed hosts configured,
// the Host header must be one of them. Otherwise, as the go-sdk does, a
// request that arrived on a loopback address must name a loopback host: a
// web page whose name was rebound to 127.0.0.1 cannot.
func (s *Server) hostAllowed(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if len(s.cfg.allowedHosts) > 0 {
		for _, a := range s.cfg.allowedHosts {
			if strings.EqualFold(a, host) || strings.EqualFold(a, r.Host) {
				return true
			}
		}
		return false
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil || !isLoopback(local.String()) {
		return true
	}
	return isLoopback(host)
}

func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readBody reads a POST body within the body size and time limits.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(s.cfg.http.BodyTimeout)); err == nil {
		// Cleared after: the server watches the connection for the
		// client going away while the call runs.
		defer rc.SetReadDeadline(time.Time{})
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.http.MaxBodyBytes))
}

// deadlineWriter bounds each write of a response in time, so a client that
// stops reading releases what its response holds.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	defer w.rc.SetWriteDeadline(time.Time{})
	return w.ResponseWriter.Write(p)
}

func (w *deadlineWriter) Flush() {
	w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	defer w.rc.SetWriteDeadline(time.Time{})
	w.rc.Flush()
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errRequestClosed is the cause of calls cancelled because the client
// closed the HTTP request that carried them.
var errRequestClosed = errors.New("the client closed the request")

// errCancelledByClient is the cause of calls a client cancelled with a
// notification.
var errCancelledByClient = errors.New("cancelled by the client")

// statelessCalls finds the stateless calls in flight by who sent them and
// their JSON-RPC id, for clients (the TypeScript SDK, say) that cancel a
// call with a notifications/cancelled on a request of its own while the
// call's request stays open. Without a session, only the principal and the
// id tell calls apart: a cancellation is honoured when exactly one call in
// flight matches it, and never for anonymous callers served with
// WithInsecureNoAuth, who cannot be told apart.
type statelessCalls struct {
	mu    sync.Mutex
	calls map[string][]*context.CancelCauseFunc
}

// callKey identifies a stateless call: its caller and its id.
func callKey(r *http.Request, id string) string {
	return requester(r) + "\x00" + id
}

// requester names the principal an HTTP request authenticated as, as
// principalID does; "" when it carries no authentication.
func requester(r *http.Request) string {
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		return ti.UserID
	}
	return ""
}

func (c *statelessCalls) add(key string, cancel context.CancelCauseFunc) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = make(map[string][]*context.CancelCauseFunc)
	}
	c.calls[key] = append(c.calls[key], &cancel)
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		list := slices.DeleteFunc(c.calls[key], func(f *context.CancelCauseFunc) bool { return f == &cancel })
		if len(list) == 0 {
			delete(c.calls, key)
		} else {
			c.calls[key] = list
		}
	}
}

func (c *statelessCalls) cancel(key string) {
	c.mu.Lock()
	list := c.calls[key]
	c.mu.Unlock()
	if len(list) == 1 {
		(*list[0])(errCancelledByClient)
	}
}

// stream serves a request that may stay open for the session's life (a GET
// stream, a subscription listen), counting it so that Shutdown returns
// only once the streams it ended have left the handler.
func (h *gateHandler) stream(w http.ResponseWriter, r *http.Request) {
	h.s.streams.Enter()
	defer h.s.streams.Leave()
	h.next.ServeHTTP(w, r)
}

// inspection is what the gate reads of a POST body.
type inspection struct {
	unreadable bool       // not one JSON-RPC message or batch, read to its end
	messages   int        // every message, calls and notifications
	id         jsonrpc.ID // the first call's, for an error response
	calls      int        // calls that are work (all but subscription listens)
	listen     bool       // a subscription listen
	initialize bool       // an initialize call: a new session in stateful mode
	badParams  bool       // a call whose params are not an object
	single     bool       // one message, not a batch
	method     string     // the first call's method
	tool       string     // the first call's tool name, for tools/call
	tools      []string   // the tool names of every tools/call
	rawID      string     // the first call's id as sent
	cancels    []string   // the request ids of notifications/cancelled, as sent
}

// inspect reads the JSON-RPC messages of a POST body as the transport will
// (see package envelope). A body it cannot read to its end is unreadable.
func inspect(body []byte) inspection {
	var in inspection
	err := envelope.Scan(body, func(m envelope.Message) error {
		in.messages++
		if !m.IsCall() {
			if m.HasMethod && m.Method == "notifications/cancelled" {
				if id, ok := envelope.RawField(m.Params, "requestId"); ok {
					in.cancels = append(in.cancels, string(id))
				}
			}
			return nil
		}
		if m.Method == methodListen && !m.Doubtful {
			in.listen = true
			return nil
		}
		in.initialize = in.initialize || m.Method == "initialize"
		in.badParams = in.badParams || (m.Params != nil && m.Params[0] != '{')
		var tool string
		if m.Method == "tools/call" {
			// A name the gate cannot read exactly (repeated, not a string)
			// is one it cannot check scopes for: refused.
			var ok bool
			tool, ok = envelope.StringField(m.Params, "name")
			in.badParams = in.badParams || (!ok && m.Params != nil)
			in.tools = append(in.tools, tool)
		}
		if in.calls == 0 {
			in.method, in.tool, in.rawID = m.Method, tool, string(m.ID)
		}
		if in.calls == 0 {
			var raw any
			if json.Unmarshal(m.ID, &raw) == nil {
				in.id, _ = jsonrpc.MakeID(raw)
			}
		}
		in.calls++
		return nil
	})
	if err != nil {
		return inspection{unreadable: true}
	}
	in.single = body[0] == '{' || bytes.TrimLeft(body, " \t\r\n")[0] == '{'
	return in
}

// shutdownError is the JSON-RPC error of work refused during shutdown.
var shutdownError = &jsonrpc.Error{Code: -32000, Message: "server is shutting down; retry on another replica"}

const sessionIDHeader = "Mcp-Session-Id"

var parseError = &jsonrpc.Error{Code: jsonrpc.CodeParseError, Message: "parse error: the body is not one JSON-RPC message or batch"}

var badParams = &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "invalid params: params must be an object"}

var tooManySessions = &jsonrpc.Error{Code: -32000, Message: "too many sessions open on this server; retry later"}

// sessionCount counts the MCP sessions open. Only new stateful sessions
// pay for it.
func (s *Server) sessionCount() int {
	n := 0
	for range s.mcp.Sessions() {
		n++
	}
	return n
}

// sessionWork tracks, per stateful session id, the calls running and the
// POSTs carrying them, so that a DELETE can end them before the session
// closes.
type sessionWork struct {
	mu   sync.Mutex
	byID map[string]*sessionCalls
}

type sessionCalls struct {
	owner   string // the principal of its calls: the session's, as the go-sdk enforces
	posts   int
	cancels map[*context.CancelCauseFunc]struct{}
	idle    chan struct{} // closed when posts drops to zero; nil while nobody waits
}

// errSessionDeleted is the cause given to calls whose session was deleted.
var errSessionDeleted = errors.New("the session was deleted")

func (w *sessionWork) get(id string) *sessionCalls {
	if w.byID == nil {
		w.byID = make(map[string]*sessionCalls)
	}
	sc := w.byID[id]
	if sc == nil {
		sc = &sessionCalls{cancels: make(map[*context.CancelCauseFunc]struct{})}
		w.byID[id] = sc
	}
	return sc
}

func (w *sessionWork) drop(id string, sc *sessionCalls) {
	if sc.posts == 0 && len(sc.cancels) == 0 {
		delete(w.byID, id)
	}
}

// post counts a POST of calls on session id until the returned func runs.
func (w *sessionWork) post(id string) func() {
	w.mu.Lock()
	w.get(id).posts++
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		sc := w.get(id)
		sc.posts--
		if sc.posts == 0 && sc.idle != nil {
			close(sc.idle)
			sc.idle = nil
		}
		w.drop(id, sc)
	}
}

// call registers the cancellation of a handler of session id, run for
// principal who, until the returned func runs.
func (w *sessionWork) call(id, who string, cancel context.CancelCauseFunc) func() {
	w.mu.Lock()
	sc := w.get(id)
	sc.owner = who
	sc.cancels[&cancel] = struct{}{}
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(sc.cancels, &cancel)
		w.drop(id, sc)
	}
}

// end cancels the calls of session id and waits, within ctx, for the
// POSTs that carry them to deliver their error results, when who is the
// session's principal: anyone else's DELETE is left for the go-sdk to
// refuse, and touches nothing.
func (w *sessionWork) end(ctx context.Context, id, who string) {
	if id == "" {
		return
	}
	w.mu.Lock()
	sc := w.byID[id]
	if sc == nil || sc.owner != who {
		w.mu.Unlock()
		return
	}
	for c := range sc.cancels {
		(*c)(errSessionDeleted)
	}
	var idle chan struct{}
	if sc.posts > 0 {
		if sc.idle == nil {
			sc.idle = make(chan struct{})
		}
		idle = sc.idle
	}
	w.drop(id, sc)
	w.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
		}
	}
}

// busyError is the JSON-RPC error of work refused while the Server has as
// many calls in flight as it takes.
var busyError = &jsonrpc.Error{Code: -32000, Message: "server busy: too many calls in flight; retry shortly"}

// busy answers work beyond the limit of calls in flight: 429 with
// Retry-After and a JSON-RPC error.
func (s *Server) busy(w http.ResponseWriter, id jsonrpc.ID) {
	s.refuseWith(w, id, http.StatusTooManyRequests, busyError)
}

// refuse answers new work during shutdown: 503, Retry-After, and a
// JSON-RPC error body a client can match to its request.
func (s *Server) refuse(w http.ResponseWriter, id jsonrpc.ID) {
	s.refuseWith(w, id, http.StatusServiceUnavailable, shutdownError)
}

func (s *Server) refuseWith(w http.ResponseWriter, id jsonrpc.ID, code int, e *jsonrpc.Error) {
	body, _ := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: e})
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.retryAfter.Seconds())))
	}
	w.WriteHeader(code)
	w.Write(body)
}

// LiveHandler answers 200 while the process is up: a liveness probe.
func (s *Server) LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "ok", "")
	})
}

// ReadyHandler answers 200 only while the Server takes work and the last
// health check reached Doris; 503 with a short JSON reason otherwise, and
// from the moment Shutdown starts.
func (s *Server) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.gate.IsClosed() {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.retryAfter.Seconds())))
			writeStatus(w, http.StatusServiceUnavailable, "unavailable", "shutting down")
			return
		}
		if ok, err := s.pool.ready(); !ok {
			if errors.Is(err, errPoolSaturated) {
				writeStatus(w, http.StatusServiceUnavailable, "unavailable", "connection pool saturated")
				return
			}
			// The cause (addresses, user names) goes to the log, not to
			// unauthenticated probes; once per health check at most.
			s.logUnready(err)
			writeStatus(w, http.StatusServiceUnavailable, "unavailable", "doris unreachable")
			return
		}
		writeStatus(w, http.StatusOK, "ready", "")
	})
}

func writeStatus(w http.ResponseWriter, code int, status, reason string) {
	b, _ := json.Marshal(struct {
		Status string `json:"status"`
		Reason string `json:"reason,omitempty"`
	}{status, reason})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// logUnready logs why the Server is not ready, once per health check: a
// probe every second must not flood the log with one line each.
func (s *Server) logUnready(err error) {
	s.pool.mu.Lock()
	checked := s.pool.lastCheck
	s.pool.mu.Unlock()
	if last := s.unreadyLogged.Swap(checked.UnixNano()); last == checked.UnixNano() {
		return
	}
	s.log.Warn("not ready: doris unreachable", "err", err)
}
