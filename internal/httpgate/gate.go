package httpgate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/dorismcp/doris/internal/admit"
)

// Limits bound what one request may carry and hold.
type Limits struct {
	MaxBodyBytes int64
	BodyTimeout  time.Duration
	WriteTimeout time.Duration
	MaxBatch     int // messages per request
	MaxSessions  int // stateful sessions open at once
}

// Config is what the gate needs of the server it guards.
type Config struct {
	// Next is the go-sdk's transport; Plain, when set, the same answering
	// with application/json, for stateless calls that Quiet says send
	// nothing before their response.
	Next, Plain http.Handler
	Quiet       func(method, tool string) bool
	// Direct, when set, answers stateless calls of its tools without the
	// transport (see [Direct]).
	Direct     Direct
	Stateful   bool
	Limits     Limits
	RetryAfter time.Duration

	// AllowedHosts, when set, are the only Host headers served; otherwise
	// a request that arrived on loopback must name a loopback host.
	AllowedHosts []string
	Origins      *http.CrossOriginProtection

	// Authenticate, when set, wraps the rest of the gate in the bearer
	// check. Without it, only loopback requests are served unless
	// Insecure.
	Authenticate func(next http.Handler) http.Handler
	Insecure     bool
	// AuthFailed records a refusal for a reason ("not_loopback",
	// "insufficient_scope").
	AuthFailed func(ctx context.Context, reason string)
	// RefusedScopes lists the scopes the request's principal lacks for the
	// tools named; Challenge is the WWW-Authenticate value saying so.
	RefusedScopes func(ctx context.Context, tools []string) []string
	Challenge     func(errCode string, scopes []string) string

	Work     *admit.Gate   // calls in flight, for the drain
	Streams  *admit.Gate   // long-lived requests, for the drain
	InFlight *admit.Share  // the limit on calls in flight
	Budget   *admit.Budget // the memory results hold
	// Sessions counts the MCP sessions open.
	Sessions func() int
	Log      *slog.Logger
}

// Handler is the gate: an http.Handler in front of the MCP transport.
type Handler struct {
	cfg    Config
	authed http.Handler // nil without authentication

	stateless statelessCalls
	sessions  sessionWork

	infoOnce sync.Once
	info     []byte // Direct's server info, encoded on first use
}

// New returns the gate for cfg.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg}
	if cfg.Authenticate != nil {
		h.authed = cfg.Authenticate(http.HandlerFunc(h.serve))
	}
	return h
}

// Causes given to the contexts of calls the gate cancels.
var (
	ErrRequestClosed     = errors.New("the client closed the request")
	ErrCancelledByClient = errors.New("cancelled by the client")
	ErrSessionDeleted    = errors.New("the session was deleted")
)

// methodListen is the long-lived subscription request of MCP 2026-07-28; it
// is not work to drain, it ends when its session closes.
const methodListen = "subscriptions/listen"

const sessionIDHeader = "Mcp-Session-Id"

var (
	parseError      = &jsonrpc.Error{Code: jsonrpc.CodeParseError, Message: "parse error: the body is not one JSON-RPC message or batch"}
	badParams       = &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "invalid params: params must be an object, with a tool name given once, as a string"}
	tooManySessions = &jsonrpc.Error{Code: -32000, Message: "too many sessions open on this server; retry later"}
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.hostAllowed(r) {
		http.Error(w, "Forbidden: invalid Host header", http.StatusForbidden)
		return
	}
	if err := h.cfg.Origins.Check(r); err != nil {
		http.Error(w, "Forbidden: cross-origin request", http.StatusForbidden)
		return
	}
	// Once draining, nothing but POSTs (which may carry cancellations)
	// passes: no authentication is worth doing for a stream or a DELETE
	// that will be refused.
	if r.Method != http.MethodPost && h.cfg.Work.IsClosed() {
		h.refuse(w, jsonrpc.ID{}, http.StatusServiceUnavailable, admit.ShuttingDown)
		return
	}
	// Authentication comes before the content checks, so the body of an
	// unauthenticated request is never read.
	if h.authed != nil {
		h.authed.ServeHTTP(w, r)
		return
	}
	if !h.cfg.Insecure && !ArrivedOnLoopback(r) {
		h.cfg.AuthFailed(r.Context(), "not_loopback")
		http.Error(w, "Forbidden: no authentication is configured, so only loopback requests are served; configure authentication, or WithInsecureNoAuth to serve without it", http.StatusForbidden)
		return
	}
	h.serve(w, r)
}

// serve is the gate past authentication.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	w = &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: h.cfg.Limits.WriteTimeout, log: h.cfg.Log}
	if r.Method != http.MethodPost {
		if h.cfg.Work.IsClosed() {
			h.refuse(w, jsonrpc.ID{}, http.StatusServiceUnavailable, admit.ShuttingDown)
			return
		}
		if r.Method == http.MethodDelete && h.cfg.Stateful {
			// The session's calls end first, each answering its client, so
			// no response is lost when the session closes.
			h.sessions.end(r.Context(), r.Header.Get(sessionIDHeader), Requester(r))
		}
		h.stream(w, r)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	lim := h.cfg.Limits
	if r.ContentLength > lim.MaxBodyBytes {
		http.Error(w, "request body exceeds "+strconv.FormatInt(lim.MaxBodyBytes, 10)+" bytes", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			http.Error(w, "request body exceeds "+strconv.FormatInt(mbe.Limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
		case errors.Is(err, os.ErrDeadlineExceeded):
			http.Error(w, "request body not received within "+lim.BodyTimeout.String(), http.StatusRequestTimeout)
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
		h.refuse(w, jsonrpc.ID{}, http.StatusBadRequest, parseError)
		return
	}
	if in.messages > lim.MaxBatch {
		http.Error(w, fmt.Sprintf("a request may carry at most %d messages, this one has %d", lim.MaxBatch, in.messages), http.StatusBadRequest)
		return
	}
	if missing := h.cfg.RefusedScopes(r.Context(), in.tools); len(missing) > 0 {
		h.cfg.AuthFailed(r.Context(), "insufficient_scope")
		w.Header().Set("WWW-Authenticate", h.cfg.Challenge("insufficient_scope", missing))
		http.Error(w, "insufficient scope", http.StatusForbidden)
		return
	}
	if in.badParams {
		// Answered here: the transport's own message names Go types.
		h.refuse(w, in.id, http.StatusBadRequest, badParams)
		return
	}
	sid := r.Header.Get(sessionIDHeader)
	if in.initialize && h.cfg.Stateful && sid == "" && h.cfg.Sessions() >= lim.MaxSessions {
		h.cfg.Log.Warn("session refused: too many sessions", "max", lim.MaxSessions)
		h.refuse(w, in.id, http.StatusServiceUnavailable, tooManySessions)
		return
	}
	var call directCall
	direct := false
	switch {
	case in.calls > 0:
		if h.cfg.Work.EnterN(in.calls, 0) == admit.Closed {
			h.refuse(w, in.id, http.StatusServiceUnavailable, admit.ShuttingDown)
			return
		}
		defer h.cfg.Work.LeaveN(in.calls)
		who := Requester(r)
		// The limit on calls in flight is shared fairly between principals.
		if !h.cfg.InFlight.TryAcquire(who, int64(in.calls)) {
			h.refuse(w, in.id, http.StatusTooManyRequests, admit.Busy)
			return
		}
		defer h.cfg.InFlight.Release(who, int64(in.calls))
		if h.cfg.Stateful && sid != "" {
			defer h.sessions.post(sid)()
		}
		if !h.cfg.Stateful {
			if h.cfg.Direct != nil && in.calls == 1 && in.single && in.method == "tools/call" && h.cfg.Direct.Has(in.tool) {
				call, direct = readDirect(r, body)
			}
			var end func()
			r, end = h.stateless.prepare(r, in, who, h.cfg.Budget, direct)
			defer end()
		}
	case len(in.cancels) > 0 && !h.cfg.Stateful && (h.authed != nil || !h.cfg.Insecure):
		for _, id := range in.cancels {
			h.stateless.cancel(callKey(r, id))
		}
	case in.listen:
		if h.cfg.Work.IsClosed() {
			h.refuse(w, in.id, http.StatusServiceUnavailable, admit.ShuttingDown)
			return
		}
		h.stream(w, r)
		return
	}
	if direct {
		h.direct(w, r, call)
		return
	}
	if h.cfg.Plain != nil && in.calls == 1 && in.single && h.cfg.Quiet(in.method, in.tool) {
		h.cfg.Plain.ServeHTTP(w, r)
		return
	}
	h.cfg.Next.ServeHTTP(w, r)
}

// TrackSessionCall registers the cancellation of a handler of stateful
// session id, run for principal who, until the returned func runs: its
// owner's DELETE cancels it.
func (h *Handler) TrackSessionCall(id, who string, cancel context.CancelCauseFunc) func() {
	return h.sessions.call(id, who, cancel)
}

// stream serves a request that may stay open for the session's life (a GET
// stream, a subscription listen), counting it so that a shutdown returns
// only once the streams it ended have left the handler.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request) {
	h.cfg.Streams.Enter()
	defer h.cfg.Streams.Leave()
	h.cfg.Next.ServeHTTP(w, r)
}

// Requester names the principal an HTTP request authenticated as, by the
// go-sdk's TokenInfo.UserID; "" when it carries no authentication.
func Requester(r *http.Request) string {
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		return ti.UserID
	}
	return ""
}

// refuse answers with code and a JSON-RPC error body a client can match to
// its request; 503 and 429 say when to retry.
func (h *Handler) refuse(w http.ResponseWriter, id jsonrpc.ID, code int, e *jsonrpc.Error) {
	body, _ := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: e})
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter.Seconds())))
	}
	w.WriteHeader(code)
	w.Write(body)
}

// hostAllowed is the DNS-rebinding check. With allowed hosts configured,
// the Host header must be one of them. Otherwise, as the go-sdk does, a
// request that arrived on a loopback address must name a loopback host: a
// web page whose name was rebound to 127.0.0.1 cannot.
func (h *Handler) hostAllowed(r *http.Request) bool {
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if len(h.cfg.AllowedHosts) > 0 {
		for _, a := range h.cfg.AllowedHosts {
			if strings.EqualFold(a, host) || strings.EqualFold(a, r.Host) {
				return true
			}
		}
		return false
	}
	if !ArrivedOnLoopback(r) {
		return true
	}
	return IsLoopback(host)
}

// IsLoopback reports whether host (with or without a port) names the
// local machine: localhost or a loopback address.
func IsLoopback(hostport string) bool {
	host := hostport
	if strings.IndexByte(hostport, ':') >= 0 { // else it has no port, and SplitHostPort says so
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			host = h
		}
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ArrivedOnLoopback reports whether r came in on a loopback address. A
// request without a local address (a host serving it by other means than
// net/http's server) is not known to be local, so it is not.
func ArrivedOnLoopback(r *http.Request) bool {
	switch local := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		return local != nil && local.IP.IsLoopback()
	case net.Addr:
		return local != nil && IsLoopback(local.String())
	}
	return false
}

// readBody reads a POST body within the body size and time limits.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(h.cfg.Limits.BodyTimeout)); err == nil {
		// Cleared after: the server watches the connection for the
		// client going away while the call runs.
		defer rc.SetReadDeadline(time.Time{})
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.Limits.MaxBodyBytes))
}

// deadlineWriter bounds each write of a response in time, so a client that
// stops reading releases what its response holds.
type deadlineWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	log      *slog.Logger
	timedOut bool
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	defer w.rc.SetWriteDeadline(time.Time{})
	n, err := w.ResponseWriter.Write(p)
	if errors.Is(err, os.ErrDeadlineExceeded) && !w.timedOut && w.log != nil {
		// Once per response: what it holds is released as its handler
		// gives up.
		w.timedOut = true
		w.log.Info("a client stopped reading its response; the write timed out", "write_timeout", w.timeout)
	}
	return n, err
}

func (w *deadlineWriter) Flush() {
	w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	defer w.rc.SetWriteDeadline(time.Time{})
	w.rc.Flush()
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
