package dorissim

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"
)

// mysqlErr runs q on c and returns its MySQL error.
func mysqlErr(t *testing.T, c querier, q string) *mysql.MySQLError {
	t.Helper()
	rs, err := c.QueryContext(context.Background(), q)
	if err == nil {
		for rs.Next() {
		}
		err = rs.Err()
		rs.Close()
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		t.Fatalf("%s: error %v, want a MySQL error", q, err)
	}
	return me
}

func TestDorisErrors(t *testing.T) {
	for _, tc := range []struct {
		version, query string
		code           uint16
		msg            string
	}{
		{Version21, "SELECT * FROM nosuch", 1105, "errCode = 2, detailMessage = Table [nosuch] does not exist in database [sample]."},
		{Version21, "SELECT * FROM other.t", 1105, "errCode = 2, detailMessage = Database [other] does not exist."},
		{Version21, "USE nowhere", 1049, "errCode = 2, detailMessage = Unknown database 'nowhere'"},
		{Version30, "SELEC 1", 1105, "errCode = 2, detailMessage = \nmismatched input 'SELEC' expecting {<EOF>, ';'}(line 1, pos 0)"},
		{Version21, "SELECT 1 FROM customers WHERE", 1105, "errCode = 2, detailMessage = \nmismatched input 'WHERE' expecting {<EOF>, ';'}(line 1, pos 24)"},
		{Version20, "SELEC 1", 1105, "errCode = 2, detailMessage = Syntax error in line 1:\nSELEC 1\n^\nEncountered: IDENTIFIER\nExpected: ALTER, SELECT, SET, SHOW, USE, WITH"},
		{Version20, "SELECT * FROM nosuch", 1105, "errCode = 2, detailMessage = Table [nosuch] does not exist in database [sample]."},
		{Version21, "SWITCH nowhere", 1105, "errCode = 2, detailMessage = Unknown catalog 'nowhere'"},
		{"2.1.11", `KILL QUERY "0123456789abcdef-0123456789abcdef"`, 1097, "Unknown query id: 0123456789abcdef-0123456789abcdef"},
		{Version21, `KILL QUERY "dorismcp-0123"`, 1105, "errCode = 2, detailMessage = Invalid query id: dorismcp-0123"},
		{Version21, `KILL QUERY 4242`, 1094, "Unknown thread id: 4242"},
		{Version21, "SELECT /*+ SET_VAR(no_such_variable=1) */ 1", 1105, "errCode = 2, detailMessage = Can not set session variable 'no_such_variable' = '1'"},
		{Version21, "SELECT /*+ SET_VAR(query_timeout=(1, batch_size=2)) */ 1", 1105, "errCode = 2, detailMessage = Syntax error in line 1:\nno viable alternative at input 'SET_VAR(query_timeout='"},
	} {
		s := startWith(t, Options{Version: tc.version})
		me := mysqlErr(t, open(t, s, SampleDB), tc.query)
		if me.Number != tc.code || me.Message != tc.msg {
			t.Errorf("%s on %s: error %d %q, want %d %q", tc.query, tc.version, me.Number, me.Message, tc.code, tc.msg)
		}
	}
}

// query_timeout, from the session or a SET_VAR hint, stops a statement
// with the error text of the release line.
func TestQueryTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, set, query string
		want                *regexp.Regexp
	}{
		{Version21, "SET query_timeout = 1", longQuery, regexp.MustCompile(`^errCode = 2, detailMessage = Timeout$`)},
		{Version30, "", "SELECT /*+ SET_VAR(query_timeout=1, sql_select_limit=3) */ COUNT(*) FROM seq_1_to_20000_wait_600000ms a", regexp.MustCompile(`^errCode = 2, detailMessage = Timeout$`)},
		{Version20, "SET query_timeout = 1", "SELECT * FROM seq_1_to_5_wait_5000ms", regexp.MustCompile(`^errCode = 2, detailMessage = query timeout, query id = [0-9a-f]{16}-[0-9a-f]{16}$`)},
	} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			s := startWith(t, Options{Version: tc.version})
			c := conn(t, open(t, s, SampleDB))
			if tc.set != "" {
				if _, err := c.ExecContext(context.Background(), tc.set); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			me := mysqlErr(t, c, tc.query)
			took := time.Since(start)
			if me.Number != 1105 || !tc.want.MatchString(me.Message) {
				t.Errorf("%s: error %d %q, want 1105 matching %s", tc.version, me.Number, me.Message, tc.want)
			}
			if took < time.Second {
				t.Errorf("%s: a 1 s query_timeout stopped the statement after %v", tc.version, took)
			}
			// The connection stays usable, and a hint's timeout was for its
			// statement only.
			_, rs := rows(t, c, "SELECT @@query_timeout")
			want := "1"
			if tc.set == "" {
				want = "900"
			}
			if rs[0][0] != want {
				t.Errorf("%s: @@query_timeout = %s after the statement, want %s", tc.version, rs[0][0], want)
			}
		})
	}
}

func TestDorisSessionVariables(t *testing.T) {
	s := start(t)
	c := conn(t, open(t, s, SampleDB))
	for _, q := range []string{
		"SET exec_mem_limit = 4294967296",
		"SET parallel_pipeline_task_num = 4",
		"SET enable_profile = true",
		"SET session_context = 'trace_id:abc-123'",
		"SET query_timeout = 60, sql_select_limit = 10",
		"SET GLOBAL enable_audit_plugin = true",
	} {
		if _, err := c.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, rs := rows(t, c, "SELECT @@exec_mem_limit, @@parallel_pipeline_task_num, @@enable_profile, @@session_context, @@query_timeout, @@sql_select_limit, @@insert_timeout")
	if diff := cmp.Diff([]string{"4294967296", "4", "1", "trace_id:abc-123", "60", "10", "14400"}, rs[0]); diff != "" {
		t.Errorf("session variables (-want +got):\n%s", diff)
	}
	if _, rs := rows(t, c, "SELECT id FROM customers"); len(rs) != 10 {
		t.Errorf("sql_select_limit=10: %d rows", len(rs))
	}
	if _, err := c.ExecContext(context.Background(), "SET GLOBAL enable_audit_plugin = false"); err != nil {
		t.Fatal(err)
	}
}

func TestCatalogs(t *testing.T) {
	for _, v := range []string{Version20, Version21} {
		s := startWith(t, Options{Version: v})
		c := conn(t, open(t, s, ""))
		ctx := context.Background()
		for _, q := range []string{"SWITCH internal", "USE internal.sample"} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		_, rs := rows(t, c, "SELECT COUNT(*) FROM internal.sample.orders o JOIN `internal`.`sample`.`customers` c ON c.id = o.customer_id")
		if rs[0][0] != "5000" {
			t.Errorf("three-part names: %v", rs)
		}
		if _, rs := rows(t, c, "SHOW TABLES FROM internal.sample"); len(rs) != 6 {
			t.Errorf("SHOW TABLES FROM internal.sample: %v", rs)
		}
		cols, rs := rows(t, c, "SHOW CATALOGS")
		want := []string{"CatalogId", "CatalogName", "Type", "IsCurrent"}
		if v != Version20 {
			want = append(want, "CreateTime", "LastUpdateTime", "Comment")
		}
		if diff := cmp.Diff(want, cols); diff != "" {
			t.Errorf("%s: SHOW CATALOGS columns (-want +got):\n%s", v, diff)
		}
		if diff := cmp.Diff([]string{"internal", externalCatalog}, column(t, cols, rs, "CatalogName")); diff != "" {
			t.Errorf("%s: catalogs (-want +got):\n%s", v, diff)
		}
		if diff := cmp.Diff([]string{"yes", ""}, column(t, cols, rs, "IsCurrent")); diff != "" {
			t.Errorf("%s: IsCurrent (-want +got):\n%s", v, diff)
		}
		if _, rs := rows(t, c, "SHOW CATALOGS LIKE 'hive%'"); len(rs) != 1 {
			t.Errorf("SHOW CATALOGS LIKE: %v", rs)
		}
		for _, q := range []string{"SWITCH " + externalCatalog, "SELECT * FROM " + externalCatalog + ".db.t"} {
			if me := mysqlErr(t, c, q); me.Number != 1105 || !strings.Contains(me.Message, "simulates only the internal catalog") {
				t.Errorf("%s: %d %q", q, me.Number, me.Message)
			}
		}
	}
}

// KILL QUERY "<query_id>" stops the statement whose id SHOW PROCESSLIST
// and SHOW PROC '/current_queries' report.
func TestKillQueryByID(t *testing.T) {
	s := start(t)
	db := open(t, s, SampleDB)
	a, b := conn(t, db), conn(t, db)
	aid := connID(t, a)
	done := make(chan error, 1)
	go func() {
		var n int64
		done <- a.QueryRowContext(context.Background(), longQuery).Scan(&n)
	}()
	waitRunning(t, b, aid, longQuery)
	cols, rs := rows(t, b, "SHOW PROC '/current_queries'")
	ids := column(t, cols, rs, "QueryId")
	if len(ids) != 1 || column(t, cols, rs, "ConnectionId")[0] != fmt.Sprint(aid) {
		t.Fatalf("current_queries = %v %v", cols, rs)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}-[0-9a-f]{16}$`).MatchString(ids[0]) {
		t.Errorf("query id %q is not in Doris's form", ids[0])
	}
	if _, err := b.ExecContext(context.Background(), `KILL QUERY "`+ids[0]+`"`); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var me *mysql.MySQLError
		if !errors.As(err, &me) || !strings.Contains(me.Message, "cancel query by user from ") {
			t.Errorf("killed query: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("query still running 5s after KILL QUERY by id")
	}
}

// LAST_QUERY_ID() exists from 2.1.7 on: the id of the session's previous
// statement, "Not Available" before the first one.
func TestLastQueryID(t *testing.T) {
	c := conn(t, open(t, start(t), SampleDB))
	if _, rs := rows(t, c, "SELECT LAST_QUERY_ID()"); rs[0][0] != "Not Available" {
		t.Errorf("first LAST_QUERY_ID() = %v", rs)
	}
	rows(t, c, "SELECT 1")
	_, rs := rows(t, c, "select last_query_id();")
	cols, pl := rows(t, c, "SHOW PROCESSLIST")
	if ids := column(t, cols, pl, "QueryId"); len(ids) != 1 || rs[0][0] != ids[0] || len(ids[0]) != 33 {
		t.Errorf("LAST_QUERY_ID() = %v, SHOW PROCESSLIST QueryId %v", rs, ids)
	}
	old := conn(t, open(t, startWith(t, Options{Version: Version20}), SampleDB))
	if me := mysqlErr(t, old, "SELECT LAST_QUERY_ID()"); me.Number != 1105 || !strings.Contains(me.Message, "LAST_QUERY_ID") {
		t.Errorf("2.0: %d %q", me.Number, me.Message)
	}
}

// NDV and APPROX_COUNT_DISTINCT, Doris's distinct-count estimates, answer
// as the exact count; a column or alias of that name is left alone.
func TestDistinctEstimates(t *testing.T) {
	db := open(t, start(t), "sample")
	_, got := rows(t, db, "SELECT NDV(status), approx_count_distinct (customer_id), 'ndv(' AS ndv FROM orders")
	if want := [][]string{{"6", "1681", "ndv("}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %v, want %v", got, want)
	}
}
