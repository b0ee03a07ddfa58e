package doris_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// queryFixture is a Server with default options on HTTP, a client session,
// and a plain pool on the same backend to watch the engine.
func queryFixture(t *testing.T) (*sql.DB, *mcp.ClientSession) {
	dsn := testdb.DSN(t)
	s := newServer(t, dsn)
	return openDB(t, dsn), connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
}

// bigScan would run for a minute on either backend if nothing stopped it.
const bigScan = "SELECT a.seq, b.seq FROM seq_1_to_20000 a, seq_1_to_20000 b"

// The row cap: a 400-million-row scan returns its first rows at once and
// leaves nothing running in the engine.
func TestRowCap(t *testing.T) {
	testdb.Parallel(t)
	db, cs := queryFixture(t)
	ctx := context.Background()

	start := time.Now()
	r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": bigScan, "max_rows": 7})
	took := time.Since(start)
	if r.RowCount != 7 || len(r.Rows) != 7 || !r.Truncated || r.TruncationReason != "row_limit" {
		t.Fatalf("got %d rows, truncated %v (%s)", r.RowCount, r.Truncated, r.TruncationReason)
	}
	t.Logf("7 rows of a 400M-row cross join in %v", took)
	waitFor(t, 5*time.Second, "the scan to be gone from the engine", func() bool { return running(t, db, "seq_1_to_20000") == 0 })

	// Statements the engine does not cap (SHOW) are cut in the stream.
	r = mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SHOW COLUMNS FROM customers", "max_rows": 2})
	if r.RowCount != 2 || r.TruncationReason != "row_limit" {
		t.Errorf("SHOW with max_rows 2: %d rows (%s)", r.RowCount, r.TruncationReason)
	}
	// Exactly at the limit is not truncated.
	r = mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT seq FROM seq_1_to_5", "max_rows": 5})
	if r.RowCount != 5 || r.Truncated {
		t.Errorf("5 rows with max_rows 5: %d rows, truncated %v", r.RowCount, r.Truncated)
	}
}

// The byte cap counts encoded JSON and cancels the rest of the statement.
func TestByteCap(t *testing.T) {
	testdb.Parallel(t)
	db, cs := queryFixture(t)
	ctx := context.Background()
	r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": bigScan, "max_rows": 10000, "max_bytes": 1000})
	if !r.Truncated || r.TruncationReason != "byte_limit" {
		t.Fatalf("truncated %v (%s), %d rows", r.Truncated, r.TruncationReason, r.RowCount)
	}
	b, _ := json.Marshal(r.Rows)
	if len(b) > 1000 || r.RowCount == 0 {
		t.Errorf("%d rows in %d bytes with max_bytes 1000", r.RowCount, len(b))
	}
	waitFor(t, time.Second, "the scan to be killed", func() bool { return running(t, db, "seq_1_to_20000") == 0 })

	_, msg, _ := call(ctx, cs, "exec_query", map[string]any{"sql": "SELECT 1", "max_bytes": 1 << 30})
	if !strings.Contains(msg, "max_bytes must be between 1 and 16777216") {
		t.Errorf("max_bytes above the ceiling: %q", msg)
	}
}

// The time cap: the call fails with an error naming the limit, and the
// query is gone from the engine.
func TestTimeCap(t *testing.T) {
	testdb.Parallel(t)
	db, cs := queryFixture(t)
	start := time.Now()
	_, msg, err := call(context.Background(), cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 1})
	took := time.Since(start)
	if err != nil || !strings.Contains(msg, "time limit of 1s") {
		t.Fatalf("err=%v msg=%q", err, msg)
	}
	t.Logf("timed out after %v: %s", took, msg)
	waitFor(t, time.Second, "the query to be gone", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
	_, msg, _ = call(context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT 1", "timeout_seconds": 301})
	if !strings.Contains(msg, "timeout_seconds must be between 1 and 300") {
		t.Errorf("timeout above the ceiling: %q", msg)
	}
}

// A call the client cancels has its query killed in the engine.
func TestCancelledCallKillsQuery(t *testing.T) {
	testdb.Parallel(t)
	db, cs := queryFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := call(ctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 120})
		done <- err
	}()
	waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, "seq_1_to_20000") == 1 })
	cancel()
	start := time.Now()
	if err := <-done; err == nil {
		t.Error("the cancelled call returned no error")
	}
	waitFor(t, time.Second, "the cancelled query to leave the engine", func() bool { return running(t, db, "seq_1_to_20000") == 0 })
	t.Logf("cancelled query gone from SHOW PROCESSLIST %v after the cancel", time.Since(start))
}

// Interleaved callers on a two-connection pool each get their own limits
// and database, and nothing of theirs stays on the connections.
func TestNoSessionLeaks(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	var defaultLimit string
	if err := openDB(t, dsn).QueryRow("SELECT @@sql_select_limit").Scan(&defaultLimit); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, dsn, doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 2, MaxIdle: 2}))
	hs := serveHTTP(t, s)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		cs := connect(t, ctx, hs.URL+"/mcp", nil, "")
		wg.Go(func() {
			for j := range 10 {
				rows := 1 + (i+j)%5
				db := "sample"
				if (i+j)%2 == 0 {
					db = "information_schema"
				}
				r, msg, err := call(ctx, cs, "exec_query", map[string]any{
					"sql": "SELECT DATABASE(), seq FROM sample.seq_1_to_50", "db_name": db, "max_rows": rows})
				if err != nil || msg != "" {
					t.Errorf("call: %v %s", err, msg)
					return
				}
				if r.RowCount != rows || r.Rows[0][0] != db {
					t.Errorf("asked %d rows in %s, got %d rows in %v", rows, db, r.RowCount, r.Rows[0][0])
				}
				// A call without limits or database sees the defaults.
				r = mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT DATABASE(), COUNT(*) FROM sample.seq_1_to_500"})
				if r.Rows[0][0] != "sample" || fmt.Sprint(r.Rows[0][1]) != "500" {
					t.Errorf("a plain call after others: %v", r.Rows)
				}
			}
		})
	}
	wg.Wait()
	// What is left on the pooled connections: the default limit and database.
	cs := connect(t, ctx, hs.URL+"/mcp", nil, "")
	for range 4 {
		r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SHOW VARIABLES LIKE 'sql_select_limit'"})
		if v := fmt.Sprint(r.Rows[0][1]); v != defaultLimit {
			t.Errorf("sql_select_limit left at %s on a pooled connection", v)
		}
	}
}

// Values come out as faithful JSON: no precision lost, types reported.
func TestTypedValues(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	cs := connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
	ctx := context.Background()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "exec_query", Arguments: map[string]any{
		"sql": "SELECT event_id, trace_id, customer_id, occurred_at FROM events WHERE event_id > 9007199254740993 AND customer_id IS NULL ORDER BY event_id LIMIT 1"}})
	if err != nil || res.IsError {
		t.Fatalf("%v %+v", err, res)
	}
	text := res.Content[0].(*mcp.TextContent).Text
	// 64-bit integers beyond 2^53 are strings holding every digit.
	if !regexp.MustCompile(`"rows":\[\["\d{16,}","\d{16,}",null,"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"\]\]`).MatchString(text) {
		t.Errorf("big integers, NULL and DATETIME: %s", text)
	}
	r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT price, stock, attributes FROM products WHERE attributes IS NOT NULL ORDER BY id LIMIT 1"})
	if p, ok := r.Rows[0][0].(string); !ok || !regexp.MustCompile(`^\d+\.\d\d$`).MatchString(p) {
		t.Errorf("DECIMAL %v (%T), want an exact string", r.Rows[0][0], r.Rows[0][0])
	}
	if _, ok := r.Rows[0][1].(float64); !ok {
		t.Errorf("INT %v (%T), want a number", r.Rows[0][1], r.Rows[0][1])
	}
	if r.Columns[0].Type != "DECIMAL" || r.Columns[1].Type != "INT" {
		t.Errorf("column types %+v", r.Columns)
	}
	if _, ok := r.Rows[0][2].(map[string]any); !ok {
		if _, isString := r.Rows[0][2].(string); !isString {
			t.Errorf("JSON %v (%T), want an object (or its text where the server reports it as text)", r.Rows[0][2], r.Rows[0][2])
		}
	}
}

// Default masking hides phone numbers and e-mail addresses; an exempt
// caller sees them.
func TestMasking(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	q := map[string]any{"sql": "SELECT email, phone, name FROM customers WHERE phone IS NOT NULL ORDER BY id LIMIT 20"}
	ctx := context.Background()

	raw := mustCall(t, ctx, connect(t, ctx, serveHTTP(t, newServer(t, dsn, doris.WithMaskExemption(exemptAll))).URL+"/mcp", nil, ""), "exec_query", q)
	masked := mustCall(t, ctx, connect(t, ctx, serveHTTP(t, newServer(t, dsn)).URL+"/mcp", nil, ""), "exec_query", q)
	for i, row := range masked.Rows {
		email, phone := raw.Rows[i][0].(string), raw.Rows[i][1].(string)
		if got, want := row[0], doris.MaskEmail(email); got != want || got == email {
			t.Errorf("email %q masked as %q, want %q", email, got, want)
		}
		if got, want := row[1], doris.KeepEnds(3, 4)(phone); got != want || got == phone {
			t.Errorf("phone %q masked as %q, want %q", phone, got, want)
		}
		if row[2] != raw.Rows[i][2] {
			t.Errorf("name masked: %v", row[2])
		}
	}

	none := mustCall(t, ctx, connect(t, ctx, serveHTTP(t, newServer(t, dsn, doris.WithMasking())).URL+"/mcp", nil, ""), "exec_query", q)
	if none.Rows[0][0] != raw.Rows[0][0] {
		t.Errorf("WithMasking() still masks: %v", none.Rows[0][0])
	}
}

func exemptAll(context.Context) bool { return true }

func TestMaskFunctions(t *testing.T) {
	testdb.Parallel(t)
	for _, tc := range []struct {
		mask     func(string) string
		in, want string
	}{
		{doris.KeepEnds(3, 4), "13812345678", "138****5678"},
		{doris.KeepEnds(3, 4), "1234567", "*******"},
		{doris.KeepEnds(6, 4), "110101199003074512", "110101********4512"},
		{doris.KeepEnds(1, 1), "张三丰", "张*丰"},
		{doris.MaskEmail, "alice.wong@example.com", "a********g@example.com"},
		{doris.MaskEmail, "ab@example.com", "**@example.com"},
		{doris.MaskEmail, "no-at-sign", "**********"},
	} {
		if got := tc.mask(tc.in); got != tc.want {
			t.Errorf("mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, err := doris.New(doris.WithDSN(testDSN), doris.WithMasking(doris.MaskRule{Columns: "(", Mask: doris.MaskEmail})); err == nil {
		t.Error("a bad column pattern was accepted")
	}
}

// A session whose sql_mode reads quotes differently from the guard is
// refused, with the reason.
func TestSQLModeRefused(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s := newServer(t, dsn+sep+"sql_mode=%27ANSI_QUOTES%27")
	cs := connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
	_, msg, err := call(context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT 1"})
	if err != nil || !strings.Contains(msg, "ANSI_QUOTES") {
		t.Errorf("err=%v msg=%q, want a refusal naming ANSI_QUOTES", err, msg)
	}
}

// get_sql_explain re-checks the query and returns the plan.
func TestExplainTool(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	cs := connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
	ctx := context.Background()
	r := mustCall(t, ctx, cs, "get_sql_explain", map[string]any{"sql": "SELECT * FROM orders WHERE customer_id = 7"})
	if r.RowCount == 0 {
		t.Error("empty plan")
	}
	for q, want := range map[string]string{
		"DELETE FROM orders":          "DELETE",
		"SHOW TABLES":                 "explains queries",
		"SELECT 1; DROP TABLE orders": "multiple statements",
	} {
		if _, msg, _ := call(ctx, cs, "get_sql_explain", map[string]any{"sql": q}); !strings.Contains(msg, want) {
			t.Errorf("%q: %q, want it to mention %q", q, msg, want)
		}
	}
}

// A query's own LIMIT above the row cap is lowered in the statement sent:
// the engine stops at the cap, and nothing has to be cancelled or killed
// (servers keep a query's own LIMIT over sql_select_limit).
func TestOwnLimitCapped(t *testing.T) {
	testdb.Parallel(t)
	s := newServer(t, testdb.DSN(t))
	cs := connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
	r := mustCall(t, context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT seq FROM seq_1_to_20000 ORDER BY seq LIMIT 5000", "max_rows": 10})
	if r.RowCount != 10 || !r.Truncated || r.TruncationReason != "row_limit" {
		t.Errorf("LIMIT 5000 with max_rows 10: %d rows, truncated %v (%s)", r.RowCount, r.Truncated, r.TruncationReason)
	}
	if k := s.Stats().Killed; k.Limit != 0 || k.Cancel != 0 {
		t.Errorf("killed %+v: the engine should have stopped at the cap itself", k)
	}
}
