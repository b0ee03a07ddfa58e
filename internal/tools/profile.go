package tools

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

type profileArgs struct {
	SQL            string `json:"sql" jsonschema:"The read-only query to run and profile: SELECT or WITH … SELECT. It really runs, bounded like exec_query."`
	DBName         string `json:"db_name,omitempty" jsonschema:"Database to run the query in; the server's default database when omitted."`
	CatalogName    string `json:"catalog_name,omitempty" jsonschema:"Doris catalog to run the query in; the internal catalog when omitted."`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" schema:"min=1,max=$seconds,default=$seconds" jsonschema:"Time limit of the query in seconds."`
	Timeout        int    `json:"timeout,omitempty" schema:"alias=timeout_seconds" jsonschema:"Same as timeout_seconds (the reference server's name)."`
}

type dataSizeArgs struct {
	DBName        string `json:"db_name,omitempty" jsonschema:"Database of the tables; the server's default database when omitted."`
	TableName     string `json:"table_name,omitempty" jsonschema:"One table to report; every table of the database when omitted."`
	SingleReplica bool   `json:"single_replica,omitempty" jsonschema:"Report the size of one replica instead of all replicas together."`
}

// profileWait bounds how long get_sql_profile looks for the profile after
// the query ends: Doris registers the trace id and gathers the profile
// from the BEs asynchronously.
const profileWait = 3 * time.Second

var profileColumns = cols(
	"trace_id", "VARCHAR",
	"query_id", "VARCHAR",
	"rows_returned", "BIGINT",
	"profile", "TEXT",
)

func (c *catalog) sqlProfile(ctx context.Context, in profileArgs) (*query.Result, error) {
	start := time.Now()
	if strings.TrimSpace(in.SQL) == "" {
		return nil, errors.New("sql is required")
	}
	st, err := c.check(in.SQL, false)
	if err != nil {
		return nil, err
	}
	if st.Kind != sqlguard.Select {
		return nil, fmt.Errorf("get_sql_profile profiles queries (SELECT or WITH … SELECT), not %s", st.Kind)
	}
	lim, err := c.limits(0, 0, in.TimeoutSeconds)
	if err != nil {
		return nil, err
	}
	var setup []string
	if in.CatalogName != "" {
		q, err := sqlguard.QuoteIdent(in.CatalogName)
		if err != nil {
			return nil, fmt.Errorf("catalog_name: %w", err)
		}
		setup = append(setup, "SWITCH "+q)
	}
	if _, err := c.require(ctx, "get_sql_profile", need{Major: 2, Minor: 1, Why: "trace ids to find a query's profile", FEHTTP: true}); err != nil {
		return nil, err
	}
	if err := c.requireCatalog(ctx, "get_sql_profile", in.CatalogName); err != nil {
		return nil, err
	}
	// The statement runs under the trace id the Executor gave its session
	// (query.TraceID), looked up while the connection is open: Doris
	// releases that forget a connection's trace ids when it closes
	// (fidelity ledger: trace-id-cleanup-on-close) would not find it after.
	setup = append(setup, "SET enable_profile = true")
	var qid, traceID string
	lookupErr := errors.New("the query ended before its id could be looked up")
	ex := setupExec{Executor: c.cfg.Exec, setup: setup, after: func(ctx context.Context, _ *sql.Conn) {
		if traceID = query.TraceID(ctx); traceID == "" {
			lookupErr = errors.New("the connection has no trace id to find the query's profile by")
			return
		}
		lookupErr = c.untilFound(ctx, traceID, func(wctx context.Context) (err error) {
			qid, err = c.cfg.FEHTTP.QueryIDByTraceID(wctx, traceID)
			return err
		})
	}}
	res, err := c.queryOn(ctx, ex, query.Request{Stmt: st, DB: in.DBName, Limits: lim})
	if err != nil {
		return nil, err
	}
	if lookupErr != nil {
		return nil, lookupErr
	}
	var text string
	if err := c.untilFound(ctx, traceID, func(wctx context.Context) (err error) {
		text, err = c.cfg.FEHTTP.ProfileText(wctx, qid)
		return err
	}); err != nil {
		return nil, err
	}
	// The profile is bounded like a result: the rest of it is cut at a
	// line, and the result says it was.
	lim = c.cfg.Default
	truncated := false
	if budget := lim.MaxBytes - 256; len(text) > budget {
		cut := strings.LastIndexByte(text[:max(budget, 0)], '\n')
		text, truncated = text[:max(cut, 0)], true
	}
	out, err := c.result(ctx, start, query.Limits{MaxRows: 1, MaxBytes: lim.MaxBytes + 4096}, profileColumns, [][]any{{traceID, qid, res.RowCount, text}})
	if err != nil {
		return nil, err
	}
	if truncated {
		out.Truncated, out.TruncationReason = true, query.ByteLimit
	}
	return out, nil
}

// untilFound runs ask until it finds what it looks for, waiting a little
// for Doris to register the query run under traceID and its profile.
func (c *catalog) untilFound(ctx context.Context, traceID string, ask func(context.Context) error) error {
	wctx, cancel := context.WithTimeout(ctx, profileWait)
	defer cancel()
	delay := 50 * time.Millisecond
	for {
		err := ask(wctx)
		if err == nil {
			return nil
		}
		if !errors.Is(err, dorishttp.ErrNotFound) {
			return feError("fetching the profile", err)
		}
		t := time.NewTimer(delay)
		select {
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("the query ran, but Doris kept no profile for it within %v (trace id %s): %w", profileWait, traceID, err)
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

var dataSizeColumns = cols(
	"database", "VARCHAR",
	"table", "VARCHAR",
	"size_bytes", "BIGINT",
	"replicas", "VARCHAR",
	"is_view", "BOOLEAN",
	"note", "VARCHAR",
)

func (c *catalog) tableDataSize(ctx context.Context, in dataSizeArgs) (*query.Result, error) {
	start := time.Now()
	for _, arg := range [...]struct{ name, value string }{{"db_name", in.DBName}, {"table_name", in.TableName}} {
		if arg.value != "" {
			if _, err := sqlguard.QuoteIdent(arg.value); err != nil {
				return nil, fmt.Errorf("%s: %w", arg.name, err)
			}
		}
	}
	if _, err := c.require(ctx, "get_table_data_size", need{FEHTTP: true}); err != nil {
		return nil, err
	}
	db := in.DBName
	if db == "" {
		res, err := c.run(ctx, "", "SELECT DATABASE()", c.metaLimits(), nil)
		if err != nil {
			return nil, err
		}
		if rows := decodeRows(res); len(rows) == 1 && len(rows[0]) == 1 {
			db, _ = rows[0][0].(string)
		}
		if db == "" {
			return nil, errors.New("db_name is required: this server has no default database")
		}
	}
	hctx, cancel := context.WithTimeout(ctx, c.cfg.Default.Timeout)
	defer cancel()
	sizes, err := c.cfg.FEHTTP.TableDataSize(hctx, db, in.TableName, in.SingleReplica)
	if err != nil {
		var api *dorishttp.APIError
		if errors.As(err, &api) && api.Code == 1 {
			return nil, fmt.Errorf("database %q does not exist (or is not visible to this account): %w", db, err)
		}
		return nil, feError("reading table sizes from the FE", err)
	}
	if in.TableName != "" && len(sizes) == 0 {
		return nil, fmt.Errorf("table %q does not exist in database %q", in.TableName, db)
	}
	// The FE reports a view as 0 bytes, like an empty table;
	// information_schema tells them apart.
	where := "TABLE_SCHEMA = " + sqlQuote(db) + " AND TABLE_TYPE = 'VIEW'"
	if in.TableName != "" {
		where += " AND TABLE_NAME = " + sqlQuote(in.TableName)
	}
	_, viewRows, err := c.rows(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE "+where, c.metaLimits())
	if err != nil {
		return nil, err
	}
	views := map[string]bool{}
	for _, r := range viewRows {
		views[text(r[0])] = true
	}
	replicas := "all"
	if in.SingleReplica {
		replicas = "one"
	}
	type entry struct {
		name string
		size int64
	}
	var list []entry
	for n, s := range sizes {
		list = append(list, entry{n, s})
	}
	slices.SortFunc(list, func(a, b entry) int {
		return cmp.Or(cmp.Compare(b.size, a.size), strings.Compare(a.name, b.name))
	})
	rows := make([][]any, len(list))
	for i, e := range list {
		rows[i] = []any{db, e.name, e.size, replicas, views[e.name], nil}
		if !views[e.name] {
			continue
		}
		// Asked for by name, a view also says which tables it reads.
		if in.TableName != "" {
			rows[i][5] = c.viewNote(ctx, tableRef{db, e.name}, "")
		} else {
			rows[i][5] = "view: stores no data of its own"
		}
	}
	return c.result(ctx, start, c.metaLimits(), dataSizeColumns, rows)
}
