package tools

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

// Lineage comes from two places Doris keeps SQL: view definitions (SHOW
// CREATE VIEW) and the INSERT … SELECT statements of the audit log. Both
// are read with the guard's lexer (see sqlread.go). What neither shows —
// loads, materialized views, jobs outside Doris — is named in every
// answer's coverage rows.

// Bounds of one lineage answer.
const (
	maxViews        = 100
	maxInserts      = 500
	lineageDays     = 30
	maxLineageTargs = 50
)

// colEdge is one output column of an edge's target and a column it reads.
type colEdge struct {
	to      string
	from    tableRef
	fromCol string
}

// edge is data flowing from one table into another.
type edge struct {
	from, to tableRef
	via      string // "view" or "insert_select"
	evidence string
	cols     []colEdge
}

type lineage struct {
	edges []edge
	notes [][2]string // source, what it covered or missed
}

func sameTable(a, b tableRef) bool {
	return strings.EqualFold(a.db, b.db) && strings.EqualFold(a.table, b.table)
}

// gather reads the edges of both sources.
func (c *catalog) gather(ctx context.Context, views bool) (*lineage, error) {
	l := &lineage{}
	if views {
		if err := c.viewEdges(ctx, l); err != nil {
			return nil, err
		}
	} else {
		l.notes = append(l.notes, [2]string{"view definitions", "not read (include_views is false)"})
	}
	if err := c.auditAvailable(ctx); err != nil {
		l.notes = append(l.notes, [2]string{"audit log INSERT … SELECT", "not used: " + err.Error()})
	} else if err := c.insertEdges(ctx, l); err != nil {
		return nil, err
	}
	l.notes = append(l.notes, [2]string{"not covered", "loads (Stream, Broker, Routine Load), materialized views and jobs outside Doris leave no SQL here; flows through them are missing"})
	return l, nil
}

func (c *catalog) viewEdges(ctx context.Context, l *lineage) error {
	_, views, err := c.rows(ctx, fmt.Sprintf("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'VIEW' "+
		"AND TABLE_SCHEMA NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys', '__internal_schema') "+
		"ORDER BY TABLE_SCHEMA, TABLE_NAME LIMIT %d", maxViews+1), c.metaLimits())
	if err != nil {
		return err
	}
	if len(views) > maxViews {
		views = views[:maxViews]
		l.notes = append(l.notes, [2]string{"view definitions", fmt.Sprintf("more than %d views; only the first %d (by name) were read", maxViews, maxViews)})
	}
	read := 0
	for _, v := range views {
		view := tableRef{db: text(v[0]), table: text(v[1])}
		if _, err := sqlguard.QuoteIdent(view.db); err != nil {
			continue
		}
		if _, err := sqlguard.QuoteIdent(view.table); err != nil {
			continue
		}
		q, cols, err := c.viewQuery(ctx, view)
		if err != nil {
			l.notes = append(l.notes, [2]string{"view definitions", fmt.Sprintf("%s: %v", view, err)})
			continue
		}
		read++
		l.addQuery(q, view, cols, "view", "definition of view "+view.String())
	}
	l.notes = append(l.notes, [2]string{"view definitions", fmt.Sprintf("%d view definitions read", read)})
	return nil
}

// viewBody finds the query of CREATE … VIEW name [(columns)] [COMMENT '…']
// AS query, and the listed columns.
func viewBody(toks []sqlguard.Token) ([]sqlguard.Token, []string) {
	for i := range toks {
		if !toks[i].IsWord("VIEW") {
			continue
		}
		_, j := sqlguard.QualifiedName(toks, i+1)
		var cols []string
		if j < len(toks) && toks[j].IsPunct("(") {
			for j++; j < len(toks) && !toks[j].IsPunct(")"); j++ {
				if toks[j].IsName() && (j == 0 || !toks[j-1].IsWord("COMMENT")) && !toks[j].IsWord("COMMENT") {
					cols = append(cols, toks[j].Name())
				}
			}
			j++
		}
		for ; j < len(toks); j++ {
			if toks[j].IsWord("AS") {
				return toks[j+1:], cols
			}
		}
	}
	return nil, nil
}

// addQuery records the flow of q's sources into target; names, when set,
// are target's columns by position.
func (l *lineage) addQuery(q parsedQuery, target tableRef, names []string, via, evidence string) {
	byTable := map[string]*edge{}
	var order []string
	for _, s := range q.sources {
		key := strings.ToLower(s.ref.String())
		if byTable[key] == nil {
			byTable[key] = &edge{from: s.ref, to: target, via: via, evidence: evidence}
			order = append(order, key)
		}
	}
	for i, it := range q.items {
		name := it.name
		if i < len(names) {
			name = names[i]
		}
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		for _, r := range it.refs {
			if ref, ok := q.resolve(r); ok {
				e := byTable[strings.ToLower(ref.String())]
				if e != nil {
					e.cols = append(e.cols, colEdge{to: name, from: ref, fromCol: r.col})
				}
			}
		}
	}
	for _, k := range order {
		l.edges = append(l.edges, *byTable[k])
	}
}

func (c *catalog) insertEdges(ctx context.Context, l *lineage) error {
	_, rows, err := c.rows(ctx, fmt.Sprintf("SELECT MAX(db), MAX(stmt), COUNT(*), MAX(`time`) FROM %s "+
		"WHERE %s AND state <> 'ERR' AND UPPER(LEFT(TRIM(stmt), 6)) = 'INSERT' GROUP BY sql_hash ORDER BY MAX(`time`) DESC LIMIT %d",
		auditTable, since(lineageDays), maxInserts+1), c.metaLimits())
	if err != nil {
		return err
	}
	if len(rows) > maxInserts {
		rows = rows[:maxInserts]
		l.notes = append(l.notes, [2]string{"audit log INSERT … SELECT", fmt.Sprintf("more than %d distinct statements; the %d most recent were read", maxInserts, maxInserts)})
	}
	type insert struct {
		q        parsedQuery
		target   tableRef
		cols     []string
		evidence string
	}
	var inserts []insert
	unreadable := 0
	for _, r := range rows {
		toks, err := sqlguard.Tokenize(text(r[1]))
		if err != nil {
			unreadable++
			continue
		}
		target, cols, start, ok := insertTarget(toks, text(r[0]))
		if !ok {
			unreadable++
			continue
		}
		q := parseQuery(toks[start:], text(r[0]))
		if len(q.sources) == 0 {
			continue // INSERT … VALUES or SELECT of constants
		}
		inserts = append(inserts, insert{q, target, cols, fmt.Sprintf("%s runs in the audit log, last %s", text(r[2]), text(r[3]))})
	}
	// An INSERT without a column list fills the target's columns in order.
	var unnamed []tableRef
	for _, in := range inserts {
		if in.cols == nil && !slices.ContainsFunc(unnamed, func(t tableRef) bool { return sameTable(t, in.target) }) {
			unnamed = append(unnamed, in.target)
		}
	}
	columns, err := c.columnsOf(ctx, unnamed)
	if err != nil {
		return err
	}
	used, positional := 0, 0
	for _, in := range inserts {
		if in.cols == nil {
			in.cols = columns[strings.ToLower(in.target.String())]
		}
		if in.cols == nil {
			positional++
		}
		used++
		l.addQuery(in.q, in.target, in.cols, "insert_select", in.evidence)
	}
	note := fmt.Sprintf("%d distinct INSERT … SELECT statements of the last %d days read", used, lineageDays)
	if unreadable > 0 {
		note += fmt.Sprintf("; %d could not be read (cut by audit_plugin_max_sql_length, or not INSERT … SELECT)", unreadable)
	}
	if positional > 0 {
		note += fmt.Sprintf("; %d fill tables whose columns could not be read, so their columns are the select list's names, not necessarily the target's", positional)
	}
	l.notes = append(l.notes, [2]string{"audit log INSERT … SELECT", note})
	return nil
}

// maxColumnLookups bounds the tables whose columns one lineage answer
// looks up.
const maxColumnLookups = 50

// columnsOf returns the columns of tables in order, keyed by lower-case
// db.table; tables information_schema does not know are left out.
func (c *catalog) columnsOf(ctx context.Context, tables []tableRef) (map[string][]string, error) {
	out := map[string][]string{}
	if len(tables) > maxColumnLookups {
		tables = tables[:maxColumnLookups]
	}
	var where []string
	for _, t := range tables {
		if _, err := sqlguard.QuoteIdent(t.db); err != nil {
			continue
		}
		if _, err := sqlguard.QuoteIdent(t.table); err != nil {
			continue
		}
		where = append(where, "(TABLE_SCHEMA = "+sqlQuote(t.db)+" AND TABLE_NAME = "+sqlQuote(t.table)+")")
	}
	if len(where) == 0 {
		return out, nil
	}
	_, rows, err := c.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE "+
		strings.Join(where, " OR ")+" ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION", c.metaLimits())
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		k := strings.ToLower(text(r[0]) + "." + text(r[1]))
		out[k] = append(out[k], text(r[2]))
	}
	return out, nil
}

// errNoDefaultDB is currentDB's answer on a server configured without a
// default database.
var errNoDefaultDB = errors.New("the server has no default database; qualify the name as db.table")

// currentDB is the connection's default database.
func (c *catalog) currentDB(ctx context.Context) (string, error) {
	_, rows, err := c.rows(ctx, "SELECT DATABASE()", c.metaLimits())
	if err != nil {
		return "", err
	}
	if len(rows) == 0 || text(rows[0][0]) == "" {
		return "", errNoDefaultDB
	}
	return text(rows[0][0]), nil
}

type flowArgs struct {
	TargetTable   string `json:"target_table,omitempty" jsonschema:"Table or view to trace, optionally qualified as db.table; when omitted, every data flow into or out of the database's tables, one row (relation edge) each."`
	DBName        string `json:"db_name,omitempty" jsonschema:"Database of the table; the server's default database when omitted."`
	Depth         int    `json:"depth,omitempty" schema:"min=1,max=10,default=3" jsonschema:"How many hops to follow each way."`
	AnalysisDepth int    `json:"analysis_depth,omitempty" schema:"alias=depth" jsonschema:"Same as depth (the reference server's name)."`
	IncludeViews  *bool  `json:"include_views,omitempty" schema:"default=true" jsonschema:"Read view definitions."`
	CatalogName   string `json:"catalog_name,omitempty" jsonschema:"Catalog of the table; only the internal catalog is read."`
}

var lineageCols = cols("relation", "VARCHAR", "depth", "INT", "from_table", "VARCHAR", "to_table", "VARCHAR", "via", "VARCHAR", "evidence", "VARCHAR")

func (c *catalog) dataFlow(ctx context.Context, in flowArgs) (*query.Result, error) {
	start := time.Now()
	if err := checkCatalog(in.CatalogName); err != nil {
		return nil, err
	}
	views := in.IncludeViews == nil || *in.IncludeViews
	if in.TargetTable == "" {
		return c.allFlows(ctx, start, in.DBName, views)
	}
	ref, err := parseTable(in.DBName, in.TargetTable)
	if err != nil {
		return nil, fmt.Errorf("target_table: %w", err)
	}
	depth := in.Depth
	if ref.db == "" {
		if ref.db, err = c.currentDB(ctx); err != nil {
			return nil, err
		}
	}
	cols, err := c.columnsOf(ctx, []tableRef{ref})
	if err != nil {
		return nil, err
	}
	l, err := c.gather(ctx, views)
	if err != nil {
		return nil, err
	}
	var out [][]any
	for _, dir := range []string{"upstream", "downstream"} {
		seen := map[string]bool{strings.ToLower(ref.String()): true}
		frontier := []tableRef{ref}
		for d := 1; d <= depth && len(frontier) > 0; d++ {
			var next []tableRef
			for _, t := range frontier {
				for _, e := range l.edges {
					near, far := e.to, e.from
					if dir == "downstream" {
						near, far = e.from, e.to
					}
					if !sameTable(near, t) {
						continue
					}
					out = append(out, []any{dir, d, e.from.String(), e.to.String(), e.via, e.evidence})
					if k := strings.ToLower(far.String()); !seen[k] {
						seen[k] = true
						next = append(next, far)
					}
				}
			}
			frontier = next
		}
	}
	// A table the catalog does not have is answered only from the SQL
	// read (a dropped table, say), and said to be missing.
	if cols[strings.ToLower(ref.String())] == nil {
		if len(out) == 0 {
			return nil, notFound(ref)
		}
		out = append(out, []any{"coverage", nil, nil, nil, "catalog", fmt.Sprintf("table %s does not exist now; it is known only from the SQL read", ref)})
	}
	for _, n := range l.notes {
		out = append(out, []any{"coverage", nil, nil, nil, n[0], n[1]})
	}
	return c.result(ctx, start, c.metaLimits(), lineageCols, out)
}

// allFlows is every data flow into or out of a table of database db (the
// current one when empty), one edge per row.
func (c *catalog) allFlows(ctx context.Context, start time.Time, db string, views bool) (*query.Result, error) {
	if db == "" {
		var err error
		if db, err = c.currentDB(ctx); err != nil {
			return nil, err
		}
	} else if _, err := sqlguard.QuoteIdent(db); err != nil {
		return nil, fmt.Errorf("db_name: %w", err)
	}
	l, err := c.gather(ctx, views)
	if err != nil {
		return nil, err
	}
	var out [][]any
	for _, e := range l.edges {
		if strings.EqualFold(e.from.db, db) || strings.EqualFold(e.to.db, db) {
			out = append(out, []any{"edge", 1, e.from.String(), e.to.String(), e.via, e.evidence})
		}
	}
	for _, n := range l.notes {
		out = append(out, []any{"coverage", nil, nil, nil, n[0], n[1]})
	}
	return c.result(ctx, start, c.metaLimits(), lineageCols, out)
}

type columnLineageArgs struct {
	TargetColumns          []string `json:"target_columns" jsonschema:"Columns to trace, each db.table.column or table.column, at most 50."`
	Depth                  int      `json:"depth,omitempty" schema:"min=1,max=10,default=3" jsonschema:"How many hops upstream to follow."`
	AnalysisDepth          int      `json:"analysis_depth,omitempty" schema:"alias=depth" jsonschema:"Same as depth (the reference server's name)."`
	IncludeTransformations bool     `json:"include_transformations,omitempty" jsonschema:"Accepted for compatibility with the reference server; each row names the source column and what carries it (via: view or insert_select), not the expression."`
	CatalogName            string   `json:"catalog_name,omitempty" jsonschema:"Catalog of the tables; only the internal catalog is read."`
}

type colTarget struct {
	table tableRef
	col   string
}

func (c *catalog) columnLineage(ctx context.Context, in columnLineageArgs) (*query.Result, error) {
	start := time.Now()
	if len(in.TargetColumns) == 0 {
		return nil, fmt.Errorf("target_columns is required")
	}
	if len(in.TargetColumns) > maxLineageTargs {
		return nil, fmt.Errorf("target_columns: %d given; trace at most %d columns per call", len(in.TargetColumns), maxLineageTargs)
	}
	if err := checkCatalog(in.CatalogName); err != nil {
		return nil, err
	}
	depth := in.Depth
	var targets []colTarget
	needDB := false
	for i, name := range in.TargetColumns {
		parts, err := splitName(name)
		if err != nil || len(parts) < 2 {
			return nil, fmt.Errorf("target_columns[%d]: write db.table.column or table.column, got %q", i, name)
		}
		t := colTarget{table: tableRef{table: parts[len(parts)-2]}, col: parts[len(parts)-1]}
		if len(parts) == 3 {
			t.table.db = parts[0]
		} else {
			needDB = true
		}
		targets = append(targets, t)
	}
	if needDB {
		db, err := c.currentDB(ctx)
		if err != nil {
			return nil, err
		}
		for i := range targets {
			if targets[i].table.db == "" {
				targets[i].table.db = db
			}
		}
	}
	// Every target gets an answer; one whose table or column does not
	// exist says so, and the call fails only when none exists.
	tables := make([]tableRef, len(targets))
	for i, t := range targets {
		tables[i] = t.table
	}
	have, err := c.columnsOf(ctx, tables)
	if err != nil {
		return nil, err
	}
	missing := map[int]string{}
	for i, t := range targets {
		switch cols := have[strings.ToLower(t.table.String())]; {
		case cols == nil:
			missing[i] = fmt.Sprintf("table %s does not exist", t.table)
		case !slices.ContainsFunc(cols, func(c string) bool { return strings.EqualFold(c, t.col) }):
			missing[i] = fmt.Sprintf("column %s does not exist in %s", t.col, t.table)
		}
	}
	l, err := c.gather(ctx, true)
	if err != nil {
		return nil, err
	}
	var out [][]any
	unknown := 0      // targets neither in the catalog nor in the SQL read
	var gones [][]any // targets only in the SQL read
	for i, target := range targets {
		name := target.table.String() + "." + target.col
		seen := map[string]bool{strings.ToLower(name): true}
		frontier := []colTarget{target}
		found := false
		for d := 1; d <= depth && len(frontier) > 0; d++ {
			var next []colTarget
			for _, t := range frontier {
				for _, e := range l.edges {
					if !sameTable(e.to, t.table) {
						continue
					}
					for _, ce := range e.cols {
						if !strings.EqualFold(ce.to, t.col) {
							continue
						}
						found = true
						src := ce.from.String() + "." + ce.fromCol
						out = append(out, []any{name, d, t.table.String() + "." + t.col, src, e.via, e.evidence})
						if k := strings.ToLower(src); !seen[k] {
							seen[k] = true
							next = append(next, colTarget{table: ce.from, col: ce.fromCol})
						}
					}
				}
			}
			frontier = next
		}
		switch why, gone := missing[i]; {
		case !found && gone:
			unknown++
			out = append(out, []any{name, nil, nil, nil, nil, why})
		case !found:
			out = append(out, []any{name, nil, nil, nil, nil, "no source found in the SQL read (see coverage)"})
		case gone:
			gones = append(gones, []any{"(coverage)", nil, nil, nil, "catalog", why + " now; it is known only from the SQL read"})
		}
	}
	out = append(out, gones...)
	if unknown == len(targets) {
		return nil, errors.New("target_columns: " + strings.Join(slices.Sorted(maps.Values(missing)), "; "))
	}
	for _, n := range l.notes {
		out = append(out, []any{"(coverage)", nil, nil, nil, n[0], n[1]})
	}
	return c.result(ctx, start, c.metaLimits(), cols("target_column", "VARCHAR", "depth", "INT", "column", "VARCHAR", "source_column", "VARCHAR",
		"via", "VARCHAR", "evidence", "VARCHAR"), out)
}
