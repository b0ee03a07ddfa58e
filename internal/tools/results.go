package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

// The tools below compose answers from several statements. Each statement
// still goes through c.run (guard, bounds, memory budget); the answer is a
// query.Result built here, so every tool has the same output schema.

// tableRef is a validated table name: db is empty for the connection's
// current database.
type tableRef struct{ db, table string }

// quoted is the reference as SQL: `db`.`table` or `table`.
func (r tableRef) quoted() string {
	if r.db == "" {
		return quote(r.table)
	}
	return quote(r.db) + "." + quote(r.table)
}

// dbExpr is the database as an SQL expression for information_schema
// filters: a string literal, or DATABASE() for the current one.
func (r tableRef) dbExpr() string {
	if r.db == "" {
		return "DATABASE()"
	}
	return sqlguard.QuoteString(r.db)
}

func (r tableRef) String() string {
	if r.db == "" {
		return r.table
	}
	return r.db + "." + r.table
}

// quote quotes a name already validated by sqlguard.QuoteIdent.
func quote(name string) string {
	q, _ := sqlguard.QuoteIdent(name)
	return q
}

// parseTable validates a table argument: table_name, optionally written
// db.table, and db_name. Names are read with the guard's lexer, so `a.b`
// is one name and a.b two.
func parseTable(db, table string) (tableRef, error) {
	if table == "" {
		return tableRef{}, errors.New("table_name is required")
	}
	parts, err := splitName(table)
	if err != nil {
		return tableRef{}, fmt.Errorf("table_name: %w", err)
	}
	ref := tableRef{db: db, table: parts[len(parts)-1]}
	switch {
	case len(parts) > 2:
		return tableRef{}, fmt.Errorf("table_name %q: write db.table or give db_name; catalogs are not read by this tool", table)
	case len(parts) == 2 && db != "" && db != parts[0]:
		return tableRef{}, fmt.Errorf("table_name %q names database %q but db_name is %q", table, parts[0], db)
	case len(parts) == 2:
		ref.db = parts[0]
	}
	if ref.db != "" {
		if _, err := sqlguard.QuoteIdent(ref.db); err != nil {
			return tableRef{}, fmt.Errorf("db_name: %w", err)
		}
	}
	return ref, nil
}

// splitName splits a possibly qualified name into its validated parts.
func splitName(name string) ([]string, error) {
	if _, err := sqlguard.QuoteQualified(name); err != nil {
		return nil, err
	}
	toks, err := sqlguard.Tokenize(name)
	if err != nil {
		return nil, err
	}
	var parts []string
	for i, t := range toks {
		if i%2 == 1 {
			if t.Kind != sqlguard.Punct || t.Text != "." {
				return nil, fmt.Errorf("%q is not a name", name)
			}
			continue
		}
		if t.Kind != sqlguard.Word && t.Kind != sqlguard.QuotedIdent && t.Kind != sqlguard.Number {
			return nil, fmt.Errorf("%q is not a name", name)
		}
		parts = append(parts, t.Name())
	}
	if len(parts) == 0 || len(toks)%2 == 0 {
		return nil, fmt.Errorf("%q is not a name", name)
	}
	for _, p := range parts {
		if _, err := sqlguard.QuoteIdent(p); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// checkCatalog accepts the internal catalog only: these tools read
// information_schema and SHOW statements of the internal catalog.
func checkCatalog(name string) error {
	if name == "" || strings.EqualFold(name, "internal") {
		return nil
	}
	if _, err := sqlguard.QuoteIdent(name); err != nil {
		return fmt.Errorf("catalog_name: %w", err)
	}
	return fmt.Errorf("catalog_name %q: this tool reads the internal catalog only", name)
}

// rows runs one of the library's own statements and decodes its rows:
// numbers as json.Number, NULL as nil.
func (c *catalog) rows(ctx context.Context, stmt string, lim query.Limits) ([]string, [][]any, error) {
	res, err := c.run(ctx, "", stmt, lim, nil)
	if err != nil {
		return nil, nil, err
	}
	return decode(res)
}

func decode(res *query.Result) ([]string, [][]any, error) {
	cols := make([]string, len(res.Columns))
	for i, col := range res.Columns {
		cols[i] = col.Name
	}
	out := make([][]any, len(res.Rows))
	for i, raw := range res.Rows {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out[i]); err != nil {
			return nil, nil, fmt.Errorf("decoding a result row: %w", err)
		}
	}
	return cols, out, nil
}

// colIndex finds a result column by name, case-insensitively: engines
// differ in the case of information_schema and SHOW columns.
func colIndex(cols []string, name string) int {
	for i, c := range cols {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return -1
}

// field returns the value of the named column of row, nil when absent.
func field(cols []string, row []any, name string) any {
	if i := colIndex(cols, name); i >= 0 && i < len(row) {
		return row[i]
	}
	return nil
}

// text is a cell as text; "" for NULL.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// integer is a cell as an integer, ok false when it is not one.
func integer(v any) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(text(v)), 10, 64)
	return n, err == nil
}

// cols is a shorthand for result columns: name, type, name, type, ...
func cols(nameType ...string) []query.Column {
	out := make([]query.Column, 0, len(nameType)/2)
	for i := 0; i+1 < len(nameType); i += 2 {
		out = append(out, query.Column{Name: nameType[i], Type: nameType[i+1]})
	}
	return out
}

// num is an integer cell as int64, nil when NULL or not an integer.
func num(v any) any {
	if n, ok := integer(v); ok {
		return n
	}
	if f, err := strconv.ParseFloat(text(v), 64); err == nil {
		return int64(f)
	}
	return nil
}

// sizeUnits are the units of Doris's SHOW DATA and SHOW PARTITIONS sizes.
var sizeUnits = map[string]float64{"B": 1, "BYTES": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50}

// parseSize reads a size such as "218.795 KB"; nil when it is not one.
func parseSize(s string) any {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return nil
	}
	if len(f) == 1 {
		return int64(v)
	}
	unit, ok := sizeUnits[strings.ToUpper(f[1])]
	if !ok {
		return nil
	}
	return int64(v * unit)
}
