package doris_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
)

// The direct path answers exactly as the go-sdk's transport: the same
// requests, sent to a Server that answers its own tools directly and to one
// whose MCP() was called (so every request goes through the go-sdk), get
// the same status, content type and body, for every protocol version,
// every tool, arguments good and bad, and request shapes the direct path
// must leave to the transport. The direct Server's log shows it started no
// go-sdk session for the requests it answered itself.
func TestDirectMatchesTransport(t *testing.T) {
	testdb.Parallel(t)
	for _, mode := range []struct {
		name string
		opts []doris.Option
	}{
		{"flat", nil},
		{"domains", []doris.Option{doris.WithDomainTools()}},
		{"bearer", []doris.Option{doris.WithBearerTokens(doris.BearerToken{Token: directToken, Name: "analyst", Scopes: []string{"doris:read", "doris:query"}}),
			doris.WithToolScopes(map[string][]string{"exec_query": {"doris:query"}})}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			testdb.Parallel(t)
			dsn := testdb.DSN(t)
			directLog := &lockedBuffer{}
			direct := newServer(t, dsn, append(mode.opts, doris.WithLogger(slog.New(slog.NewTextHandler(directLog, &slog.HandlerOptions{Level: slog.LevelDebug}))))...)
			viaSDK := newServer(t, dsn, mode.opts...)
			viaSDK.MCP() // from now on, every request goes through the go-sdk
			a, b := serveHTTP(t, direct).URL+"/mcp", serveHTTP(t, viaSDK).URL+"/mcp"

			var tools []string
			hdr := http.Header{}
			var hc *http.Client
			if mode.name == "bearer" {
				hdr.Set("Authorization", "Bearer "+directToken)
				hc = &http.Client{Transport: headerTransport{"Authorization", "Bearer " + directToken}}
			}
			cs := connect(t, context.Background(), a, hc, "2025-06-18")
			list, err := cs.ListTools(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tool := range list.Tools {
				tools = append(tools, tool.Name)
			}
			sessions := func() int { return strings.Count(directLog.String(), `msg="server connecting"`) }
			logged := func() int { return strings.Count(directLog.String(), "level=INFO msg=call tool=") }
			before, loggedBefore := sessions(), logged()

			// Each request is answered directly (a call logged, no go-sdk
			// session), through the go-sdk (a session), or refused by the
			// gate before either (neither).
			nDirect, nSDK, nGate := 0, 0, 0
			for _, tc := range directCases(tools, mode.name == "domains") {
				versions := tc.versions
				if versions == nil {
					versions = []string{"", "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}
				}
				if mode.name == "bearer" && tc.perTool {
					continue // every tool in the other modes; here the token is what differs
				}
				for _, version := range versions {
					body, h := tc.request(version)
					for k, v := range hdr {
						h[k] = v
					}
					start, startLogged := sessions(), logged()
					gotA := rawPost(t, a, body, h)
					gotB := rawPost(t, b, body, h)
					if gotA != gotB {
						t.Errorf("%s, version %q: the direct path and the go-sdk answer differently:\n%s", tc.name, version, firstDifference(gotA, gotB))
					}
					if tc.name == "a query" && version == "2025-06-18" && !strings.Contains(gotA, `\"row_count\":5`) {
						t.Errorf("the query answered %s", gotA)
					}
					switch {
					case sessions() != start:
						nSDK++
					case logged() != startLogged:
						nDirect++
					default:
						nGate++
					}
					if tc.name == "a query" && (sessions() != start || logged() == startLogged) {
						t.Errorf("a plain call, version %q, was not answered directly, or not logged", version)
					}
				}
			}
			// A call cancelled by its client, by notification or by closing
			// its request: the same error result on both paths, and the
			// query gone from the engine.
			db := openDB(t, dsn)
			callBody := `{"jsonrpc":"2.0","id":31,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + testdb.LongQuery + `","timeout_seconds":120}}}`
			if mode.name == "domains" {
				callBody = `{"jsonrpc":"2.0","id":31,"method":"tools/call","params":{"name":"doris_query","arguments":{"child_tool":"execute_query","arguments":{"sql":"` + testdb.LongQuery + `","timeout_seconds":120}}}}`
			}
			v := map[string]string{"Mcp-Protocol-Version": "2025-11-25"}
			for k := range hdr {
				v[k] = hdr.Get(k)
			}
			var bodies []string
			for _, url := range []string{a, b} {
				got := postAsync(context.Background(), url, callBody, v)
				waitFor(t, 10*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
				if code, _, _ := post(t, url, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":31}}`, v); code != http.StatusAccepted {
					t.Fatalf("cancellation: %d", code)
				}
				waitFor(t, 10*time.Second, "the cancelled query to leave the engine", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
				bodies = append(bodies, elapsed.ReplaceAllString(<-got, "${1}0"))
			}
			if bodies[0] != bodies[1] || !strings.Contains(bodies[0], "cancelled by the client") {
				t.Errorf("a cancelled call answers\n%s\ndirectly, and through the go-sdk\n%s", bodies[0], bodies[1])
			}
			for _, url := range []string{a, b} {
				ctx, cancel := context.WithCancel(context.Background())
				got := postAsync(ctx, url, callBody, v)
				waitFor(t, 10*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
				cancel()
				<-got
				waitFor(t, 10*time.Second, "the query of the closed request to leave the engine", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
			}

			t.Logf("%d requests answered directly, %d through the go-sdk (%d sessions), %d refused by the gate; %d call log lines",
				nDirect, nSDK, sessions()-before, nGate, logged()-loggedBefore)
			if nDirect < 50 || nSDK < 50 {
				t.Errorf("the cases do not exercise both paths: %d direct, %d through the go-sdk", nDirect, nSDK)
			}
		})
	}
}

const directToken = "direct-path-token-0123456789abcdef"

// directCase is one request of the differential test.
type directCase struct {
	name string
	body string
	// header returns the request's header for a protocol version ("" for
	// none).
	header func(version string) http.Header
	// versions are the protocol versions to send it with; nil for all.
	versions []string
	// tool is the tool a well-formed call names: sent with 2026-07-28 it
	// carries that protocol's _meta and Mcp-Method and Mcp-Name headers,
	// as a client of that version sends it.
	tool    string
	perTool bool // one of the cases every tool gets
}

// clientMeta is the _meta of a 2026-07-28 call, as the go-sdk's client
// sends it.
const clientMeta = `{"io.modelcontextprotocol/clientCapabilities":{"roots":{"listChanged":true}},"io.modelcontextprotocol/clientInfo":{"name":"test","version":"1"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`

// request is tc's body and header for version.
func (tc directCase) request(version string) (string, http.Header) {
	body, h := tc.body, tc.header(version)
	if version == "2026-07-28" && tc.tool != "" {
		body = strings.Replace(body, `"params":{`, `"params":{"_meta":`+clientMeta+`,`, 1)
		h.Set("Mcp-Method", "tools/call")
		h.Set("Mcp-Name", tc.tool)
	}
	return body, h
}

// directCases are the requests the two paths must answer alike: every tool
// without arguments and with bad ones, the common calls with good ones,
// and shapes only the transport may answer.
func directCases(tools []string, domains bool) []directCase {
	std := func(version string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}
		if version != "" {
			h.Set("Mcp-Protocol-Version", version)
		}
		return h
	}
	with := func(k, v string) func(string) http.Header {
		return func(version string) http.Header {
			h := std(version)
			if v == "" {
				h.Del(k)
			} else {
				h.Set(k, v)
			}
			return h
		}
	}
	call := func(id, name, args string) string {
		if args == "" {
			return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":%q}}`, id, name)
		}
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, name, args)
	}
	var cases []directCase
	add := func(name, body string, header func(string) http.Header) {
		if header == nil {
			header = std
		}
		cases = append(cases, directCase{name: name, body: body, header: header})
	}
	// Every tool with every version, and its bad arguments with one
	// version of each protocol.
	two := []string{"2025-06-18", "2026-07-28"}
	for _, tool := range tools {
		cases = append(cases,
			directCase{tool + " without arguments", call("1", tool, ""), std, nil, tool, true},
			directCase{tool + " with empty arguments", call("2", tool, "{}"), std, two, tool, true},
			directCase{tool + " with an unknown argument", call("3", tool, `{"no_such_argument":1}`), std, two, tool, true},
			directCase{tool + " with a wrongly typed argument", call("4", tool, `{"db_name":5,"table_name":[],"limit":"x"}`), std, two, tool, true})
	}
	query, schema, dbs := "exec_query", "get_table_schema", "get_db_list"
	wrap := func(tool, args string) string { return args }
	if domains {
		query, schema, dbs = "doris_query", "doris_catalog", "doris_catalog"
		wrap = func(child, args string) string { return fmt.Sprintf(`{"child_tool":%q,"arguments":%s}`, child, args) }
	}
	good := []struct{ name, tool, args string }{
		{"a query", query, wrap("execute_query", `{"sql":"SELECT id, name, city FROM customers ORDER BY id LIMIT 5"}`)},
		{"a query with <html> & unicode", query, wrap("execute_query", `{"sql":"SELECT '<b>&é€😀' AS s, 1.5 AS d, NULL AS n"}`)},
		{"a truncated query", query, wrap("execute_query", `{"sql":"SELECT seq FROM seq_1_to_100","max_rows":3}`)},
		{"a write", query, wrap("execute_query", `{"sql":"DELETE FROM customers"}`)},
		{"a syntax error", query, wrap("execute_query", `{"sql":"SELEC 1"}`)},
		{"an error quoting <html> &", query, wrap("execute_query", `{"sql":"SELECT <b> & 1 FROM </b>"}`)},
		{"an unknown <table>", schema, wrap("get_table_schema", `{"table_name":"<b>&"}`)},
		{"an unknown table", query, wrap("execute_query", `{"sql":"SELECT * FROM no_such_table"}`)},
		{"a table's schema", schema, wrap("get_table_schema", `{"table_name":"orders"}`)},
		{"the databases", dbs, wrap("list_databases", `{}`)},
	}
	for _, g := range good {
		cases = append(cases, directCase{name: g.name, body: call("7", g.tool, g.args), header: std, tool: g.tool})
	}
	q := good[0]
	add("a string id", call(`"call-7"`, q.tool, q.args), nil)
	add("a negative id", call("-7", q.tool, q.args), nil)
	add("id 0", call("0", q.tool, q.args), nil)
	add("a fractional id", call("7.5", q.tool, q.args), nil)
	add("an exponent id", call("7e2", q.tool, q.args), nil)
	add("a huge id", call("123456789012345678901", q.tool, q.args), nil)
	add("an escaped string id", call(`"a\u0062c"`, q.tool, q.args), nil)
	add("a null id (a notification)", call("null", q.tool, q.args), nil)
	add("an object id", call(`{}`, q.tool, q.args), nil)
	add("null arguments", call("8", q.tool, "null"), nil)
	add("array arguments", call("8", q.tool, "[]"), nil)
	add("an unknown tool", call("9", "no_such_tool", "{}"), nil)
	add("an escaped tool name", `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"exec\u005fquery","arguments":{"sql":"SELECT 1"}}}`, nil)
	add("a numeric tool name", `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":5}}`, nil)
	add("_meta with a progress token", `{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"_meta":{"progressToken":"p1"},"name":"`+q.tool+`","arguments":`+q.args+`}}`, nil)
	add("the 2026-07-28 _meta", `{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}},"name":"`+q.tool+`","arguments":`+q.args+`}}`,
		func(v string) http.Header {
			h := std(v)
			h.Set("Mcp-Method", "tools/call")
			h.Set("Mcp-Name", q.tool)
			return h
		})
	meta26 := func(name, meta string, header func(string) http.Header) {
		if header == nil {
			header = func(v string) http.Header {
				h := std(v)
				h.Set("Mcp-Method", "tools/call")
				h.Set("Mcp-Name", q.tool)
				return h
			}
		}
		cases = append(cases, directCase{name: name, body: `{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"_meta":` + meta + `,"name":"` + q.tool + `","arguments":` + q.args + `}}`,
			header: header, versions: []string{"2026-07-28", "2025-11-25"}})
	}
	const pv, caps = `"io.modelcontextprotocol/protocolVersion":"2026-07-28"`, `"io.modelcontextprotocol/clientCapabilities"`
	meta26("2026 _meta with a log level", `{`+pv+`,`+caps+`:{},"io.modelcontextprotocol/logLevel":"debug"}`, nil)
	meta26("2026 _meta with rich capabilities", `{`+pv+`,`+caps+`:{"roots":{"listChanged":true},"sampling":{"tools":{}},"elicitation":{"form":{},"url":{}},"experimental":{"x":[1,2.5,"y",null]}}}`, nil)
	meta26("2026 _meta with capabilities of the wrong type", `{`+pv+`,`+caps+`:{"roots":true}}`, nil)
	meta26("2026 _meta with a listChanged string", `{`+pv+`,`+caps+`:{"roots":{"listChanged":"yes"}}}`, nil)
	meta26("2026 _meta with null capabilities", `{`+pv+`,`+caps+`:null}`, nil)
	meta26("2026 _meta without capabilities", `{`+pv+`}`, nil)
	meta26("2026 _meta with null client info", `{`+pv+`,`+caps+`:{},"io.modelcontextprotocol/clientInfo":null}`, nil)
	meta26("2026 _meta with numeric client info", `{`+pv+`,`+caps+`:{},"io.modelcontextprotocol/clientInfo":{"name":5}}`, nil)
	meta26("2026 _meta with another version", `{"io.modelcontextprotocol/protocolVersion":"2025-11-25",`+caps+`:{}}`, nil)
	meta26("2026 _meta with a progress token", `{`+pv+`,`+caps+`:{},"progressToken":"p"}`, nil)
	meta26("2026 _meta with a traceparent", `{`+pv+`,`+caps+`:{},"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`, nil)
	meta26("2026 _meta with a huge number", `{`+pv+`,`+caps+`:{"experimental":{"n":1e400}}}`, nil)
	meta26("2026 _meta, no Mcp-Method", `{`+pv+`,`+caps+`:{}}`, with("Mcp-Name", q.tool))
	meta26("2026 _meta, another Mcp-Name", `{`+pv+`,`+caps+`:{}}`, func(v string) http.Header {
		h := std(v)
		h.Set("Mcp-Method", "tools/call")
		h.Set("Mcp-Name", "get_db_list")
		return h
	})
	add("an unknown params key", `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"`+q.tool+`","arguments":`+q.args+`,"extra":1}}`, nil)
	add("an unknown top-level key", `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"`+q.tool+`","arguments":`+q.args+`},"extra":1}`, nil)
	add("a wrong jsonrpc version", `{"jsonrpc":"1.0","id":12,"method":"tools/call","params":{"name":"`+q.tool+`","arguments":`+q.args+`}}`, nil)
	add("no jsonrpc version", `{"id":12,"method":"tools/call","params":{"name":"`+q.tool+`","arguments":`+q.args+`}}`, nil)
	add("a repeated argument key", `{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"`+q.tool+`","arguments":{"sql":"SELECT 1","sql":"SELECT 2"}}}`, nil)
	add("whitespace everywhere", " {\n\"jsonrpc\" : \"2.0\" ,\t\"id\" : 14 , \"method\" : \"tools/call\" , \"params\" : { \"name\" : \""+q.tool+"\" , \"arguments\" : "+q.args+" } }\n", nil)
	add("keys in another order", `{"params":{"arguments":`+q.args+`,"name":"`+q.tool+`"},"method":"tools/call","id":15,"jsonrpc":"2.0"}`, nil)
	add("a batch of one", `[`+call("16", q.tool, q.args)+`]`, nil)
	add("trailing garbage", call("17", q.tool, q.args)+`x`, nil)
	add("invalid UTF-8", call("18", q.tool, `{"sql":"SELECT '`+"\xff"+`'"}`), nil)
	add("no Accept", call("19", q.tool, q.args), with("Accept", ""))
	add("Accept JSON only", call("19", q.tool, q.args), with("Accept", "application/json"))
	add("Accept */*", call("19", q.tool, q.args), with("Accept", "*/*"))
	add("Accept with parameters", call("19", q.tool, q.args), with("Accept", "application/*;q=0.9, TEXT/*"))
	add("a session id", call("20", q.tool, q.args), with("Mcp-Session-Id", "abc"))
	add("a Last-Event-ID", call("20", q.tool, q.args), with("Last-Event-ID", "1"))
	add("an unsupported version", call("21", q.tool, q.args), with("Mcp-Protocol-Version", "1999-01-01"))
	return cases
}

// elapsed are the timings in results, and clock is a time of day (the
// simulator's heartbeats are now), which differ from one call to the next.
var (
	elapsed = regexp.MustCompile(`(\\?"elapsed_ms\\?":)[0-9]+`)
	clock   = regexp.MustCompile(`([0-9]{4}-[0-9]{2}-[0-9]{2}) [0-9]{2}:[0-9]{2}:[0-9]{2}`)
)

// rawPost sends body with exactly header h and returns what a client sees
// of the response: status, headers, framing and body (timings zeroed).
func rawPost(t *testing.T, url, body string, h http.Header) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// The headers a client sees, but Date; the length only when the body
	// is not chunked (a timing differs in digits between two calls).
	hdr := resp.Header.Clone()
	hdr.Del("Date")
	if resp.ContentLength >= 0 {
		hdr.Del("Content-Length")
	}
	return fmt.Sprintf("%d %v chunked=%v\n%s", resp.StatusCode, hdr, resp.ContentLength < 0,
		clock.ReplaceAllString(elapsed.ReplaceAllString(string(b), "${1}0"), "$1 hh:mm:ss"))
}

// firstDifference shows where a and b first differ, with some context.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	clip := func(s string) string { return s[min(from, len(s)):min(i+160, len(s))] }
	return fmt.Sprintf("at byte %d:\n direct: …%s…\n go-sdk: …%s…", i, clip(a), clip(b))
}
