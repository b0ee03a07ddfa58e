package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dorismcp/doris/internal/sqlguard"
)

// Engine is the kind of server behind the connection, detected once.
type Engine int

const (
	// Generic is any other MySQL-protocol server: limits are set as session
	// variables where it honours them, and time is bounded by the client.
	Generic Engine = iota
	Doris
	MariaDB
	MySQL
)

func (e Engine) String() string {
	switch e {
	case Doris:
		return "doris"
	case MariaDB:
		return "mariadb"
	case MySQL:
		return "mysql"
	}
	return "generic"
}

// Backend describes the server: its engine and version strings.
type Backend struct {
	Engine         Engine
	Version        string // @@version
	VersionComment string // @@version_comment
	// Functions are the functions statements may call on this server.
	Functions *sqlguard.Functions
	// MemLimit is the server's own exec_mem_limit on Doris, in bytes; 0
	// when unknown.
	MemLimit int64
	// QueryTimeout is a fresh Doris session's query_timeout, in seconds
	// (the account's property, or the global value); 0 when unknown.
	QueryTimeout int64
	// Variables are the session variables a Doris server knows, by
	// lower-case name, from its SHOW VARIABLES; nil when unknown. Doris
	// fails a whole statement whose SET_VAR names a variable it does not
	// have, and the names differ between releases.
	Variables map[string]bool
}

// functions are the functions statements may call: those detected, or,
// for a Backend made without detection, the engine's own.
func (b Backend) functions() *sqlguard.Functions {
	switch {
	case b.Functions != nil:
		return b.Functions
	case b.Engine == Doris:
		return dorisFunctions()
	}
	return mariadbFunctions()
}

var (
	dorisFunctions   = sync.OnceValue(func() *sqlguard.Functions { return sqlguard.DorisFunctions("", false) })
	mariadbFunctions = sync.OnceValue(sqlguard.MariaDBFunctions)
)

// FunctionPolicy is what a deployment adds to the functions of the
// engine: its own functions by name, and the functions that call outside
// services.
type FunctionPolicy struct {
	Allowed  []string
	External bool
}

// Detect asks the server what it is. Doris answers VERSION() like MySQL
// 5.7, so @@version_comment is what tells them apart. It refuses a session
// in which the read-only guard would misread statements: one whose sql_mode
// changes how quotes and backslashes are read, or whose character set is
// not UTF-8 (see [sqlguard.SafeCharset]). The guard reads SQL as the
// default mode and UTF-8 do, and otherwise a statement it checked could
// mean something else to the server.
//
// The functions statements may call are those of the engine, with what
// policy adds.
func Detect(ctx context.Context, conn *sql.Conn, policy FunctionPolicy) (Backend, error) {
	var b Backend
	var comment, mode, client, connection sql.NullString
	err := conn.QueryRowContext(ctx, "SELECT @@version, @@version_comment, @@sql_mode, @@character_set_client, @@character_set_connection").
		Scan(&b.Version, &comment, &mode, &client, &connection)
	if err != nil {
		return b, fmt.Errorf("detecting the server: %w", err)
	}
	if err := checkSQLMode(mode.String); err != nil {
		return b, err
	}
	if err := checkCharsets(client.String, connection.String); err != nil {
		return b, err
	}
	b.VersionComment = comment.String
	b.Engine = classify(b.Version, b.VersionComment)
	if b.Engine == Doris {
		b.Functions = sqlguard.DorisFunctions(b.VersionComment, policy.External)
		var limit, timeout sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT @@exec_mem_limit, @@query_timeout").Scan(&limit, &timeout); err == nil {
			b.MemLimit, b.QueryTimeout = limit.Int64, timeout.Int64
		}
		b.Variables = variables(ctx, conn)
	} else {
		b.Functions = sqlguard.MariaDBFunctions()
	}
	if len(policy.Allowed) > 0 {
		b.Functions = b.Functions.With(policy.Allowed...)
	}
	return b, nil
}

// variables reads the names of the session variables the server has; nil
// when it cannot tell.
func variables(ctx context.Context, conn *sql.Conn) map[string]bool {
	rows, err := conn.QueryContext(ctx, "SHOW VARIABLES")
	if err != nil {
		return nil
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil || len(cols) < 2 {
		return nil
	}
	names := make(map[string]bool)
	vals := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if rows.Scan(dest...) != nil {
			return nil
		}
		names[strings.ToLower(string(vals[0]))] = true
	}
	if rows.Err() != nil || len(names) == 0 {
		return nil
	}
	return names
}

// checkSQLMode refuses the modes under which the guard would misread text.
func checkSQLMode(mode string) error {
	for _, m := range strings.Split(strings.ToUpper(mode), ",") {
		switch strings.TrimSpace(m) {
		case "ANSI_QUOTES", "ANSI", "NO_BACKSLASH_ESCAPES":
			return fmt.Errorf("unavailable: the connection's sql_mode includes %s, which changes how the read-only guard must read quotes; "+
				"remove it from the server's or the DSN's sql_mode", strings.TrimSpace(m))
		}
	}
	return nil
}

// checkCharsets refuses the connection character sets under which the guard
// would misread text.
func checkCharsets(client, connection string) error {
	for _, cs := range [...]struct{ name, value string }{
		{"character_set_client", client},
		{"character_set_connection", connection},
	} {
		if !sqlguard.SafeCharset(cs.value) {
			return fmt.Errorf("unavailable: the connection's %s is %q, under which the read-only guard cannot tell where a string ends; "+
				"connect with charset=utf8mb4 in the DSN and do not change the character set with SET NAMES or SET CHARACTER SET", cs.name, cs.value)
		}
	}
	return nil
}

func classify(version, comment string) Engine {
	v, c := strings.ToLower(version), strings.ToLower(comment)
	switch {
	case strings.Contains(c, "doris") || strings.Contains(c, "selectdb"):
		return Doris
	case strings.Contains(v, "mariadb") || strings.Contains(c, "mariadb"):
		return MariaDB
	case strings.Contains(c, "mysql"):
		return MySQL
	}
	return Generic
}

type traceKey struct{}

// WithTraceID records, in the context an Executor gives its function, the
// Doris trace id (session_context) under which the connection's
// statements run.
func WithTraceID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceKey{}, id)
}

// TraceID is the trace id WithTraceID recorded, "" when none.
func TraceID(ctx context.Context) string {
	id, _ := ctx.Value(traceKey{}).(string)
	return id
}

// Session is the connection state a statement needs: its database and
// session variables to set before it, with the statement that undoes them.
// An empty Reset with a non-empty Set means the connection cannot be put
// back and must be discarded after use.
type Session struct {
	DB    string
	Set   string
	Reset string
}

// bounded is a statement rewritten to carry its limits into the engine.
type bounded struct {
	sql     string
	session Session
	// rowCap is true when the engine returns at most MaxRows+1 rows, so a
	// truncated result needs no cancellation.
	rowCap bool
	// timeCap is true when the engine stops the statement at the time limit.
	timeCap bool
}

// bound rewrites st so the engine itself enforces lim: at most
// lim.MaxRows+1 rows of a query (one more than asked, to tell that the
// result was truncated) and lim.Timeout of execution. What a server cannot
// enforce is left to the stream and to the client-side deadline.
func (e Engine) bound(st *sqlguard.Statement, lim Limits, db string) bounded {
	if st.Kind != sqlguard.Select {
		return e.boundOther(st, lim, db)
	}
	rows := strconv.Itoa(lim.MaxRows + 1)
	// A query's own LIMIT beats sql_select_limit (MySQL, MariaDB, Doris's
	// Nereids: fidelity ledger: sql-select-limit-nereids), so a larger one
	// is lowered to the cap.
	text := st.SQL
	if l, ok := st.TopLimit(); ok && l.Count > int64(lim.MaxRows+1) {
		text = text[:l.At] + rows + text[l.End:]
	}
	b := bounded{sql: text, session: Session{DB: db}}
	// A session-wide row cap, undone before the connection is reused.
	sessionCap := Session{DB: db, Set: "SET SESSION sql_select_limit=" + rows, Reset: "SET SESSION sql_select_limit=DEFAULT"}
	hint := func(h string) bool {
		if st.SelectOffset < 0 || st.HasHint {
			return false
		}
		at := st.SelectOffset + len("SELECT")
		b.sql = text[:at] + " /*+ " + h + " */" + text[at:]
		return true
	}
	switch e {
	case Doris:
		secs := strconv.Itoa(max(1, int(math.Ceil(lim.Timeout.Seconds()))))
		vars := "query_timeout=" + secs + ", sql_select_limit=" + rows
		if !hint("SET_VAR(" + vars + ")") {
			// A WITH query, or one with its own hint: session variables,
			// and a fresh connection afterwards.
			b.session.Set = "SET " + vars
		}
		b.rowCap, b.timeCap = true, true
	case MariaDB:
		// Statement-scoped: nothing outlives the statement.
		b.sql = fmt.Sprintf("SET STATEMENT max_statement_time=%s, sql_select_limit=%s FOR %s",
			strconv.FormatFloat(lim.Timeout.Seconds(), 'f', 3, 64), rows, text)
		b.rowCap, b.timeCap = true, true
	case MySQL:
		ms := strconv.FormatInt(lim.Timeout.Milliseconds(), 10)
		if hint("MAX_EXECUTION_TIME(" + ms + ") SET_VAR(sql_select_limit=" + rows + ")") {
			b.timeCap = true
		} else {
			b.session = sessionCap
		}
		b.rowCap = true
	default:
		b.session = sessionCap
		b.rowCap = true
	}
	return b
}

// resetQueryTimeout marks a session query_timeout to undo. DEFAULT would be
// Doris's compiled-in 900 s (fidelity ledger: set-default), not the global
// value or the account's property, so Backend.bound puts back the value
// detected, or has the connection discarded when it is unknown.
const resetQueryTimeout = "SET query_timeout=DEFAULT"

// bound is Engine.bound, restoring the session's own query_timeout
// afterwards where a statement had to change it.
func (b Backend) bound(st *sqlguard.Statement, lim Limits, db string) bounded {
	x := b.Engine.bound(st, lim, db)
	if x.session.Reset == resetQueryTimeout {
		x.session.Reset = "" // unknown: the connection is discarded after
		if b.QueryTimeout > 0 {
			x.session.Reset = "SET query_timeout=" + strconv.FormatInt(b.QueryTimeout, 10)
		}
	}
	return x
}

// boundOther bounds the time of a SHOW, DESCRIBE or EXPLAIN statement.
// None of them returns rows through sql_select_limit, so the rows are left
// to the stream.
func (e Engine) boundOther(st *sqlguard.Statement, lim Limits, db string) bounded {
	b := bounded{sql: st.SQL, session: Session{DB: db}}
	switch e {
	case MariaDB:
		// MariaDB runs SHOW, DESCRIBE and EXPLAIN under SET STATEMENT and
		// stops them with error 1969 like a query.
		b.sql = fmt.Sprintf("SET STATEMENT max_statement_time=%s FOR %s",
			strconv.FormatFloat(lim.Timeout.Seconds(), 'f', 3, 64), st.SQL)
		b.timeCap = true
	case Doris:
		// The frontend answers these itself; query_timeout bounds whatever
		// part of them runs as a query, but nothing says it stops the rest,
		// so the client's deadline stays in force.
		secs := strconv.Itoa(max(1, int(math.Ceil(lim.Timeout.Seconds()))))
		b.session.Set = "SET query_timeout=" + secs
		b.session.Reset = resetQueryTimeout
	}
	return b
}

// plannerVars are variables a caller's SET_VAR optimizer hint may set to
// any value: they only choose between plans that return the same rows
// (join order and method, runtime filters, rule switches, the result
// caches). A hint beats the session variables and the runtime's own hint,
// so a hint that could set any variable could lift the limits the runtime
// sets or change how later text is read (sql_mode); the variables that
// bound a statement are in boundedVars instead.
var plannerVars = map[string]bool{
	// Apache Doris
	"enable_nereids_planner":                     true,
	"enable_fallback_to_original_planner":        true,
	"disable_join_reorder":                       true,
	"enable_cost_based_join_reorder":             true,
	"enable_bucket_shuffle_join":                 true,
	"enable_local_shuffle":                       true,
	"enable_share_hash_table_for_broadcast_join": true,
	"auto_broadcast_join_threshold":              true,
	"broadcast_row_count_limit":                  true,
	"runtime_filter_mode":                        true,
	"runtime_filter_type":                        true,
	"runtime_filter_wait_time_ms":                true,
	"enable_runtime_filter_prune":                true,
	"disable_nereids_rules":                      true,
	"enable_common_expr_pushdown":                true,
	"enable_two_phase_read_opt":                  true,
	"topn_opt_limit_threshold":                   true,
	"enable_inverted_index_query":                true,
	"enable_count_on_index_pushdown":             true,
	"enable_sql_cache":                           true,
	"enable_query_cache":                         true,
	"enable_partition_cache":                     true,
	"enable_profile":                             true,
	// MySQL
	"optimizer_switch":          true,
	"optimizer_search_depth":    true,
	"optimizer_prune_level":     true,
	"eq_range_index_dive_limit": true,
}

// maxParallelism bounds the parallelism a hint may ask for.
const maxParallelism = 64

// boundedVars are variables a hint may set within bounds: parallelism up
// to maxParallelism, memory up to the server's own limit, time up to the
// call's.
var boundedVars = map[string]func(v int64, lim Limits, be Backend) string{
	"parallel_pipeline_task_num":          parallelism,
	"parallel_fragment_exec_instance_num": parallelism,
	"exec_mem_limit": func(v int64, _ Limits, be Backend) string {
		if be.MemLimit <= 0 || v > be.MemLimit {
			return "at most the server's own exec_mem_limit (" + strconv.FormatInt(be.MemLimit, 10) + " bytes)"
		}
		return ""
	},
	"query_timeout": func(v int64, lim Limits, _ Backend) string {
		if s := int64(lim.Timeout / time.Second); v > s {
			return "at most the call's time limit, " + strconv.FormatInt(s, 10) + " seconds"
		}
		return ""
	},
	"max_execution_time": func(v int64, lim Limits, _ Backend) string {
		if ms := lim.Timeout.Milliseconds(); v > ms {
			return "at most the call's time limit, " + strconv.FormatInt(ms, 10) + " milliseconds"
		}
		return ""
	},
}

func parallelism(v int64, _ Limits, _ Backend) string {
	if v > maxParallelism {
		return "at most " + strconv.Itoa(maxParallelism)
	}
	return ""
}

// checkHints refuses a statement whose SET_VAR hints set anything but a
// planner variable, or a bounded variable within its bounds.
func checkHints(st *sqlguard.Statement, lim Limits, be Backend) error {
	for _, v := range st.SetVars {
		if be.Variables != nil && !be.Variables[strings.ToLower(v.Name)] {
			return fmt.Errorf("optimizer hint SET_VAR(%s=...): this server (%s) has no session variable %s", v.Name, be.VersionComment, v.Name)
		}
		if plannerVars[v.Name] {
			continue
		}
		bound, ok := boundedVars[v.Name]
		if !ok {
			return fmt.Errorf("optimizer hints may not set %s: SET_VAR may set planner variables such as disable_join_reorder, "+
				"parallel_pipeline_task_num, exec_mem_limit and query_timeout within the call's limits, and the server sets the rest", v.Name)
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil || v.Quoted || n < 0 || n == 0 && v.Name != "parallel_pipeline_task_num" && v.Name != "parallel_fragment_exec_instance_num" {
			return fmt.Errorf("optimizer hint SET_VAR(%s=...): the value must be a whole number above 0", v.Name)
		}
		if why := bound(n, lim, be); why != "" {
			return fmt.Errorf("optimizer hint SET_VAR(%s=%d): the value must be %s", v.Name, n, why)
		}
	}
	return nil
}

// engineTimeout reports whether err is the engine stopping a statement at
// its time limit.
func engineTimeout(e Engine, err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch e {
	case MariaDB:
		return me.Number == 1969 // max_statement_time exceeded
	case MySQL:
		return me.Number == 3024 // maximum statement execution time exceeded
	case Doris:
		return me.Number == 1105 && dorisOwnTimeout(me.Message)
	}
	return false
}

// dorisOwnTimeout reports whether a Doris 1105 message is the statement's
// own query_timeout, by the texts the FE and BE give it (fidelity ledger:
// err-query-timeout): "Timeout" since 2.1.7, "Query timeout" and "query
// timeout, query id = …" before, "Query <id> get result timeout" when the
// result fetch runs out, "…, query timeout:<n>" when the fragments could
// not be sent in time. Other 1105 errors that mention a timeout (an RPC, a
// JDBC catalog's connection pool: err-1105-timeout-not-query) are the
// database's own failures, not the call's time limit.
func dorisOwnTimeout(msg string) bool {
	if _, detail, ok := strings.Cut(msg, "detailMessage = "); ok {
		msg = detail
	}
	m := strings.ToLower(strings.TrimSpace(msg))
	return m == "timeout" || strings.Contains(m, "query timeout") || strings.Contains(m, "get result timeout")
}

// clientGrace is how much longer than the engine's own limit the client
// waits before it cancels and kills, so that a server which enforces the
// limit is the one to stop the statement.
const clientGrace = 500 * time.Millisecond
