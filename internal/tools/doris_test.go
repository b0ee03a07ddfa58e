package tools

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/testdb"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// dorisTools are the tools that need Apache Doris.
var dorisTools = []string{"get_catalog_list", "get_cluster_nodes", "get_sql_profile", "get_table_data_size",
	"get_monitoring_metrics", "get_memory_stats"}

// dorisSession is the catalog on the simulator with its FE HTTP API.
func dorisSession(t testing.TB, sim *dorissim.Server, dsn string, opts ...option) *session {
	t.Helper()
	return newSession(t, dsn, append([]option{withFE(sim.FEHTTPAddr())}, opts...)...)
}

// columnIndex returns the index of a result column by name.
func columnIndex(t testing.TB, r *result, name string) int {
	t.Helper()
	for i, c := range r.Columns {
		if c.Name == name {
			return i
		}
	}
	t.Fatalf("no column %s in %v", name, r.Columns)
	return -1
}

// noSecret fails the test when msg carries the password.
func noSecret(t testing.TB, what, msg string) {
	t.Helper()
	if strings.Contains(msg, testdb.Password) {
		t.Errorf("%s: message carries the password: %s", what, msg)
	}
}

// The Doris-only tools on each release the simulator models, through the
// real driver and the real FE and BE HTTP servers.
func TestDorisToolsPerVersion(t *testing.T) {
	testdb.Parallel(t)
	if testdb.Real() {
		t.Skip("needs the simulator's Doris releases")
	}
	for _, version := range []string{dorissim.Version20, dorissim.Version21, dorissim.Version30} {
		// Not in parallel: simulators started at once race on the engine's
		// process-wide status variables.
		t.Run(version, func(t *testing.T) {
			sim, dsn := testdb.DorisSim(t, version)
			cs := dorisSession(t, sim, dsn, withPoolSize(1))
			ctx := context.Background()

			t.Run("get_catalog_list", func(t *testing.T) {
				r := mustCall(t, ctx, cs, "get_catalog_list", nil)
				name := columnIndex(t, r, "CatalogName")
				var got []string
				for _, row := range r.Rows {
					got = append(got, row[name].(string))
				}
				if diff := cmp.Diff([]string{"internal", "hive_lake"}, got); diff != "" {
					t.Errorf("catalogs (-want +got):\n%s", diff)
				}
				// 2.0 has four columns, later releases seven.
				if want := map[string]int{dorissim.Version20: 4}[version]; want != 0 && len(r.Columns) != want || want == 0 && len(r.Columns) != 7 {
					t.Errorf("%d columns: %v", len(r.Columns), r.Columns)
				}
			})

			t.Run("get_cluster_nodes", func(t *testing.T) {
				r := mustCall(t, ctx, cs, "get_cluster_nodes", nil)
				role, alive, ver, start, cores, used, port := columnIndex(t, r, "role"), columnIndex(t, r, "alive"), columnIndex(t, r, "version"),
					columnIndex(t, r, "last_start_time"), columnIndex(t, r, "cpu_cores"), columnIndex(t, r, "data_used"), columnIndex(t, r, "http_port")
				var roles []string
				for _, row := range r.Rows {
					roles = append(roles, row[role].(string))
					if row[alive] != true {
						t.Errorf("node not alive: %v", row)
					}
					if v, _ := row[ver].(string); !strings.Contains(v, "doris-"+version+".") {
						t.Errorf("version %q, want release %s", v, version)
					}
					if fe := strings.HasPrefix(row[role].(string), "FE"); fe && (row[start] == nil) != (version == dorissim.Version20) {
						t.Errorf("FE last_start_time %v on %s (reported from 2.1)", row[start], version)
					}
					if row[role] == "BE" {
						if (row[cores] == nil) != (version != dorissim.Version30) {
							t.Errorf("cpu_cores %v on %s (reported from 3.0)", row[cores], version)
						}
						if s, _ := row[used].(string); s == "" {
							t.Errorf("BE without data_used: %v", row)
						}
					}
				}
				if diff := cmp.Diff([]string{"FE_FOLLOWER", "BE", "BE", "BE"}, roles); diff != "" {
					t.Errorf("roles (-want +got):\n%s", diff)
				}
				// The FE's HTTP port is the real one the simulator listens on.
				_, fePort, _ := net.SplitHostPort(sim.FEHTTPAddr())
				if r.Rows[0][port] != fePort {
					t.Errorf("FE http_port %v, want %s", r.Rows[0][port], fePort)
				}
			})

			t.Run("get_table_data_size", func(t *testing.T) {
				r := mustCall(t, ctx, cs, "get_table_data_size", map[string]any{"db_name": "sample"})
				tbl, size := columnIndex(t, r, "table"), columnIndex(t, r, "size_bytes")
				sizes := map[string]float64{}
				for i, row := range r.Rows {
					sizes[row[tbl].(string)] = row[size].(float64)
					if i > 0 && row[size].(float64) > r.Rows[i-1][size].(float64) {
						t.Errorf("not largest first: %v", r.Rows)
					}
				}
				if sizes["orders"] <= 0 || sizes["customers"] <= 0 {
					t.Errorf("sizes: %v", sizes)
				}
				one := mustCall(t, ctx, cs, "get_table_data_size", map[string]any{"table_name": "orders", "single_replica": true})
				if one.RowCount != 1 || one.Rows[0][tbl] != "orders" || one.Rows[0][columnIndex(t, one, "replicas")] != "one" {
					t.Errorf("one table, default database: %v", one.Rows)
				}
				// A view stores nothing: listed and asked for by name it says
				// so, and by name which tables it reads.
				isView := columnIndex(t, r, "is_view")
				for _, row := range r.Rows {
					if want := row[tbl] == "customer_order_totals"; row[isView] != want {
						t.Errorf("is_view %v: %v", row[isView], row)
					}
				}
				v := mustCall(t, ctx, cs, "get_table_data_size", map[string]any{"table_name": "customer_order_totals"})
				if v.RowCount != 1 || v.Rows[0][size] != float64(0) || v.Rows[0][isView] != true {
					t.Fatalf("a view by name: %v", v.Rows)
				}
				if note := fmt.Sprint(v.Rows[0][columnIndex(t, v, "note")]); !strings.Contains(note, "stores no data") ||
					!strings.Contains(note, "reads sample.customers, sample.orders") {
					t.Errorf("a view's note: %q", note)
				}
			})

			t.Run("get_monitoring_metrics", func(t *testing.T) {
				r := mustCall(t, ctx, cs, "get_monitoring_metrics", nil)
				node, rl, metric, value, meaning := columnIndex(t, r, "node"), columnIndex(t, r, "role"), columnIndex(t, r, "metric"), columnIndex(t, r, "value"), columnIndex(t, r, "meaning")
				seen := map[string]bool{}
				ups := map[string]float64{}
				for _, row := range r.Rows {
					seen[row[metric].(string)] = true
					if row[meaning] == "" {
						t.Errorf("core metric without a meaning: %v", row)
					}
					if row[metric] == "up" {
						ups[row[node].(string)] = row[value].(float64)
					}
				}
				for _, m := range []string{"doris_fe_query_total", "doris_fe_query_latency_ms", "jvm_heap_size_bytes",
					"doris_be_memory_allocated_bytes", "doris_be_disks_avail_capacity", "doris_be_cpu"} {
					if !seen[m] {
						t.Errorf("core metric %s missing", m)
					}
				}
				if len(ups) != 4 {
					t.Errorf("up per node: %v, want the FE and 3 BEs", ups)
				}
				for n, v := range ups {
					if v != 1 {
						t.Errorf("node %s up = %v", n, v)
					}
				}
				be := mustCall(t, ctx, cs, "get_monitoring_metrics", map[string]any{"role": "be", "priority": "all", "name_prefix": "doris_be_disks"})
				for _, row := range be.Rows {
					if row[rl] != "be" || !strings.HasPrefix(row[metric].(string), "doris_be_disks") {
						t.Errorf("role be, prefix doris_be_disks: %v", row)
					}
				}
				if be.RowCount != 9 {
					t.Errorf("%d disk samples, want 3 per BE: %v", be.RowCount, be.Rows)
				}
				jvm := mustCall(t, ctx, cs, "get_monitoring_metrics", map[string]any{"role": "fe", "monitor_type": "jvm"})
				if jvm.RowCount != 5 {
					t.Errorf("FE jvm metrics: %v", jvm.Rows)
				}
			})

			t.Run("get_memory_stats", func(t *testing.T) {
				r := mustCall(t, ctx, cs, "get_memory_stats", nil)
				node, cat, name, bytes := columnIndex(t, r, "node"), columnIndex(t, r, "category"), columnIndex(t, r, "name"), columnIndex(t, r, "bytes")
				// What each BE's /metrics says, read here directly.
				for _, addr := range sim.BEHTTPAddrs() {
					want := scrapeGauge(t, "http://"+addr+"/metrics", "doris_be_memory_allocated_bytes")
					found := false
					cats := map[string]bool{}
					for _, row := range r.Rows {
						if row[node] != addr {
							continue
						}
						cats[row[cat].(string)] = true
						if row[name] == "allocated_bytes" {
							found = row[bytes].(float64) == want
						}
					}
					if !found {
						t.Errorf("BE %s: allocated_bytes not %v: %v", addr, want, r.Rows)
					}
					if !cats["process"] || !cats["jemalloc"] || !cats["tracker"] {
						t.Errorf("BE %s: categories %v", addr, cats)
					}
				}
				one := mustCall(t, ctx, cs, "get_memory_stats", map[string]any{"node": sim.BEHTTPAddrs()[1]})
				for _, row := range one.Rows {
					if row[node] != sim.BEHTTPAddrs()[1] {
						t.Errorf("node filter: %v", row)
					}
				}
			})

			t.Run("get_sql_profile", func(t *testing.T) {
				q := "SELECT COUNT(*) FROM orders WHERE status = 'shipped'"
				r, msg, err := call(ctx, cs, "get_sql_profile", map[string]any{"sql": q, "db_name": "sample"})
				if err != nil {
					t.Fatal(err)
				}
				if version == dorissim.Version20 {
					if !strings.Contains(msg, "needs Apache Doris ≥ 2.1") {
						t.Errorf("2.0: %q, want the capability error", msg)
					}
					return
				}
				if msg != "" {
					t.Fatalf("tool error: %s", msg)
				}
				text := r.Rows[0][columnIndex(t, r, "profile")].(string)
				trace := r.Rows[0][columnIndex(t, r, "trace_id")].(string)
				qid := r.Rows[0][columnIndex(t, r, "query_id")].(string)
				for _, want := range []string{"COUNT(*) FROM orders WHERE status = 'shipped'", "Trace ID: " + trace, "Profile ID: " + qid, "Default Db: sample"} {
					if !strings.Contains(text, want) {
						t.Errorf("profile lacks %q:\n%s", want, text)
					}
				}
				// The connection, the pool's only one, did not keep the
				// trace id or the profiling for the next caller.
				after := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT @@session_context, @@enable_profile, DATABASE()"})
				if s, _ := after.Rows[0][0].(string); strings.Contains(s, trace) {
					t.Errorf("the next call's session carries the trace id: %v", after.Rows)
				}
				if after.Rows[0][2] != "sample" {
					t.Errorf("the next call's database: %v", after.Rows)
				}
			})

			t.Run("catalog_name", func(t *testing.T) {
				args := map[string]map[string]any{
					"exec_query":        {"sql": "SELECT COUNT(*) FROM customers", "db_name": "sample", "catalog_name": "internal"},
					"get_db_list":       {"catalog_name": "internal"},
					"get_db_table_list": {"catalog_name": "internal", "db_name": "sample"},
					"get_table_schema":  {"catalog_name": "internal", "db_name": "sample", "table_name": "orders"},
					"get_sql_explain":   {"catalog_name": "internal", "db_name": "sample", "sql": "SELECT * FROM orders"},
				}
				for tool, a := range args {
					if r := mustCall(t, ctx, cs, tool, a); r.RowCount == 0 {
						t.Errorf("%s in catalog internal: no rows", tool)
					}
					a["catalog_name"] = "hive_lake" // listed, not reachable in the simulator
					if _, msg, _ := call(ctx, cs, tool, a); !strings.Contains(msg, "hive_lake") {
						t.Errorf("%s in an unreachable catalog: %q", tool, msg)
					}
				}
				// A SWITCH does not outlive its call.
				r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT DATABASE()"})
				if r.Rows[0][0] != "sample" {
					t.Errorf("after calls in catalogs, the default database is %v", r.Rows[0][0])
				}
			})

			t.Run("timeout alias", func(t *testing.T) {
				_, msg, _ := call(ctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "db_name": "sample", "timeout": 1})
				if !strings.Contains(msg, "time limit of 1s") {
					t.Errorf("timeout 1: %q, want the time limit error", msg)
				}
			})
		})
	}
}

// scrapeGauge reads one unlabelled gauge from a /metrics endpoint.
func scrapeGauge(t testing.TB, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// The BE may declare a family twice; the first declaration stands.
	var text strings.Builder
	seen := map[string]bool{}
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "# ") {
			if seen[line] {
				continue
			}
			seen[line] = true
		}
		text.WriteString(line)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := fams[name]
	if !ok {
		t.Fatalf("%s has no %s", url, name)
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

// What a tool the backend cannot serve answers: on MariaDB (with
// DORIS_TEST_DSN) that it needs Doris, whatever else is configured; on the
// simulator without a usable FE HTTP address, how to configure one. The
// MySQL-compatible tools work either way.
func TestDorisToolsCapabilityErrors(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	onDoris := !testdb.Real()
	ctx := context.Background()
	args := map[string]map[string]any{
		"get_sql_profile":     {"sql": "SELECT 1"},
		"get_table_data_size": {"db_name": "sample"},
	}
	for _, fe := range []struct {
		name string
		opts []option
		want string // from the tools that need the FE HTTP API, on Doris
	}{
		{"no FE HTTP", nil, "needs the FE HTTP port"},
		{"FE HTTP down", []option{withFE("127.0.0.1:1")}, "needs the FE HTTP API, which did not answer"},
	} {
		t.Run(fe.name, func(t *testing.T) {
			cs := newSession(t, dsn, fe.opts...)
			for _, tool := range dorisTools {
				r, msg, err := call(ctx, cs, tool, args[tool])
				if err != nil {
					t.Fatal(err)
				}
				noSecret(t, tool, msg)
				needsHTTP := !slices.Contains([]string{"get_catalog_list", "get_cluster_nodes"}, tool)
				switch {
				case !onDoris:
					if !strings.Contains(msg, "needs Apache Doris") || !strings.Contains(msg, "mariadb") {
						t.Errorf("%s on MariaDB: %q, want the capability error", tool, msg)
					}
				case needsHTTP:
					if !strings.Contains(msg, fe.want) || !strings.Contains(msg, "WithFEHTTP") {
						t.Errorf("%s: %q, want %q and how to configure it", tool, msg, fe.want)
					}
				default:
					if msg != "" || r.RowCount == 0 {
						t.Errorf("%s: %q", tool, msg)
					}
				}
			}
			_, msg, _ := call(ctx, cs, "get_db_list", map[string]any{"catalog_name": "internal"})
			if !onDoris && !strings.Contains(msg, "catalog_name needs Apache Doris") {
				t.Errorf("catalog_name on MariaDB: %q", msg)
			}
			compatible := map[string]map[string]any{
				"exec_query":        {"sql": "SELECT 1"},
				"get_db_list":       nil,
				"get_db_table_list": {"db_name": "sample"},
				"get_table_schema":  {"db_name": "sample", "table_name": "orders"},
				"get_sql_explain":   {"sql": "SELECT * FROM sample.orders"},
			}
			for tool, a := range compatible {
				if _, msg, err := call(ctx, cs, tool, a); err != nil || msg != "" {
					t.Errorf("%s: %v %q", tool, err, msg)
				}
			}
			// The reference's name for the time limit works everywhere.
			_, msg, _ = call(ctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "db_name": "sample", "timeout": 1})
			if !strings.Contains(msg, "time limit of 1s") {
				t.Errorf("timeout 1: %q, want the time limit error", msg)
			}
		})
	}
}

// Bad input to every tool: a clear tool error, nothing run that should
// not be, and never the password.
func TestDorisToolsBadInput(t *testing.T) {
	testdb.Parallel(t)
	if testdb.Real() {
		t.Skip("needs the simulator's FE HTTP API")
	}
	sim, dsn := testdb.DorisSim(t, dorissim.Version21)
	cs := dorisSession(t, sim, dsn)
	ctx := context.Background()
	const inject = "sample`; DROP TABLE customers; -- "
	const injectQ = "sample' OR '1'='1"
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"exec_query", map[string]any{"sql": "SELECT 1", "catalog_name": "nope"}, "nope"},
		{"exec_query", map[string]any{"sql": "SELECT 1", "catalog_name": inject}, "does not exist"},
		{"exec_query", map[string]any{"sql": "SELECT 1", "db_name": inject}, "DROP TABLE customers"},
		{"exec_query", map[string]any{"sql": "SELECT 1", "timeout": 100000}, "timeout must be between 1 and 300"},
		{"exec_query", map[string]any{"sql": "SELECT 1", "timeout": 5, "timeout_seconds": 6}, "disagree"},
		{"get_db_list", map[string]any{"catalog_name": inject}, ""},
		{"get_db_list", map[string]any{"catalog_name": ""}, "-"},
		{"get_db_table_list", map[string]any{"catalog_name": "internal"}, "db_name is required"},
		{"get_db_table_list", map[string]any{"catalog_name": "internal", "db_name": inject}, "does not exist"},
		{"get_db_table_list", map[string]any{"catalog_name": inject, "db_name": "sample"}, ""},
		{"get_table_schema", map[string]any{"catalog_name": "internal", "table_name": "orders"}, "db_name"},
		{"get_table_schema", map[string]any{"catalog_name": "internal", "table_name": "internal.sample.orders"}, "not both"},
		{"get_table_schema", map[string]any{"catalog_name": "internal", "db_name": "sample", "table_name": "no_such_table"}, "no_such_table"},
		{"get_table_schema", map[string]any{"catalog_name": inject, "db_name": "sample", "table_name": "orders"}, ""},
		{"get_table_schema", map[string]any{"catalog_name": "internal", "db_name": "sample", "table_name": inject}, ""},
		{"get_sql_explain", map[string]any{"catalog_name": inject, "sql": "SELECT 1"}, ""},
		{"get_sql_explain", map[string]any{"catalog_name": "internal", "sql": "DELETE FROM customers"}, "DELETE"},
		{"get_catalog_list", map[string]any{"catalog_name": "internal"}, "unknown argument"},
		{"get_cluster_nodes", map[string]any{"role": "fe"}, "unknown argument"},
		{"get_sql_profile", map[string]any{"sql": "DROP TABLE customers"}, "DROP"},
		{"get_sql_profile", map[string]any{"sql": "SHOW TABLES"}, "profiles queries"},
		{"get_sql_profile", map[string]any{"sql": ""}, "sql is required"},
		{"get_sql_profile", map[string]any{"sql": "SELECT 1", "db_name": inject}, ""},
		{"get_sql_profile", map[string]any{"sql": "SELECT 1", "catalog_name": inject}, "does not exist"},
		{"get_sql_profile", map[string]any{"sql": "SELECT 1", "catalog_name": "hive_lake"}, "hive_lake"},
		{"get_sql_profile", map[string]any{"sql": "SELECT 1", "timeout_seconds": -1}, "must be between 1"},
		{"get_sql_profile", map[string]any{"sql": "SELECT * FROM no_such_table", "db_name": "sample"}, "no_such_table"},
		{"get_table_data_size", map[string]any{"db_name": "no_such_db"}, "does not exist"},
		{"get_table_data_size", map[string]any{"db_name": "sample", "table_name": "no_such_table"}, "does not exist"},
		{"get_table_data_size", map[string]any{"db_name": inject}, "does not exist"},
		{"get_table_data_size", map[string]any{"db_name": injectQ}, "does not exist"},
		{"get_table_data_size", map[string]any{"db_name": "sample", "table_name": inject}, "does not exist"},
		{"get_table_data_size", map[string]any{"db_name": "sample\x00x"}, "control"},
		{"get_table_data_size", map[string]any{"db_name": strings.Repeat("d", 65)}, "64"},
		{"get_monitoring_metrics", map[string]any{"role": "master"}, "role must be"},
		{"get_monitoring_metrics", map[string]any{"monitor_type": "disk'; DROP"}, "monitor_type must be"},
		{"get_monitoring_metrics", map[string]any{"priority": "urgent"}, "priority must be"},
		{"get_monitoring_metrics", map[string]any{"name_prefix": strings.Repeat("x", 200)}, "name_prefix"},
		{"get_memory_stats", map[string]any{"node": "127.0.0.1:1"}, "not a BE of this cluster"},
		{"get_memory_stats", map[string]any{"node": "evil.example:80/../admin"}, "not a BE of this cluster"},
	}
	for _, tc := range cases {
		r, msg, err := call(ctx, cs, tc.tool, tc.args)
		if err != nil {
			t.Fatalf("%s %v: protocol error %v", tc.tool, tc.args, err)
		}
		noSecret(t, tc.tool, msg)
		switch {
		case tc.want == "-": // an empty catalog_name is no catalog_name
			if msg != "" {
				t.Errorf("%s %v: %q", tc.tool, tc.args, msg)
			}
		case msg == "":
			t.Errorf("%s %v: accepted (%v), want an error", tc.tool, tc.args, r.Rows)
		case !strings.Contains(msg, tc.want):
			t.Errorf("%s %v: %q, want it to say %q", tc.tool, tc.args, msg, tc.want)
		}
	}
	// Nothing was dropped.
	r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT COUNT(*) FROM customers", "db_name": "sample"})
	if fmt.Sprint(r.Rows[0][0]) != "2000" {
		t.Errorf("customers after the injection attempts: %v", r.Rows)
	}
}

// An FE or BE HTTP endpoint that is down, slow, answers garbage or a 50 MB
// body: each tool that reads it answers with a clear error in bounded
// time, without the password.
func TestDorisToolsHTTPFailures(t *testing.T) {
	testdb.Parallel(t)
	if testdb.Real() {
		t.Skip("needs the simulator")
	}
	_, dsn := testdb.DorisSim(t, dorissim.Version21)
	// Each bad server answers the version probe like an FE, so the tools
	// themselves meet the failure; "down" fails the probe too.
	version := func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/fe_version_info" {
			return false
		}
		io.WriteString(w, `{"msg":"success","code":0,"data":{"feVersionInfo":{"dorisBuildVersion":"doris-2.1.7"}},"count":0}`)
		return true
	}
	behaviours := map[string]http.HandlerFunc{
		"slow": func(w http.ResponseWriter, r *http.Request) {
			if !version(w, r) {
				<-r.Context().Done() // until the client gives up
			}
		},
		"garbage": func(w http.ResponseWriter, r *http.Request) {
			if !version(w, r) {
				io.WriteString(w, "<html>\x00\x01 not what you asked for "+testdb.Password+" {{{")
			}
		},
		"50MB": func(w http.ResponseWriter, r *http.Request) {
			if version(w, r) {
				return
			}
			chunk := []byte(strings.Repeat("doris_fe_query_total 1\n", 1<<12))
			for n := 0; n < 50<<20; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
	}
	addrs := map[string]string{}
	for name, h := range behaviours {
		hs := httptest.NewServer(h)
		t.Cleanup(hs.Close)
		addrs[name] = hs.Listener.Addr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addrs["down"] = l.Addr().String()
	l.Close()

	calls := []struct {
		tool string
		args map[string]any
	}{
		{"get_table_data_size", map[string]any{"db_name": "sample"}},
		{"get_monitoring_metrics", map[string]any{"role": "fe"}},
		{"get_memory_stats", nil},
		{"get_sql_profile", map[string]any{"sql": "SELECT 1"}},
	}
	for name, addr := range addrs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cs := newSession(t, dsn, withFE(addr), withBEs(addr),
				withLimits(query.Limits{MaxRows: 100, MaxBytes: 1 << 20, Timeout: time.Second}, query.Limits{MaxRows: 10_000, MaxBytes: 16 << 20, Timeout: 5 * time.Second}))
			for _, c := range calls {
				start := time.Now()
				r, msg, err := call(context.Background(), cs, c.tool, c.args)
				if err != nil {
					t.Fatalf("%s: protocol error %v", c.tool, err)
				}
				if msg == "" {
					t.Errorf("%s: accepted: %v", c.tool, r.Rows)
				}
				noSecret(t, c.tool, msg)
				t.Logf("%s: %s (%v)", c.tool, msg, time.Since(start))
				if !strings.Contains(msg, "HTTP") && !strings.Contains(msg, "dorishttp") {
					t.Errorf("%s: %q does not say the HTTP API failed", c.tool, msg)
				}
			}
		})
	}
}

// BenchmarkMonitoringMetrics: get_monitoring_metrics over 1 FE and 3 BEs
// of the simulator, from the client's call to its decoded result.
func BenchmarkMonitoringMetrics(b *testing.B) {
	sim, dsn := testdb.DorisSim(b, dorissim.Version21)
	cs := dorisSession(b, sim, dsn)
	ctx := context.Background()
	var parsed int64
	for _, u := range append([]string{sim.FEHTTPAddr()}, sim.BEHTTPAddrs()...) {
		resp, err := http.Get("http://" + u + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		parsed += n
	}
	for _, priority := range []string{"core", "all"} {
		b.Run(priority, func(b *testing.B) {
			for b.Loop() {
				mustCall(b, ctx, cs, "get_monitoring_metrics", map[string]any{"priority": priority})
			}
			b.ReportMetric(float64(parsed), "bytes_parsed/op")
		})
	}
}

// With configured BE addresses (the Server's WithBEHTTP) the BEs are the configured ones, not those SHOW BACKENDS
// reports.
func TestBEHTTPConfigured(t *testing.T) {
	testdb.Parallel(t)
	if testdb.Real() {
		t.Skip("needs the simulator")
	}
	sim, dsn := testdb.DorisSim(t, dorissim.Version30)
	be := sim.BEHTTPAddrs()[2]
	cs := dorisSession(t, sim, dsn, withBEs(be))
	ctx := context.Background()
	mem := mustCall(t, ctx, cs, "get_memory_stats", nil)
	node := columnIndex(t, mem, "node")
	for _, row := range mem.Rows {
		if row[node] != be {
			t.Errorf("memory of %v, want only %s", row[node], be)
		}
	}
	if mem.RowCount == 0 {
		t.Error("no memory rows")
	}
	m := mustCall(t, ctx, cs, "get_monitoring_metrics", map[string]any{"name_prefix": "up"})
	var nodes []string
	for _, row := range m.Rows {
		nodes = append(nodes, row[columnIndex(t, m, "role")].(string)+" "+row[columnIndex(t, m, "node")].(string))
	}
	if diff := cmp.Diff([]string{"fe " + sim.FEHTTPAddr(), "be " + be}, nodes); diff != "" {
		t.Errorf("nodes read (-want +got):\n%s", diff)
	}
}

// A SET_VAR is sent only with variables the connected Doris knows (read
// from its SHOW VARIABLES): Doris fails the whole statement otherwise.
func TestSetVarKnownToServer(t *testing.T) {
	testdb.Parallel(t)
	_, dsn := testdb.DorisSim(t, dorissim.Version21)
	cs := newSession(t, dsn)
	r := mustCall(t, context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT /*+ SET_VAR(enable_sql_cache=false) */ 1 AS one"})
	if r.RowCount != 1 {
		t.Errorf("a known variable: %d rows", r.RowCount)
	}
	_, msg, _ := call(context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT /*+ SET_VAR(enable_local_shuffle=false) */ 1"})
	if !strings.Contains(msg, "has no session variable enable_local_shuffle") {
		t.Errorf("a variable this server lacks: %q, want it refused by name", msg)
	}
}
