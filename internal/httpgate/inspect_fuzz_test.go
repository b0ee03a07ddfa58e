package httpgate

import (
	"slices"
	"testing"
	_ "unsafe" // go:linkname

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The go-sdk's own reading of a POST body and of a call's params: the
// referee of the gate's reading.
//
//go:linkname sdkReadBatch github.com/modelcontextprotocol/go-sdk/mcp.readBatch
func sdkReadBatch(data []byte) (msgs []jsonrpc.Message, isBatch bool, _ error)

//go:linkname sdkUnmarshal github.com/modelcontextprotocol/go-sdk/internal/json.Unmarshal
func sdkUnmarshal(data []byte, v any) error

// gateSeeds are bodies the gate and the go-sdk could read differently.
var gateSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`,
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}0`,
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}} {"x":1}`,
	`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}]x`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"exec_query"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"NAME":"exec_query"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"exec_query"}}`,
	`{"jsonrpc":"2.0","id":1,"Method":"tools/call","method":"ping"}`,
	`{"jsonrpc":"2.0","id":1,"method":"ping","method":"initialize"}`,
	`{"jsonrpc":"2.0","id":1,"id":null,"method":"tools/call","params":{"name":"a"}}`,
	`{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"a"}}`,
	`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`,
	`[{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":"x","method":"subscriptions/listen"}]`,
	`[]`, `[1]`, `{}`, `"x"`, `null`, ` {"jsonrpc":"2.0","id":1.5e0,"method":"tools/list"} `,
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\\ud800\"}}",
	"\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}",
}

// FuzzGateReadsAsTheSDK: for any body the gate lets through, every call the
// go-sdk would execute was counted by the gate, every message counts
// against the batch limit, an initialize the go-sdk sees is one the gate
// saw, and every tool the go-sdk would call is one the gate checked scopes
// for.
func FuzzGateReadsAsTheSDK(f *testing.F) {
	for _, s := range gateSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := inspect(body)
		msgs, _, err := sdkReadBatch(body)
		if err != nil || in.unreadable || in.badParams {
			return // refused by one or the other: nothing runs
		}
		if in.messages < len(msgs) {
			t.Fatalf("gate counted %d messages, the go-sdk reads %d: %q", in.messages, len(msgs), body)
		}
		calls := 0
		for _, m := range msgs {
			req, ok := m.(*jsonrpc.Request)
			if !ok || !req.ID.IsValid() {
				continue
			}
			calls++
			if req.Method == "initialize" && !in.initialize {
				t.Fatalf("the go-sdk reads an initialize the gate missed: %q", body)
			}
			if req.Method == "tools/call" {
				var p mcp.CallToolParamsRaw
				if sdkUnmarshal(req.Params, &p) == nil && !slices.Contains(in.tools, p.Name) {
					t.Fatalf("the go-sdk calls tool %q, the gate checked %q: %q", p.Name, in.tools, body)
				}
			}
		}
		counted := in.calls
		if in.listen {
			counted++
		}
		if counted < calls {
			t.Fatalf("gate counted %d calls, the go-sdk runs %d: %q", counted, calls, body)
		}
	})
}
