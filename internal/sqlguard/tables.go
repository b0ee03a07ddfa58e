package sqlguard

import "strings"

// A TableRef is a table a query reads, found by [TableRefs].
type TableRef struct {
	// Parts are the name's parts, unquoted: table, db.table or
	// catalog.db.table.
	Parts []string
	// Text is the name as written, quotes included.
	Text string
	// Alias is the name the query knows the table by; empty when none.
	Alias string
	// Pos is the index of the name's first token.
	Pos int
}

// aliasEnds are the keywords that may follow a table reference and are not
// its alias.
var aliasEnds = map[string]bool{
	"ON": true, "USING": true, "WHERE": true, "GROUP": true, "ORDER": true, "LIMIT": true, "HAVING": true,
	"OFFSET": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "FULL": true, "CROSS": true,
	"OUTER": true, "NATURAL": true, "STRAIGHT_JOIN": true, "UNION": true, "EXCEPT": true, "INTERSECT": true,
	"MINUS": true, "WINDOW": true, "QUALIFY": true, "LATERAL": true, "TABLESAMPLE": true, "PARTITION": true,
	"PARTITIONS": true, "TABLET": true, "FOR": true, "INTO": true, "SELECT": true, "FROM": true, "VALUES": true,
	"SET": true, "LOCK": true, "USE": true, "FORCE": true, "IGNORE": true, "AS": true,
}

// fromEnds end a FROM list at its own depth.
var fromEnds = map[string]bool{
	"WHERE": true, "GROUP": true, "ORDER": true, "HAVING": true, "LIMIT": true, "UNION": true, "EXCEPT": true,
	"INTERSECT": true, "MINUS": true, "ON": true, "USING": true, "SELECT": true, "QUALIFY": true, "WINDOW": true,
}

// TableRefs reads the tables a query's tokens name, in the order they
// appear: each name after FROM or JOIN, after a comma of a FROM list, and
// inside a parenthesised join (FROM (a x JOIN b y ON …), the form MariaDB
// stores views in), with its alias. Names a WITH clause defines are not
// tables, nor are derived tables. It reads these positions, not the whole
// grammar, so it serves lineage and telemetry, never a security decision:
// that is the guard's.
func TableRefs(toks []Token) []TableRef {
	ctes := withNames(toks)
	var refs []TableRef
	// inFrom[d] is set while a FROM list is open at depth d: a comma
	// there starts another table reference.
	inFrom := []bool{false}
	expect := false // a table reference may start at this token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		here := expect
		expect = false
		depth := len(inFrom) - 1
		switch {
		case t.IsPunct("("):
			// After FROM or JOIN, a parenthesis that opens no subquery
			// groups joins, whose tables are one level down.
			group := here && i+1 < len(toks) && !toks[i+1].IsWord("SELECT") && !toks[i+1].IsWord("WITH")
			inFrom = append(inFrom, group)
			expect = group
			continue
		case t.IsPunct(")"):
			if depth > 0 {
				inFrom = inFrom[:depth]
			}
			continue
		case t.IsWord("FROM") || t.IsWord("JOIN"):
			inFrom[depth], expect = true, true
			continue
		case t.IsPunct(","):
			expect = inFrom[depth]
			continue
		case t.Kind == Word && fromEnds[strings.ToUpper(t.Text)]:
			inFrom[depth] = false
		}
		if !here || !t.IsName() {
			continue
		}
		ref, next := QualifiedName(toks, i)
		if len(ref.Parts) == 0 || len(ref.Parts) > 3 || len(ref.Parts) == 1 && ctes[strings.ToLower(ref.Parts[0])] {
			continue
		}
		if next < len(toks) && toks[next].IsWord("AS") {
			next++
		}
		if next < len(toks) && toks[next].IsName() && !(toks[next].Kind == Word && aliasEnds[strings.ToUpper(toks[next].Text)]) {
			ref.Alias = toks[next].Name()
			next++
		}
		refs = append(refs, ref)
		i = next - 1
	}
	return refs
}

// withNames are the names the WITH clauses of a query define, wherever
// they stand (a derived table may have its own), lower-cased:
// WITH [RECURSIVE] name [(columns)] AS (query) [, …].
func withNames(toks []Token) map[string]bool {
	var names map[string]bool
	for i := 0; i < len(toks); i++ {
		if !toks[i].IsWord("WITH") {
			continue
		}
		j := i + 1
		if j < len(toks) && toks[j].IsWord("RECURSIVE") {
			j++
		}
		for j < len(toks) && toks[j].IsName() {
			name := toks[j].Name()
			j++
			if j < len(toks) && toks[j].IsPunct("(") {
				j = skipGroup(toks, j)
			}
			if j >= len(toks) || !toks[j].IsWord("AS") {
				break
			}
			if names == nil {
				names = map[string]bool{}
			}
			names[strings.ToLower(name)] = true
			if j++; j < len(toks) && toks[j].IsPunct("(") {
				j = skipGroup(toks, j)
			}
			if j >= len(toks) || !toks[j].IsPunct(",") {
				break
			}
			j++
		}
	}
	return names
}

// skipGroup returns the index after the parenthesised group opening at i.
func skipGroup(toks []Token, i int) int {
	depth := 0
	for ; i < len(toks); i++ {
		switch {
		case toks[i].IsPunct("("):
			depth++
		case toks[i].IsPunct(")"):
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return i
}

// QualifiedName reads name[.name[.name]] at toks[i], and returns the index
// after it. A part after a dot may be a number-like token (db.123abc).
func QualifiedName(toks []Token, i int) (TableRef, int) {
	ref := TableRef{Pos: i}
	start := i
	for i < len(toks) && (toks[i].IsName() || toks[i].Kind == Number && len(ref.Parts) > 0) {
		ref.Parts = append(ref.Parts, toks[i].Name())
		if i+1 < len(toks) && toks[i+1].IsPunct(".") {
			i += 2
			continue
		}
		i++
		break
	}
	var b strings.Builder
	for j := start; j < i && j < len(toks); j++ {
		b.WriteString(toks[j].Text)
	}
	ref.Text = b.String()
	return ref, i
}
