package sqlguard

import (
	"strings"
	"unicode/utf8"
)

// allowedMsg starts the message for a statement that is not on the
// allow-list.
const allowedMsg = "only SELECT, WITH ... SELECT, SHOW, DESCRIBE and EXPLAIN are allowed; got "

// checker applies the rules to the tokens of one statement. toks ends before
// the statement's ';', if it has one.
type checker struct {
	src    string
	toks   []token
	hints  []parsedHint // the hints kept, indexed by token.hint-1
	opts   Options
	callAt []int // token indexes of the names of the calls
	target int   // index of the first token of an EXPLAIN's query, or 0
}

// attachHints keeps the optimizer hints that directly follow a SELECT of
// the statement, read anew, and drops the others: MySQL reads a "/*+"
// anywhere else as a comment. Each kept hint is marked on its SELECT
// token.
func attachHints(src string, toks []token, hints []hint) ([]parsedHint, *Error) {
	var kept []parsedHint
	for _, h := range hints {
		if h.after < 0 || h.after >= len(toks) || toks[h.after].info == nil || toks[h.after].info.id != kwSelect {
			continue
		}
		t := &toks[h.after]
		if t.hint != 0 {
			return nil, reject(h.pos, "only one optimizer hint comment may follow SELECT; put all hints in one /*+ ... */")
		}
		ph, err := parseHint(src, h)
		if err != nil {
			return nil, err
		}
		kept = append(kept, ph)
		t.hint = int32(len(kept))
	}
	return kept, nil
}

// finish writes the canonical text of the accepted statement and fills in
// what is read from it: the calls are named as the canonical text spells
// them.
func (c *checker) finish(st *Statement) {
	want := append([]int{c.target}, c.callAt...)
	sql, offs := emit(c.src, c.toks, c.hints, want)
	st.SQL = sql
	st.SelectOffset = -1
	if c.id(0) == kwSelect {
		st.SelectOffset = 0
	}
	st.HasHint, st.SetVars = hintsFrom(c.toks, c.hints, 0)
	for k, i := range c.callAt {
		t := &c.toks[i]
		name := sql[offs[k+1] : offs[k+1]+t.end-t.pos]
		if t.kind == tokQuotedIdent {
			_, name, _ = unquoteIdent(name, 0)
		}
		st.calls = append(st.calls, call{name: name, pos: t.pos})
	}
	if c.target > 0 {
		tg := &Statement{Kind: Select, SQL: sql[offs[0]:], SelectOffset: -1}
		if c.id(c.target) == kwSelect {
			tg.SelectOffset = 0
		}
		tg.HasHint, tg.SetVars = hintsFrom(c.toks, c.hints, c.target)
		for _, cl := range st.calls {
			if cl.pos >= c.toks[c.target].pos {
				tg.calls = append(tg.calls, cl)
			}
		}
		st.Target = tg
	}
}

// hintsFrom reports whether a hint follows a token from index from on, and
// the variables such hints set.
func hintsFrom(toks []token, hints []parsedHint, from int) (bool, []SetVar) {
	has := false
	var vars []SetVar
	for i := from; i < len(toks); i++ {
		if h := toks[i].hint; h > 0 {
			has = true
			vars = append(vars, hints[h-1].vars...)
		}
	}
	return has, vars
}

func (c *checker) tok(i int) *token {
	if i < 0 || i >= len(c.toks) {
		return nil
	}
	return &c.toks[i]
}

func (c *checker) isPunct(i int, ch byte) bool {
	t := c.tok(i)
	return t != nil && t.isPunct(ch)
}

// id returns the structural keyword at i, or kwNone.
func (c *checker) id(i int) kwID {
	if t := c.tok(i); t != nil && t.info != nil {
		return t.info.id
	}
	return kwNone
}

func (c *checker) info(i int) *wordInfo {
	if t := c.tok(i); t != nil {
		return t.info
	}
	return nil
}

// offset is the input offset of token i, or -1 past the end.
func (c *checker) offset(i int) int {
	if t := c.tok(i); t != nil {
		return t.pos
	}
	return -1
}

// statement classifies the statement and checks it.
func (c *checker) statement(st *Statement) *Error {
	if err := c.leadingKeyword(0); err != nil {
		return err
	}
	switch c.id(0) {
	case kwValues, kwTable:
		// MariaDB's VALUES (1), (2) and MySQL 8's VALUES ROW(1) and TABLE t
		// are queries without a SELECT keyword.
		st.Kind = Select
		if err := c.scan(1, false); err != nil {
			return err
		}
	case kwSelect:
		st.Kind = Select
		if err := c.scan(1, false); err != nil {
			return err
		}
	case kwWith:
		st.Kind = Select
		if err := c.queryStart(0, allowedMsg); err != nil {
			return err
		}
		if err := c.scan(0, false); err != nil {
			return err
		}
	case kwShow:
		// SHOW only reads, and many SHOW statements name write statements:
		// SHOW CREATE TABLE, SHOW GRANTS, SHOW LOAD, SHOW DELETE. So the
		// write keyword rule is off, and every other rule still applies.
		st.Kind = Show
		if c.id(1) == kwLoad && c.id(2) == kwWarnings && c.id(3) == kwOn {
			return reject(c.toks[3].pos, "SHOW LOAD WARNINGS ON '<url>' makes the server fetch a URL; use SHOW LOAD WARNINGS WHERE LABEL = '...' instead")
		}
		if err := c.show(); err != nil {
			return err
		}
		if err := c.scan(1, true); err != nil {
			return err
		}
	case kwDesc, kwDescribe, kwExplain:
		if err := c.explain(st); err != nil {
			return err
		}
	default:
		if !c.isPunct(0, '(') {
			return reject(c.toks[0].pos, allowedMsg+c.describe(0))
		}
		st.Kind = Select
		if err := c.queryStart(0, allowedMsg); err != nil {
			return err
		}
		if err := c.scan(0, false); err != nil {
			return err
		}
	}
	return nil
}

// leadingKeyword rejects a statement whose first word is directly followed
// by '.'. MySQL reads "SELECT.x" as a qualified name, not as a keyword. A
// caller who inserts a hint after SELECT would separate the two, and the
// rest would be read anew: "SELECT.0INTO @a" would become
// "SELECT /*+ ... */.0INTO @a", which assigns @a.
func (c *checker) leadingKeyword(i int) *Error {
	t := c.tok(i)
	if t != nil && t.kind == tokWord && c.isPunct(i+1, '.') && c.toks[i+1].pos == t.end {
		word := strings.ToUpper(clip(c.src[t.pos:t.end]))
		return reject(t.pos, word+" directly followed by '.' is read as a qualified name, not as a keyword; put a space after "+word)
	}
	return nil
}

// explain handles a statement that starts with EXPLAIN, DESC or DESCRIBE.
// In both servers these three words are synonyms. Followed by a statement
// they explain it, and followed by a name they describe a table.
func (c *checker) explain(st *Statement) *Error {
	verb := strings.ToUpper(c.src[c.toks[0].pos:c.toks[0].end])
	if len(c.toks) == 1 {
		return reject(c.toks[0].pos, verb+" needs a query to explain or a table to describe")
	}
	k := 1
	for k < len(c.toks) {
		if c.id(k) == kwFormat && c.isPunct(k+1, '=') && k+2 < len(c.toks) && c.toks[k+2].kind != tokPunct {
			k += 3
			continue
		}
		if info := c.info(k); info != nil && info.explainOption {
			k++
			continue
		}
		break
	}
	if k < len(c.toks) && (c.isPunct(k, '(') || c.info(k) != nil && c.info(k).stmt) {
		// The explained statement gets the same rules as a statement of its
		// own, and it must be a query. EXPLAIN ANALYZE runs its target, and
		// MySQL can explain INSERT, UPDATE and DELETE.
		if id := c.id(k); id != kwSelect && id != kwWith && id != kwValues && id != kwTable && !c.isPunct(k, '(') {
			return reject(c.toks[k].pos, verb+" can only explain SELECT or WITH ... SELECT; got "+c.describe(k))
		}
		if err := c.leadingKeyword(k); err != nil {
			return err
		}
		if err := c.queryStart(k, verb+" can only explain SELECT or WITH ... SELECT; got "); err != nil {
			return err
		}
		if err := c.scan(k, false); err != nil {
			return err
		}
		st.Kind = Explain
		c.target = k
		return nil
	}
	// A table to describe: DESC t, DESCRIBE db.t col, EXPLAIN t,
	// DESC FUNCTION tvf(...).
	if c.id(1) == kwFor {
		return reject(c.toks[1].pos, verb+" FOR CONNECTION is not supported")
	}
	st.Kind = Describe
	return c.scan(1, false)
}

// queryStart checks that a query expression begins at i. That means any
// number of '(' and then SELECT, VALUES or TABLE, or WITH with its list of
// common table expressions and then such a query. msg starts the error
// message.
func (c *checker) queryStart(i int, msg string) *Error {
	for {
		switch {
		case c.isPunct(i, '('):
			i++
		case c.id(i) == kwSelect, c.id(i) == kwValues, c.id(i) == kwTable:
			return nil
		case c.id(i) == kwWith:
			j, err := c.cteList(i)
			if err != nil {
				return err
			}
			// MySQL 8 and Doris accept WITH before UPDATE, DELETE and
			// INSERT, so the statement after the list must be a query.
			i = j
			msg = "WITH ... must be followed by SELECT; got "
		default:
			return reject(c.offset(i), msg+c.describe(i))
		}
	}
}

// cteList walks the common table expressions of the WITH at i. It returns
// the index of the token after the list.
func (c *checker) cteList(i int) (int, *Error) {
	j := i + 1
	if c.id(j) == kwRecursive {
		j++
	}
	for {
		t := c.tok(j)
		if t == nil || t.kind != tokWord && t.kind != tokQuotedIdent {
			return 0, reject(c.offset(j), "expected the name of a common table expression after WITH; got "+c.describe(j))
		}
		j++
		if c.isPunct(j, '(') { // column list
			if j = c.skipParens(j); j < 0 {
				return 0, reject(c.offset(i), "unbalanced parentheses in WITH clause")
			}
		}
		if c.id(j) != kwAs {
			return 0, reject(c.offset(j), "expected AS ( query ) in WITH clause; got "+c.describe(j))
		}
		j++
		if !c.isPunct(j, '(') {
			return 0, reject(c.offset(j), "expected AS ( query ) in WITH clause; got "+c.describe(j))
		}
		// The body must be a query. Writes nested deeper are caught by the
		// write keyword rule.
		k := j + 1
		for c.isPunct(k, '(') {
			k++
		}
		if id := c.id(k); id != kwSelect && id != kwWith && id != kwValues && id != kwTable {
			return 0, reject(c.offset(k), "a common table expression must be a query (SELECT, VALUES or TABLE); got "+c.describe(k))
		}
		if j = c.skipParens(j); j < 0 {
			return 0, reject(c.offset(i), "unbalanced parentheses in WITH clause")
		}
		if !c.isPunct(j, ',') {
			return j, nil
		}
		j++
	}
}

// skipParens returns the index after the ')' that matches the '(' at i, or
// -1 if there is none.
func (c *checker) skipParens(i int) int {
	depth := 0
	for ; i < len(c.toks); i++ {
		t := &c.toks[i]
		if t.kind != tokPunct {
			continue
		}
		switch t.ch {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// word applies the rules to the bare word at i.
func (c *checker) word(i int, noWrites bool) *Error {
	t := &c.toks[i]
	info := t.info
	if info == nil {
		return nil
	}
	if c.isPunct(i-1, '.') {
		return nil // the name part of t.col
	}
	switch info.id {
	case kwInto:
		switch {
		case c.id(i+1) == kwOutfile:
			return reject(t.pos, "INTO OUTFILE writes a file; remove the INTO clause")
		case c.id(i+1) == kwDumpfile:
			return reject(t.pos, "INTO DUMPFILE writes a file; remove the INTO clause")
		case c.isPunct(i+1, '@'):
			return reject(t.pos, "INTO @variable assigns user variables; remove the INTO clause")
		}
		return reject(t.pos, "SELECT ... INTO is not allowed: it writes the result to variables or files; remove the INTO clause")
	case kwFor:
		switch c.id(i + 1) {
		case kwUpdate:
			return reject(t.pos, "FOR UPDATE takes row locks; remove it")
		case kwShare:
			return reject(t.pos, "FOR SHARE takes row locks; remove it")
		}
	case kwLock:
		if c.id(i+1) == kwIn {
			return reject(t.pos, "LOCK IN SHARE MODE takes row locks; remove it")
		}
	case kwNext:
		if c.id(i+1) == kwValue && c.id(i+2) == kwFor {
			return reject(t.pos, "NEXT VALUE FOR advances a sequence")
		}
	case kwSet:
		// CHARACTER SET / CHAR SET name a character set in CAST, CONVERT
		// and column types.
		if prev := c.id(i - 1); prev == kwCharacter || prev == kwChar {
			return nil
		}
	case kwUse:
		// USE INDEX / USE KEY is an index hint inside SELECT.
		if next := c.id(i + 1); next == kwIndex || next == kwKey {
			return nil
		}
	}
	if info.write != "" && !noWrites {
		word := strings.ToUpper(c.src[t.pos:t.end])
		return reject(t.pos, word+" "+info.write+"; only read-only statements are allowed (quote it in backticks if it is meant as a name)")
	}
	return nil
}

func (c *checker) callError(i int, name, reason string) *Error {
	return reject(c.toks[i].pos, strings.ToUpper(clip(name))+"() is not allowed: "+reason)
}

// describe names token i for an error message.
func (c *checker) describe(i int) string {
	t := c.tok(i)
	if t == nil {
		return "the end of the statement"
	}
	text := c.src[t.pos:t.end]
	switch t.kind {
	case tokWord:
		word := strings.ToUpper(clip(text))
		if t.info != nil && t.info.write != "" {
			return word + " (" + word + " " + t.info.write + ")"
		}
		return word
	case tokString:
		return "a string literal"
	case tokNumber:
		return "the number " + clip(text)
	case tokQuotedIdent:
		return "the quoted name " + clip(text)
	}
	return "'" + text + "'"
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
