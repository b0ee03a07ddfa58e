package httpgate

import (
	"bytes"
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/dorismcp/doris/internal/envelope"
)

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
			// An integer id is read without a decoder; what else an id
			// may be, the decoder reads.
			if id, ok := plainID(m.ID); ok && m.ID[0] != '"' {
				in.id = id
			} else {
				var raw any
				if json.Unmarshal(m.ID, &raw) == nil {
					in.id, _ = jsonrpc.MakeID(raw)
				}
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
