package query

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dorismcp/doris/internal/sqlguard"
	"github.com/dorismcp/doris/internal/testdb"
)

func TestCheckHints(t *testing.T) {
	lim := Limits{MaxRows: 10, MaxBytes: 1 << 20, Timeout: 30 * time.Second}
	be := Backend{Engine: Doris, MemLimit: 2 << 30}
	for _, tc := range []struct {
		sql     string
		refused string // in the error; "" when accepted
	}{
		{"SELECT query_timeout, sql_select_limit FROM settings", ""},
		{"SELECT /*+ LEADING(a b) */ query_timeout FROM settings", ""},
		{"SELECT /*+ SET_VAR(disable_join_reorder=true, enable_nereids_planner=true) */ 1", ""},
		{"SELECT /*+ SET_VAR(optimizer_switch='index_merge=off') */ 1", ""},
		// Parallelism, memory and time within the call's and the server's
		// limits.
		{"SELECT /*+ SET_VAR(parallel_pipeline_task_num=8) */ 1", ""},
		{"SELECT /*+ SET_VAR(`parallel_pipeline_task_num`=65) */ 1", "parallel_pipeline_task_num=65): the value must be at most 64"},
		{"SELECT /*+ SET_VAR(exec_mem_limit=1073741824) */ 1", ""},
		{"SELECT /*+ SET_VAR(EXEC_MEM_LIMIT=4294967296) */ 1", "at most the server's own exec_mem_limit"},
		{"SELECT /*+ SET_VAR(EXEC_MEM_LIMIT=1e12) */ 1", "whole number"},
		{"SELECT /*+ SET_VAR(query_timeout=10) */ 1", ""},
		{"SELECT /*+ SET_VAR(query_timeout=30) */ 1", ""},
		{"SELECT /*+ SET_VAR(query_timeout=31) */ 1", "at most the call's time limit, 30 seconds"},
		{"SELECT /*+ SET_VAR(query_timeout=100000) */ 1", "at most the call's time limit"},
		{"SELECT /*+ SET_VAR(query_timeout=0) */ 1", "whole number above 0"},
		{"SELECT /*+ SET_VAR(query_timeout='5') */ 1", "whole number above 0"},
		{"SELECT /*+ SET_VAR(enable_profile=true) */ 1", ""},
		{"SELECT /*+ SET_VAR(disable_join_reorder=true, sql_select_limit=1000000) */ 1", "may not set sql_select_limit:"},
		{"SELECT /*+ SET_VAR(sql_mode='ANSI_QUOTES') */ 1", "may not set sql_mode:"},
		{"SELECT /*+ MAX_EXECUTION_TIME(1) SET_VAR(max_execution_time=0) */ 1", "whole number above 0"},
		{"EXPLAIN SELECT /*+ SET_VAR(insert_timeout=1) */ 1", "may not set insert_timeout:"},
		{"SELECT 1 UNION SELECT /*+ SET_VAR(time_zone='+00:00') */ 2", "may not set time_zone:"},
		// Doris's comma is optional: both variables count.
		{"SELECT /*+ SET_VAR(enable_sql_cache=true query_timeout=3600) */ 1", "query_timeout=3600)"},
	} {
		st, err := sqlguard.Check(tc.sql)
		if err != nil {
			t.Fatalf("Check(%q): %v", tc.sql, err)
		}
		err = checkHints(st, lim, be)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("checkHints(%q) = %v, want it accepted", tc.sql, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("checkHints(%q) = %v, want a refusal containing %q", tc.sql, err, tc.refused)
		}
	}
	// Without the server's own limit, memory cannot be raised at all.
	st, _ := sqlguard.Check("SELECT /*+ SET_VAR(exec_mem_limit=1) */ 1")
	if err := checkHints(st, lim, Backend{Engine: Doris}); err == nil {
		t.Error("exec_mem_limit accepted with the server's limit unknown")
	}
}

func TestCheckCharsets(t *testing.T) {
	for _, tc := range []struct {
		client, connection string
		bad                string // named in the error; "" when accepted
	}{
		{"utf8mb4", "utf8mb4", ""},
		{"utf8mb3", "utf8", ""},
		{"gbk", "gbk", "character_set_client"},
		{"utf8mb4", "big5", "character_set_connection"},
		{"latin1", "latin1", "character_set_client"},
		{"", "utf8mb4", "character_set_client"},
	} {
		err := checkCharsets(tc.client, tc.connection)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("checkCharsets(%q, %q) = %v", tc.client, tc.connection, err)
		case tc.bad != "" && (err == nil || !strings.HasPrefix(err.Error(), "unavailable: the connection's "+tc.bad)):
			t.Errorf("checkCharsets(%q, %q) = %v, want an unavailable error naming %s", tc.client, tc.connection, err, tc.bad)
		}
	}
}

// mariaDB returns DORIS_TEST_DSN when it names a MariaDB, and skips the
// test otherwise.
func mariaDB(t *testing.T) string {
	t.Helper()
	dsn := testdb.RealDSN(t)
	if be := detect(t, testDB(t)); be.Engine != MariaDB {
		t.Skipf("needs MariaDB, the server is %s", be.Engine)
	}
	return dsn
}

// withCharset opens dsn with the connection character set cs.
func withCharset(t *testing.T, dsn, cs string) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	formatted := cfg.FormatDSN()
	sep := "?"
	if strings.Contains(formatted, "?") {
		sep = "&"
	}
	db, err := sql.Open("mysql", formatted+sep+"charset="+cs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dbExecutor is the smallest Executor: a connection per call, with its
// session set, and a count of the calls that reached the database.
type dbExecutor struct {
	db    *sql.DB
	calls atomic.Int32
}

func (x *dbExecutor) Backend(ctx context.Context) (Backend, error) {
	conn, err := x.db.Conn(ctx)
	if err != nil {
		return Backend{}, err
	}
	defer conn.Close()
	return Detect(ctx, conn, FunctionPolicy{})
}

func (x *dbExecutor) Do(ctx context.Context, s Session, fn func(context.Context, *sql.Conn) error) error {
	x.calls.Add(1)
	conn, err := x.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.Set != "" {
		if _, err := conn.ExecContext(ctx, s.Set); err != nil {
			return err
		}
	}
	return fn(ctx, conn)
}

// Under gbk the guard's string literal is not the server's: the statement
// below is one string to the guard and a SLEEP to the server. Such a session
// is refused before any statement runs.
func TestDetectRefusesMultiByteCharset(t *testing.T) {
	dsn := mariaDB(t)
	gbk := withCharset(t, dsn, "gbk")
	ctx := context.Background()

	// The premise: the guard accepts the text, and the gbk server runs the
	// call hidden in it. LAST_INSERT_ID(4242) shows it without waiting.
	probe := "SELECT '中\\' , LAST_INSERT_ID(4242) AS hidden -- '"
	if _, err := sqlguard.Check(probe); err != nil {
		t.Fatalf("the guard refuses %q: %v", probe, err)
	}
	conn, err := gbk.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, probe); err != nil {
		t.Fatalf("%s: %v", probe, err)
	}
	var id int64
	if err := conn.QueryRowContext(ctx, "SELECT LAST_INSERT_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if id != 4242 {
		t.Fatalf("under gbk the hidden call did not run (LAST_INSERT_ID() = %d); the test proves nothing", id)
	}

	attack := "SELECT '中\\' , SLEEP(2) AS slept -- '"
	st, err := sqlguard.Check(attack)
	if err != nil {
		t.Fatalf("the guard refuses %q: %v", attack, err)
	}
	ex := &dbExecutor{db: gbk}
	res, err := Run(ctx, ex, Request{Stmt: st, Limits: Limits{MaxRows: 10, MaxBytes: 1 << 20, Timeout: 10 * time.Second}})
	if err == nil || !strings.HasPrefix(err.Error(), "unavailable: the connection's character_set_client is \"gbk\"") {
		t.Fatalf("Run on a gbk session = %+v, %v; want an unavailable error", res, err)
	}
	if n := ex.calls.Load(); n != 0 {
		t.Errorf("the statement reached the database %d times", n)
	}
	t.Log(err)

	// The same server with utf8mb4 is accepted.
	if _, err := (&dbExecutor{db: withCharset(t, dsn, "utf8mb4")}).Backend(ctx); err != nil {
		t.Errorf("utf8mb4 session: %v", err)
	}
}

// A SHOW statement that computes for a long time is stopped by MariaDB at
// the time limit, like a query.
func TestEngineTimeCapShow(t *testing.T) {
	dsn := mariaDB(t)
	db := withCharset(t, dsn, "utf8mb4")
	st, err := sqlguard.Check("SHOW TABLES WHERE (SELECT COUNT(*) FROM seq_1_to_20000 a, seq_1_to_20000 b) > 0")
	if err != nil {
		t.Fatal(err)
	}
	lim := Limits{MaxRows: 10, MaxBytes: 1 << 20, Timeout: time.Second}
	b := MariaDB.bound(st, lim, "")
	if !b.timeCap {
		t.Fatalf("bound(%q) claims no time cap", st.SQL)
	}
	// Unbounded, the statement runs for about 15 s here; the context only
	// keeps a broken cap from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	rows, err := db.QueryContext(ctx, b.sql)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	took := time.Since(start)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || !engineTimeout(MariaDB, err) {
		t.Fatalf("after %v: %v, want MariaDB's error 1969", took, err)
	}
	t.Logf("stopped after %v: %v", took, err)
}

// A SET_VAR naming a variable the connected server lacks is refused here:
// Doris would fail the whole statement ("Can not set session variable").
func TestCheckHintsKnownVariables(t *testing.T) {
	lim := Limits{MaxRows: 10, MaxBytes: 1 << 20, Timeout: 30 * time.Second}
	be := Backend{Engine: Doris, VersionComment: "Doris version doris-2.0.15", Variables: map[string]bool{
		"disable_join_reorder": true, "query_timeout": true,
	}}
	for sql, refused := range map[string]string{
		"SELECT /*+ SET_VAR(disable_join_reorder=true, QUERY_TIMEOUT=5) */ 1": "",
		"SELECT /*+ SET_VAR(enable_local_shuffle=false) */ 1":                 "this server (Doris version doris-2.0.15) has no session variable enable_local_shuffle",
	} {
		st, err := sqlguard.Check(sql)
		if err != nil {
			t.Fatal(err)
		}
		err = checkHints(st, lim, be)
		if refused == "" && err != nil || refused != "" && (err == nil || !strings.Contains(err.Error(), refused)) {
			t.Errorf("checkHints(%q) = %v, want %q", sql, err, refused)
		}
	}
}

// Only the statement's own time limit is reported as one; other Doris
// failures that mention a timeout are the database's (fidelity ledger:
// err-query-timeout, err-1105-timeout-not-query).
func TestDorisOwnTimeout(t *testing.T) {
	for msg, own := range map[string]bool{
		"errCode = 2, detailMessage = Timeout":                                                        true,
		"errCode = 2, detailMessage = query timeout, query id = 1a2b3c4d5e6f7a8b-1a2b3c4d5e6f7a8b":    true,
		"errCode = 2, detailMessage = (10.0.0.2)[CANCELLED]Query timeout":                             true,
		"errCode = 2, detailMessage = Query 1a2b-3c get result timeout, get result duration 30001 ms": true,
		"errCode = 2, detailMessage = timeout when waiting for send fragments rpc, query timeout:30":  true,
		"errCode = 2, detailMessage = (10.0.0.2)[CANCELLED]UdfRuntimeException: Initialize datasource failed: CAUSED BY: GetConnectionTimeoutException: wait millis 5002, active 10, maxActive 10, creating 0": false,
		"errCode = 2, detailMessage = RpcException, msg: timeout when waiting for send fragments RPC. Wait(sec): 5":                                                                                            false,
		"errCode = 2, detailMessage = Table [t] does not exist": false,
	} {
		if got := dorisOwnTimeout(msg); got != own {
			t.Errorf("dorisOwnTimeout(%q) = %v, want %v", msg, got, own)
		}
	}
}

// A Doris SHOW runs under a session query_timeout that is then put back to
// the session's own value: SET query_timeout=DEFAULT would give Doris's
// compiled-in 900 s instead of the account's or the global value.
func TestDorisShowRestoresTimeout(t *testing.T) {
	st, err := sqlguard.Check("SHOW DATABASES")
	if err != nil {
		t.Fatal(err)
	}
	lim := Limits{MaxRows: 10, MaxBytes: 1 << 20, Timeout: 30 * time.Second}
	b := Backend{Engine: Doris, QueryTimeout: 3600}.bound(st, lim, "")
	if b.session.Set != "SET query_timeout=30" || b.session.Reset != "SET query_timeout=3600" {
		t.Errorf("session %+v, want query_timeout 30 then back to 3600", b.session)
	}
	if b := (Backend{Engine: Doris}).bound(st, lim, ""); b.session.Reset != "" {
		t.Errorf("with the session's value unknown: reset %q, want none (the connection discarded)", b.session.Reset)
	}
}
