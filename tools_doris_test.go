package doris_test

import (
	"context"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/testdb"
)

// referenceTools are the tool names of the reference server (0.6.1, less
// its two Arrow Flight tools), which existing prompts and hosts use.
var referenceTools = []string{
	"exec_query", "get_db_list", "get_db_table_list", "get_table_schema", "get_table_comment",
	"get_table_column_comments", "get_table_indexes", "get_catalog_list", "get_table_basic_info", "get_sql_explain",
	"get_sql_profile", "get_table_data_size", "get_monitoring_metrics", "get_memory_stats", "get_recent_audit_logs",
	"analyze_slow_queries_topn", "analyze_data_access_patterns", "analyze_resource_growth_curves", "analyze_columns",
	"analyze_table_storage", "monitor_data_freshness", "trace_column_lineage", "analyze_data_flow_dependencies",
}

// tools/list names every reference tool and get_cluster_nodes, each with a
// description a model can act on, an input and an output schema, and the
// read-only hint.
func TestToolsListComplete(t *testing.T) {
	testdb.Parallel(t)
	cs := connect(t, context.Background(), serveHTTP(t, newServer(t, testdb.DSN(t))).URL+"/mcp", nil, "")
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*mcp.Tool{}
	for _, tool := range res.Tools {
		got[tool.Name] = tool
	}
	want := append(slices.Clone(referenceTools), "get_cluster_nodes")
	if len(res.Tools) != len(want) {
		t.Errorf("%d tools listed, want %d", len(res.Tools), len(want))
	}
	for _, name := range want {
		tool, ok := got[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if len(tool.Description) < 60 || tool.OutputSchema == nil || tool.InputSchema == nil ||
			tool.Annotations == nil || !tool.Annotations.ReadOnlyHint {
			t.Errorf("%s: description %q, output schema %v, annotations %+v", name, tool.Description, tool.OutputSchema != nil, tool.Annotations)
		}
	}
}

// On a Doris that forgets a connection's trace ids when it closes, the
// profile is still found: its query id is looked up while the connection
// is open, with the Server's own pool and with a host-owned one.
func TestProfileTraceEndsWithConnection(t *testing.T) {
	testdb.Parallel(t)
	sim, dsn := testdb.DorisSim(t, dorissim.Version30, func(o *dorissim.Options) { o.TraceIDsEndWithConnection = true })
	for name, opts := range map[string][]doris.Option{
		"own pool":  {doris.WithDSN(dsn)},
		"host pool": {doris.WithDB(openDB(t, dsn)), doris.WithFEHTTPCredentials("root", testdb.Password)},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := doris.New(append(opts, doris.WithFEHTTP(sim.FEHTTPAddr()))...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Shutdown(context.Background()) })
			cs := connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
			r := mustCall(t, context.Background(), cs, "get_sql_profile", map[string]any{"sql": "SELECT COUNT(*) FROM orders", "db_name": "sample"})
			qid := ""
			for i, c := range r.Columns {
				if c.Name == "query_id" {
					qid, _ = r.Rows[0][i].(string)
				}
			}
			if qid == "" {
				t.Errorf("no query id: %v", r.Rows)
			}
		})
	}
}
