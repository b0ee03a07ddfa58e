package doris_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
)

// The tool list in both shapes, as a client receives it: the domain mode
// under 8 KB, and every tool there through its domain.
func TestToolListSizes(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	size := func(opts ...doris.Option) (int, []*mcp.Tool) {
		cs := connect(t, ctx, serveHTTP(t, newServer(t, testdb.DSN(t), opts...)).URL+"/mcp", nil, "")
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		return len(b), res.Tools
	}
	flat, flatTools := size()
	domains, domainTools := size(doris.WithDomainTools())
	t.Logf("tools/list: flat %d bytes (%d tools), domains %d bytes (%d tools)", flat, len(flatTools), domains, len(domainTools))
	if domains >= 8<<10 {
		t.Errorf("domain tools/list is %d bytes, want under 8 KB", domains)
	}
	if flat >= 38<<10 {
		t.Errorf("flat tools/list is %d bytes", flat)
	}
}

// In domain mode a domain answers {} with its manifest and runs a child
// named by child_tool with the flat tool's arguments and result; a
// caller's scopes, which name flat tools, apply to the children.
func TestDomainTools(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	s := newServer(t, testdb.DSN(t), doris.WithDomainTools(),
		doris.WithBearerTokens(
			doris.BearerToken{Token: "token-of-the-reader-0123", Name: "reader", Scopes: []string{"doris:read"}},
			doris.BearerToken{Token: "token-of-the-analyst-0123", Name: "analyst", Scopes: []string{"doris:read", "doris:query"}},
		),
		doris.WithToolScopes(map[string][]string{"exec_query": {"doris:query"}}))
	endpoint := serveHTTP(t, s).URL + "/mcp"
	analyst := connect(t, ctx, endpoint, bearerClient(t, "token-of-the-analyst-0123"), "")
	reader := connect(t, ctx, endpoint, bearerClient(t, "token-of-the-reader-0123"), "")

	list, err := analyst.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	if want := []string{"doris_catalog", "doris_cluster", "doris_governance", "doris_pipeline", "doris_query"}; !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}

	type manifest struct {
		Domain          string
		ManifestVersion string `json:"manifest_version"`
		Children        []struct {
			Name, Tool  string
			InputSchema map[string]any `json:"input_schema"`
		}
	}
	discover := func(cs *mcp.ClientSession, domain string) manifest {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: domain, Arguments: map[string]any{}})
		if err != nil || res.IsError {
			t.Fatalf("%s {}: %v %+v", domain, err, res)
		}
		var m manifest
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := discover(analyst, "doris_query")
	var kids []string
	for _, c := range m.Children {
		kids = append(kids, c.Name+"="+c.Tool)
		if c.InputSchema["properties"] == nil {
			t.Errorf("%s: no input schema", c.Name)
		}
	}
	if want := []string{"execute_query=exec_query", "explain_query=get_sql_explain", "get_query_profile=get_sql_profile", "list_slow_queries=analyze_slow_queries_topn"}; !slices.Equal(kids, want) {
		t.Errorf("doris_query children %v, want %v", kids, want)
	}

	// Every flat tool is a child of exactly one domain.
	flatCS := connect(t, ctx, serveHTTP(t, newServer(t, testdb.DSN(t))).URL+"/mcp", nil, "")
	flat, err := flatCS.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, d := range names {
		for _, c := range discover(analyst, d).Children {
			seen[c.Tool]++
		}
	}
	for _, tool := range flat.Tools {
		if seen[tool.Name] != 1 {
			t.Errorf("flat tool %s is a child of %d domains", tool.Name, seen[tool.Name])
		}
	}

	run := func(cs *mcp.ClientSession, args map[string]any) (string, *mcp.CallToolResult) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "doris_query", Arguments: args})
		if err != nil {
			t.Fatal(err)
		}
		return res.Content[0].(*mcp.TextContent).Text, res
	}
	text, res := run(analyst, map[string]any{"child_tool": "execute_query", "arguments": map[string]any{"sql": "SELECT 41 + 1 AS answer"}, "manifest_version": m.ManifestVersion})
	if res.IsError || !strings.Contains(text, `"rows":[[42]]`) {
		t.Errorf("execute_query: %s", text)
	}
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"child_tool": "exec_query", "arguments": map[string]any{"sql": "SELECT 1"}}, "its children are execute_query, explain_query"},
		{map[string]any{"child_tool": "execute_query", "arguments": map[string]any{"sql": "SELECT 1"}, "manifest_version": "query.000000000000"}, "call doris_query with {}"},
		{map[string]any{"arguments": map[string]any{"sql": "SELECT 1"}}, "arguments need child_tool"},
		{map[string]any{"child_tool": "execute_query", "arguments": map[string]any{"sql": "SELECT 1", "max_rows": 0}}, "max_rows must be between 1"},
		{map[string]any{"tool": "execute_query"}, "unknown argument"},
	} {
		if text, res := run(analyst, c.args); !res.IsError || !strings.Contains(text, c.want) {
			t.Errorf("%v: %q, want an error saying %q", c.args, text, c.want)
		}
	}

	// The reader may not call exec_query: its manifest leaves it out and
	// the call through the domain is refused.
	for _, c := range discover(reader, "doris_query").Children {
		if c.Name == "execute_query" {
			t.Error("the reader's manifest lists execute_query")
		}
	}
	if text, res := run(reader, map[string]any{"child_tool": "execute_query", "arguments": map[string]any{"sql": "SELECT 1"}}); !res.IsError || !strings.Contains(text, "insufficient scope") {
		t.Errorf("reader's execute_query: %s", text)
	}
	if text, res := run(reader, map[string]any{"child_tool": "explain_query", "arguments": map[string]any{"sql": "SELECT 1"}}); res.IsError {
		t.Errorf("reader's explain_query: %s", text)
	}
}
