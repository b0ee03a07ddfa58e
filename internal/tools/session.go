package tools

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

// setupExec is an Executor whose connections are prepared by statements the
// library builds (SWITCH to a catalog, SET of the profiling variables)
// before the runtime's own session and the statement. The connection is
// discarded afterwards: a SWITCH cannot be undone without also losing the
// connection's default database, and a session that carries a trace id
// must not lend it to the next caller's statement.
type setupExec struct {
	query.Executor
	setup []string // at least one statement
	// after, when set, runs once the statement has run, on the same
	// connection before it is given back (or discarded): what must be
	// asked while the session exists.
	after func(ctx context.Context, conn *sql.Conn)
}

func (e setupExec) Do(ctx context.Context, s query.Session, fn func(ctx context.Context, conn *sql.Conn) error) error {
	// The first setup statement goes as the session's Set with no Reset,
	// which is how the Executor learns that the connection must not be
	// reused; the database comes after the SWITCH, which would clear it.
	first := query.Session{Set: e.setup[0]}
	return e.Executor.Do(ctx, first, func(ctx context.Context, conn *sql.Conn) error {
		stmts := append([]string(nil), e.setup[1:]...)
		if s.Set != "" {
			stmts = append(stmts, s.Set)
		}
		if s.DB != "" {
			db, err := sqlguard.QuoteIdent(s.DB)
			if err != nil {
				return fmt.Errorf("db_name: %w", err)
			}
			stmts = append(stmts, "USE "+db)
		}
		for _, stmt := range stmts {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		if err := fn(ctx, conn); err != nil {
			return err
		}
		if e.after != nil {
			e.after(ctx, conn)
		}
		return nil
	})
}

// inCatalog returns the Executor that runs statements in catalogName: the
// Server's own when it is empty, else one that switches to it first.
func (c *catalog) inCatalog(catalogName string) (query.Executor, error) {
	if catalogName == "" {
		return c.cfg.Exec, nil
	}
	q, err := sqlguard.QuoteIdent(catalogName)
	if err != nil {
		return nil, fmt.Errorf("catalog_name: %w", err)
	}
	return setupExec{Executor: c.cfg.Exec, setup: []string{"SWITCH " + q}}, nil
}

// runIn is run in a catalog, for a statement the library wrote itself.
func (c *catalog) runIn(ctx context.Context, catalogName, db, stmt string, lim query.Limits, mask *query.Masker, columns []string) (*query.Result, error) {
	st, err := c.check(stmt, true)
	if err != nil {
		return nil, err
	}
	return c.runChecked(ctx, catalogName, db, st, lim, mask, columns)
}

// runChecked runs a statement the guard accepted in a catalog.
func (c *catalog) runChecked(ctx context.Context, catalogName, db string, st *sqlguard.Statement, lim query.Limits, mask *query.Masker, columns []string) (*query.Result, error) {
	ex, err := c.inCatalog(catalogName)
	if err != nil {
		return nil, err
	}
	return c.queryOn(ctx, ex, query.Request{Stmt: st, DB: db, Limits: lim, Mask: mask, Columns: columns})
}

// decodeRows decodes a result's rows into values: strings, float64 for
// numbers, nil for NULL.
func decodeRows(res *query.Result) [][]any {
	out := make([][]any, 0, len(res.Rows))
	for _, raw := range res.Rows {
		var row []any
		if json.Unmarshal(raw, &row) == nil {
			out = append(out, row)
		}
	}
	return out
}

// byName reads a result's rows by column name, case-insensitively, so a
// statement whose column set differs between Doris releases (SHOW
// FRONTENDS, SHOW BACKENDS) is read the same way on each.
type byName struct {
	idx  map[string]int
	rows [][]any
}

func namedRows(res *query.Result) byName {
	b := byName{idx: make(map[string]int, len(res.Columns)), rows: decodeRows(res)}
	for i, col := range res.Columns {
		b.idx[strings.ToLower(col.Name)] = i
	}
	return b
}

// get returns row's value of the first named column the result has, as
// text, and whether any of them is there and not NULL.
func (b byName) get(row []any, names ...string) (string, bool) {
	for _, n := range names {
		i, ok := b.idx[strings.ToLower(n)]
		if !ok || i >= len(row) || row[i] == nil {
			continue
		}
		switch v := row[i].(type) {
		case string:
			return v, true
		default:
			return fmt.Sprint(v), true
		}
	}
	return "", false
}

// table builds a result from rows of plain values, bounded like a query's
// by lim and by mem (nil: no budget): rows beyond MaxRows or bytes beyond
// MaxBytes or the room mem gives are left out and the result says so.
func table(ctx context.Context, mem query.Memory, cols []query.Column, rows [][]any, lim query.Limits, start time.Time) (*query.Result, error) {
	res := &query.Result{Columns: cols, Rows: []json.RawMessage{}}
	size := 1
	for _, row := range rows {
		if res.RowCount == lim.MaxRows {
			res.Truncated, res.TruncationReason = true, query.RowLimit
			break
		}
		b, err := json.Marshal(row)
		if err != nil {
			return nil, fmt.Errorf("encoding a result row: %w", err)
		}
		if size+len(b)+1 > lim.MaxBytes {
			res.Truncated, res.TruncationReason = true, query.ByteLimit
			break
		}
		if mem != nil && !mem.Grow(ctx, len(b)+1) {
			res.Truncated, res.TruncationReason = true, query.MemoryLimit
			break
		}
		size += len(b) + 1
		res.Rows = append(res.Rows, b)
		res.RowCount++
	}
	res.ElapsedMS = time.Since(start).Milliseconds()
	return res, nil
}

// result builds a tool's own result from Go values, bounded by lim like a
// query's, and charged to the Server's memory budget, as query results
// are, until its response is delivered.
func (c *catalog) result(ctx context.Context, start time.Time, lim query.Limits, cols []query.Column, rows [][]any) (*query.Result, error) {
	return table(ctx, c.memory(ctx), cols, rows, lim, start)
}
