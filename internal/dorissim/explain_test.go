package dorissim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// EXPLAIN of a query answers as Doris does: one text column named
// "Explain String(Nereids Planner)", one plan line per row.
func TestExplainLikeDoris(t *testing.T) {
	db := open(t, start(t), SampleDB)
	for _, q := range []string{
		"EXPLAIN SELECT * FROM orders WHERE customer_id = 1",
		"explain verbose select city, count(*) from customers group by city",
		"EXPLAIN WITH t AS (SELECT 1 AS x) SELECT x FROM t",
		// A unique-key point lookup, which the engine plans for one row.
		"EXPLAIN SELECT * FROM customers WHERE id = 1",
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, line)
		}
		rows.Close()
		if len(cols) != 1 || cols[0] != explainHeader || len(lines) < 2 {
			t.Errorf("%s: columns %v, %d lines:\n%s", q, cols, len(lines), strings.Join(lines, "\n"))
		}
	}
	if _, ok := dorisExplain("EXPLAIN orders"); ok {
		t.Error("EXPLAIN <table> (DESCRIBE) was rewritten")
	}
}

// seq_<from>_to_<to>_wait_<n>ms waits before its first row, and does not
// hold a caller who gives up.
func TestSeqWait(t *testing.T) {
	db := open(t, start(t), SampleDB)
	start := time.Now()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM seq_1_to_10_wait_300ms").Scan(&n); err != nil || n != 10 {
		t.Fatalf("count %d, err %v", n, err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("answered after %v, before the wait", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM seq_1_to_10_wait_60000ms").Scan(&n); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a cancelled wait: %v, want the caller's deadline", err)
	}
}
