package telemetry

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummary(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"SELECT * FROM customers", "SELECT customers"},
		{"select id from sample.customers where name = 'Ann'", "SELECT sample.customers"},
		{"SELECT * FROM `my orders` o JOIN customers c ON o.customer_id = c.id", "SELECT `my orders` customers"},
		{"SELECT * FROM orders AS o, customers c, products WHERE o.id = 42", "SELECT orders customers products"},
		{"SELECT order_date FROM (SELECT * FROM orders o JOIN customers c ON o.customer_id = c.id) t", "SELECT SELECT orders customers"},
		{"WITH x AS (SELECT id FROM orders) SELECT * FROM x LEFT JOIN customers ON x.id = customers.id", "SELECT orders SELECT customers"},
		{"SELECT * FROM orders FORCE INDEX (i), customers USE INDEX (j) WHERE 1", "SELECT orders customers"},
		{"SELECT 1", "SELECT"},
		{"SELECT 'a literal', 42, 0x1F", "SELECT"},
		{"SHOW TABLES", "SHOW TABLES"},
		{"SHOW CREATE TABLE customers", "SHOW CREATE TABLE customers"},
		{"SHOW DATABASES LIKE 'sec%'", "SHOW DATABASES"},
		{"DESCRIBE sample.customers", "DESCRIBE sample.customers"},
		{"EXPLAIN SELECT * FROM orders", "EXPLAIN SELECT orders"},
		{"/* comment */ SELECT a FROM t1 UNION SELECT b FROM t2", "SELECT t1 SELECT t2"},
		{"", ""},
		{"SELECT 'unterminated", ""},
	}
	for _, tc := range cases {
		if got := Summary(tc.sql); got != tc.want {
			t.Errorf("Summary(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}

// No literal reaches a summary, wherever it stands, and a summary is
// bounded.
func TestSummaryNoLiterals(t *testing.T) {
	for _, sql := range []string{
		"SELECT * FROM t WHERE a = 'secret' AND b = \"secret\" AND c = 31337",
		"SELECT 'secret' FROM t",
		"SHOW TABLES FROM db LIKE 'secret'",
		"SELECT * FROM t LIMIT 31337",
		"SELECT * FROM t WHERE x IN ('secret', 31337)",
	} {
		if got := Summary(sql); strings.Contains(got, "secret") || strings.Contains(got, "31337") {
			t.Errorf("Summary(%q) = %q holds a literal", sql, got)
		}
	}
	long := "SELECT * FROM " + strings.Repeat("a_rather_long_table_name, ", 40) + "z"
	if got := Summary(long); len(got) > maxSummary || !strings.HasPrefix(got, "SELECT a_rather_long_table_name") {
		t.Errorf("a long summary: %d bytes: %q", len(got), got)
	}
}

// Without providers every instrument is a no-op: a statement computes no
// summary and records nothing, and the call's span does not record.
func TestNoProviders(t *testing.T) {
	tel, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, c := tel.StartRequest(t.Context(), Request{Method: "tools/call", Tool: "exec_query", Transport: TransportTCP})
	if c.span.IsRecording() {
		t.Error("the request span records without a tracer provider")
	}
	if _, st := StartStatement(ctx, "doris", "db", "SELECT * FROM t"); st != nil {
		t.Errorf("a statement without providers is recorded: %+v", st)
	}
	var st *Statement
	st.End(1, "")
	c.Result(1, 10, "")
	c.End(nil, nil)
	if diff := cmp.Diff(KilledCounts{}, tel.KilledSoFar()); diff != "" {
		t.Error(diff)
	}
	tel.Killed(KillTimeout)
	if diff := cmp.Diff(KilledCounts{Timeout: 1}, tel.KilledSoFar()); diff != "" {
		t.Errorf("kills are counted without providers (-want +got):\n%s", diff)
	}
}

// BenchmarkDisabled is what telemetry costs a call without providers: the
// request, one statement, the result and the end, the log line discarded.
func BenchmarkDisabled(b *testing.B) {
	tel, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		cctx, c := tel.StartRequest(ctx, Request{Method: "tools/call", Tool: "exec_query", Transport: TransportTCP})
		_, st := StartStatement(cctx, "doris", "sample", "SELECT * FROM customers WHERE id = 1")
		st.End(1, "")
		c.Result(1, 100, "")
		c.End(nil, nil)
	}
}
