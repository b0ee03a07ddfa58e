package tools

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

// errNotDoris is the capability error of the tools that read Doris's
// storage layout.
var errNotDoris = errors.New("unavailable: needs Apache Doris (partitions, buckets and replicas are Doris's storage layout)")

func (c *catalog) requireDoris(ctx context.Context) error {
	be, err := c.cfg.Exec.Backend(ctx)
	if err != nil {
		return err
	}
	if be.Engine != query.Doris {
		return fmt.Errorf("%w; this server is %s", errNotDoris, be.Engine)
	}
	return nil
}

type storageArgs struct {
	TableName        string `json:"table_name" jsonschema:"Table name, optionally qualified as db.table."`
	DBName           string `json:"db_name,omitempty" jsonschema:"Database of the table; the server's default database when omitted."`
	CatalogName      string `json:"catalog_name,omitempty" jsonschema:"Catalog of the table; only the internal catalog is read."`
	DetailedResponse bool   `json:"detailed_response,omitempty" jsonschema:"Accepted for compatibility with the reference server; every partition is always listed."`
}

// layout is what SHOW CREATE TABLE says of a Doris table's storage.
type layout struct {
	keys, partitionBy, distribution, buckets, replication, medium string
}

// parseLayout reads Doris DDL with the guard's lexer, so that text inside
// comments and string literals (a column comment saying "BUCKETS 3") is
// never taken for a clause.
func parseLayout(ddl string) (layout, error) {
	toks, err := sqlguard.Tokenize(ddl)
	if err != nil {
		return layout{}, fmt.Errorf("reading the table's DDL: %w", err)
	}
	var l layout
	word := func(i int, w string) bool {
		return i < len(toks) && toks[i].Kind == sqlguard.Word && strings.EqualFold(toks[i].Text, w)
	}
	// group returns the names in the parenthesised list at i and the index
	// after it.
	group := func(i int) (string, int) {
		if i >= len(toks) || toks[i].Text != "(" {
			return "", i
		}
		var names []string
		depth := 0
		for ; i < len(toks); i++ {
			switch t := toks[i]; {
			case t.Kind == sqlguard.Punct && t.Text == "(":
				depth++
			case t.Kind == sqlguard.Punct && t.Text == ")":
				depth--
				if depth == 0 {
					return strings.Join(names, ", "), i + 1
				}
			case depth == 1 && (t.Kind == sqlguard.Word || t.Kind == sqlguard.QuotedIdent):
				names = append(names, t.Name())
			}
		}
		return strings.Join(names, ", "), i
	}
	depth := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.Kind == sqlguard.Punct {
			// Range partitions are written [(lower), (upper)): '[' opens
			// what the ')' closes.
			switch t.Text {
			case "(", "[":
				depth++
			case ")":
				depth--
			}
			continue
		}
		if depth != 0 {
			continue
		}
		switch {
		case (word(i, "UNIQUE") || word(i, "DUPLICATE") || word(i, "AGGREGATE") || word(i, "PRIMARY")) && word(i+1, "KEY") && l.keys == "":
			cols, _ := group(i + 2)
			l.keys = strings.ToUpper(t.Text) + " KEY(" + cols + ")"
		case word(i, "PARTITION") && word(i+1, "BY") && i+2 < len(toks):
			cols, _ := group(i + 3)
			l.partitionBy = strings.ToUpper(toks[i+2].Text) + "(" + cols + ")"
		case word(i, "DISTRIBUTED") && word(i+1, "BY") && i+2 < len(toks):
			l.distribution = strings.ToUpper(toks[i+2].Text)
			next := i + 3
			if cols, after := group(next); cols != "" {
				l.distribution += "(" + cols + ")"
				next = after
			}
			if word(next, "BUCKETS") && next+1 < len(toks) {
				l.buckets = toks[next+1].Text
			}
		case word(i, "PROPERTIES"):
			for j := i + 1; j+2 < len(toks); j++ {
				if toks[j].Kind != sqlguard.String || toks[j+1].Text != "=" || toks[j+2].Kind != sqlguard.String {
					continue
				}
				k, v := unquoteString(toks[j].Text), unquoteString(toks[j+2].Text)
				switch k {
				case "replication_allocation", "replication_num":
					if l.replication == "" {
						l.replication = v
					}
				case "storage_medium":
					l.medium = v
				}
			}
		}
	}
	return l, nil
}

// unquoteString strips the quotes of a string token; DDL property values
// hold no escapes that matter here.
func unquoteString(s string) string {
	if len(s) >= 2 {
		return s[1 : len(s)-1]
	}
	return s
}

func (c *catalog) tableStorage(ctx context.Context, in storageArgs) (*query.Result, error) {
	start := time.Now()
	if err := checkCatalog(in.CatalogName); err != nil {
		return nil, err
	}
	ref, err := parseTable(in.DBName, in.TableName)
	if err != nil {
		return nil, err
	}
	if err := c.requireDoris(ctx); err != nil {
		return nil, err
	}
	if ref.db == "" {
		if ref.db, err = c.currentDB(ctx); err != nil {
			return nil, err
		}
	}
	types, err := c.tableTypes(ctx, []tableRef{ref})
	if err != nil {
		return nil, err
	}
	switch t, ok := types[ref]; {
	case !ok:
		return nil, notFound(ref)
	case t == viewType:
		row := []any{"view", ref.table, nil, nil, nil, nil, nil, nil, nil, 0, 0, nil, nil, nil,
			c.viewNote(ctx, ref, "no partitions, buckets or replicas")}
		return c.result(ctx, start, c.metaLimits(), storageColumns, [][]any{row})
	}
	names, rows, err := c.rows(ctx, "SHOW CREATE TABLE "+ref.quoted(), c.metaLimits())
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || colIndex(names, "Create Table") < 0 {
		return nil, fmt.Errorf("%s is not a table (SHOW CREATE TABLE gave no DDL)", ref)
	}
	l, err := parseLayout(text(field(names, rows[0], "Create Table")))
	if err != nil {
		return nil, err
	}
	dn, data, err := c.rows(ctx, "SHOW DATA FROM "+ref.quoted(), c.metaLimits())
	if err != nil {
		return nil, err
	}
	size, replicas, count := tableData(ref.table, dn, data)
	out := [][]any{{"table", ref.table, l.keys, l.partitionBy, nil, l.distribution, num(l.buckets), l.replication, l.medium, size, replicas, count, nil, nil, nil}}
	pn, parts, err := c.rows(ctx, "SHOW PARTITIONS FROM "+ref.quoted(), c.metaLimits())
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		repl := text(field(pn, p, "ReplicaAllocation"))
		if repl == "" {
			repl = text(field(pn, p, "ReplicationNum"))
		}
		out = append(out, []any{"partition", text(field(pn, p, "PartitionName")), nil, text(field(pn, p, "PartitionKey")),
			text(field(pn, p, "Range")), text(field(pn, p, "DistributionKey")), num(field(pn, p, "Buckets")), repl,
			text(field(pn, p, "StorageMedium")), parseSize(text(field(pn, p, "DataSize"))), nil, nil,
			num(field(pn, p, "VisibleVersion")), text(field(pn, p, "VisibleVersionTime")), nil})
	}
	return c.result(ctx, start, c.metaLimits(), storageColumns, out)
}

// tableData reads a table's size, replicas and rows from SHOW DATA FROM
// table: one row per index (base, rollups, synchronous materialized views)
// sorted by index name, then a Total row (fidelity ledger:
// show-data-table). Size and replicas are the Total's, rows the base
// index's (the one named as the table); nil where a row is missing.
func tableData(table string, names []string, rows [][]any) (size, replicas, count any) {
	for _, r := range rows {
		switch index := text(field(names, r, "IndexName")); {
		case index == "Total":
			size, replicas = parseSize(text(field(names, r, "Size"))), num(field(names, r, "ReplicaCount"))
		case strings.EqualFold(index, table):
			count = num(field(names, r, "RowCount"))
		}
	}
	return size, replicas, count
}

// storageColumns are analyze_table_storage's: one row for the table (or
// the view), then one per partition.
var storageColumns = cols("level", "VARCHAR", "name", "VARCHAR", "keys_model", "VARCHAR", "partition_by", "VARCHAR",
	"range", "VARCHAR", "distribution", "VARCHAR", "buckets", "INT", "replication", "VARCHAR", "storage_medium", "VARCHAR",
	"data_size_bytes", "BIGINT", "replica_count", "BIGINT", "row_count", "BIGINT", "visible_version", "BIGINT",
	"visible_version_time", "DATETIME", "note", "VARCHAR")

type freshnessArgs struct {
	TableNames              []string `json:"table_names,omitempty" jsonschema:"Tables or views to check, optionally qualified as db.table, at most 100; every base table of the database (up to 100) when omitted."`
	DBName                  string   `json:"db_name,omitempty" jsonschema:"Database of the tables; the server's default database when omitted."`
	ThresholdHours          int      `json:"threshold_hours,omitempty" schema:"min=1,max=8760,default=24" jsonschema:"A table unchanged for longer is flagged stale, in hours."`
	FreshnessThresholdHours int      `json:"freshness_threshold_hours,omitempty" schema:"alias=threshold_hours" jsonschema:"Same as threshold_hours (the reference server's name)."`
	IncludeUpdatePatterns   bool     `json:"include_update_patterns,omitempty" jsonschema:"Accepted for compatibility with the reference server; each row already says where its time comes from (source) and how many partitions it read."`
	CatalogName             string   `json:"catalog_name,omitempty" jsonschema:"Catalog of the tables; only the internal catalog is read."`
}

const maxFreshness = 100

const sqlTime = "2006-01-02 15:04:05"

var freshnessColumns = cols("table_name", "VARCHAR", "last_change", "DATETIME", "hours_since_change", "DOUBLE",
	"stale", "BOOLEAN", "source", "VARCHAR", "partitions", "INT", "is_view", "BOOLEAN", "error", "VARCHAR")

// change is one base table's last data change, as lastChange reads it.
type change struct {
	last, source string
	parts        any
	err          error
}

// freshness reports each table's last data change: on Doris the newest
// visible version time of its partitions (every load, delete or
// compaction-visible change publishes one), elsewhere
// information_schema.TABLES.UPDATE_TIME, which some engines leave empty.
// A view has no change of its own: its row is the newest change of the
// base tables it reads. A table that cannot be read has a row with its
// error; the call fails only when no table could be read.
func (c *catalog) freshness(ctx context.Context, in freshnessArgs) (*query.Result, error) {
	start := time.Now()
	if err := checkCatalog(in.CatalogName); err != nil {
		return nil, err
	}
	hours := in.ThresholdHours
	if len(in.TableNames) > maxFreshness {
		return nil, fmt.Errorf("table_names: %d given; check at most %d tables per call", len(in.TableNames), maxFreshness)
	}
	var refs []tableRef
	for i, name := range in.TableNames {
		ref, err := parseTable(in.DBName, name)
		if err != nil {
			return nil, fmt.Errorf("table_names[%d]: %w", i, err)
		}
		refs = append(refs, ref)
	}
	if in.DBName != "" {
		if _, err := sqlguard.QuoteIdent(in.DBName); err != nil {
			return nil, fmt.Errorf("db_name: %w", err)
		}
	}
	be, err := c.cfg.Exec.Backend(ctx)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		db := tableRef{db: in.DBName}
		_, rows, err := c.rows(ctx, fmt.Sprintf("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "+
			"AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME LIMIT %d", db.dbExpr(), maxFreshness), c.metaLimits())
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			refs = append(refs, tableRef{db: in.DBName, table: text(r[0])})
		}
	}
	// Unqualified names are in the default database; without one they
	// name nothing, and say so in their rows.
	cur, curErr := "", error(nil)
	if slices.ContainsFunc(refs, func(r tableRef) bool { return r.db == "" }) {
		if cur, curErr = c.currentDB(ctx); curErr != nil && !errors.Is(curErr, errNoDefaultDB) {
			return nil, curErr
		}
	}
	var named []tableRef // refs with their database
	for _, r := range refs {
		if r.db == "" {
			r.db = cur
		}
		if r.db != "" {
			named = append(named, r)
		}
	}
	types, err := c.tableTypes(ctx, named)
	if err != nil {
		return nil, err
	}
	// The server's clock, in the server's time zone, like the times it
	// reports.
	_, nowRows, err := c.rows(ctx, "SELECT DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s')", c.metaLimits())
	if err != nil {
		return nil, err
	}
	now, err := time.Parse(sqlTime, text(nowRows[0][0]))
	if err != nil {
		return nil, fmt.Errorf("reading the server's clock: %w", err)
	}
	changes := map[tableRef]change{}
	lastOf := func(ref tableRef) change {
		ch, ok := changes[ref]
		if !ok {
			ch.last, ch.source, ch.parts, ch.err = c.lastChange(ctx, be.Engine, ref)
			changes[ref] = ch
		}
		return ch
	}
	var out [][]any
	var failed []string
	for _, ref := range refs {
		row := []any{ref.String(), nil, nil, nil, nil, nil, false, nil}
		out = append(out, row)
		fail := func(err error) {
			row[7] = err.Error()
			failed = append(failed, ref.String()+": "+err.Error())
		}
		if ref.db == "" {
			if ref.db = cur; ref.db == "" {
				fail(curErr)
				continue
			}
		}
		kind, ok := types[ref]
		switch {
		case !ok:
			fail(errors.New("no such table or view"))
			continue
		case kind == viewType:
			row[6] = true
			bases, skipped, err := c.viewBases(ctx, ref)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				fail(err)
				continue
			}
			newest, unknown := "", len(skipped) > 0
			var seen []string
			for _, b := range bases {
				ch := lastOf(b)
				switch {
				case ch.err != nil:
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					unknown = true
					seen = append(seen, fmt.Sprintf("%s: %v", b, ch.err))
				case ch.last == "":
					unknown = true
					seen = append(seen, b.String()+" unknown")
				default:
					newest = max(newest, ch.last)
					seen = append(seen, b.String()+" "+ch.last)
				}
			}
			src := "view: no update time of its own; "
			if len(bases) == 0 {
				src += "it reads no base table"
			} else {
				src += "the newest change of the base tables it reads (" + strings.Join(seen, "; ") + ")"
			}
			if len(skipped) > 0 {
				src += "; not followed: " + strings.Join(skipped, "; ")
			}
			row[4] = src
			setChange(row, newest, unknown, now, hours)
		default:
			ch := lastOf(ref)
			if ch.err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				fail(ch.err)
				continue
			}
			row[4], row[5] = ch.source, ch.parts
			setChange(row, ch.last, false, now, hours)
		}
	}
	if len(out) > 0 && len(failed) == len(out) {
		if len(failed) > 5 {
			failed = append(failed[:5], fmt.Sprintf("and %d more", len(failed)-5))
		}
		return nil, fmt.Errorf("no table could be checked: %s", strings.Join(failed, "; "))
	}
	return c.result(ctx, start, c.metaLimits(), freshnessColumns, out)
}

// setChange fills a freshness row's last change, hours since and
// staleness from a time the server printed (nothing when last is not one).
// partial says a table behind the row has a change not known, which may be
// later than last: the row is then fresh if last is, and of unknown
// staleness otherwise.
func setChange(row []any, last string, partial bool, now time.Time, threshold int) {
	t, err := time.Parse(sqlTime, last)
	if err != nil {
		return
	}
	age := now.Sub(t).Hours()
	row[1], row[2], row[3] = last, math.Round(age*10)/10, age > float64(threshold)
	if partial && age > float64(threshold) {
		row[3] = nil
	}
}

func (c *catalog) lastChange(ctx context.Context, eng query.Engine, ref tableRef) (last, source string, parts any, err error) {
	if eng == query.Doris {
		names, rows, err := c.rows(ctx, "SHOW PARTITIONS FROM "+ref.quoted(), c.metaLimits())
		if err != nil {
			return "", "", nil, err
		}
		for _, r := range rows {
			if v := text(field(names, r, "VisibleVersionTime")); v > last {
				last = v
			}
		}
		return last, "newest VisibleVersionTime of SHOW PARTITIONS", len(rows), nil
	}
	_, rows, err := c.rows(ctx, "SELECT DATE_FORMAT(UPDATE_TIME, '%Y-%m-%d %H:%i:%s') FROM information_schema.TABLES WHERE TABLE_SCHEMA = "+
		ref.dbExpr()+" AND TABLE_NAME = "+sqlQuote(ref.table), c.metaLimits())
	if err != nil {
		return "", "", nil, err
	}
	if len(rows) == 0 {
		return "", "", nil, errors.New("table not found")
	}
	last = text(rows[0][0])
	if last == "" {
		return "", "unknown: information_schema.TABLES.UPDATE_TIME is empty (this engine does not keep it)", nil, nil
	}
	return last, "information_schema.TABLES.UPDATE_TIME", nil, nil
}
