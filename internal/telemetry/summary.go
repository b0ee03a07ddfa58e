package telemetry

import (
	"strings"

	"github.com/dorismcp/doris/internal/sqlguard"
)

// operation is db.operation.name for a statement summary: its first
// keyword when that is one of the statements the guard lets through,
// else OTHER, so the value set is closed.
func operation(summary string) string {
	word, _, _ := strings.Cut(summary, " ")
	switch word {
	case "SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXPLAIN", "USE", "SET", "SWITCH", "HELP":
		return word
	}
	return "OTHER"
}

// maxSummary bounds db.query.summary, as the conventions advise.
const maxSummary = 255

// Summary is the db.query.summary of a statement the guard accepted: its
// operations and the tables it reads, in the order they appear, as in
// "SELECT orders customers" or "SHOW TABLES". It is built from the guard's
// tokens with the text of literals withheld, so it can never carry one.
// An unreadable statement summarises to its first keyword, or "".
func Summary(sql string) string {
	toks, err := sqlguard.Tokenize(sql)
	if err != nil || len(toks) == 0 {
		return ""
	}
	for i := range toks {
		if toks[i].Kind == sqlguard.String || toks[i].Kind == sqlguard.Number {
			toks[i].Text = ""
		}
	}
	var b summaryBuilder
	first := upperWord(toks[0])
	switch first {
	case "SHOW", "DESC", "DESCRIBE", "EXPLAIN":
		// A SHOW names what it shows in keywords ("SHOW CREATE TABLE t");
		// DESCRIBE and EXPLAIN name their table, or a query read below.
		b.add(first)
		i := 1
		for ; i < len(toks) && i < 4; i++ {
			w := upperWord(toks[i])
			if w == "" || w == "SELECT" || w == "WITH" || w == "LIKE" || w == "WHERE" || w == "FROM" || w == "IN" {
				break
			}
			if first == "SHOW" {
				b.add(toks[i].Text) // keywords and a name alike, as written
			} else {
				name, next := sqlguard.QualifiedName(toks, i)
				b.add(name.Text)
				i = next - 1 // its last token
				break
			}
		}
		b.tables(toks[i:])
	default:
		b.tables(toks)
	}
	return b.String()
}

type summaryBuilder struct{ strings.Builder }

func (b *summaryBuilder) add(s string) {
	if s == "" || b.Len()+1+len(s) > maxSummary {
		return
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(s)
}

// tables adds each SELECT and each table the statement reads
// ([sqlguard.TableRefs]), in the order they appear.
func (b *summaryBuilder) tables(toks []sqlguard.Token) {
	refs := sqlguard.TableRefs(toks)
	for i, t := range toks {
		if upperWord(t) == "SELECT" {
			b.add("SELECT")
		}
		if len(refs) > 0 && refs[0].Pos == i {
			b.add(refs[0].Text)
			refs = refs[1:]
		}
	}
}

func upperWord(t sqlguard.Token) string {
	if t.Kind != sqlguard.Word {
		return ""
	}
	return strings.ToUpper(t.Text)
}
