package doris_test

import (
	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
	"github.com/google/go-cmp/cmp"

	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The end-to-end suite: the go-sdk client over real HTTP (stateless and
// stateful) and over stdio pipes, against the simulator or, with
// DORIS_TEST_DSN, a real server.
func TestToolsEndToEnd(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	transports := map[string]func(t *testing.T) *mcp.ClientSession{
		"http-stateless": func(t *testing.T) *mcp.ClientSession {
			hs := serveHTTP(t, newServer(t, dsn))
			return connect(t, context.Background(), hs.URL+"/mcp", nil, "")
		},
		"http-stateful": func(t *testing.T) *mcp.ClientSession {
			hs := serveHTTP(t, newServer(t, dsn, doris.WithStatefulSessions(time.Minute)))
			return connect(t, context.Background(), hs.URL+"/mcp", nil, "2025-11-25")
		},
		"stdio": func(t *testing.T) *mcp.ClientSession {
			return connectStdio(t, newServer(t, dsn))
		},
	}
	for name, open := range transports {
		t.Run(name, func(t *testing.T) {
			cs := open(t)
			testTools(t, cs)
		})
	}
}

// connectStdio serves s over a pair of pipes and connects a client.
func connectStdio(t *testing.T, s *doris.Server) *mcp.ClientSession {
	cs, served := servePipes(t, context.Background(), s, nil)
	t.Cleanup(func() {
		cs.Close()
		if err := <-served; err != nil && err != doris.ErrServerClosed {
			t.Errorf("ServeStdio: %v", err)
		}
	})
	return cs
}

func testTools(t *testing.T, cs *mcp.ClientSession) {
	ctx := context.Background()

	t.Run("list", func(t *testing.T) {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
			if tool.Annotations == nil || !tool.Annotations.ReadOnlyHint {
				t.Errorf("%s: not marked read-only", tool.Name)
			}
			if tool.OutputSchema == nil || tool.InputSchema == nil || tool.Description == "" {
				t.Errorf("%s: missing schema or description", tool.Name)
			}
		}
		for _, want := range []string{"exec_query", "get_db_list", "get_db_table_list", "get_table_schema"} {
			if !slices.Contains(names, want) {
				t.Errorf("tool %s missing from %v", want, names)
			}
		}
	})

	t.Run("get_db_list", func(t *testing.T) {
		r := mustCall(t, ctx, cs, "get_db_list", nil)
		if !hasRow(r, 0, "sample") {
			t.Errorf("database sample not listed: %v", r.Rows)
		}
	})

	t.Run("get_db_table_list", func(t *testing.T) {
		r := mustCall(t, ctx, cs, "get_db_table_list", map[string]any{"db_name": "sample"})
		for _, table := range []string{"customers", "orders", "order_items", "products"} {
			if !hasRow(r, 0, table) {
				t.Errorf("table %s not listed: %v", table, r.Rows)
			}
		}
	})

	t.Run("get_table_schema", func(t *testing.T) {
		r := mustCall(t, ctx, cs, "get_table_schema", map[string]any{"db_name": "sample", "table_name": "customers"})
		col := func(name string) int {
			for i, c := range r.Columns {
				if strings.EqualFold(c.Name, name) {
					return i
				}
			}
			t.Fatalf("SHOW FULL COLUMNS lacks %s: %v", name, r.Columns)
			return -1
		}
		field, key, comment, null := col("Field"), col("Key"), col("Comment"), col("Null")
		var sawPK, sawComment bool
		for _, row := range r.Rows {
			if row[field] == "id" && row[key] == "PRI" && row[null] == "NO" {
				sawPK = true
			}
			if s, _ := row[comment].(string); s != "" {
				sawComment = true
			}
		}
		if !sawPK || !sawComment {
			t.Errorf("schema lacks the primary key or column comments: %v", r.Rows)
		}
		var names []string
		for _, c := range r.Columns {
			names = append(names, c.Name)
		}
		if diff := cmp.Diff([]string{"Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Comment"}, names); diff != "" {
			t.Errorf("schema columns (-want +got):\n%s", diff)
		}
		qualified := mustCall(t, ctx, cs, "get_table_schema", map[string]any{"table_name": "sample.customers"})
		if qualified.RowCount != r.RowCount {
			t.Errorf("db.table form: %d columns, want %d", qualified.RowCount, r.RowCount)
		}
	})

	t.Run("exec_query accepts reads", func(t *testing.T) {
		for _, q := range []string{
			"SELECT name FROM customers WHERE name <> 'DROP TABLE customers' ORDER BY id LIMIT 3",
			"SELECT id -- a note; DROP TABLE t\nFROM customers WHERE id BETWEEN 1 AND 3",
			"WITH big AS (SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id) SELECT COUNT(*) FROM big",
			"SHOW TABLES",
			"DESCRIBE orders",
			"DESC sample.products",
			"EXPLAIN SELECT * FROM orders WHERE customer_id = 1",
			"SELECT 1;",
		} {
			r, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": q, "db_name": "sample"})
			if err != nil || msg != "" {
				t.Errorf("%q: err=%v tool error=%q", q, err, msg)
				continue
			}
			if r.RowCount == 0 {
				t.Errorf("%q: no rows", q)
			}
		}
	})

	t.Run("exec_query refuses writes", func(t *testing.T) {
		for q, reason := range map[string]string{
			"DELETE FROM customers":                        "DELETE",
			"UPDATE customers SET name = 'x'":              "UPDATE",
			"INSERT INTO customers (id) VALUES (1)":        "INSERT",
			"DROP TABLE customers":                         "DROP",
			"CREATE TABLE x (id INT)":                      "CREATE",
			"SELECT 1; DROP TABLE customers":               "multiple statements",
			"SELECT * FROM customers INTO OUTFILE 'x'":     "INTO",
			"SELECT SLEEP(10)":                             "SLEEP",
			"/*!50000 DROP TABLE customers */ SELECT 1":    "executable comment",
			"EXPLAIN DELETE FROM customers":                "DELETE",
			"SET GLOBAL read_only = 0":                     "SET",
			"SELECT /*+ SET_VAR(query_timeout=86400) */ 1": "query_timeout",
		} {
			_, msg, err := call(ctx, cs, "exec_query", map[string]any{"sql": q, "db_name": "sample"})
			if err != nil {
				t.Errorf("%q: protocol error %v, want a tool error", q, err)
				continue
			}
			if !strings.Contains(strings.ToLower(msg), strings.ToLower(reason)) {
				t.Errorf("%q: tool error %q does not name %q", q, msg, reason)
			}
		}
	})

	t.Run("exec_query bounds", func(t *testing.T) {
		r := mustCall(t, ctx, cs, "exec_query", map[string]any{"sql": "SELECT id FROM customers ORDER BY id", "db_name": "sample", "max_rows": 5})
		if r.RowCount != 5 || !r.Truncated || r.TruncationReason != "row_limit" {
			t.Errorf("max_rows 5: %d rows, truncated %v (%s)", r.RowCount, r.Truncated, r.TruncationReason)
		}
		_, msg, _ := call(ctx, cs, "exec_query", map[string]any{"sql": "SELECT 1", "max_rows": 1_000_000})
		if !strings.Contains(msg, "max_rows must be between 1 and 10000") {
			t.Errorf("max_rows above the ceiling: %q, want an error", msg)
		}
		_, msg, _ = call(ctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "db_name": "sample", "timeout_seconds": 1})
		if !strings.Contains(msg, "time limit") {
			t.Errorf("timeout: %q, want a time limit error", msg)
		}
		_, msg, _ = call(ctx, cs, "exec_query", map[string]any{"sql": "SELECT 1", "bogus": true})
		if !strings.Contains(msg, `unknown argument "bogus"`) {
			t.Errorf("unknown argument: %q, want an error naming it", msg)
		}
		// Errors speak of the arguments, not of the Go types behind them.
		for _, tc := range []struct {
			args map[string]any
			want string
		}{
			{map[string]any{"sql": "SELECT 1", "max_rows": "ten"}, "max_rows must be an integer"},
			{map[string]any{"sql": 42}, "sql must be a string"},
			{map[string]any{"sql": "SELECT 1", "timeout_seconds": 1.5}, "timeout_seconds must be an integer"},
		} {
			_, msg, _ := call(ctx, cs, "exec_query", tc.args)
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "Go") || strings.Contains(msg, "Args") {
				t.Errorf("%v: %q, want %q", tc.args, msg, tc.want)
			}
		}
		// A statement over the size limit is refused before it is read.
		huge := "SELECT '" + strings.Repeat("x", 3<<20) + "'"
		_, msg, _ = call(ctx, cs, "exec_query", map[string]any{"sql": huge})
		if !strings.Contains(msg, "at most 1048576 bytes") {
			t.Errorf("3 MiB statement: %q, want the size refusal", msg)
		}
	})

	t.Run("identifiers are validated", func(t *testing.T) {
		_, msg, _ := call(ctx, cs, "get_table_schema", map[string]any{"table_name": "customers` ; DROP TABLE x; --", "db_name": "sample"})
		if msg == "" {
			t.Errorf("a hostile table name was accepted")
		}
		_, msg, _ = call(ctx, cs, "get_db_table_list", map[string]any{"db_name": "no_such_db"})
		if msg == "" {
			t.Errorf("an unknown database gave no error")
		}
	})
}

func hasRow(r *result, col int, want string) bool {
	for _, row := range r.Rows {
		if s, ok := row[col].(string); ok && s == want {
			return true
		}
	}
	return false
}

// Functions that call services outside Doris are refused unless the
// deployment allows them.
func TestExternalFunctions(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	for _, allow := range []bool{false, true} {
		var opts []doris.Option
		if allow {
			opts = append(opts, doris.WithExternalFunctions())
		}
		cs := connect(t, context.Background(), serveHTTP(t, newServer(t, dsn, opts...)).URL+"/mcp", nil, "")
		_, msg, err := call(context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT AI_GENERATE('hello')"})
		if err != nil {
			t.Fatal(err)
		}
		// Allowed, the statement reaches the engine, which may not know
		// the function; refused, the guard names it.
		if refused := strings.Contains(msg, "external model service"); refused == allow {
			t.Errorf("allow=%v: %q", allow, msg)
		}
	}
}
