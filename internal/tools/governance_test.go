package tools

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/testdb"
)

// analyze_columns with its default arguments profiles every table and view
// of the sample within the default time limit: every column gets its
// summary, and the values of every column are ranked but those of masked
// columns.
func TestAnalyzeColumnsEverySampleTable(t *testing.T) {
	testdb.Parallel(t)
	ctx := context.Background()
	cs := newSession(t, testdb.DSN(t), withMask("^(email|phone)$", func(string) string { return "***" }))
	must := func(name string, args map[string]any) []map[string]any {
		t.Helper()
		return rowsOf(mustCall(t, ctx, cs, name, args))
	}
	var tables []string
	for _, r := range must("get_db_table_list", map[string]any{"db_name": "sample"}) {
		tables = append(tables, r["Tables_in_sample"].(string))
	}
	if len(tables) < 6 {
		t.Fatalf("sample tables %v", tables)
	}
	for _, table := range tables {
		cols := must("get_table_schema", map[string]any{"table_name": table, "db_name": "sample"})
		began := time.Now()
		r, msg, _ := call(ctx, cs, "analyze_columns", map[string]any{"table_name": table, "db_name": "sample"})
		t.Logf("%s: %d columns in %v", table, len(cols), time.Since(began).Round(time.Millisecond))
		if msg != "" {
			t.Errorf("%s: %s", table, msg)
			continue
		}
		masked := 0
		for _, col := range cols {
			if f := col["Field"]; f == "email" || f == "phone" {
				masked++
			}
		}
		summaries, ranked := 0, map[any]bool{}
		for _, m := range rowsOf(r) {
			switch m["kind"] {
			case "summary":
				summaries++
				if m["sampled_rows"].(float64) == 0 || m["null_count"] == nil || m["distinct_count"] == nil {
					t.Errorf("%s: summary %v", table, m)
				}
				if (m["column_name"] == "email" || m["column_name"] == "phone") && m["min_value"] != "(masked)" {
					t.Errorf("%s: masked column %v shows its minimum", table, m)
				}
			case "top_value":
				ranked[m["column_name"]] = true
			}
		}
		if summaries != len(cols) {
			t.Errorf("%s: %d summaries for %d columns", table, summaries, len(cols))
		}
		if len(ranked) != len(cols)-masked {
			t.Errorf("%s: top values of %d columns of %d, %d masked", table, len(ranked), len(cols), masked)
		}
	}
}

// A profile that runs out of time says what to ask for instead.
func TestAnalyzeColumnsTimeout(t *testing.T) {
	testdb.Parallel(t)
	_, msg, _ := call(context.Background(), newSession(t, testdb.DSN(t)), "analyze_columns", map[string]any{"table_name": "seq_1_to_1000000", "sample_size": 1_000_000, "timeout_seconds": 1})
	if !strings.Contains(msg, "time limit") || !strings.Contains(msg, "fewer columns") || !strings.Contains(msg, "timeout_seconds") {
		t.Errorf("got %q", msg)
	}
}
