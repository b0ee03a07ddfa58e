package sqlguard

import (
	"strconv"
	"strings"
)

// Limit is a query's top-level LIMIT clause: the one that bounds the rows
// the query returns, outside every parenthesis.
type Limit struct {
	Count int64 // the most rows it returns
	// At and End are the byte range of Count in Statement.SQL, for a
	// caller that lowers it.
	At, End int
}

// TopLimit returns the top-level LIMIT of a SELECT (LIMIT n, LIMIT o, n or
// LIMIT n OFFSET o) when its row count is a plain integer and nothing but
// its offset follows it. Servers keep a query's own LIMIT over a session's
// sql_select_limit (MySQL, MariaDB, and Doris's Nereids planner), so a
// caller that caps rows in the engine must lower this count instead.
func (s *Statement) TopLimit() (Limit, bool) {
	if s.Kind != Select {
		return Limit{}, false
	}
	buf := tokenBufs.Get().(*[]token)
	defer func() {
		if cap(*buf) <= maxPooledTokens {
			tokenBufs.Put(buf)
		}
	}()
	lx := lexer{src: s.SQL}
	toks, err := lx.run((*buf)[:0])
	if err != nil {
		return Limit{}, false
	}
	*buf = toks[:0]
	depth, at := 0, -1
	for i := range toks {
		t := &toks[i]
		switch {
		case t.isPunct('('):
			depth++
		case t.isPunct(')'):
			depth--
		case depth == 0 && t.kind == tokWord && strings.EqualFold(s.SQL[t.pos:t.end], "LIMIT"):
			at = i
		}
	}
	if at < 0 {
		return Limit{}, false
	}
	rest := toks[at+1:]
	number := func(i int) bool { return i < len(rest) && rest[i].kind == tokNumber }
	word := func(i int, w string) bool {
		return i < len(rest) && rest[i].kind == tokWord && strings.EqualFold(s.SQL[rest[i].pos:rest[i].end], w)
	}
	var count int
	switch {
	case number(0) && len(rest) == 1:
		count = 0
	case number(0) && len(rest) == 3 && rest[1].isPunct(',') && number(2):
		count = 2
	case number(0) && len(rest) == 3 && word(1, "OFFSET") && number(2):
		count = 0
	default:
		return Limit{}, false
	}
	t := rest[count]
	n, perr := strconv.ParseInt(s.SQL[t.pos:t.end], 10, 64)
	if perr != nil {
		return Limit{}, false
	}
	return Limit{Count: n, At: t.pos, End: t.end}, true
}
