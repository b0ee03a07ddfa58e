package tools

import (
	"strings"

	"github.com/dorismcp/doris/internal/sqlguard"
)

// A reader of the SQL text Doris stores, for lineage: view definitions
// and logged INSERT … SELECT statements. It works on the guard's tokens,
// so names inside strings and comments are never read as tables, and it
// reads what lineage needs, not the whole grammar: the tables after FROM
// and JOIN with their aliases, and the column references of each item of
// the outer select list.

// source is a table a query reads, with the alias it is known by.
type source struct {
	ref   tableRef
	alias string
}

// colRef is a column reference: a qualifier (table or alias, may be
// empty) and a column.
type colRef struct{ qual, col string }

// selectItem is one item of a select list: the name of the output column
// (its alias, or the column it copies) and the columns it reads.
type selectItem struct {
	name string
	refs []colRef
}

// parsedQuery is what lineage reads of a query.
type parsedQuery struct {
	sources []source
	items   []selectItem // of the outermost select
}

// exprWords are keywords that appear in expressions and are not columns.
var exprWords = map[string]bool{
	"AS": true, "CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "END": true, "AND": true, "OR": true,
	"NOT": true, "NULL": true, "IS": true, "IN": true, "BETWEEN": true, "LIKE": true, "REGEXP": true, "DISTINCT": true,
	"TRUE": true, "FALSE": true, "INTERVAL": true, "DIV": true, "MOD": true, "XOR": true, "ALL": true, "ANY": true,
	"EXISTS": true, "OVER": true, "BY": true, "ASC": true, "DESC": true, "ROWS": true, "RANGE": true, "UNBOUNDED": true,
	"PRECEDING": true, "FOLLOWING": true, "CURRENT": true, "ROW": true, "SEPARATOR": true, "BINARY": true,
	"DAY": true, "HOUR": true, "MINUTE": true, "SECOND": true, "MONTH": true, "YEAR": true, "WEEK": true, "QUARTER": true,
}

// parseQuery reads a query's tables (db is the database unqualified names
// are in) and its outer select list.
func parseQuery(toks []sqlguard.Token, db string) parsedQuery {
	var q parsedQuery
	for _, r := range sqlguard.TableRefs(toks) {
		ref := tableRef{db: db, table: r.Parts[len(r.Parts)-1]}
		if len(r.Parts) >= 2 {
			ref.db = r.Parts[len(r.Parts)-2]
		}
		q.sources = append(q.sources, source{ref: ref, alias: r.Alias})
	}
	q.items = selectList(toks)
	return q
}

// selectList reads the items of the outermost SELECT: from the first
// SELECT at depth 0 to its FROM.
func selectList(toks []sqlguard.Token) []selectItem {
	depth, start := 0, -1
	for i, t := range toks {
		switch {
		case t.IsPunct("("):
			depth++
		case t.IsPunct(")"):
			depth--
		case depth == 0 && t.IsWord("SELECT"):
			start = i + 1
		}
		if start >= 0 {
			break
		}
	}
	if start < 0 {
		return nil
	}
	if start < len(toks) && (toks[start].IsWord("DISTINCT") || toks[start].IsWord("ALL")) {
		start++
	}
	var items []selectItem
	from := start
	depth = 0
	for i := start; i <= len(toks); i++ {
		end := i == len(toks)
		if !end {
			t := toks[i]
			switch {
			case t.IsPunct("("):
				depth++
			case t.IsPunct(")"):
				depth--
			}
			end = depth == 0 && (t.IsWord("FROM") || t.IsWord("INTO") || t.IsWord("UNION"))
			if !end && !(depth == 0 && t.IsPunct(",")) {
				continue
			}
		}
		if i > from {
			items = append(items, readItem(toks[from:i]))
		}
		from = i + 1
		if end {
			break
		}
	}
	return items
}

// readItem reads one select item: its output name and the columns in it.
func readItem(toks []sqlguard.Token) selectItem {
	var it selectItem
	body := toks
	n := len(toks)
	switch {
	case n >= 2 && toks[n-2].IsWord("AS") && (toks[n-1].IsName() || toks[n-1].Kind == sqlguard.String):
		it.name, body = toks[n-1].Name(), toks[:n-2]
		if toks[n-1].Kind == sqlguard.String {
			it.name = unquoteString(toks[n-1].Text)
		}
	case n >= 2 && toks[n-1].IsName() && !toks[n-2].IsPunct(".") && toks[n-2].Kind != sqlguard.Punct && !exprWords[strings.ToUpper(toks[n-1].Text)]:
		// An alias without AS: expr name.
		it.name, body = toks[n-1].Name(), toks[:n-1]
	}
	depth := 0
	for i := 0; i < len(body); i++ {
		t := body[i]
		switch {
		case t.IsPunct("("):
			depth++
			continue
		case t.IsPunct(")"):
			depth--
			continue
		case t.IsWord("AS") && depth > 0:
			i++ // CAST(x AS type): the type is no column
			continue
		case !t.IsName() || t.Kind == sqlguard.Word && exprWords[strings.ToUpper(t.Text)]:
			continue
		}
		if i > 0 && body[i-1].IsPunct(".") {
			continue
		}
		name, next := sqlguard.QualifiedName(body, i)
		parts := name.Parts
		if next < len(body) && body[next].IsPunct("(") {
			i = next - 1 // a function call
			continue
		}
		r := colRef{col: parts[len(parts)-1]}
		if len(parts) >= 2 {
			r.qual = parts[len(parts)-2]
		}
		it.refs = append(it.refs, r)
		i = next - 1
	}
	if it.name == "" && len(it.refs) == 1 && len(body) <= 3 {
		it.name = it.refs[0].col
	}
	return it
}

// resolve names the table a column reference reads: by alias or table
// name, or the only source when unqualified. ok is false when it cannot
// tell (an unqualified column with several sources).
func (q parsedQuery) resolve(r colRef) (tableRef, bool) {
	for _, s := range q.sources {
		if r.qual == "" && len(q.sources) == 1 {
			return s.ref, true
		}
		if r.qual != "" && (strings.EqualFold(s.alias, r.qual) || s.alias == "" && strings.EqualFold(s.ref.table, r.qual)) {
			return s.ref, true
		}
	}
	return tableRef{}, false
}

// insertTarget reads INSERT [INTO|OVERWRITE TABLE] name [PARTITION …]
// [(columns)] and returns the table, the listed columns and where the
// query starts.
func insertTarget(toks []sqlguard.Token, db string) (ref tableRef, columns []string, query int, ok bool) {
	if len(toks) < 3 || !toks[0].IsWord("INSERT") {
		return tableRef{}, nil, 0, false
	}
	i := 1
	for i < len(toks) && (toks[i].IsWord("INTO") || toks[i].IsWord("OVERWRITE") || toks[i].IsWord("TABLE")) {
		i++
	}
	name, i := sqlguard.QualifiedName(toks, i)
	parts := name.Parts
	if len(parts) == 0 || len(parts) > 3 {
		return tableRef{}, nil, 0, false
	}
	ref = tableRef{db: db, table: parts[len(parts)-1]}
	if len(parts) >= 2 {
		ref.db = parts[len(parts)-2]
	}
	partition := false // the next group lists partitions, not columns
	for i < len(toks) {
		switch {
		case toks[i].IsWord("PARTITION"):
			partition = true
			i++
		case toks[i].IsWord("PARTITION") || toks[i].IsWord("TEMPORARY") || toks[i].IsWord("WITH") && i+1 < len(toks) && toks[i+1].IsWord("LABEL"):
			i++
		case toks[i].IsPunct("("):
			depth := 0
			var cols []string
			for ; i < len(toks); i++ {
				if toks[i].IsPunct("(") {
					depth++
				} else if toks[i].IsPunct(")") {
					depth--
					if depth == 0 {
						break
					}
				} else if depth == 1 && toks[i].IsName() {
					cols = append(cols, toks[i].Name())
				}
			}
			i++
			if !partition {
				columns = cols
			}
			partition = false
		case toks[i].IsWord("SELECT") || toks[i].IsWord("WITH"):
			return ref, columns, i, true
		default:
			i++
		}
	}
	return tableRef{}, nil, 0, false
}
