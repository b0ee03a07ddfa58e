package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/testdb"
	"github.com/google/go-cmp/cmp"
)

// column returns the values of the named column of r.
func column(t *testing.T, r *result, name string) []any {
	t.Helper()
	for i, c := range r.Columns {
		if strings.EqualFold(c.Name, name) {
			out := make([]any, len(r.Rows))
			for j, row := range r.Rows {
				out[j] = row[i]
			}
			return out
		}
	}
	t.Fatalf("no column %s in %v", name, r.Columns)
	return nil
}

func strs(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprint(v)
	}
	return out
}

// The metadata tools work on the simulator and, with DORIS_TEST_DSN, on
// MariaDB.
func TestMetadataTools(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	cs := newSession(t, testdb.DSN(t))

	t.Run("get_table_comment", func(t *testing.T) {
		for _, args := range []map[string]any{
			{"table_name": "orders"},
			{"table_name": "orders", "db_name": "sample"},
			{"table_name": "sample.orders"},
			{"table_name": "orders", "db_name": "sample", "catalog_name": "internal"},
		} {
			r := mustCall(t, ctx, cs, "get_table_comment", args)
			if diff := cmp.Diff([]string{"Customer orders"}, strs(column(t, r, "comment"))); diff != "" {
				t.Errorf("%v (-want +got):\n%s", args, diff)
			}
		}
	})
	t.Run("get_table_column_comments", func(t *testing.T) {
		r := mustCall(t, ctx, cs, "get_table_column_comments", map[string]any{"table_name": "orders", "db_name": "sample"})
		names := strs(column(t, r, "column_name"))
		want := []string{"id", "customer_id", "order_date", "status", "total", "shipping_city", "note"}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("columns (-want +got):\n%s", diff)
		}
		if got := strs(column(t, r, "comment"))[0]; got != "Order ID" {
			t.Errorf("id comment %q", got)
		}
	})
	t.Run("get_table_indexes", func(t *testing.T) {
		r := mustCall(t, ctx, cs, "get_table_indexes", map[string]any{"table_name": "orders", "db_name": "sample"})
		got := map[string]string{}
		for i, name := range strs(column(t, r, "index_name")) {
			got[name] = strs(column(t, r, "columns"))[i] + fmt.Sprintf(" unique=%v", column(t, r, "unique")[i])
		}
		want := map[string]string{
			"PRIMARY":                  "id unique=true",
			"idx_orders_customer_date": "customer_id, order_date unique=false",
			"idx_orders_status":        "status unique=false",
		}
		if !testdb.Real() {
			// Doris lists secondary indexes only; the sample has none.
			want = map[string]string{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("indexes (-want +got):\n%s", diff)
		}
	})
	t.Run("get_table_basic_info", func(t *testing.T) {
		r := mustCall(t, ctx, cs, "get_table_basic_info", map[string]any{"table_name": "orders", "db_name": "sample"})
		if r.RowCount != 1 {
			t.Fatalf("%d rows", r.RowCount)
		}
		got := map[string]string{}
		for i, c := range r.Columns {
			got[c.Name] = fmt.Sprint(r.Rows[0][i])
		}
		for k, want := range map[string]string{"row_count": "5000", "column_count": "7", "comment": "Customer orders", "table_type": "BASE TABLE"} {
			if got[k] != want {
				t.Errorf("%s = %q, want %q (%v)", k, got[k], want, got)
			}
		}
		wantParts, wantSource := "24", "statistics"
		if testdb.Real() {
			wantParts, wantSource = "0", "COUNT(*)"
		}
		if got["partition_count"] != wantParts || !strings.HasPrefix(got["row_count_source"], wantSource) {
			t.Errorf("partitions %s, source %q; want %s, %s", got["partition_count"], got["row_count_source"], wantParts, wantSource)
		}
		v := mustCall(t, ctx, cs, "get_table_basic_info", map[string]any{"table_name": "customer_order_totals", "db_name": "sample"})
		if tt := fmt.Sprint(column(t, v, "table_type")[0]); tt != "VIEW" || column(t, v, "row_count")[0] != nil {
			t.Errorf("view: type %s, row_count %v", tt, column(t, v, "row_count")[0])
		}
	})
}

// The audit tools read the simulator's generated audit log from 2.1 on;
// 2.0 and MariaDB answer the capability error.
func TestAuditTools(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	calls := []struct {
		tool string
		args map[string]any
	}{
		{"get_recent_audit_logs", map[string]any{"days": 7, "limit": 10}},
		{"analyze_slow_queries_topn", map[string]any{"days": 30, "top_n": 5, "min_execution_time_ms": 1000}},
		{"analyze_data_access_patterns", map[string]any{"days": 30}},
		{"analyze_resource_growth_curves", map[string]any{"days": 30}},
	}
	for _, version := range []string{dorissim.Version20, dorissim.Version21, dorissim.Version30} {
		t.Run(version, func(t *testing.T) {
			cs, _ := simSession(t, version, withMask("^stmt$", func(string) string { return "***" }))
			for _, c := range calls {
				r, msg, err := call(ctx, cs, c.tool, c.args)
				if err != nil {
					t.Fatal(err)
				}
				if version == dorissim.Version20 {
					if !strings.Contains(msg, "enable_audit_plugin") || !strings.Contains(msg, "2.1") {
						t.Errorf("%s on 2.0: %q, want the capability error", c.tool, msg)
					}
					continue
				}
				if msg != "" {
					t.Fatalf("%s: %s", c.tool, msg)
				}
				checkAudit(t, c.tool, r)
			}
		})
	}
	if testdb.Real() {
		cs := newSession(t, testdb.DSN(t))
		for _, c := range calls {
			_, msg, _ := call(ctx, cs, c.tool, c.args)
			if !strings.Contains(msg, "enable_audit_plugin") {
				t.Errorf("%s on a non-Doris server: %q", c.tool, msg)
			}
		}
	}
}

func checkAudit(t *testing.T, tool string, r *result) {
	t.Helper()
	switch tool {
	case "get_recent_audit_logs":
		if r.RowCount != 10 {
			t.Errorf("%s: %d rows, want 10", tool, r.RowCount)
		}
		for _, s := range strs(column(t, r, "stmt")) {
			if s != "***" {
				t.Errorf("%s: statement %q escaped the mask rule", tool, s)
			}
		}
	case "analyze_slow_queries_topn":
		if r.RowCount == 0 || r.RowCount > 5 {
			t.Fatalf("%s: %d rows", tool, r.RowCount)
		}
		totals := column(t, r, "total_time_ms")
		for i := 1; i < len(totals); i++ {
			if totals[i].(float64) > totals[i-1].(float64) {
				t.Errorf("%s: not ordered by total time: %v", tool, totals)
			}
		}
		for _, ms := range column(t, r, "max_time_ms") {
			if ms.(float64) < 1000 {
				t.Errorf("%s: a run of %v ms is below the threshold", tool, ms)
			}
		}
	case "analyze_data_access_patterns":
		users := strs(column(t, r, "user"))
		for _, u := range users {
			if u == "root" || u == "admin" {
				t.Errorf("%s: system user %s included", tool, u)
			}
		}
		if len(users) != 4 {
			t.Errorf("%s: users %v, want the 4 non-system users", tool, users)
		}
	case "analyze_resource_growth_curves":
		series := map[string]int{}
		for _, s := range strs(column(t, r, "series")) {
			series[s]++
		}
		if series["daily_activity"] < 28 || series["table_size_now"] != 5 {
			t.Errorf("%s: series %v, want about 30 days and the 5 tables", tool, series)
		}
		for _, name := range strs(column(t, r, "table_name")) {
			if name == "Total" {
				t.Errorf("%s: SHOW DATA's Total row reported as a table", tool)
			}
		}
	}
}

func TestAnalyzeColumns(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	cs := newSession(t, testdb.DSN(t))
	r := mustCall(t, ctx, cs, "analyze_columns", map[string]any{"table_name": "orders", "db_name": "sample", "columns": []string{"status", "note"}})
	type summary struct{ Rows, Nulls, Distinct, Min, Max string }
	got := map[string]summary{}
	var top []string
	for _, row := range r.Rows {
		m := map[string]string{}
		for i, c := range r.Columns {
			m[c.Name] = fmt.Sprint(row[i])
		}
		switch m["kind"] {
		case "summary":
			got[m["column_name"]] = summary{m["sampled_rows"], m["null_count"], m["distinct_count"], m["min_value"], m["max_value"]}
		case "top_value":
			if m["column_name"] == "status" {
				top = append(top, m["value"]+"="+m["frequency"])
			}
		}
	}
	if s := got["status"]; s.Rows != "5000" || s.Nulls != "0" || s.Distinct != "6" || s.Min != "cancelled" || s.Max != "shipped" {
		t.Errorf("status summary %+v", s)
	}
	if len(top) != 5 || top[0] != "completed=2003" {
		t.Errorf("status top values %v", top)
	}
	if s := got["note"]; s.Nulls == "0" || s.Rows != "5000" {
		t.Errorf("note summary %+v: the sample has NULL notes", s)
	}
	// All columns, one type, a small sample.
	r = mustCall(t, ctx, cs, "analyze_columns", map[string]any{"table_name": "sample.customers", "analysis_types": []string{"nulls"}, "sample_size": 10})
	for _, row := range r.Rows {
		if row[2] != "summary" || fmt.Sprint(row[3]) != "10" || row[5] != nil || row[6] != nil {
			t.Errorf("nulls only, 10 rows: %v", row)
		}
	}
	if r.RowCount < 5 {
		t.Errorf("all columns of customers: %d rows", r.RowCount)
	}
	// A masked column's values do not leave under other names.
	r = mustCall(t, ctx, cs, "analyze_columns", map[string]any{"table_name": "customers", "db_name": "sample", "columns": []string{"email"}})
	for _, row := range r.Rows {
		for _, v := range row {
			if s, ok := v.(string); ok && strings.Contains(s, "@") {
				t.Errorf("email value %q leaked: %v", s, row)
			}
		}
	}
}

func TestStorageAndFreshness(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	cs, sim := simSession(t, dorissim.Version21)
	r := mustCall(t, ctx, cs, "analyze_table_storage", map[string]any{"table_name": "orders", "db_name": "sample"})
	tableRow := map[string]any{}
	for i, c := range r.Columns {
		tableRow[c.Name] = r.Rows[0][i]
	}
	want := map[string]any{
		"level": "table", "name": "orders", "keys_model": "UNIQUE KEY(id, customer_id, order_date)",
		"partition_by": "RANGE(order_date)", "distribution": "HASH(id)", "buckets": float64(8),
		"replication": "tag.location.default: 1", "storage_medium": "hdd", "replica_count": float64(192), "row_count": float64(5000),
	}
	for k, v := range want {
		if diff := cmp.Diff(v, tableRow[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	if r.RowCount != 25 {
		t.Errorf("%d rows, want the table and its 24 partitions", r.RowCount)
	}

	r = mustCall(t, ctx, cs, "monitor_data_freshness", map[string]any{"table_names": []string{"orders", "sample.customers"}, "threshold_hours": 2})
	if diff := cmp.Diff([]string{"orders", "sample.customers"}, strs(column(t, r, "table_name"))); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	// The simulator's partitions became visible an hour before it started.
	for i, stale := range column(t, r, "stale") {
		if age := column(t, r, "hours_since_change")[i].(float64); stale != false || age < 1 || age > 2 {
			t.Errorf("row %d: stale %v, %v hours", i, stale, age)
		}
	}
	r = mustCall(t, ctx, cs, "monitor_data_freshness", map[string]any{"db_name": "sample"})
	if r.RowCount != 5 {
		t.Errorf("every base table of sample: %d rows", r.RowCount)
	}

	// A view stores nothing and has no update time of its own: it says
	// so, names what it reads, and is as fresh as the newest of those.
	r = mustCall(t, ctx, cs, "analyze_table_storage", map[string]any{"table_name": "customer_order_totals", "db_name": "sample"})
	if r.RowCount != 1 {
		t.Fatalf("a view's storage: %v", r.Rows)
	}
	view := rowsOf(r)[0]
	if view["level"] != "view" || view["data_size_bytes"] != float64(0) || view["replica_count"] != float64(0) || view["buckets"] != nil ||
		!strings.Contains(fmt.Sprint(view["note"]), "stores no data") || !strings.Contains(fmt.Sprint(view["note"]), "reads sample.customers, sample.orders") {
		t.Errorf("a view's storage: %v", view)
	}
	_, msg, _ := call(ctx, cs, "analyze_table_storage", map[string]any{"table_name": "no_such_table"})
	if msg != "table sample.no_such_table not found" {
		t.Errorf("storage of an unknown table: %q", msg)
	}
	checkViewFreshness(t, ctx, cs, true)

	// A view of views is followed down to the base tables. A table whose
	// change cannot be read (here a system table) is named with its error;
	// the view is still fresh when one it reads is. A view whose definition
	// cannot be read has its own error.
	raw := openDB(t, sim.DSN(dorissim.SampleDB))
	for _, stmt := range []string{
		"CREATE VIEW sample.big_spenders AS SELECT customer_id FROM sample.customer_order_totals WHERE total_spent > 1000",
		"CREATE VIEW sample.spenders_tables AS SELECT b.customer_id, t.TABLE_NAME FROM sample.big_spenders b, information_schema.TABLES t",
		"CREATE TABLE sample.scratch (id INT)",
		"CREATE VIEW sample.of_scratch AS SELECT id FROM sample.scratch",
		"DROP TABLE sample.scratch",
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	r = mustCall(t, ctx, cs, "monitor_data_freshness", map[string]any{"table_names": []string{"big_spenders", "spenders_tables", "of_scratch"}})
	rows := rowsOf(r)
	for _, m := range rows[:2] {
		if src := fmt.Sprint(m["source"]); m["is_view"] != true || m["stale"] != false || m["last_change"] == nil ||
			!strings.Contains(src, "sample.customers 2") || !strings.Contains(src, "sample.orders 2") {
			t.Errorf("%s: %v", m["table_name"], m)
		}
	}
	if src := fmt.Sprint(rows[1]["source"]); !strings.Contains(src, "information_schema.TABLES: ") {
		t.Errorf("a view of a system table: %v", src)
	}
	if e := fmt.Sprint(rows[2]["error"]); rows[2]["is_view"] != true || !strings.Contains(e, "its definition could not be read") {
		t.Errorf("a view of a dropped table: %v", rows[2])
	}

	// Every table is answered, an unknown one with its error; the call
	// fails only when no table can be checked.
	r = mustCall(t, ctx, cs, "monitor_data_freshness", map[string]any{"table_names": []string{"no_such_table", "orders", "nowhere.t"}})
	got := map[string]string{}
	for _, m := range rowsOf(r) {
		got[fmt.Sprint(m["table_name"])] = fmt.Sprint(m["error"], " ", m["last_change"] != nil)
	}
	if diff := cmp.Diff(map[string]string{"no_such_table": "no such table or view false", "orders": "<nil> true", "nowhere.t": "no such table or view false"}, got); diff != "" {
		t.Errorf("rows with errors (-want +got):\n%s", diff)
	}
	_, msg, _ = call(ctx, cs, "monitor_data_freshness", map[string]any{"table_names": []string{"no_such_table", "nowhere.t"}})
	if !strings.Contains(msg, "no table could be checked: sample.no_such_table: no such table or view; nowhere.t: no such table or view") {
		t.Errorf("nothing to answer: %q", msg)
	}

	if testdb.Real() {
		cs := newSession(t, testdb.DSN(t))
		_, msg, _ := call(ctx, cs, "analyze_table_storage", map[string]any{"table_name": "orders"})
		if !strings.Contains(msg, "needs Apache Doris") {
			t.Errorf("analyze_table_storage on MariaDB: %q", msg)
		}
		r := mustCall(t, ctx, cs, "monitor_data_freshness", map[string]any{"table_names": []string{"orders"}})
		if src := fmt.Sprint(column(t, r, "source")[0]); !strings.Contains(src, "UPDATE_TIME") {
			t.Errorf("MariaDB freshness source %q", src)
		}
		checkViewFreshness(t, ctx, cs, false)
	}
}

// checkViewFreshness checks monitor_data_freshness on the sample view:
// it is a view, whose change is that of the tables it reads, known on the
// simulator (whose partitions became visible an hour before it started)
// and possibly not elsewhere (MariaDB keeps UPDATE_TIME only in memory).
func checkViewFreshness(t *testing.T, ctx context.Context, cs *session, known bool) {
	t.Helper()
	r := mustCall(t, ctx, cs, "monitor_data_freshness", map[string]any{"table_names": []string{"sample.customer_order_totals"}})
	if r.RowCount != 1 {
		t.Fatalf("a view's freshness: %v", r.Rows)
	}
	m := rowsOf(r)[0]
	src := fmt.Sprint(m["source"])
	if m["is_view"] != true || m["error"] != nil || m["partitions"] != nil || !strings.HasPrefix(src, "view: no update time of its own") ||
		!strings.Contains(src, "sample.customers ") || !strings.Contains(src, "sample.orders ") {
		t.Errorf("a view's freshness: %v", m)
	}
	if age, _ := m["hours_since_change"].(float64); known && (m["stale"] != false || age < 1 || age > 2) {
		t.Errorf("a view's freshness: stale %v, %v hours", m["stale"], m["hours_since_change"])
	}
}

// rowsOf returns r's rows as maps of column name to value.
func rowsOf(r *result) []map[string]any {
	out := make([]map[string]any, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = map[string]any{}
		for j, c := range r.Columns {
			out[i][c.Name] = row[j]
		}
	}
	return out
}

func TestLineage(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	cs, _ := simSession(t, dorissim.Version21)

	r := mustCall(t, ctx, cs, "analyze_data_flow_dependencies", map[string]any{"target_table": "orders", "db_name": "sample"})
	var flows, coverage []string
	for _, m := range rowsOf(r) {
		if m["relation"] == "coverage" {
			coverage = append(coverage, fmt.Sprint(m["via"], ": ", m["evidence"]))
			continue
		}
		flows = append(flows, fmt.Sprint(m["relation"], " ", m["depth"], " ", m["from_table"], " -> ", m["to_table"], " ", m["via"]))
	}
	want := []string{
		"downstream 1 sample.orders -> sample.customer_order_totals view",
		"downstream 1 sample.orders -> sample_mart.daily_sales insert_select",
		"downstream 1 sample.orders -> sample_mart.customer_ltv insert_select",
	}
	slices.Sort(flows)
	slices.Sort(want)
	if diff := cmp.Diff(want, flows); diff != "" {
		t.Errorf("flows (-want +got):\n%s", diff)
	}
	if len(coverage) != 3 || !strings.Contains(strings.Join(coverage, "\n"), "1 view definitions read") ||
		!strings.Contains(strings.Join(coverage, "\n"), "3 distinct INSERT") {
		t.Errorf("coverage:\n%s", strings.Join(coverage, "\n"))
	}
	r = mustCall(t, ctx, cs, "analyze_data_flow_dependencies", map[string]any{"target_table": "sample_mart.customer_ltv", "include_views": false, "depth": 1})
	flows = nil
	for _, m := range rowsOf(r) {
		if m["relation"] != "coverage" {
			flows = append(flows, fmt.Sprint(m["relation"], " ", m["from_table"]))
		}
	}
	slices.Sort(flows)
	if diff := cmp.Diff([]string{"upstream sample.customers", "upstream sample.orders"}, flows); diff != "" {
		t.Errorf("upstream of customer_ltv (-want +got):\n%s", diff)
	}

	r = mustCall(t, ctx, cs, "trace_column_lineage", map[string]any{"target_columns": []string{"customer_order_totals.total_spent", "sample.customer_order_totals.name", "sample.customers.city", "sample.nowhere.x"}})
	var traces []string
	for _, m := range rowsOf(r) {
		if m["target_column"] != "(coverage)" {
			traces = append(traces, fmt.Sprint(m["target_column"], " <- ", m["source_column"], " ", m["via"]))
		}
	}
	if diff := cmp.Diff([]string{
		"sample.customer_order_totals.total_spent <- sample.orders.total view",
		"sample.customer_order_totals.name <- sample.customers.name view",
		"sample.customers.city <- <nil> <nil>",
		"sample.nowhere.x <- <nil> <nil>", // its evidence: the table does not exist
	}, traces); diff != "" {
		t.Errorf("column lineage (-want +got):\n%s", diff)
	}

	// An INSERT without a column list fills the target's columns in order,
	// when the target's columns can be read.
	csMart, sim := simSession(t, dorissim.Version21)
	raw := openDB(t, sim.DSN(""))
	for _, stmt := range []string{"CREATE DATABASE sample_mart",
		"CREATE TABLE sample_mart.customer_ltv (customer_id INT, customer_name VARCHAR(64), lifetime_value DECIMAL(14,2))"} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	r = mustCall(t, ctx, csMart, "trace_column_lineage", map[string]any{"target_columns": []string{"sample_mart.customer_ltv.lifetime_value", "sample_mart.customer_ltv.customer_id"}})
	traces = nil
	var notes string
	for _, m := range rowsOf(r) {
		if m["target_column"] == "(coverage)" {
			notes += fmt.Sprint(m["evidence"], "\n")
			continue
		}
		traces = append(traces, fmt.Sprint(m["column"], " <- ", m["source_column"], " ", m["via"]))
	}
	if diff := cmp.Diff([]string{
		"sample_mart.customer_ltv.lifetime_value <- sample.orders.total insert_select",
		"sample_mart.customer_ltv.customer_id <- sample.customers.id insert_select",
	}, traces); diff != "" {
		t.Errorf("lineage into an INSERT's target (-want +got):\n%s", diff)
	}
	if !strings.Contains(notes, "; 2 fill tables whose columns could not be read") {
		t.Errorf("coverage does not count the two targets without known columns:\n%s", notes)
	}

	// Without an audit log the answer says so and still reads views.
	cs20, _ := simSession(t, dorissim.Version20)
	r = mustCall(t, ctx, cs20, "analyze_data_flow_dependencies", map[string]any{"target_table": "sample.orders"})
	var text string
	for _, m := range rowsOf(r) {
		text += fmt.Sprint(m["via"], ": ", m["evidence"], "\n")
	}
	if !strings.Contains(text, "not used: unavailable") || !strings.Contains(text, "customer_order_totals") {
		t.Errorf("2.0 answer:\n%s", text)
	}

	if testdb.Real() {
		cs := newSession(t, testdb.DSN(t))
		r := mustCall(t, ctx, cs, "trace_column_lineage", map[string]any{"target_columns": []string{"customer_order_totals.order_count"}})
		if m := rowsOf(r)[0]; m["source_column"] != "sample.orders.id" {
			t.Errorf("MariaDB column lineage: %v", rowsOf(r))
		}
	}
}

// feStatements is how many statements the simulator has run, from its FE
// metrics.
func feStatements(t testing.TB, sim *dorissim.Server) int {
	t.Helper()
	resp, err := http.Get("http://" + sim.FEHTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "doris_fe_query_total "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatal("no doris_fe_query_total in the FE metrics")
	return 0
}

// Bad input gets a clear tool error; input refused by validation sends no
// statement at all, and injection attempts change nothing.
func TestCatalogBadInput(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	cs, sim := simSession(t, dorissim.Version21)
	mustCall(t, ctx, cs, "get_db_list", nil) // the backend is detected once, before counting
	hostile := "orders` ; DROP TABLE orders; -- "
	many := make([]string, 10_000)
	for i := range many {
		many[i] = fmt.Sprintf("c%d", i)
	}
	// Refused before any statement is sent.
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"get_table_comment", map[string]any{}, "table_name is required"},
		{"get_table_comment", map[string]any{"table_name": "a.b.c.d"}, "at most 3 parts"},
		{"get_table_comment", map[string]any{"table_name": "orders", "catalog_name": "hive_lake"}, "internal catalog only"},
		{"get_table_column_comments", map[string]any{"table_name": "orders", "db_name": "x\x00y"}, "db_name"},
		{"get_table_indexes", map[string]any{"table_name": "sample.orders", "db_name": "other"}, "names database"},
		{"get_table_basic_info", map[string]any{"table_name": "orders", "catalog_name": "x`y"}, "catalog_name"},
		{"get_recent_audit_logs", map[string]any{"days": -1}, "days must be between 1 and 90"},
		{"get_recent_audit_logs", map[string]any{"limit": 1_000_000}, "limit must be between"},
		{"analyze_slow_queries_topn", map[string]any{"top_n": 5000}, "top_n must be between 1 and 1000"},
		{"analyze_slow_queries_topn", map[string]any{"min_execution_time_ms": -5}, "min_execution_time_ms"},
		{"analyze_data_access_patterns", map[string]any{"days": 91}, "days must be between"},
		{"analyze_data_access_patterns", map[string]any{"include_system_users": "yes"}, "include_system_users must be true or false"},
		{"analyze_resource_growth_curves", map[string]any{"days": 1000}, "days must be between"},
		{"analyze_columns", map[string]any{"table_name": "orders", "columns": many}, "at most 100 columns"},
		{"analyze_columns", map[string]any{"table_name": "orders", "columns": []string{"id", "id"}}, "given twice"},
		{"analyze_columns", map[string]any{"table_name": "orders", "columns": []string{strings.Repeat("x", 65)}}, "columns[0]"},
		{"analyze_columns", map[string]any{"table_name": "orders", "analysis_types": []string{"nulls; DROP"}}, "analysis_types must be one of"},
		{"analyze_columns", map[string]any{"table_name": "orders", "sample_size": 2_000_000}, "sample_size must be between"},
		{"analyze_table_storage", map[string]any{"table_name": ""}, "table_name is required"},
		{"monitor_data_freshness", map[string]any{"table_names": many}, "at most 100 tables"},
		{"monitor_data_freshness", map[string]any{"table_names": []string{"a.b.c.d"}}, "table_names[0]"},
		{"monitor_data_freshness", map[string]any{"threshold_hours": 0.5}, "threshold_hours must be an integer"},
		{"monitor_data_freshness", map[string]any{"threshold_hours": 100_000}, "threshold_hours must be between"},
		{"trace_column_lineage", map[string]any{}, "target_columns is required"},
		{"trace_column_lineage", map[string]any{"target_columns": []string{"justcolumn"}}, "db.table.column or table.column"},
		{"trace_column_lineage", map[string]any{"target_columns": many}, "at most 50 columns"},
		{"trace_column_lineage", map[string]any{"target_columns": []string{"a.b"}, "depth": 11}, "depth must be between 1 and 10"},
		{"analyze_data_flow_dependencies", map[string]any{"target_table": "orders", "depth": -2}, "depth must be between"},
		{"analyze_data_flow_dependencies", map[string]any{"target_table": "a.b.c.d"}, "target_table"},
		{"analyze_data_flow_dependencies", map[string]any{"target_table": "orders", "bogus": 1}, `unknown argument "bogus"`},
	} {
		before := feStatements(t, sim)
		_, msg, err := call(ctx, cs, tc.tool, tc.args)
		if err != nil {
			t.Fatalf("%s: %v", tc.tool, err)
		}
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s %.80v: %q, want %q", tc.tool, tc.args, msg, tc.want)
		}
		if n := feStatements(t, sim) - before; n != 0 {
			t.Errorf("%s %.80v: %d statements sent for refused input", tc.tool, tc.args, n)
		}
	}
	// Unknown and hostile names reach Doris only quoted: they name nothing.
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"get_table_comment", map[string]any{"table_name": hostile, "db_name": "sample"}},
		{"get_table_comment", map[string]any{"table_name": "orders", "db_name": "sample' OR '1'='1"}},
		{"get_table_column_comments", map[string]any{"table_name": "no_such_table"}},
		{"get_table_indexes", map[string]any{"table_name": hostile}},
		{"get_table_basic_info", map[string]any{"table_name": "orders', 'x"}},
		{"analyze_columns", map[string]any{"table_name": hostile}},
		{"analyze_columns", map[string]any{"table_name": "orders", "columns": []string{"id`) FROM orders; DROP TABLE orders; --"}}},
		{"analyze_columns", map[string]any{"table_name": "orders", "columns": []string{"no_such_column"}}},
		{"analyze_table_storage", map[string]any{"table_name": hostile}},
		{"monitor_data_freshness", map[string]any{"table_names": []string{hostile}}},
		{"trace_column_lineage", map[string]any{"target_columns": []string{"sample.`x``; DROP TABLE orders`.c"}}},
	} {
		_, msg, err := call(ctx, cs, tc.tool, tc.args)
		if err != nil || msg == "" {
			t.Errorf("%s %v: err %v, tool error %q; want a tool error", tc.tool, tc.args, err, msg)
		}
	}
	// Tables and columns that do not exist are said not to, not traced to
	// nothing.
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"trace_column_lineage", map[string]any{"target_columns": []string{"sample.no_such_table.c"}}, "table sample.no_such_table does not exist"},
		{"trace_column_lineage", map[string]any{"target_columns": []string{"sample.orders.no_such_column"}}, "column no_such_column does not exist in sample.orders"},
		{"analyze_data_flow_dependencies", map[string]any{"target_table": "no_such_table", "db_name": "sample"}, "table sample.no_such_table not found"},
	} {
		if _, msg, err := call(ctx, cs, tc.tool, tc.args); err != nil || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %v: err %v, tool error %q; want one saying %q", tc.tool, tc.args, err, msg, tc.want)
		}
	}
	// The tables the hostile names mention are all still there.
	r := mustCall(t, ctx, cs, "get_db_table_list", map[string]any{"db_name": "sample"})
	if r.RowCount != 6 || !hasRow(r, 0, "orders") {
		t.Errorf("sample after the injection attempts: %v", r.Rows)
	}
}

// analyze_columns on a table of a million rows sends one statement, which
// reads at most sample_size rows and stays within the time and byte caps.
func TestAnalyzeColumnsMillionRows(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	cs, sim := simSession(t, dorissim.Version21, withLimits(query.Limits{MaxRows: 100, MaxBytes: 64 << 10, Timeout: 10 * time.Second}, query.Limits{MaxRows: 10_000, MaxBytes: 1 << 20, Timeout: 60 * time.Second}))
	// The simulator's seq tables are generated as they are read:
	// seq_1_to_1000000 is a million-row table.
	args := map[string]any{"table_name": "seq_1_to_1000000", "columns": []string{"seq"}, "timeout_seconds": 60}
	// The first call finds out that the simulator has no TABLESAMPLE and
	// falls back to the first rows; later calls go straight there.
	first := mustCall(t, ctx, cs, "analyze_columns", map[string]any{"table_name": "sample.orders", "columns": []string{"id"}, "sample_size": 10})
	if got := rowsOf(first)[0]["sampling"]; got != "first 10 rows the scan returned" {
		t.Errorf("sampling %v", got)
	}

	before := feStatements(t, sim)
	mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT 1"})
	perStatement := feStatements(t, sim) - before // with the runtime's own session statements

	before = feStatements(t, sim)
	start := time.Now()
	r := mustCall(t, ctx, cs, "analyze_columns", args)
	took := time.Since(start)
	if n := feStatements(t, sim) - before; n != perStatement {
		t.Errorf("analyze_columns sent %d statements, one statement is %d", n, perStatement)
	}
	if r.Truncated {
		t.Errorf("took %v, truncated %v: beyond the caps", took, r.Truncated)
	}
	m := rowsOf(r)[0]
	if m["kind"] != "summary" || r.RowCount != 6 || m["sampling"] != "first 100000 rows the scan returned" || m["sampled_rows"] != float64(100_000) || m["distinct_count"] != float64(100_000) || m["min_value"] != "1" {
		t.Errorf("summary %v", m)
	}
	t.Logf("analyze_columns on 1,000,000 rows (sample 100,000): %v", took)
}

func BenchmarkAnalyzeColumnsMillionRows(b *testing.B) {
	ctx := context.Background()
	cs := newSession(b, testdb.DSN(b))
	args := map[string]any{"table_name": "seq_1_to_1000000", "columns": []string{"seq"}, "timeout_seconds": 60}
	for b.Loop() {
		mustCall(b, ctx, cs, "analyze_columns", args)
	}
}

// Audit statements carry no literal values for a masked caller: a value in
// a WHERE clause is out of reach of rules that match column names.
func TestAuditStatementLiterals(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	for _, exempt := range []bool{false, true} {
		var opts []option
		if exempt {
			opts = append(opts, unmaskedAll)
		}
		cs, _ := simSession(t, dorissim.Version21, opts...)
		for tool, args := range map[string]map[string]any{
			"get_recent_audit_logs":     {"days": 30, "limit": 500},
			"analyze_slow_queries_topn": {"days": 30, "min_execution_time_ms": 1, "top_n": 100},
		} {
			r := mustCall(t, ctx, cs, tool, args)
			stmts := strings.Join(strs(column(t, r, "stmt")), "\n")
			if literal := strings.Contains(stmts, "'"); literal != exempt {
				t.Errorf("%s, exempt %v: literals shown %v:\n%s", tool, exempt, literal, stmts)
			}
			if !exempt && !strings.Contains(stmts, "= ?") {
				t.Errorf("%s: no literal replaced:\n%s", tool, stmts)
			}
		}
	}
}

// A required argument's schema never admits null: a model validating
// against it must send the value.
func TestRequiredArgumentsNotNullable(t *testing.T) {
	testdb.Parallel(t)
	c := testCatalog(t, testdb.DSN(t))
	checked := 0
	for _, e := range c.tools {
		tl := e.tool
		var s struct {
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		c.inputSchema(t, tl.Name, &s)
		for _, name := range s.Required {
			var p struct {
				Type any `json:"type"`
			}
			json.Unmarshal(s.Properties[name], &p)
			checked++
			if types, ok := p.Type.([]any); ok && slices.Contains(types, any("null")) {
				t.Errorf("%s: required %s has type %v", tl.Name, name, p.Type)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no required argument found")
	}
}
