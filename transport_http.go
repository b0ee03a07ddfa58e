package doris

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/httpgate"
	"github.com/dorismcp/doris/internal/pool"
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
//
// In stateless mode, until [Server.MCP] is called, the plainest calls of
// the library's own tools (one call per request, no progress token, and
// in MCP 2026-07-28 nothing in _meta but that protocol's own fields) skip
// the go-sdk's transport: the handler runs them through the same
// middleware and writes the response the transport would write, byte for
// byte. Everything else goes to the transport.
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
	cfg := httpgate.Config{
		Next:       mcp.NewStreamableHTTPHandler(getServer, &opts),
		Quiet:      s.quiet,
		Stateful:   s.cfg.stateful,
		Limits:     httpgate.Limits(s.cfg.http),
		RetryAfter: s.cfg.retryAfter,

		AllowedHosts:  s.cfg.allowedHosts,
		Origins:       cop,
		Insecure:      s.auth.insecure,
		AuthFailed:    s.tel.AuthFailed,
		RefusedScopes: s.auth.refusedScopes,
		Challenge:     s.auth.challenge,

		Direct: directCalls{s},

		Work:     &s.gate,
		Streams:  &s.streams,
		InFlight: s.inflight,
		Budget:   s.budget,
		Sessions: s.sessionCount,
		Log:      s.log,
	}
	if !s.cfg.stateful {
		// Calls that send nothing before their response are answered as
		// plain JSON: no event-stream framing to write or parse.
		opts.JSONResponse = true
		cfg.Plain = mcp.NewStreamableHTTPHandler(getServer, &opts)
	}
	if s.auth.on {
		cfg.Authenticate = s.authenticate
	}
	s.web = httpgate.New(cfg)
	return s.web, nil
}

// directCalls runs the library's own tools for the gate's direct path:
// through the same middleware the go-sdk would run them in, from the
// outermost (withHardStop, withPrincipal) to the tool's handler, whose
// result is completed as the go-sdk completes it. The catalog's own
// middleware and the go-sdk's multi-round-trip one pass tool calls through
// unchanged. Once a host has called [Server.MCP], it may have replaced a
// tool: every call then goes through the go-sdk.
type directCalls struct{ s *Server }

func (d directCalls) Has(tool string) bool {
	return d.s.builtin[tool] != nil && !d.s.hostMCP.Load()
}

func (d directCalls) Info() *mcp.Implementation { return d.s.impl }

func (d directCalls) Call(ctx context.Context, r *http.Request, tool string, args json.RawMessage, meta mcp.Meta) (mcp.Result, error) {
	req := &mcp.CallToolRequest{
		Params: &mcp.CallToolParamsRaw{Meta: meta, Name: tool, Arguments: args},
		Extra:  &mcp.RequestExtra{TokenInfo: auth.TokenInfoFromContext(ctx), Header: r.Header},
	}
	return d.s.direct(ctx, "tools/call", req)
}

// runTool is the innermost handler of a direct call.
func (s *Server) runTool(ctx context.Context, _ string, req mcp.Request) (mcp.Result, error) {
	call := req.(*mcp.CallToolRequest)
	res, err := s.builtin[call.Params.Name](ctx, call)
	if err != nil {
		return nil, err
	}
	if res != nil && res.Content == nil {
		done := *res
		done.Content = []mcp.Content{} // as the go-sdk: never null
		res = &done
	}
	return res, nil
}

// authenticate puts the go-sdk's bearer check in front of next, with
// refusals that say how to authenticate (see challengeWriter).
func (s *Server) authenticate(next http.Handler) http.Handler {
	authed := auth.RequireBearerToken(s.auth.verify, &auth.RequireBearerTokenOptions{
		// Expiry is the verifier's business: static tokens may have
		// none, and JWTs are checked with the configured leeway.
		AllowMissingExpiration: true,
		ClockSkew:              s.auth.leeway,
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Past the check, responses are the transport's own.
		next.ServeHTTP(w.(*challengeWriter).ResponseWriter, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refused := func(reason string) { s.tel.AuthFailed(r.Context(), reason) }
		authed.ServeHTTP(&challengeWriter{ResponseWriter: w, a: s.auth, credentials: r.Header.Get("Authorization") != "", refused: refused}, r)
	})
}

// quiet reports whether a call of method (and tool, for tools/call) sends
// nothing to its client before its response: the library's own tools
// never send progress, logs or requests; tools a host adds may.
func (s *Server) quiet(method, tool string) bool {
	switch method {
	case "tools/call":
		return s.builtin[tool] != nil
	case "tools/list", "ping":
		return true
	}
	return false
}

// sessionCount counts the MCP sessions open. Only new stateful sessions
// pay for it.
func (s *Server) sessionCount() int {
	n := 0
	for range s.mcp.Sessions() {
		n++
	}
	return n
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
		if ok, err := s.pool.Ready(); !ok {
			if errors.Is(err, pool.ErrSaturated) {
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
	checked := s.pool.LastCheck()
	if last := s.unreadyLogged.Swap(checked.UnixNano()); last == checked.UnixNano() {
		return
	}
	s.log.Warn("not ready: doris unreachable", "err", err)
}
