package doris

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/testdb"
)

// referenceCalls are calls written the way the reference Doris MCP server
// 0.6.1 takes them (apache/doris-mcp-server, tag 0.6.1, commit 81305ff:
// the input schemas of DorisToolsManager.list_tools in
// tools/tools_manager.py), together naming every argument of every tool
// both servers have and every value of its closed sets. A call the
// reference answers with made-up data (get_memory_stats' historical
// numbers are constants there) is refused here, saying why.
// exec_adbc_query and get_adbc_connection_info (Arrow Flight SQL) are not
// in this catalogue.
var referenceCalls = []struct {
	tool    string
	args    map[string]any
	refused string
}{
	{"exec_query", map[string]any{"sql": "SELECT 1", "db_name": "sample", "catalog_name": "internal", "max_rows": 100, "timeout": 30}, ""},
	{"get_db_list", map[string]any{"catalog_name": "internal"}, ""},
	{"get_db_table_list", map[string]any{"db_name": "sample", "catalog_name": "internal"}, ""},
	{"get_table_schema", map[string]any{"table_name": "orders", "db_name": "sample", "catalog_name": "internal"}, ""},
	{"get_table_comment", map[string]any{"table_name": "orders", "db_name": "sample", "catalog_name": "internal"}, ""},
	{"get_table_column_comments", map[string]any{"table_name": "orders", "db_name": "sample", "catalog_name": "internal"}, ""},
	{"get_table_indexes", map[string]any{"table_name": "orders", "db_name": "sample", "catalog_name": "internal"}, ""},
	{"get_recent_audit_logs", map[string]any{"days": 7, "limit": 100}, ""},
	{"get_catalog_list", map[string]any{"random_string": "a1b2"}, ""},
	{"get_sql_explain", map[string]any{"sql": "SELECT 1", "verbose": true, "db_name": "sample", "catalog_name": "internal"}, ""},
	{"get_sql_profile", map[string]any{"sql": "SELECT 1", "db_name": "sample", "catalog_name": "internal", "timeout": 30}, ""},
	{"get_table_data_size", map[string]any{"db_name": "sample", "table_name": "orders", "single_replica": true}, ""},
	{"get_monitoring_metrics", map[string]any{"content_type": "data", "role": "all", "monitor_type": "machine", "priority": "p0", "include_raw_metrics": false}, ""},
	{"get_monitoring_metrics", map[string]any{"content_type": "definitions", "role": "fe", "monitor_type": "jvm", "priority": "core"}, ""},
	{"get_monitoring_metrics", map[string]any{"content_type": "both", "role": "be", "monitor_type": "process", "priority": "all", "include_raw_metrics": true}, ""},
	{"get_monitoring_metrics", map[string]any{"monitor_type": "all"}, ""},
	{"get_memory_stats", map[string]any{"data_type": "realtime", "tracker_type": "overview", "tracker_names": []string{"query"}, "time_range": "1h", "include_details": true}, ""},
	{"get_memory_stats", map[string]any{"tracker_type": "global", "time_range": "6h", "include_details": false}, ""},
	{"get_memory_stats", map[string]any{"tracker_type": "query", "time_range": "24h"}, ""},
	{"get_memory_stats", map[string]any{"tracker_type": "load"}, ""},
	{"get_memory_stats", map[string]any{"tracker_type": "compaction"}, ""},
	{"get_memory_stats", map[string]any{"tracker_type": "all"}, ""},
	{"get_memory_stats", map[string]any{"data_type": "historical"}, "keeps no memory history"},
	{"get_memory_stats", map[string]any{"data_type": "both"}, "keeps no memory history"},
	{"get_table_basic_info", map[string]any{"table_name": "orders", "catalog_name": "internal", "db_name": "sample"}, ""},
	{"analyze_columns", map[string]any{"table_name": "orders", "columns": []string{"status"}, "analysis_types": []string{"both"}, "sample_size": 1000, "catalog_name": "internal", "db_name": "sample", "detailed_response": true}, ""},
	{"analyze_columns", map[string]any{"table_name": "orders", "db_name": "sample", "columns": []string{"total"}, "analysis_types": []string{"completeness", "distribution"}}, ""},
	{"analyze_table_storage", map[string]any{"table_name": "orders", "catalog_name": "internal", "db_name": "sample", "detailed_response": true}, ""},
	{"trace_column_lineage", map[string]any{"target_columns": []string{"sample.customer_order_totals.total_spent"}, "analysis_depth": 3, "include_transformations": true, "catalog_name": "internal"}, ""},
	{"monitor_data_freshness", map[string]any{"table_names": []string{"orders"}, "freshness_threshold_hours": 24, "include_update_patterns": true, "catalog_name": "internal", "db_name": "sample"}, ""},
	{"analyze_data_access_patterns", map[string]any{"days": 7, "include_system_users": false, "min_query_threshold": 5}, ""},
	{"analyze_data_flow_dependencies", map[string]any{"target_table": "orders", "analysis_depth": 3, "include_views": true, "catalog_name": "internal", "db_name": "sample"}, ""},
	{"analyze_data_flow_dependencies", map[string]any{"db_name": "sample"}, ""},
	{"analyze_slow_queries_topn", map[string]any{"days": 7, "top_n": 20, "min_execution_time_ms": 1000, "include_patterns": true}, ""},
	{"analyze_resource_growth_curves", map[string]any{"days": 30, "resource_types": []string{"storage", "query_volume", "user_activity"}, "include_predictions": true, "detailed_response": true}, ""},
}

// Every call written the reference 0.6.1 way is answered (or refused with
// its reason), and every argument it uses is in the tool's input schema.
func TestReferenceArguments(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	sim := testdb.Sim(t, dorissim.Options{Version: dorissim.Version21})
	cs := connect(t, ctx, serveHTTP(t, newServer(t, sim.DSN(dorissim.SampleDB), WithFEHTTP(sim.FEHTTPAddr()))).URL+"/mcp", nil, "")
	list, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]map[string]any{}
	for _, tool := range list.Tools {
		var s struct{ Properties map[string]any }
		b, _ := json.Marshal(tool.InputSchema)
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		props[tool.Name] = s.Properties
	}
	for _, c := range referenceCalls {
		for arg := range c.args {
			if _, ok := props[c.tool][arg]; !ok {
				t.Errorf("%s: argument %s is not in its input schema", c.tool, arg)
			}
		}
		r, msg, err := call(ctx, cs, c.tool, c.args)
		switch {
		case err != nil:
			t.Errorf("%s %v: %v", c.tool, c.args, err)
		case c.refused == "" && msg != "":
			t.Errorf("%s %v: %s", c.tool, c.args, msg)
		case c.refused != "" && !strings.Contains(msg, c.refused):
			t.Errorf("%s %v: %q, want it refused with %q", c.tool, c.args, msg, c.refused)
		case c.refused == "" && r == nil:
			t.Errorf("%s %v: no result", c.tool, c.args)
		}
	}
}

// What each input schema declares (minimum, maximum, enum, default) is
// what the server enforces: a value just outside is refused as invalid,
// and a default lies inside.
func TestArgumentSchemasEnforced(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	cs := connect(t, ctx, serveHTTP(t, newServer(t, testdb.DSN(t))).URL+"/mcp", nil, "")
	list, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	type prop struct {
		Type             string
		Minimum, Maximum *float64
		Enum             []any
		Default          any
		Items            *struct{ Enum []any }
	}
	checked := 0
	for _, tool := range list.Tools {
		var s struct {
			Properties map[string]prop
			Required   []string
		}
		b, _ := json.Marshal(tool.InputSchema)
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		with := func(name string, v any) map[string]any {
			args := map[string]any{name: v}
			for _, r := range s.Required {
				if r == name {
					continue
				}
				switch s.Properties[r].Type {
				case "array":
					args[r] = []string{"sample.orders.id"}
				default:
					args[r] = "SELECT 1"
				}
			}
			return args
		}
		refused := func(name string, v any, want string) {
			t.Helper()
			checked++
			_, msg, err := call(ctx, cs, tool.Name, with(name, v))
			if err != nil || !strings.Contains(msg, "invalid arguments: "+name+" must be") || !strings.Contains(msg, want) {
				t.Errorf("%s %s=%v: %v %q, want it refused naming %s", tool.Name, name, v, err, msg, want)
			}
		}
		for name, p := range s.Properties {
			if p.Type == "null" || p.Type == "" {
				t.Errorf("%s.%s: type %q", tool.Name, name, p.Type)
			}
			if p.Minimum != nil {
				refused(name, int(*p.Minimum)-1, fmt.Sprint(int(*p.Minimum)))
			}
			if p.Maximum != nil {
				refused(name, int(*p.Maximum)+1, fmt.Sprint(int(*p.Maximum)))
			}
			enum := p.Enum
			var bogus any = "no-such-value"
			if p.Items != nil && p.Items.Enum != nil {
				enum, bogus = p.Items.Enum, []string{"no-such-value"}
			}
			if enum != nil {
				refused(name, bogus, fmt.Sprint(enum[0]))
			}
			if d, ok := p.Default.(float64); ok && (p.Minimum != nil && d < *p.Minimum || p.Maximum != nil && d > *p.Maximum) {
				t.Errorf("%s.%s: default %v outside [%v, %v]", tool.Name, name, d, *p.Minimum, *p.Maximum)
			}
			if d, ok := p.Default.(string); ok && !slices.Contains(enum, any(d)) {
				t.Errorf("%s.%s: default %q not in %v", tool.Name, name, d, enum)
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d declared bounds checked", checked)
	}
}

// The tool list in both shapes, as a client receives it: the domain mode
// under 8 KB, and every tool there through its domain.
func TestToolListSizes(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	size := func(opts ...Option) (int, []*mcp.Tool) {
		cs := connect(t, ctx, serveHTTP(t, newServer(t, testdb.DSN(t), opts...)).URL+"/mcp", nil, "")
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		return len(b), res.Tools
	}
	flat, flatTools := size()
	domains, domainTools := size(WithDomainTools())
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
	s := newServer(t, testdb.DSN(t), WithDomainTools(),
		WithBearerTokens(
			BearerToken{Token: "token-of-the-reader-0123", Name: "reader", Scopes: []string{"doris:read"}},
			BearerToken{Token: "token-of-the-analyst-0123", Name: "analyst", Scopes: []string{"doris:read", "doris:query"}},
		),
		WithToolScopes(map[string][]string{"exec_query": {"doris:query"}}))
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
