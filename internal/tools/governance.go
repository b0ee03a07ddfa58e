package tools

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

type analyzeColumnsArgs struct {
	TableName        string   `json:"table_name" jsonschema:"Table name, optionally qualified as db.table."`
	DBName           string   `json:"db_name,omitempty" jsonschema:"Database of the table; the server's default database when omitted."`
	Columns          []string `json:"columns,omitempty" jsonschema:"Columns to analyse, at most 100; all of the table's columns (up to 100) when omitted."`
	AnalysisTypes    []string `json:"analysis_types,omitempty" schema:"enum=nulls|distinct|min_max|top_values|completeness|distribution|both" jsonschema:"What to compute; all when omitted. The reference server's names are accepted too: completeness is nulls, distribution is distinct and min_max, both is all."`
	SampleSize       int      `json:"sample_size,omitempty" schema:"min=1,max=1000000,default=100000" jsonschema:"Rows read from the table."`
	TimeoutSeconds   int      `json:"timeout_seconds,omitempty" schema:"min=1,max=$seconds,default=$seconds" jsonschema:"Time limit in seconds."`
	CatalogName      string   `json:"catalog_name,omitempty" jsonschema:"Catalog of the table; only the internal catalog is read."`
	DetailedResponse bool     `json:"detailed_response,omitempty" jsonschema:"Include top_values even when analysis_types leaves them out (the reference server's switch for top values)."`
}

// Limits of analyze_columns: one statement per table reports at most
// maxAnalyzed columns, each with at most topValues values.
const (
	maxAnalyzed = 100
	topValues   = 5
)

var analysisTypes = []string{"nulls", "distinct", "min_max", "top_values"}

// analysisAliases are what each value of analysis_types asks for, the
// reference server's names included.
var analysisAliases = map[string][]string{
	"nulls": {"nulls"}, "distinct": {"distinct"}, "min_max": {"min_max"}, "top_values": {"top_values"},
	"completeness": {"nulls"}, "distribution": {"distinct", "min_max"}, "both": analysisTypes,
}

// analyzeColumns profiles columns in one statement: a CTE reads at most
// sample_size rows once, one aggregate row per column summarises them and
// one grouped branch per column gives its most frequent values.
func (c *catalog) analyzeColumns(ctx context.Context, in analyzeColumnsArgs) (*query.Result, error) {
	ref, err := parseTable(in.DBName, in.TableName)
	if err != nil {
		return nil, err
	}
	if err := checkCatalog(in.CatalogName); err != nil {
		return nil, err
	}
	sample := in.SampleSize
	lim, err := c.limits(0, 0, in.TimeoutSeconds)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, t := range in.AnalysisTypes {
		for _, k := range analysisAliases[strings.ToLower(t)] {
			want[k] = true
		}
	}
	if len(want) == 0 {
		for _, t := range analysisTypes {
			want[t] = true
		}
	}
	if in.DetailedResponse {
		want["top_values"] = true
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
	if te := (*query.TimeoutError)(nil); errors.As(err, &te) {
		return nil, fmt.Errorf("%w: profiling %d columns of %d sampled rows needs more time; ask for fewer columns or "+
			"analysis_types, a smaller sample_size, or a longer timeout_seconds (at most %d)",
			err, len(columns), sample, int(c.cfg.Max.Timeout/time.Second))
	}
	return res, err
}

// profileSQL is the one statement of analyze_columns. It reads the sample
// once (s); one aggregate row (m) summarises every column of it, and, for
// top values, one grouping of the sample unpivoted to (column, value)
// pairs (g) ranks each column's values, where one grouped branch per
// column would make the engine plan and run a statement per column.
func profileSQL(ref tableRef, columns []string, want map[string]bool, sample int, mask *query.Masker, tablesample bool) string {
	var b strings.Builder
	// The statement sits in a derived table so it starts with SELECT and
	// the runtime can bound it with a hint, not with session variables
	// that cost a statement and a connection.
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
	b.WriteString(", p AS (")
	for i := range columns {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT %d AS pos", i+1)
	}
	b.WriteString("), m AS (SELECT COUNT(*) AS n")
	for i, col := range columns {
		q := quote(col)
		if want["nulls"] {
			fmt.Fprintf(&b, ", COUNT(*) - COUNT(%s) AS z%d", q, i+1)
		}
		if want["distinct"] {
			fmt.Fprintf(&b, ", COUNT(DISTINCT %s) AS d%d", q, i+1)
		}
		if want["min_max"] && !mask.Masks(col) {
			fmt.Fprintf(&b, ", CAST(MIN(%[1]s) AS CHAR) AS lo%[2]d, CAST(MAX(%[1]s) AS CHAR) AS hi%[2]d", q, i+1)
		}
	}
	b.WriteString(" FROM s)")
	var ranked []int // positions whose values may be shown
	if want["top_values"] {
		for i, col := range columns {
			if !mask.Masks(col) {
				ranked = append(ranked, i+1)
			}
		}
	}
	if len(ranked) > 0 {
		b.WriteString(", g AS (SELECT pos, v, f, ROW_NUMBER() OVER (PARTITION BY pos ORDER BY f DESC, v) AS rn FROM " +
			"(SELECT pos, v, COUNT(*) AS f FROM (SELECT p.pos, CASE p.pos")
		for _, pos := range ranked {
			fmt.Fprintf(&b, " WHEN %d THEN CAST(%s AS CHAR)", pos, quote(columns[pos-1]))
		}
		b.WriteString(" END AS v FROM s CROSS JOIN p WHERE p.pos IN (")
		for i, pos := range ranked {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprint(&b, pos)
		}
		b.WriteString(")) u GROUP BY pos, v) c)")
	}
	// pick is one column's statistic chosen by position, or a typed NULL
	// when it is not asked for: the first branch of a UNION decides its
	// column types, and some engines drop later branches' values into an
	// untyped NULL column.
	pick := func(kind, prefix, null string, masked string) string {
		if !want[kind] {
			return null
		}
		var e strings.Builder
		e.WriteString("CASE p.pos")
		for i, col := range columns {
			if masked != "" && mask.Masks(col) {
				fmt.Fprintf(&e, " WHEN %d THEN %s", i+1, masked)
			} else {
				fmt.Fprintf(&e, " WHEN %d THEN m.%s%d", i+1, prefix, i+1)
			}
		}
		e.WriteString(" END")
		return e.String()
	}
	const nullInt, nullText = "NULLIF(m.n, m.n)", "NULLIF('', '')"
	b.WriteString(" SELECT p.pos AS column_position, CASE p.pos")
	for i, col := range columns {
		fmt.Fprintf(&b, " WHEN %d THEN %s", i+1, sqlQuote(col))
	}
	fmt.Fprintf(&b, " END AS column_name, 'summary' AS kind, m.n AS sampled_rows, %s AS null_count, %s AS distinct_count, "+
		"%s AS min_value, %s AS max_value, %s AS value, %s AS frequency, %s AS sampling FROM p CROSS JOIN m",
		pick("nulls", "z", nullInt, ""), pick("distinct", "d", nullInt, ""),
		// A masked column's values would leave under names the rules do
		// not cover.
		pick("min_max", "lo", nullText, "'(masked)'"), pick("min_max", "hi", nullText, "'(masked)'"),
		nullText, nullInt, sqlQuote(sampling))
	if len(ranked) > 0 {
		b.WriteString(" UNION ALL SELECT g.pos, CASE g.pos")
		for _, pos := range ranked {
			fmt.Fprintf(&b, " WHEN %d THEN %s", pos, sqlQuote(columns[pos-1]))
		}
		fmt.Fprintf(&b, " END, 'top_value', NULL, NULL, NULL, NULL, NULL, g.v, g.f, NULL FROM g WHERE g.rn <= %d AND g.v IS NOT NULL", topValues)
	}
	b.WriteString(") AS profile ORDER BY column_position, kind, frequency DESC, value")
	return b.String()
}
