package httpgate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/envelope"
)

// Direct answers, in stateless mode, the plainest tools/call of a tool the
// server itself registered, without the go-sdk's transport: decoding the
// body once, and writing the response as the transport would, byte for
// byte. A request is direct only when every part of it leaves the
// transport no choice (see readDirect); anything else, however slightly
// different, goes to the transport.
type Direct interface {
	// Has reports whether tool is answered directly.
	Has(tool string) bool
	// Call runs tool with args as the go-sdk would run it for r: through
	// the server's receiving middleware, with r's header and token.
	Call(ctx context.Context, r *http.Request, tool string, args json.RawMessage) (mcp.Result, error)
}

// directCall is what a direct request asks.
type directCall struct {
	id   jsonrpc.ID
	tool string
	args json.RawMessage // nil when absent
}

// directVersions are the protocol versions a direct request may name:
// those before 2026-07-28, where a stateless call is nothing but its body
// (no per-request _meta protocol, no Mcp-Method headers). No header is
// read by the transport as 2025-03-26.
var directVersions = map[string]bool{"": true, "2024-11-05": true, "2025-03-26": true, "2025-06-18": true, "2025-11-25": true}

// readDirect reads r, whose body is body, as a direct call. It accepts
// only what the go-sdk's stateless transport reads one way: valid UTF-8 and
// valid JSON; one object with exactly the keys jsonrpc ("2.0"), id (an
// integer of at most 15 digits or a string without escapes), method
// ("tools/call") and params; params with name (a string without escapes)
// and optionally arguments, nothing else (no _meta, so no progress token
// and no per-request protocol); an Accept header the transport takes; no
// session id or Last-Event-ID.
func readDirect(r *http.Request, body []byte) (directCall, bool) {
	var c directCall
	h := r.Header
	if !directVersions[h.Get("Mcp-Protocol-Version")] || len(h.Values("Mcp-Protocol-Version")) > 1 ||
		len(h.Values("Last-Event-ID")) > 0 || len(h.Values(sessionIDHeader)) > 0 || !acceptsBoth(h.Values("Accept")) {
		return c, false
	}
	if !utf8.Valid(body) || !json.Valid(body) {
		return c, false
	}
	top, ok := envelope.Object(body)
	if !ok || len(top) != 4 || string(top["jsonrpc"]) != `"2.0"` || string(top["method"]) != `"tools/call"` {
		return c, false
	}
	if c.id, ok = plainID(top["id"]); !ok {
		return c, false
	}
	params, ok := envelope.Object(top["params"])
	if !ok {
		return c, false
	}
	for k, v := range params {
		switch k {
		case "name":
			if c.tool, ok = plainString(v); !ok {
				return c, false
			}
		case "arguments":
			c.args = v
		default:
			return c, false
		}
	}
	return c, c.tool != ""
}

// plainID reads an id that every JSON decoder reads alike, as the go-sdk
// makes it.
func plainID(raw []byte) (jsonrpc.ID, bool) {
	if s, ok := plainString(raw); ok {
		id, err := jsonrpc.MakeID(s)
		return id, err == nil
	}
	digits := bytes.TrimPrefix(raw, []byte("-"))
	if len(digits) == 0 || len(digits) > 15 || digits[0] == '0' && len(raw) > 1 {
		return jsonrpc.ID{}, false
	}
	for _, b := range digits {
		if b < '0' || b > '9' {
			return jsonrpc.ID{}, false
		}
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return jsonrpc.ID{}, false
	}
	id, err := jsonrpc.MakeID(float64(n))
	return id, err == nil
}

// plainString reads a JSON string without escapes.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return "", false
	}
	return string(raw[1 : len(raw)-1]), true
}

// acceptsBoth reports whether the Accept values take both JSON and an
// event stream, as the go-sdk requires of every POST.
func acceptsBoth(values []string) bool {
	var json, stream bool
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			media, _, _ := strings.Cut(part, ";")
			switch strings.ToLower(strings.TrimSpace(media)) {
			case "*/*":
				json, stream = true, true
			case "application/json", "application/*":
				json = true
			case "text/event-stream", "text/*":
				stream = true
			}
		}
	}
	return json && stream
}

// direct answers c, read from r, as the go-sdk's transport answers a
// stateless call in JSON: the handler's result, or its error as a
// JSON-RPC error, in one response.
func (h *Handler) direct(w http.ResponseWriter, r *http.Request, c directCall) {
	res, err := h.cfg.Direct.Call(r.Context(), r, c.tool, c.args)
	resp := &jsonrpc.Response{ID: c.id}
	var raw json.RawMessage
	switch {
	case err != nil:
		resp.Error = wireError(err)
	case res != nil:
		if raw, err = marshalResult(res); err != nil {
			resp.Error = wireError(err)
			raw = nil
		}
	}
	data, err := encodeResponse(resp, raw)
	if err != nil {
		h.cfg.Log.Error("encoding a tool result", "tool", c.tool, "err", err)
		http.Error(w, "encoding the response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-cache, no-transform")
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}

// encodeResponse encodes resp with result raw, as jsonrpc.EncodeMessage
// would with raw as its Result: the envelope is encoded with a one-byte
// placeholder result, which raw then replaces. The result is the envelope's
// last member, and EncodeMessage would only compact raw, which is compact
// already (see marshalResult), so the bytes are the same without a second
// pass over the result.
func encodeResponse(resp *jsonrpc.Response, raw json.RawMessage) ([]byte, error) {
	if raw == nil {
		return jsonrpc.EncodeMessage(resp)
	}
	resp.Result = json.RawMessage("0")
	env, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		return nil, err
	}
	head, ok := bytes.CutSuffix(env, []byte(`"result":0}`))
	if !ok {
		return nil, fmt.Errorf("unexpected response envelope %q", env)
	}
	out := make([]byte, 0, len(head)+len(`"result":`)+len(raw)+1)
	out = append(append(append(out, head...), `"result":`...), raw...)
	return append(out, '}'), nil
}

// marshalResult encodes a result as the go-sdk does: with an encoder that
// does not escape HTML, which compacts what a result's own MarshalJSON
// returns. A tool result's comes from json.Marshal, compact already, so it
// is taken as it is: compacting it again without escaping is the identity.
func marshalResult(res mcp.Result) (json.RawMessage, error) {
	if r, ok := res.(*mcp.CallToolResult); ok && r != nil {
		return r.MarshalJSON()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// wireError is a handler's error as the go-sdk sends it: a JSON-RPC error
// as it is; another with its message, and the code of a JSON-RPC error it
// wraps (0 without one).
func wireError(err error) *jsonrpc.Error {
	var je *jsonrpc.Error
	if errors.As(err, &je) && error(je) == err {
		return je
	}
	out := &jsonrpc.Error{Message: err.Error()}
	if je != nil {
		out.Code = je.Code
	}
	return out
}
