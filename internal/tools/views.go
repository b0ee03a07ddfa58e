package tools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dorismcp/doris/internal/sqlguard"
)

// A view stores no data. Doris has no storage, partitions or update time
// to report of one (its FE reports views as 0 bytes, and SHOW DATA and
// SHOW PARTITIONS refuse them), so the storage and freshness tools tell
// views from tables through information_schema.TABLES first, and answer a
// view from its definition: the tables it reads.

// viewType is information_schema.TABLES.TABLE_TYPE of a view, on Doris
// and MySQL-compatible servers alike.
const viewType = "VIEW"

// maxViewHops bounds how deep monitor_data_freshness follows views that
// read views.
const maxViewHops = 8

// tableTypes returns information_schema.TABLES.TABLE_TYPE of each ref,
// one statement per database; every ref must name its database. A ref
// information_schema does not list (unknown, or not visible to the
// account) is absent from the map. A name that differs from the listed
// one only in case takes the listed one's type.
func (c *catalog) tableTypes(ctx context.Context, refs []tableRef) (map[tableRef]string, error) {
	byDB := map[string][]string{}
	var dbs []string
	for _, r := range refs {
		if r.db == "" {
			return nil, fmt.Errorf("internal: %s has no database", r.table)
		}
		if _, ok := byDB[r.db]; !ok {
			dbs = append(dbs, r.db)
		}
		if !slices.Contains(byDB[r.db], r.table) {
			byDB[r.db] = append(byDB[r.db], r.table)
		}
	}
	out := map[tableRef]string{}
	for _, db := range dbs {
		names := byDB[db]
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = sqlQuote(n)
		}
		_, rows, err := c.rows(ctx, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = "+sqlQuote(db)+
			" AND TABLE_NAME IN ("+strings.Join(quoted, ", ")+")", c.metaLimits())
		if err != nil {
			return nil, err
		}
		exact, folded := map[string]string{}, map[string]string{}
		for _, r := range rows {
			exact[text(r[0])] = text(r[1])
			folded[strings.ToLower(text(r[0]))] = text(r[1])
		}
		for _, n := range names {
			if t, ok := exact[n]; ok {
				out[tableRef{db, n}] = t
			} else if t, ok := folded[strings.ToLower(n)]; ok {
				out[tableRef{db, n}] = t
			}
		}
	}
	return out, nil
}

// viewQuery reads a view's definition (SHOW CREATE VIEW) with the lineage
// reader: its query, and the column names the definition lists. view must
// name its database, which unqualified names in the query are in.
func (c *catalog) viewQuery(ctx context.Context, view tableRef) (parsedQuery, []string, error) {
	names, rows, err := c.rows(ctx, "SHOW CREATE VIEW "+view.quoted(), c.metaLimits())
	if err != nil {
		return parsedQuery{}, nil, fmt.Errorf("its definition could not be read: %w", err)
	}
	if len(rows) == 0 {
		return parsedQuery{}, nil, errors.New("its definition could not be read: SHOW CREATE VIEW returned no row")
	}
	toks, err := sqlguard.Tokenize(text(field(names, rows[0], "Create View")))
	if err != nil {
		return parsedQuery{}, nil, fmt.Errorf("its definition is not readable: %w", err)
	}
	body, cols := viewBody(toks)
	if body == nil {
		return parsedQuery{}, nil, errors.New("no query found in its definition")
	}
	return parseQuery(body, view.db), cols, nil
}

// viewReads returns the tables and views a view's definition reads, in
// the order it names them, each once; names no server could hold are left
// out, so every one can be quoted.
func (c *catalog) viewReads(ctx context.Context, view tableRef) ([]tableRef, error) {
	q, _, err := c.viewQuery(ctx, view)
	if err != nil {
		return nil, err
	}
	var out []tableRef
	for _, s := range q.sources {
		if _, err := sqlguard.QuoteIdent(s.ref.db); err != nil {
			continue
		}
		if _, err := sqlguard.QuoteIdent(s.ref.table); err != nil {
			continue
		}
		if !slices.ContainsFunc(out, func(r tableRef) bool { return sameTable(r, s.ref) }) {
			out = append(out, s.ref)
		}
	}
	return out, nil
}

// refList prints table names for a message: a, b, c.
func refList(refs []tableRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// viewNote is what the size and storage tools say of a view: it stores
// nothing (and, in parentheses, what else it has not), and which tables it
// reads when its definition tells.
func (c *catalog) viewNote(ctx context.Context, view tableRef, nor string) string {
	note := "view: stores no data of its own"
	if nor != "" {
		note += " (" + nor + ")"
	}
	reads, err := c.viewReads(ctx, view)
	switch {
	case err != nil:
		return note + "; " + err.Error()
	case len(reads) == 0:
		return note + "; its definition reads no table"
	}
	return note + "; it reads " + refList(reads)
}

// viewBases returns the base tables a view reads, following the views it
// reads down to tables, at most maxViewHops deep and through at most
// maxFreshness names; skipped says what could not be followed. The error
// is for the view's own definition, when it cannot be read.
func (c *catalog) viewBases(ctx context.Context, view tableRef) (bases []tableRef, skipped []string, err error) {
	seen := []tableRef{view}
	level := []tableRef{view}
	full := false
	for hop := 0; len(level) > 0; hop++ {
		if hop == maxViewHops {
			skipped = append(skipped, fmt.Sprintf("views nested more than %d deep were not followed (%s)", maxViewHops, refList(level)))
			break
		}
		var reads []tableRef
		for _, v := range level {
			rs, err := c.viewReads(ctx, v)
			if err != nil {
				if hop == 0 || ctx.Err() != nil {
					return nil, nil, err
				}
				skipped = append(skipped, fmt.Sprintf("view %s: %v", v, err))
				continue
			}
			for _, r := range rs {
				if slices.ContainsFunc(seen, func(s tableRef) bool { return sameTable(s, r) }) {
					continue
				}
				if len(seen) > maxFreshness {
					if !full {
						skipped = append(skipped, fmt.Sprintf("more than %d tables and views; %s and the rest were not followed", maxFreshness, r))
						full = true
					}
					break
				}
				seen = append(seen, r)
				reads = append(reads, r)
			}
		}
		types, err := c.tableTypes(ctx, reads)
		if err != nil {
			return nil, nil, err
		}
		level = nil
		for _, r := range reads {
			switch t, ok := types[r]; {
			case !ok:
				skipped = append(skipped, r.String()+": not found")
			case t == viewType:
				level = append(level, r)
			default:
				bases = append(bases, r)
			}
		}
	}
	return bases, skipped, nil
}
