package httpgate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// Call runs tool with args (and meta, the params' _meta, nil without
	// one) as the go-sdk would run it for r: through the server's
	// receiving middleware, with r's header and token.
	Call(ctx context.Context, r *http.Request, tool string, args json.RawMessage, meta mcp.Meta) (mcp.Result, error)
	// Info is the server's implementation, which results of MCP
	// 2026-07-28 carry in their _meta.
	Info() *mcp.Implementation
}

// directCall is what a direct request asks.
type directCall struct {
	id   jsonrpc.ID
	tool string
	args json.RawMessage // nil when absent
	// meta is the params' _meta, set on calls of MCP 2026-07-28 only.
	meta mcp.Meta
}

// protocolStateless is the version from which each request carries its
// protocol in params._meta (SEP-2575).
const protocolStateless = "2026-07-28"

// The _meta keys of a 2026-07-28 call.
const (
	metaProtocol     = "io.modelcontextprotocol/protocolVersion"
	metaCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaClientInfo   = "io.modelcontextprotocol/clientInfo"
	metaLogLevel     = "io.modelcontextprotocol/logLevel"
	metaServerInfo   = "io.modelcontextprotocol/serverInfo"
)

// directVersions are the protocol versions a direct request may name
// besides 2026-07-28: those before it, where a stateless call is nothing
// but its body (no per-request _meta protocol, no Mcp-Method headers). No
// header is read by the transport as 2025-03-26.
var directVersions = map[string]bool{"": true, "2024-11-05": true, "2025-03-26": true, "2025-06-18": true, "2025-11-25": true}

// readDirect reads r, whose body is body, as a direct call. It accepts
// only what the go-sdk's stateless transport reads one way: valid UTF-8 and
// valid JSON; one object with exactly the keys jsonrpc ("2.0"), id (an
// integer of at most 15 digits or a string without escapes), method
// ("tools/call") and params; params with name (a string without escapes)
// and optionally arguments; an Accept header the transport takes; no
// session id or Last-Event-ID. Before 2026-07-28 params has nothing else
// (no _meta, so no progress token and no per-request protocol); in
// 2026-07-28 it has the _meta of that protocol and nothing more (see
// readMeta), and the Mcp-Method and Mcp-Name headers name the call.
func readDirect(r *http.Request, body []byte) (directCall, bool) {
	var c directCall
	h := r.Header
	version := h.Get("Mcp-Protocol-Version")
	stateless := version == protocolStateless
	if !directVersions[version] && !stateless || len(h.Values("Mcp-Protocol-Version")) > 1 ||
		len(h.Values("Last-Event-ID")) > 0 || len(h.Values(sessionIDHeader)) > 0 || !acceptsBoth(h.Values("Accept")) {
		return c, false
	}
	if stateless && (len(h.Values("Mcp-Method")) != 1 || h.Get("Mcp-Method") != "tools/call" || len(h.Values("Mcp-Name")) != 1) {
		return c, false
	}
	if !utf8.Valid(body) || !json.Valid(body) {
		return c, false
	}
	// Each key once: seen has a bit per key.
	var seen uint8
	once := func(bit uint8) bool {
		ok := seen&bit == 0
		seen |= bit
		return ok
	}
	var params []byte
	ok := envelope.Each(body, func(k string, v []byte) bool {
		switch k {
		case "jsonrpc":
			return once(1) && string(v) == `"2.0"`
		case "method":
			return once(2) && string(v) == `"tools/call"`
		case "id":
			var ok bool
			c.id, ok = plainID(v)
			return once(4) && ok
		case "params":
			params = v
			return once(8)
		}
		return false
	})
	if !ok || seen != 15 {
		return c, false
	}
	seen = 0
	ok = envelope.Each(params, func(k string, v []byte) bool {
		var ok bool
		switch k {
		case "name":
			c.tool, ok = plainString(v)
			return once(1) && ok
		case "arguments":
			c.args = v
			return once(2)
		case "_meta":
			if !stateless {
				return false
			}
			c.meta, ok = readMeta(v)
			return once(4) && ok
		}
		return false
	})
	if !ok || seen&1 == 0 {
		return c, false
	}
	if stateless && (c.meta == nil || h.Get("Mcp-Name") != c.tool) {
		return c, false
	}
	return c, c.tool != ""
}

// readMeta reads the _meta of a 2026-07-28 call: the protocol version
// (2026-07-28, a string without escapes), the client's capabilities (an
// object), optionally its info (an object) and log level (a string without
// escapes), nothing else. The capabilities and info must decode into the
// go-sdk's types, and the whole _meta as JSON values; meta is what the
// go-sdk hands the handler.
func readMeta(raw []byte) (meta mcp.Meta, ok bool) {
	var seen uint8
	once := func(bit uint8) bool {
		ok := seen&bit == 0
		seen |= bit
		return ok
	}
	ok = envelope.Each(raw, func(k string, v []byte) bool {
		switch k {
		case metaProtocol:
			s, ok := plainString(v)
			return once(1) && ok && s == protocolStateless
		case metaCapabilities:
			// The go-sdk's reading: ClientCapabilities, with roots as
			// RootCapabilities (deprecated in 2026-07-28, so spelled out).
			var caps struct {
				mcp.ClientCapabilities
				Roots *struct {
					ListChanged bool `json:"listChanged,omitempty"`
				} `json:"roots,omitempty"`
			}
			return once(2) && v[0] == '{' && json.Unmarshal(v, &caps) == nil
		case metaClientInfo:
			var info mcp.Implementation
			return once(4) && v[0] == '{' && json.Unmarshal(v, &info) == nil
		case metaLogLevel:
			_, ok := plainString(v)
			return once(8) && ok
		}
		return false
	})
	if !ok || seen&3 != 3 || json.Unmarshal(raw, &meta) != nil {
		return nil, false
	}
	return meta, true
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
	res, err := h.cfg.Direct.Call(r.Context(), r, c.tool, c.args, c.meta)
	resp := &jsonrpc.Response{ID: c.id}
	var data []byte
	if tr, ok := res.(*mcp.CallToolResult); ok && err == nil {
		buf := responseBufs.Get().(*[]byte)
		defer func() {
			if cap(data) <= maxPooledResponse {
				*buf = data[:0]
			}
			responseBufs.Put(buf)
		}()
		data = appendToolResponse((*buf)[:0], c.id, tr, h.serverInfo(c.meta != nil))
	}
	if data == nil {
		var raw json.RawMessage
		switch {
		case err != nil:
			resp.Error = wireError(err)
		case res != nil:
			if c.meta != nil {
				annotate(res, h.cfg.Direct.Info())
			}
			if raw, err = marshalResult(res, c.meta != nil); err != nil {
				resp.Error = wireError(err)
				raw = nil
			}
		}
		if data, err = encodeResponse(resp, raw); err != nil {
			h.cfg.Log.Error("encoding a tool result", "tool", c.tool, "err", err)
			http.Error(w, "encoding the response failed", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-cache, no-transform")
	w.Header().Set("Content-Type", "application/json")
	var je *jsonrpc.Error
	if c.meta != nil && errors.As(resp.Error, &je) {
		// SEP-2575: some errors have an HTTP status of their own.
		switch je.Code {
		case jsonrpc.CodeMethodNotFound:
			w.WriteHeader(http.StatusNotFound)
		case jsonrpc.CodeInvalidParams, mcp.CodeUnsupportedProtocolVersion, mcp.CodeMissingRequiredClientCapabilities:
			w.WriteHeader(http.StatusBadRequest)
		}
	}
	w.Write(data)
}

// responseBufs holds the buffers of direct responses, which are done with
// once written; those over maxPooledResponse are left to the collector.
var responseBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledResponse = 64 << 10

// serverInfo is the encoded server info a 2026-07-28 result carries in its
// _meta (for2026), nil for the versions before.
func (h *Handler) serverInfo(for2026 bool) []byte {
	if !for2026 {
		return nil
	}
	h.infoOnce.Do(func() { h.info, _ = json.Marshal(h.cfg.Direct.Info()) })
	return h.info
}

// appendToolResponse appends the response to call id with result res, as
// the go-sdk's transport writes it, when res has the shape of every result
// the library's tools return: one text content without _meta or
// annotations; structured content, if any, a json.RawMessage that is
// compact, valid JSON (as json.Marshal and query.Result.AppendJSON write
// it); no _meta, input requests or request state. It returns nil for any
// other result, which the caller encodes the go-sdk's way. With info (the
// encoded server info, for 2026-07-28) the result is complete and carries
// it in its _meta.
//
// The bytes are those of jsonrpc.EncodeMessage of CallToolResult.MarshalJSON
// without their two passes over the result: the text is quoted as
// json.Marshal quotes it, and the structured content, compact already, is
// only HTML-escaped, as the compacting that MarshalJSON's encoder applies
// to a raw message does.
func appendToolResponse(dst []byte, id jsonrpc.ID, res *mcp.CallToolResult, info []byte) []byte {
	if res == nil || res.Meta != nil || len(res.Content) != 1 || res.InputRequests != nil || res.RequestState != "" {
		return nil
	}
	text, ok := res.Content[0].(*mcp.TextContent)
	if !ok || text == nil || text.Meta != nil || text.Annotations != nil {
		return nil
	}
	structured, ok := res.StructuredContent.(json.RawMessage)
	if !ok && res.StructuredContent != nil {
		return nil
	}
	dst = slices.Grow(dst, 128+len(text.Text)*9/8+len(structured)+len(info))
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	switch v := id.Raw().(type) {
	case int64:
		dst = strconv.AppendInt(dst, v, 10)
	case string:
		// Written as the go-sdk writes it when nothing in it is escaped.
		if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool {
			return r < 0x20 || r == '"' || r == '\\' || r == '\u2028' || r == '\u2029'
		}) {
			return nil
		}
		dst = append(append(append(dst, '"'), v...), '"')
	default:
		return nil
	}
	dst = append(dst, `,"result":{`...)
	if info != nil {
		dst = append(dst, `"_meta":{"`+metaServerInfo+`":`...)
		dst = append(append(dst, info...), "},"...)
	}
	dst = append(dst, `"content":[{"type":"text","text":`...)
	dst = append(appendQuoted(dst, text.Text), "}]"...)
	if structured != nil {
		dst = append(dst, `,"structuredContent":`...)
		dst = appendHTMLEscaped(dst, structured)
	}
	if res.IsError {
		dst = append(dst, `,"isError":true`...)
	}
	if info != nil {
		dst = append(dst, `,"resultType":"complete"`...)
	}
	return append(dst, "}}"...)
}

// appendQuoted appends s as a JSON string, as json.Marshal writes it:
// <, >, & and control characters as \u00XX but for the five with short
// escapes, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}

// appendHTMLEscaped appends src with <, >, & and U+2028, U+2029 escaped,
// as json.HTMLEscape writes them.
func appendHTMLEscaped(dst, src []byte) []byte {
	start := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			start = i + 1
		case c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8:
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xF])
			start = i + 3
			i += 2
		}
	}
	return append(dst, src[start:]...)
}

const hexDigits = "0123456789abcdef"

// annotate gives a 2026-07-28 result the server's info in its _meta, as
// the go-sdk does, unless it has one.
func annotate(res mcp.Result, info *mcp.Implementation) {
	m := res.GetMeta()
	if m == nil {
		m = map[string]any{}
	}
	if _, ok := m[metaServerInfo]; ok {
		return
	}
	m[metaServerInfo] = info
	res.SetMeta(m)
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
// A complete result of 2026-07-28 ends with its resultType, which the
// go-sdk's encoding puts after the fields of CallToolResult.
func marshalResult(res mcp.Result, complete bool) (json.RawMessage, error) {
	if r, ok := res.(*mcp.CallToolResult); ok && r != nil {
		out, err := r.MarshalJSON()
		if err != nil || !complete {
			return out, err
		}
		body, ok := bytes.CutSuffix(out, []byte("}"))
		if !ok || len(body) < 2 {
			return nil, fmt.Errorf("unexpected tool result encoding %q", out)
		}
		return append(body, `,"resultType":"complete"}`...), nil
	}
	if complete {
		return nil, errors.New("a 2026-07-28 result that is not a tool result")
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
