package httpgate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"unsafe"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// FuzzDirectReadsAsTheSDK: a body the direct path takes is one the go-sdk
// reads as one tools/call, with the same id (as it answers it), the same
// tool and the same arguments, byte for byte, and nothing else in its
// params.
func FuzzDirectReadsAsTheSDK(f *testing.F) {
	for _, s := range gateSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"SELECT 1"}}}`,
		`{"params":{"arguments":{"sql":"SELECT 1"},"name":"exec_query"},"method":"tools/call","id":"x","jsonrpc":"2.0"}`,
		` {"jsonrpc" : "2.0", "id" : -15, "method" : "tools/call", "params" : {"name" : "a", "arguments" : null} } `,
		`{"jsonrpc":"2.0","id":123456789012345,"method":"tools/call","params":{"name":"a","arguments":[1,{"b":"\u00e9"}]}}`,
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a","_meta":{"progressToken":1}}}`,
		`{"jsonrpc":"2.0","id":07,"method":"tools/call","params":{"name":"a"}}`,
	} {
		f.Add([]byte(s))
	}
	r := directRequest("Accept", "application/json, text/event-stream", "Mcp-Protocol-Version", "2025-06-18")
	f.Fuzz(func(t *testing.T, body []byte) {
		c, ok := readDirect(r, body)
		if !ok {
			return
		}
		req, p := sdkCall(t, body)
		if req.ID != c.id {
			t.Fatalf("the direct path reads call %v, the go-sdk %v: %q", c.id, req.ID, body)
		}
		if p.Name != c.tool || !bytes.Equal(p.Arguments, c.args) || p.Meta != nil || p.InputResponses != nil || p.RequestState != "" {
			t.Fatalf("the direct path reads tool %q arguments %q, the go-sdk %+v: %q", c.tool, c.args, p, body)
		}
		// The go-sdk answers with the id as it encodes it, and a compact
		// result as it encodes it.
		result := []byte("{}")
		if len(c.args) > 0 {
			var buf bytes.Buffer
			if json.Compact(&buf, c.args) == nil {
				result = buf.Bytes()
			}
		}
		want, _ := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: req.ID, Result: result})
		got, err := encodeResponse(&jsonrpc.Response{ID: c.id}, result)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("response %s (%v), the go-sdk's %s", got, err, want)
		}
	})
}

//go:linkname sdkValidateRequestMeta github.com/modelcontextprotocol/go-sdk/mcp.validateRequestMeta
func sdkValidateRequestMeta(req *jsonrpc.Request) (unsafe.Pointer, error)

// FuzzDirect2026ReadsAsTheSDK: a 2026-07-28 call the direct path takes is
// one whose _meta the go-sdk validates without error, and the _meta its
// handler would get is the one the direct path gives.
func FuzzDirect2026ReadsAsTheSDK(f *testing.F) {
	const pv, caps = `"io.modelcontextprotocol/protocolVersion":"2026-07-28"`, `"io.modelcontextprotocol/clientCapabilities"`
	for _, meta := range []string{
		`{` + pv + `,` + caps + `:{"roots":{"listChanged":true}},"io.modelcontextprotocol/clientInfo":{"name":"test","version":"1"}}`,
		`{` + pv + `,` + caps + `:{},"io.modelcontextprotocol/logLevel":"debug"}`,
		`{` + pv + `,` + caps + `:{"sampling":{"tools":{}},"elicitation":{"form":{}},"experimental":{"x":[1,2.5,null]}}}`,
		`{` + pv + `,` + caps + `:{"roots":true}}`,
		`{` + pv + `,` + caps + `:{"experimental":{"n":1e400}}}`,
		`{` + pv + `,` + caps + `:{},"io.modelcontextprotocol/clientInfo":{"name":"a","icons":[{"src":"x","sizes":["1x1"]}]}}`,
		`{` + pv + `,` + caps + `:{"tasks":{"list":{}}}}`,
	} {
		f.Add([]byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"_meta":` + meta + `,"name":"a","arguments":{"sql":"SELECT 1"}}}`))
	}
	r := directRequest("Accept", "application/json, text/event-stream", "Mcp-Protocol-Version", "2026-07-28",
		"Mcp-Method", "tools/call", "Mcp-Name", "a")
	f.Fuzz(func(t *testing.T, body []byte) {
		c, ok := readDirect(r, body)
		if !ok {
			return
		}
		req, p := sdkCall(t, body)
		if vm, err := sdkValidateRequestMeta(req); err != nil || vm == nil {
			t.Fatalf("the go-sdk refuses the _meta the direct path takes: %v: %q", err, body)
		}
		if p.Name != c.tool || !bytes.Equal(p.Arguments, c.args) || !reflect.DeepEqual(map[string]any(p.Meta), map[string]any(c.meta)) {
			t.Fatalf("the direct path reads tool %q arguments %q meta %v, the go-sdk %+v: %q", c.tool, c.args, c.meta, p, body)
		}
	})
}

// directRequest is a POST to /mcp with the headers given as name, value
// pairs.
func directRequest(header ...string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "/mcp", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// sdkCall is the go-sdk's reading of body, which the direct path took: one
// tools/call and its params.
func sdkCall(t *testing.T, body []byte) (*jsonrpc.Request, mcp.CallToolParamsRaw) {
	t.Helper()
	var p mcp.CallToolParamsRaw
	msgs, batch, err := sdkReadBatch(body)
	if err != nil || batch || len(msgs) != 1 {
		t.Fatalf("the direct path takes what the go-sdk reads as %d messages (batch %v, err %v): %q", len(msgs), batch, err, body)
	}
	req, ok := msgs[0].(*jsonrpc.Request)
	if !ok || req.Method != "tools/call" {
		t.Fatalf("the direct path takes what the go-sdk reads as %#v: %q", msgs[0], body)
	}
	if err := sdkUnmarshal(req.Params, &p); err != nil {
		t.Fatalf("the go-sdk refuses the params the direct path takes: %v: %q", err, body)
	}
	return req, p
}

// What the direct path leaves to the transport, whatever the body.
func TestReadDirectHeaders(t *testing.T) {
	body := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a"}}`)
	for _, tc := range []struct {
		header map[string]string
		want   bool
	}{
		{map[string]string{"Accept": "application/json, text/event-stream"}, true},
		{map[string]string{"Accept": "*/*", "Mcp-Protocol-Version": "2025-11-25"}, true},
		{map[string]string{"Accept": "application/*, text/*;q=0.5", "Mcp-Protocol-Version": "2024-11-05"}, true},
		{map[string]string{"Accept": "application/json"}, false},
		{map[string]string{"Accept": "text/event-stream"}, false},
		{map[string]string{}, false},
		{map[string]string{"Accept": "*/*", "Mcp-Protocol-Version": "2026-07-28"}, false}, // no _meta
		{map[string]string{"Accept": "*/*", "Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "a"}, false},
		{map[string]string{"Accept": "*/*", "Mcp-Protocol-Version": "2030-01-01"}, false},
		{map[string]string{"Accept": "*/*", "Mcp-Session-Id": "s"}, false},
		{map[string]string{"Accept": "*/*", "Last-Event-ID": "1"}, false},
	} {
		r, _ := http.NewRequest(http.MethodPost, "/mcp", nil)
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		if _, got := readDirect(r, body); got != tc.want {
			t.Errorf("headers %v: direct %v, want %v", tc.header, got, tc.want)
		}
	}
}

// A handler's error goes out as the go-sdk sends it.
func TestWireError(t *testing.T) {
	je := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "bad"}
	for _, tc := range []struct {
		err  error
		want jsonrpc.Error
	}{
		{je, *je},
		{fmt.Errorf("handling: %w", je), jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "handling: bad"}},
		{errors.New("plain"), jsonrpc.Error{Message: "plain"}},
	} {
		if got := wireError(tc.err); got.Code != tc.want.Code || got.Message != tc.want.Message {
			t.Errorf("%v: %+v, want %+v", tc.err, got, tc.want)
		}
	}
	if wireError(je) != je {
		t.Error("a JSON-RPC error is not sent as it is")
	}
}

// FuzzToolResponse: the response appendToolResponse writes for a tool
// result is, byte for byte, the one the go-sdk's encoding gives, or none.
func FuzzToolResponse(f *testing.F) {
	f.Add("rows", []byte(`{"rows":[["<b>&amp;</b>","\u2028"]],"n":1}`), false, int64(7), "", false)
	f.Add("x\u2028<&>\x01\xff\"\\\b\f\n\r\t\u2029é", []byte(`{"a" : [1, 2.5e3, null, true, "\u00e9"] }`), true, int64(-15), "id-1", true)
	f.Add("", []byte("not json"), false, int64(0), "é\u2029", true)
	f.Add("a", []byte(`"<\u2028>"`), false, int64(123456789012345), "a\"b", true)
	info, err := json.Marshal(&mcp.Implementation{Name: "doris<mcp>", Version: "1.0 & more"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, structured []byte, isError bool, n int64, s string, stringID bool) {
		res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, IsError: isError}
		if json.Valid(structured) {
			var buf bytes.Buffer
			json.Compact(&buf, structured) // compact, not HTML-escaped
			res.StructuredContent = json.RawMessage(buf.Bytes())
		}
		id, _ := jsonrpc.MakeID(float64(n % 1e15))
		if stringID {
			id, _ = jsonrpc.MakeID(s)
		}
		for _, for2026 := range []bool{false, true} {
			var meta []byte
			if for2026 {
				meta = info
			}
			got := appendToolResponse(nil, id, res, meta)
			if got == nil {
				continue
			}
			// The go-sdk's encoding of the same result.
			want := *res
			if for2026 {
				want.Meta = mcp.Meta{metaServerInfo: &mcp.Implementation{Name: "doris<mcp>", Version: "1.0 & more"}}
			}
			raw, err := marshalResult(&want, for2026)
			if err != nil {
				t.Fatal(err)
			}
			wantBytes, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Result: raw})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wantBytes) {
				t.Fatalf("2026 %v:\n got %s\nwant %s", for2026, got, wantBytes)
			}
		}
	})
}
