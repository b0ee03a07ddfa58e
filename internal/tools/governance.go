package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

type analyzeColumnsArgs struct {
	TableName     string   `json:"table_name" jsonschema:"Table name, optionally qualified as db.table."`
	DBName        string   `json:"db_name,omitempty" jsonschema:"Database of the table; the server's default database when omitted."`
	Columns       []string `json:"columns,omitempty" jsonschema:"Columns to analyse, at most 100; all of the table's columns (up to 100) when omitted."`
	AnalysisTypes []string `json:"analysis_types,omitempty" jsonschema:"Any of nulls, distinct, min_max, top_values; all when omitted."`
	SampleSize    int      `json:"sample_size,omitempty" jsonschema:"Rows read from the table, 1 to 1000000. Default 100000."`
}

// Limits of analyze_columns: one statement per table reads at most
// maxSample rows and reports at most maxAnalyzed columns.
const (
	maxAnalyzed = 100
	maxSample   = 1_000_000
	topValues   = 5
)

var analysisTypes = []string{"nulls", "distinct", "min_max", "top_values"}

// analyzeColumns profiles columns in one statement: a CTE reads at most
// sample_size rows once, one aggregate row per column summarises them and
// one grouped branch per column gives its most frequent values.
func (c *catalog) analyzeColumns(ctx context.Context, in analyzeColumnsArgs) (*query.Result, error) {
	ref, err := parseTable(in.DBName, in.TableName)
	if err != nil {
		return nil, err
	}
	sample, err := intArg("sample_size", in.SampleSize, 100_000, 1, maxSample)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, t := range in.AnalysisTypes {
		t = strings.ToLower(strings.TrimSpace(t))
		if !slices.Contains(analysisTypes, t) {
			return nil, fmt.Errorf("analysis_types: unknown type %q; use any of %s", t, strings.Join(analysisTypes, ", "))
		}
		want[t] = true
	}
	if len(want) == 0 {
		for _, t := range analysisTypes {
			want[t] = true
		}
	}
	columns := in.Columns
	if len(columns) > maxAnalyzed {
		return nil, fmt.Errorf("columns: %d given; analyze at most %d columns per call", len(columns), maxAnalyzed)
	}
	for i, col := range columns {
		if _, err := sqlguard.QuoteIdent(col); err != nil {
			return nil, fmt.Errorf("columns[%d]: %w", i, err)
		}
		if slices.Contains(columns[:i], col) {
			return nil, fmt.Errorf("columns: %q given twice", col)
		}
	}
	if len(columns) == 0 {
		// The table's own column list; names the engine gave need no
		// checking beyond quoting.
		names, rows, err := c.rows(ctx, "SHOW COLUMNS FROM "+ref.quoted(), c.metaLimits())
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if len(columns) == maxAnalyzed {
				break
			}
			columns = append(columns, text(field(names, r, "Field")))
		}
	}

	mask := c.mask(ctx)
	be, err := c.cfg.Exec.Backend(ctx)
	if err != nil {
		return nil, err
	}
	lim := c.cfg.Default
	lim.MaxRows = len(columns) * (1 + topValues)
	tablesample := be.Engine == query.Doris && !c.noTablesample.Load()
	res, err := c.run(ctx, "", profileSQL(ref, columns, want, sample, mask, tablesample), lim, mask)
	if tablesample && err != nil && strings.Contains(strings.ToUpper(err.Error()), "TABLESAMPLE") {
		// A server that cannot parse it never will; one that refuses it for
		// this table (not an OLAP table) may sample the next.
		if msg := strings.ToLower(err.Error()); strings.Contains(msg, "mismatched input") || strings.Contains(msg, "syntax error") {
			c.noTablesample.Store(true)
		}
		res, err = c.run(ctx, "", profileSQL(ref, columns, want, sample, mask, false), lim, mask)
	}
	return res, err
}

// profileSQL is the one statement of analyze_columns.
func profileSQL(ref tableRef, columns []string, want map[string]bool, sample int, mask *query.Masker, tablesample bool) string {
	var b strings.Builder
	// The CTE reads the sample once. It sits in a derived table so the
	// statement starts with SELECT and the runtime can bound it with a
	// hint, not with session variables that cost a statement and a
	// connection.
	b.WriteString("SELECT * FROM (WITH s AS (SELECT ")
	for i, col := range columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(col))
	}
	sampling := fmt.Sprintf("first %d rows the scan returned", sample)
	if tablesample {
		// Doris picks whole tablets until it has about that many rows;
		// the LIMIT holds the count to it.
		fmt.Fprintf(&b, " FROM %s TABLESAMPLE(%d ROWS) LIMIT %d)", ref.quoted(), sample, sample)
		sampling = fmt.Sprintf("TABLESAMPLE(%d ROWS)", sample)
	} else {
		fmt.Fprintf(&b, " FROM %s LIMIT %d)", ref.quoted(), sample)
	}
	// The first branch of a UNION decides its column types, so its NULLs
	// are typed: some engines drop the later branches' values into an
	// untyped NULL column.
	const nullInt, nullText = "NULLIF(COUNT(*), COUNT(*))", "NULLIF('', '')"
	pick := func(kind, expr, null string) string {
		if want[kind] {
			return expr
		}
		return null
	}
	for i, col := range columns {
		q := quote(col)
		values := pick("min_max", "CAST(MIN("+q+") AS CHAR)", nullText) + " AS min_value, " + pick("min_max", "CAST(MAX("+q+") AS CHAR)", nullText) + " AS max_value"
		if want["min_max"] && mask.Masks(col) {
			// The values would leave under names the rules do not cover.
			values = "'(masked)' AS min_value, '(masked)' AS max_value"
		}
		if i > 0 {
			b.WriteString(" UNION ALL")
		}
		fmt.Fprintf(&b, " SELECT %d AS column_position, %s AS column_name, 'summary' AS kind, COUNT(*) AS sampled_rows, %s AS null_count, "+
			"%s AS distinct_count, %s, %s AS value, %s AS frequency, %s AS sampling FROM s",
			i+1, sqlQuote(col), pick("nulls", "COUNT(*) - COUNT("+q+")", nullInt), pick("distinct", "COUNT(DISTINCT "+q+")", nullInt), values, nullText, nullInt, sqlQuote(sampling))
	}
	if want["top_values"] {
		for i, col := range columns {
			q := quote(col)
			if mask.Masks(col) {
				continue
			}
			fmt.Fprintf(&b, " UNION ALL (SELECT %d, %s, 'top_value', NULL, NULL, NULL, NULL, NULL, CAST(%s AS CHAR), COUNT(*), NULL "+
				"FROM s GROUP BY %s ORDER BY COUNT(*) DESC, CAST(%s AS CHAR) LIMIT %d)", i+1, sqlQuote(col), q, q, q, topValues)
		}
	}
	b.WriteString(") AS profile ORDER BY column_position, kind, frequency DESC, value")
	return b.String()
}
