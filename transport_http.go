package doris

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	sdkjson "github.com/segmentio/encoding/json"
)

// maxRequestBody bounds an HTTP request body, as the go-sdk does by default.
const maxRequestBody = mcp.DefaultMaxRequestBodyBytes

// methodListen is the long-lived subscription request of MCP 2026-07-28; it
// is not work to drain, it ends when its session closes.
const methodListen = "subscriptions/listen"

// Handler returns the Streamable HTTP MCP endpoint. Mount it on any path of
// any mux; the host owns the listener. Requests pass, in order, the shutdown
// gate, DNS-rebinding (Host) and cross-origin checks, and the go-sdk
// transport.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) newHTTPHandler() http.Handler {
	mcpHandler := mcp.NewStreamableHTTPHandler(
		func(*http.Request) *mcp.Server { return s.mcp },
		&mcp.StreamableHTTPOptions{
			Stateless:      !s.cfg.stateful,
			SessionTimeout: s.cfg.idle,
			Logger:         sdkLogger(s.log),
			// A client of MCP 2026-07-28 cancels a call by closing its
			// request: that must cancel the handler, and so kill the query.
			PropagateRequestCancellation: true,
		})
	return &gateHandler{s: s, next: http.NewCrossOriginProtection().Handler(mcpHandler)}
}

// gateHandler admits HTTP work through the Server's gate. A POST carrying
// calls counts as work in flight until its response has been written, so
// Shutdown's drain ends only once every admitted call was answered. Once the
// gate closes, new calls, GET streams and DELETEs get 503; POSTs carrying
// only notifications (a cancellation, say) still pass.
type gateHandler struct {
	s    *Server
	next http.Handler
}

func (h *gateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		if h.s.gate.isClosed() {
			h.s.refuse(w, jsonrpc.ID{})
			return
		}
		h.stream(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "request body exceeds "+strconv.FormatInt(mbe.Limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	id, work, listen := inspect(body)
	switch {
	case work:
		if !h.s.gate.enter() {
			h.s.refuse(w, id)
			return
		}
		defer h.s.gate.leave()
		if !h.s.cfg.stateful {
			// A stateless call can only be answered on its own request: once
			// the request ends, nobody will read the response, so the call is
			// cancelled. The go-sdk does this only for MCP 2026-07-28.
			r = r.WithContext(withCarrier(r.Context(), carrier{r.Context(), func() error { return errRequestClosed }}))
		}
	case listen:
		if h.s.gate.isClosed() {
			h.s.refuse(w, id)
			return
		}
		h.stream(w, r)
		return
	}
	h.next.ServeHTTP(w, r)
}

// errRequestClosed is the cause of calls cancelled because the client
// closed the HTTP request that carried them.
var errRequestClosed = errors.New("the client closed the request")

// stream serves a request that may stay open for the session's life (a GET
// stream, a subscription listen), counting it so that Shutdown returns
// only once the streams it ended have left the handler.
func (h *gateHandler) stream(w http.ResponseWriter, r *http.Request) {
	h.s.streams.enter()
	defer h.s.streams.leave()
	h.next.ServeHTTP(w, r)
}

// envelope is what the gate reads of a JSON-RPC message.
type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method json.RawMessage `json:"method"`
}

// inspect reads the JSON-RPC messages of a POST body with the decoder and
// the rules of the go-sdk (exact-case keys; a message with a "method" key
// and a non-null id is a call), so the gate sees what the transport will:
// the first call's id, whether the body carries calls that are work
// (anything but a subscription listen), and whether it carries a
// subscription listen. A body that does not decode counts as work: the
// transport answers it, and during shutdown it is refused like any new
// request.
func inspect(body []byte) (id jsonrpc.ID, work, listen bool) {
	var msgs []envelope
	var err error
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		_, err = sdkjson.Parse(trimmed, &msgs, sdkjson.DontMatchCaseInsensitiveStructFields)
	} else {
		msgs = make([]envelope, 1)
		_, err = sdkjson.Parse(body, &msgs[0], sdkjson.DontMatchCaseInsensitiveStructFields)
	}
	if err != nil {
		return id, true, false
	}
	for _, m := range msgs {
		if len(m.Method) == 0 || len(m.ID) == 0 || string(m.ID) == "null" {
			continue // a notification or a response
		}
		var method string
		var rawID any
		if _, err := sdkjson.Parse(m.Method, &method, 0); err != nil {
			return id, true, false
		}
		if method == methodListen {
			listen = true
			continue
		}
		if !work {
			if _, err := sdkjson.Parse(m.ID, &rawID, 0); err == nil {
				id, _ = jsonrpc.MakeID(rawID)
			}
			work = true
		}
	}
	return id, work, listen
}

// shutdownError is the JSON-RPC error of work refused during shutdown.
var shutdownError = &jsonrpc.Error{Code: -32000, Message: "server is shutting down; retry on another replica"}

// refuse answers new work during shutdown: 503, Retry-After, and a
// JSON-RPC error body a client can match to its request.
func (s *Server) refuse(w http.ResponseWriter, id jsonrpc.ID) {
	body, _ := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: shutdownError})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.retryAfter.Seconds())))
	w.WriteHeader(http.StatusServiceUnavailable)
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
		if s.gate.isClosed() {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.retryAfter.Seconds())))
			writeStatus(w, http.StatusServiceUnavailable, "unavailable", "shutting down")
			return
		}
		if ok, _ := s.pool.ready(); !ok {
			// The cause (addresses, user names) goes to the log, not to
			// unauthenticated probes.
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
