package tools

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/testdb"
)

// rowsOf decodes a tool's result into one map per row, by column name.
func rowsOf(t *testing.T, raw json.RawMessage) []map[string]any {
	t.Helper()
	var r struct {
		Columns []struct{ Name string }
		Rows    [][]any
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = map[string]any{}
		for j, c := range r.Columns {
			out[i][c.Name] = row[j]
		}
	}
	return out
}

// analyze_columns with its default arguments profiles every table and view
// of the sample within the default time limit: every column gets its
// summary, and the values of every column are ranked but those of masked
// columns.
func TestAnalyzeColumnsEverySampleTable(t *testing.T) {
	testdb.Parallel(t)
	c := testCatalog(t, testdb.DSN(t), "")
	c.cfg.Mask = query.NewMasker([]query.MaskRule{{Columns: regexp.MustCompile("(?i)^(email|phone)$"), Mask: func(string) string { return "***" }}})
	must := func(name string, args map[string]any) []map[string]any {
		t.Helper()
		r, msg := c.call(t, name, args)
		if msg != "" {
			t.Fatalf("%s: %s", name, msg)
		}
		return rowsOf(t, r)
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
		r, msg := c.call(t, "analyze_columns", map[string]any{"table_name": table, "db_name": "sample"})
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
		for _, m := range rowsOf(t, r) {
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
	c := testCatalog(t, testdb.DSN(t), "")
	_, msg := c.call(t, "analyze_columns", map[string]any{"table_name": "seq_1_to_1000000", "sample_size": 1_000_000, "timeout_seconds": 1})
	if !strings.Contains(msg, "time limit") || !strings.Contains(msg, "fewer columns") || !strings.Contains(msg, "timeout_seconds") {
		t.Errorf("got %q", msg)
	}
}
