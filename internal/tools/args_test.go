package tools

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

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
	sim := testdb.Sim(t, dorissim.Options{Version: dorissim.Version21})
	c := testCatalog(t, sim.DSN(dorissim.SampleDB), withFE(sim.FEHTTPAddr()))
	props := map[string]map[string]any{}
	for _, e := range c.tools {
		var s struct{ Properties map[string]any }
		c.inputSchema(t, e.tool.Name, &s)
		props[e.tool.Name] = s.Properties
	}
	for _, rc := range referenceCalls {
		for arg := range rc.args {
			if _, ok := props[rc.tool][arg]; !ok {
				t.Errorf("%s: argument %s is not in its input schema", rc.tool, arg)
			}
		}
		r, msg := c.call(t, rc.tool, rc.args)
		switch {
		case rc.refused == "" && msg != "":
			t.Errorf("%s %v: %s", rc.tool, rc.args, msg)
		case rc.refused != "" && !strings.Contains(msg, rc.refused):
			t.Errorf("%s %v: %q, want it refused with %q", rc.tool, rc.args, msg, rc.refused)
		case rc.refused == "" && r == nil:
			t.Errorf("%s %v: no result", rc.tool, rc.args)
		}
	}
}

// What each input schema declares (minimum, maximum, enum, default) is
// what the server enforces: a value just outside is refused as invalid,
// and a default lies inside.
func TestArgumentSchemasEnforced(t *testing.T) {
	testdb.Parallel(t)
	c := testCatalog(t, testdb.DSN(t))
	type prop struct {
		Type             string
		Minimum, Maximum *float64
		Enum             []any
		Default          any
		Items            *struct{ Enum []any }
	}
	checked := 0
	for _, e := range c.tools {
		tool := e.tool
		var s struct {
			Properties map[string]prop
			Required   []string
		}
		c.inputSchema(t, tool.Name, &s)
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
			_, msg := c.call(t, tool.Name, with(name, v))
			if !strings.Contains(msg, "invalid arguments: "+name+" must be") || !strings.Contains(msg, want) {
				t.Errorf("%s %s=%v: %q, want it refused naming %s", tool.Name, name, v, msg, want)
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

// Arguments decode alike whether their keys are exactly the schema's
// names (decoded directly) or not (through the decoder that refuses
// unknown fields).
func TestDecodeArguments(t *testing.T) {
	type in struct {
		SQL     string `json:"sql"`
		MaxRows int    `json:"max_rows"`
	}
	schema, err := jsonschema.For[in](nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		raw  string
		want in
		err  bool
	}{
		{raw: `{"sql":"SELECT 1","max_rows":5}`, want: in{"SELECT 1", 5}},
		{raw: `{}`},
		{raw: `{"SQL":"SELECT 1"}`, want: in{SQL: "SELECT 1"}}, // encoding/json matches regardless of case
		{raw: `{"sql":"SELECT 1","other":1}`, err: true},
		{raw: `{"max_rows":"5"}`, err: true},
		{raw: `[1]`, err: true},
		{raw: `"x"`, err: true},
	} {
		var got in
		err := decodeArguments(json.RawMessage(tc.raw), &got, schema.Properties)
		if (err != nil) != tc.err || !tc.err && got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v, error %v", tc.raw, got, err, tc.want, tc.err)
		}
	}
}
