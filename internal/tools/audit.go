package tools

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

// auditTable is Doris's built-in audit log (2.1 and later).
const auditTable = "`__internal_schema`.`audit_log`"

// errNoAudit says what the audit tools need and how to get it.
var errNoAudit = errors.New("unavailable: needs Apache Doris ≥ 2.1 with the audit log enabled: SET GLOBAL enable_audit_plugin = true")

// stmtChars is how much of a statement the audit tools return: enough to
// recognise it, not a whole generated query.
const stmtChars = 300

// stmtRead is how much of a statement is read from Doris before its
// literals are hidden and it is cut to stmtChars: a literal cut in the
// middle could not be found.
const stmtRead = 4096

// auditAvailable reports, as errNoAudit, whether the backend is Doris and
// has the audit table. It is the one place that decides, so that the
// shared capability detection can take it over.
func (c *catalog) auditAvailable(ctx context.Context) error {
	be, err := c.cfg.Exec.Backend(ctx)
	if err != nil {
		return err
	}
	if be.Engine != query.Doris {
		return fmt.Errorf("%w (this server is %s)", errNoAudit, be.Engine)
	}
	_, rows, err := c.rows(ctx, "SHOW TABLES FROM `__internal_schema` LIKE 'audit_log'", c.metaLimits())
	if err != nil || len(rows) == 0 {
		// An unknown database and an empty answer both mean no audit log.
		return errNoAudit
	}
	return nil
}

type recentAuditArgs struct {
	Days  int `json:"days,omitempty" schema:"min=1,max=90,default=7" jsonschema:"How many days back to read."`
	Limit int `json:"limit,omitempty" schema:"min=1,max=$rows,default=100" jsonschema:"Most records to return, newest first."`
}

// since is the audit filter for the last days days, in Doris's clock.
func since(days int) string {
	return fmt.Sprintf("`time` >= DATE_SUB(NOW(), INTERVAL %d DAY)", days)
}

func (c *catalog) recentAuditLogs(ctx context.Context, in recentAuditArgs) (*query.Result, error) {
	days, limit := in.Days, in.Limit
	if err := c.auditAvailable(ctx); err != nil {
		return nil, err
	}
	lim := c.cfg.Default
	lim.MaxRows = limit
	mask := c.mask(ctx)
	res, err := c.run(ctx, "", fmt.Sprintf("SELECT `time`, `user`, client_ip, db, state, error_code, query_time AS query_time_ms, "+
		"scan_rows, scan_bytes, return_rows, LEFT(stmt, %d) AS stmt FROM %s WHERE %s ORDER BY `time` DESC LIMIT %d",
		stmtRead, auditTable, since(days), limit), lim, mask)
	return statements(res, err, mask != nil)
}

type slowQueryArgs struct {
	Days               int  `json:"days,omitempty" schema:"min=1,max=90,default=7" jsonschema:"How many days back to read."`
	TopN               int  `json:"top_n,omitempty" schema:"min=1,max=1000,default=20" jsonschema:"How many statements to return."`
	MinExecutionTimeMS int  `json:"min_execution_time_ms,omitempty" schema:"min=1,max=86400000,default=1000" jsonschema:"Only runs at least this slow count, in milliseconds."`
	IncludePatterns    bool `json:"include_patterns,omitempty" jsonschema:"Accepted for compatibility with the reference server; every row already names its statement pattern (sql_hash)."`
}

func (c *catalog) slowQueries(ctx context.Context, in slowQueryArgs) (*query.Result, error) {
	days, top, minMS := in.Days, in.TopN, in.MinExecutionTimeMS
	if err := c.auditAvailable(ctx); err != nil {
		return nil, err
	}
	lim := c.cfg.Default
	lim.MaxRows = top
	// Runs of one statement share its sql_hash; Doris groups them.
	mask := c.mask(ctx)
	res, err := c.run(ctx, "", fmt.Sprintf("SELECT sql_hash, COUNT(*) AS executions, MAX(query_time) AS max_time_ms, "+
		"ROUND(AVG(query_time)) AS avg_time_ms, SUM(query_time) AS total_time_ms, MAX(scan_rows) AS max_scan_rows, "+
		"MAX(peak_memory_bytes) AS max_peak_memory_bytes, SUM(CASE WHEN state = 'ERR' THEN 1 ELSE 0 END) AS failures, "+
		"COUNT(DISTINCT `user`) AS users, MAX(`time`) AS last_seen, MAX(LEFT(stmt, %d)) AS stmt "+
		"FROM %s WHERE %s AND query_time >= %d GROUP BY sql_hash ORDER BY total_time_ms DESC LIMIT %d",
		stmtRead, auditTable, since(days), minMS, top), lim, mask)
	return statements(res, err, mask != nil)
}

type accessPatternArgs struct {
	Days               int  `json:"days,omitempty" schema:"min=1,max=90,default=7" jsonschema:"How many days back to read."`
	IncludeSystemUsers bool `json:"include_system_users,omitempty" jsonschema:"Count the root and admin accounts too."`
	MinQueryThreshold  int  `json:"min_query_threshold,omitempty" schema:"min=1,max=1000000,default=5" jsonschema:"Only users with at least this many statements."`
}

func (c *catalog) accessPatterns(ctx context.Context, in accessPatternArgs) (*query.Result, error) {
	days, threshold := in.Days, in.MinQueryThreshold
	if err := c.auditAvailable(ctx); err != nil {
		return nil, err
	}
	users := ""
	if !in.IncludeSystemUsers {
		users = " AND `user` NOT IN ('root', 'admin')"
	}
	return c.run(ctx, "", fmt.Sprintf("SELECT `user`, COUNT(*) AS statements, "+
		"SUM(CASE WHEN is_query = 1 THEN 1 ELSE 0 END) AS queries, "+
		"SUM(CASE WHEN state = 'ERR' THEN 1 ELSE 0 END) AS failures, "+
		"COUNT(DISTINCT SUBSTRING_INDEX(client_ip, ':', 1)) AS client_hosts, COUNT(DISTINCT db) AS db_count, "+
		"ROUND(AVG(query_time)) AS avg_time_ms, SUM(scan_bytes) AS scan_bytes, SUM(return_rows) AS return_rows, "+
		"MIN(`time`) AS first_seen, MAX(`time`) AS last_seen "+
		"FROM %s WHERE %s%s GROUP BY `user` HAVING COUNT(*) >= %d ORDER BY statements DESC",
		auditTable, since(days), users, threshold), c.metaLimits(), nil)
}

type growthArgs struct {
	Days               int      `json:"days,omitempty" schema:"min=1,max=90,default=30" jsonschema:"How many days back to read."`
	ResourceTypes      []string `json:"resource_types,omitempty" schema:"enum=storage|query_volume|user_activity" jsonschema:"Series to return: storage (each table's size today), query_volume and user_activity (the audit log's statements, scans and users per day); all when omitted."`
	IncludePredictions bool     `json:"include_predictions,omitempty" jsonschema:"Also project the daily statements and bytes scanned 30, 90 and 365 days ahead by a least-squares line through the days read (series projected_activity)."`
	DetailedResponse   bool     `json:"detailed_response,omitempty" jsonschema:"Accepted for compatibility with the reference server; activity is always given per day."`
}

// growth reports the audit log's activity per day and today's table
// sizes: Doris keeps no history of sizes, so they are not invented.
func (c *catalog) resourceGrowth(ctx context.Context, in growthArgs) (*query.Result, error) {
	start := time.Now()
	days := in.Days
	want := func(series ...string) bool {
		return len(in.ResourceTypes) == 0 || slices.ContainsFunc(in.ResourceTypes, func(t string) bool {
			return slices.Contains(series, strings.ToLower(t))
		})
	}
	activity, storage := want("query_volume", "user_activity"), want("storage")
	var out [][]any
	if activity || in.IncludePredictions {
		rows, err := c.dailyActivity(ctx, days, activity, in.IncludePredictions)
		if err != nil {
			return nil, err
		}
		out = rows
	}
	if storage {
		dnames, data, err := c.rows(ctx, "SHOW DATA", c.metaLimits())
		if err != nil {
			return nil, err
		}
		var sizes [][]any
		for _, r := range data {
			table := text(field(dnames, r, "TableName"))
			// The tables, then Total, Quota and Left (fidelity ledger: show-data-db).
			if table == "Total" || table == "Quota" || table == "Left" || table == "" {
				continue
			}
			sizes = append(sizes, []any{"table_size_now", nil, table, nil, nil, nil, nil, nil, nil,
				parseSize(text(field(dnames, r, "Size"))), num(field(dnames, r, "ReplicaCount"))})
		}
		// By table name, whatever order the server listed them in.
		slices.SortFunc(sizes, func(a, b []any) int { return strings.Compare(a[2].(string), b[2].(string)) })
		out = append(out, sizes...)
	}
	return c.result(ctx, start, c.metaLimits(), cols("series", "VARCHAR", "day", "DATE", "table_name", "VARCHAR", "statements", "BIGINT",
		"scan_bytes", "BIGINT", "scan_rows", "BIGINT", "cpu_time_ms", "BIGINT", "max_peak_memory_bytes", "BIGINT", "users", "BIGINT",
		"data_size_bytes", "BIGINT", "replica_count", "BIGINT"), out)
}

// dailyActivity is the audit log's activity per day over the last days
// (with rows) and its least-squares projection 30, 90 and 365 days past
// the last of them (with project).
func (c *catalog) dailyActivity(ctx context.Context, days int, rows, project bool) ([][]any, error) {
	if err := c.auditAvailable(ctx); err != nil {
		return nil, err
	}
	names, daily, err := c.rows(ctx, fmt.Sprintf("SELECT DATE(`time`) AS day, COUNT(*) AS statements, SUM(scan_bytes) AS scan_bytes, "+
		"SUM(scan_rows) AS scan_rows, SUM(cpu_time_ms) AS cpu_time_ms, MAX(peak_memory_bytes) AS max_peak_memory_bytes, "+
		"COUNT(DISTINCT `user`) AS users FROM %s WHERE %s GROUP BY DATE(`time`) ORDER BY day", auditTable, since(days)), c.metaLimits())
	if err != nil {
		return nil, err
	}
	var out [][]any
	var x, stmts, bytes []float64
	var last time.Time
	for _, r := range daily {
		day := text(field(names, r, "day"))
		if rows {
			out = append(out, []any{"daily_activity", day, nil,
				num(field(names, r, "statements")), num(field(names, r, "scan_bytes")), num(field(names, r, "scan_rows")),
				num(field(names, r, "cpu_time_ms")), num(field(names, r, "max_peak_memory_bytes")), num(field(names, r, "users")), nil, nil})
		}
		t, err := time.Parse(time.DateOnly, day[:min(len(day), len(time.DateOnly))])
		s, ok1 := integer(field(names, r, "statements"))
		b, ok2 := integer(field(names, r, "scan_bytes"))
		if err == nil && ok1 && ok2 {
			x, stmts, bytes, last = append(x, float64(t.Unix()/86400)), append(stmts, float64(s)), append(bytes, float64(b)), t
		}
	}
	if !project || len(x) < 2 {
		return out, nil
	}
	for _, ahead := range []int{30, 90, 365} {
		at := last.AddDate(0, 0, ahead)
		day := float64(at.Unix() / 86400)
		out = append(out, []any{"projected_activity", at.Format(time.DateOnly), nil,
			max(0, int64(math.Round(linearAt(x, stmts, day)))), max(0, int64(math.Round(linearAt(x, bytes, day)))), nil, nil, nil, nil, nil, nil})
	}
	return out, nil
}

// linearAt is the least-squares line through (x, y) evaluated at at.
func linearAt(x, y []float64, at float64) float64 {
	var mx, my float64
	for i := range x {
		mx, my = mx+x[i], my+y[i]
	}
	n := float64(len(x))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return my
	}
	return my + sxy/sxx*(at-mx)
}

// statements post-processes an audit result's stmt column: for a caller
// whose results are masked, the statements' string and number literals
// become ?, since a literal in a WHERE clause is a value the mask rules,
// which match column names, never see; then each is cut to stmtChars.
func statements(res *query.Result, err error, hide bool) (*query.Result, error) {
	if err != nil {
		return nil, err
	}
	names, rows, err := decode(res)
	if err != nil {
		return nil, err
	}
	at := colIndex(names, "stmt")
	if at < 0 {
		return res, nil
	}
	for _, r := range rows {
		s := text(r[at])
		if hide {
			s = hideLiterals(s)
		}
		r[at] = cut(s, stmtChars)
	}
	// The rows are those of res, statements shortened: no limit can cut them.
	out, err := table(context.Background(), nil, res.Columns, rows, query.Limits{MaxRows: len(rows), MaxBytes: math.MaxInt}, time.Now())
	if err != nil {
		return nil, err
	}
	out.Truncated, out.TruncationReason, out.ElapsedMS = res.Truncated, res.TruncationReason, res.ElapsedMS
	return out, nil
}

// hideLiterals rewrites a statement from its tokens with string and
// number literals as ? and without comments, which may hold values too.
// A statement the lexer cannot read (cut by Doris's
// audit_plugin_max_sql_length inside a literal, say) is kept only up to
// its first quote or comment.
func hideLiterals(stmt string) string {
	toks, err := sqlguard.Tokenize(stmt)
	if err != nil {
		if i := strings.IndexAny(stmt, "'\"#/-"); i >= 0 {
			return stmt[:i] + "…"
		}
		return stmt
	}
	var b strings.Builder
	end := 0
	for i, t := range toks {
		if i > 0 && t.Pos > end {
			b.WriteByte(' ')
		}
		if t.Kind == sqlguard.String || t.Kind == sqlguard.Number {
			b.WriteByte('?')
		} else {
			b.WriteString(t.Text)
		}
		end = t.Pos + len(t.Text)
	}
	return b.String()
}

// cut shortens s to at most n characters, marking the cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
