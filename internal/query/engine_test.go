package query

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"

	"github.com/dorismcp/doris/internal/sqlguard"
	"github.com/dorismcp/doris/internal/testdb"
)

// testDB opens the integration backend: DORIS_TEST_DSN, or a simulator.
func testDB(t *testing.T) *sql.DB {
	t.Helper()
	dsn := testdb.DSN(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func detect(t *testing.T, db *sql.DB) Backend {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	be, err := Detect(context.Background(), conn, FunctionPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	return be
}

// runBounded sends what the runtime would send for sqlText, on one
// connection, with no client-side deadline: what comes back is what the
// engine enforced.
func runBounded(t *testing.T, db *sql.DB, e Engine, sqlText string, lim Limits) (rows int, err error) {
	t.Helper()
	st, err := sqlguard.Check(sqlText)
	if err != nil {
		t.Fatal(err)
	}
	b := e.bound(st, lim, "")
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Raw(func(any) error { return driver.ErrBadConn }) // never reuse a changed session
	defer conn.Close()
	if b.session.Set != "" {
		if _, err := conn.ExecContext(ctx, b.session.Set); err != nil {
			t.Fatalf("%s: %v", b.session.Set, err)
		}
	}
	r, err := conn.QueryContext(ctx, b.sql)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for r.Next() {
		rows++
	}
	return rows, r.Err()
}

// The engine itself caps the rows of a query at MaxRows+1, whatever the
// backend.
func TestEngineRowCap(t *testing.T) {
	db := testDB(t)
	be := detect(t, db)
	t.Logf("backend %+v", be)
	lim := Limits{MaxRows: 10, MaxBytes: 1 << 20, Timeout: 30 * time.Second}
	for _, q := range []string{
		"SELECT seq FROM seq_1_to_1000000",
		"WITH s AS (SELECT seq FROM seq_1_to_1000000) SELECT seq FROM s",
		// A query with its own hint gets its limits as session variables.
		// The hint may not touch them: on Doris a SET_VAR beats the
		// session (checkHints refuses such statements).
		"SELECT /*+ SET_VAR(enable_sql_cache=false) */ seq FROM seq_1_to_1000000",
	} {
		n, err := runBounded(t, db, be.Engine, q, lim)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n != lim.MaxRows+1 {
			t.Errorf("%s: the engine sent %d rows, want %d", q, n, lim.MaxRows+1)
		}
	}
}

// Where the engine can stop a statement at its time limit, it does, with
// no help from the client.
func TestEngineTimeCap(t *testing.T) {
	db := testDB(t)
	be := detect(t, db)
	st, _ := sqlguard.Check("SELECT COUNT(*) FROM seq_1_to_20000 a, seq_1_to_20000 b")
	if !be.Engine.bound(st, Limits{MaxRows: 1, MaxBytes: 1, Timeout: time.Second}, "").timeCap {
		t.Skipf("%s does not stop statements at a time limit; the client's deadline and KILL do", be.Engine)
	}
	start := time.Now()
	_, err := runBounded(t, db, be.Engine, st.SQL, Limits{MaxRows: 1, MaxBytes: 1, Timeout: time.Second})
	took := time.Since(start)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || !engineTimeout(be.Engine, err) {
		t.Fatalf("after %v: %v, want the engine's timeout error", took, err)
	}
	// The engine's own error, not the client's deadline, is what shows the
	// engine stopped it.
	t.Logf("the engine stopped the statement after %v: %v", took, err)
}

func TestCheckSQLMode(t *testing.T) {
	for mode, ok := range map[string]bool{
		"": true,
		"STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO":              true,
		"ONLY_FULL_GROUP_BY":                                          true,
		"ansi_quotes":                                                 false,
		"STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES":                      false,
		"REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI": false,
	} {
		if err := checkSQLMode(mode); (err == nil) != ok {
			t.Errorf("sql_mode %q: %v", mode, err)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		version, comment string
		want             Engine
	}{
		{"5.7.99", "Doris version doris-2.1.7-rc03-443e87e203", Doris},
		{"5.7.99", "Doris version doris-3.0.3-rc03-43f06a5e26 (Cloud Mode)", Doris},
		{"5.7.99", "SelectDB Core version selectdb-4.0.4.5-5a05d2a760 (Cloud Mode)", Doris},
		{"10.11.19-MariaDB-0+deb12u1", "Debian 12", MariaDB},
		{"11.4.2-MariaDB", "mariadb.org binary distribution", MariaDB},
		{"8.0.33", "MySQL Community Server - GPL", MySQL},
		{"8.0.31", "Dolt", Generic},
		{"5.1.0", "StarRocks version 2.1.2", Generic},
	} {
		if got := classify(tc.version, tc.comment); got != tc.want {
			t.Errorf("classify(%q, %q) = %v, want %v", tc.version, tc.comment, got, tc.want)
		}
	}
}

// What each engine is sent: hints right after SELECT, MariaDB's
// statement-scoped variables, session variables otherwise. SHOW, DESCRIBE
// and EXPLAIN run under the engine's time limit where it has one.
func TestBound(t *testing.T) {
	lim := Limits{MaxRows: 100, MaxBytes: 1 << 20, Timeout: 30 * time.Second}
	dorisSession := func(set, reset string) Session { return Session{DB: "db", Set: set, Reset: reset} }
	for _, tc := range []struct {
		e    Engine
		q    string
		want bounded
	}{
		{Doris, "SELECT * FROM t", bounded{sql: "SELECT /*+ SET_VAR(query_timeout=30, sql_select_limit=101) */ * FROM t", session: Session{DB: "db"}, rowCap: true, timeCap: true}},
		// A query's own LIMIT beats sql_select_limit: a larger one is lowered.
		{Doris, "SELECT * FROM t LIMIT 5000", bounded{sql: "SELECT /*+ SET_VAR(query_timeout=30, sql_select_limit=101) */ * FROM t LIMIT 101", session: Session{DB: "db"}, rowCap: true, timeCap: true}},
		{Doris, "SELECT * FROM t LIMIT 20, 5000", bounded{sql: "SELECT /*+ SET_VAR(query_timeout=30, sql_select_limit=101) */ * FROM t LIMIT 20, 101", session: Session{DB: "db"}, rowCap: true, timeCap: true}},
		{Doris, "SELECT * FROM t LIMIT 50", bounded{sql: "SELECT /*+ SET_VAR(query_timeout=30, sql_select_limit=101) */ * FROM t LIMIT 50", session: Session{DB: "db"}, rowCap: true, timeCap: true}},
		{MariaDB, "SELECT * FROM t LIMIT 5000 OFFSET 3", bounded{sql: "SET STATEMENT max_statement_time=30.000, sql_select_limit=101 FOR SELECT * FROM t LIMIT 101 OFFSET 3", session: Session{DB: "db"}, rowCap: true, timeCap: true}},
		// A session variable Doris may not reset exactly: the connection is discarded.
		{Doris, "WITH x AS (SELECT 1) SELECT * FROM x", bounded{sql: "WITH x AS (SELECT 1) SELECT * FROM x", session: dorisSession("SET query_timeout=30, sql_select_limit=101", ""), rowCap: true, timeCap: true}},
		{Doris, "SHOW TABLES", bounded{sql: "SHOW TABLES", session: dorisSession("SET query_timeout=30", "SET query_timeout=DEFAULT")}},
		{Doris, "DESC t", bounded{sql: "DESC t", session: dorisSession("SET query_timeout=30", "SET query_timeout=DEFAULT")}},
		{MariaDB, "SELECT 1", bounded{sql: "SET STATEMENT max_statement_time=30.000, sql_select_limit=101 FOR SELECT 1", session: Session{DB: "db"}, rowCap: true, timeCap: true}},
		{MariaDB, "VALUES (1), (2)", bounded{sql: "SET STATEMENT max_statement_time=30.000, sql_select_limit=101 FOR VALUES (1), (2)", session: Session{DB: "db"}, rowCap: true, timeCap: true}},
		{MariaDB, "SHOW TABLES WHERE 1", bounded{sql: "SET STATEMENT max_statement_time=30.000 FOR SHOW TABLES WHERE 1", session: Session{DB: "db"}, timeCap: true}},
		{MariaDB, "DESCRIBE t", bounded{sql: "SET STATEMENT max_statement_time=30.000 FOR DESCRIBE t", session: Session{DB: "db"}, timeCap: true}},
		{MariaDB, "EXPLAIN SELECT 1", bounded{sql: "SET STATEMENT max_statement_time=30.000 FOR EXPLAIN SELECT 1", session: Session{DB: "db"}, timeCap: true}},
		{MySQL, "SELECT 1", bounded{sql: "SELECT /*+ MAX_EXECUTION_TIME(30000) SET_VAR(sql_select_limit=101) */ 1", session: Session{DB: "db"}, rowCap: true, timeCap: true}},
		// TABLE and VALUES have no SELECT to carry a hint: a session row
		// cap, and the client's deadline.
		{MySQL, "TABLE t", bounded{sql: "TABLE t", session: Session{DB: "db", Set: "SET SESSION sql_select_limit=101", Reset: "SET SESSION sql_select_limit=DEFAULT"}, rowCap: true}},
		{MySQL, "SHOW TABLES", bounded{sql: "SHOW TABLES", session: Session{DB: "db"}}},
		{Generic, "SELECT 1", bounded{sql: "SELECT 1", session: Session{DB: "db", Set: "SET SESSION sql_select_limit=101", Reset: "SET SESSION sql_select_limit=DEFAULT"}, rowCap: true}},
	} {
		st, err := sqlguard.Check(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		got := tc.e.bound(st, lim, "db")
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(bounded{})); diff != "" {
			t.Errorf("%v %q (-want +got):\n%s", tc.e, tc.q, diff)
		}
		if tc.e != MariaDB {
			if _, err := sqlguard.Check(got.sql); err != nil {
				t.Errorf("%v: the bounded statement no longer passes the guard: %v", tc.e, err)
			}
		}
	}
}
