package sqlguard

import (
	"strconv"
	"strings"
)

// scan applies the rules that hold anywhere in a statement to the tokens
// from index from on. With show, it skips the write keyword rule, which
// SHOW needs, and reads the statement as a SHOW.
func (c *checker) scan(from int, show bool) *Error {
	var open []openCall // the calls whose arguments token i is in
	for i := from; i < len(c.toks); i++ {
		for len(open) > 0 && open[len(open)-1].close < i {
			open = open[:len(open)-1]
		}
		t := &c.toks[i]
		switch t.kind {
		case tokQuotedIdent:
			if c.isPunct(i+1, '(') {
				// `sleep`(1) calls SLEEP too: both servers look a quoted
				// name up among the built-in functions like a bare one.
				_, name, _ := unquoteIdent(c.src[t.pos:t.end], 0)
				if err := c.call(i, name, open); err != nil {
					return err
				}
				open = append(open, openCall{name: name, close: c.skipParens(i+1) - 1})
				continue
			}
			if err := c.name(i); err != nil {
				return err
			}
		case tokWord:
			if c.isPunct(i+1, '(') && c.isCall(i, show) {
				name := c.src[t.pos:t.end]
				if err := c.call(i, name, open); err != nil {
					return err
				}
				open = append(open, openCall{name: name, close: c.skipParens(i+1) - 1})
				continue
			}
			if err := c.word(i, show); err != nil {
				return err
			}
			if err := c.name(i); err != nil {
				return err
			}
		case tokString:
			if err := c.literal(i); err != nil {
				return err
			}
		case tokPunct:
			if t.ch == '@' {
				if err := c.at(i, show); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// openCall is a call whose argument list is being read.
type openCall struct {
	name  string
	close int // index of its ')', or -2 when it has none
}

// isCall reports whether the word at i, which '(' follows, calls a
// function rather than being a keyword of the grammar or a name.
func (c *checker) isCall(i int, show bool) bool {
	w := c.info(i)
	if w != nil && w.notCall {
		return false
	}
	switch c.id(i - 1) {
	case kwAs:
		// An alias with its column list, or a type in CAST(x AS type(n)).
		return false
	case kwFunction:
		// SHOW CREATE FUNCTION f(INT) names a function and runs nothing.
		return !show
	}
	if w != nil && w.typeName && c.isPunct(i-1, ',') {
		return false // CONVERT(x, DECIMAL(10, 2))
	}
	return !c.cteName(i)
}

// cteName reports whether the word at i names a common table expression
// with a column list: WITH t (a, b) AS (...).
func (c *checker) cteName(i int) bool {
	if c.id(i-1) != kwWith && c.id(i-1) != kwRecursive && !c.isPunct(i-1, ',') {
		return false
	}
	j := c.skipParens(i + 1)
	return j > 0 && c.id(j) == kwAs && c.isPunct(j+1, '(')
}

// call judges a call of the function name, whose name is token i, made
// inside the arguments of the calls open.
func (c *checker) call(i int, name string, open []openCall) *Error {
	if info := lookupCall(name); info != nil {
		if info.callClass != classExternal {
			return c.callError(i, name, info.call)
		}
		if !c.opts.AllowExternal {
			return c.callError(i, name, info.call+", and calls to outside services are not enabled")
		}
	}
	if c.isPunct(i-1, '.') {
		// Built-in functions cannot be qualified, so db.f(x) is a stored or
		// loadable function: code the guard cannot read, which may write
		// (MySQL's sys schema functions set session and user variables).
		return reject(c.toks[i].pos, strings.ToUpper(clip(name))+"() is not allowed: a call qualified with a database name runs a stored or user-defined function, which may change data or session state; call built-in functions without a qualifier")
	}
	if err := c.expansion(i, name, open); err != nil {
		return err
	}
	c.callAt = append(c.callAt, i)
	return nil
}

// maxExpansion bounds the length that one call of REPEAT, SPACE, LPAD or
// RPAD may build.
const maxExpansion = 10000

// expanders are the functions that build a long string from short input,
// with the index of the argument that gives its length.
var expanders = map[string]int{"REPEAT": 1, "SPACE": 0, "LPAD": 1, "RPAD": 1}

// quadratic are the string functions whose cost can grow with the square
// of their input, or faster.
var quadratic = map[string]bool{
	"REPLACE": true, "REGEXP_REPLACE": true, "REGEXP_REPLACE_ONE": true, "REGEXP_SUBSTR": true,
	"REGEXP_INSTR": true, "REGEXP_EXTRACT": true, "REGEXP_EXTRACT_ALL": true, "REGEXP_LIKE": true,
	"REGEXP_COUNT": true, "INSERT": true,
}

// expansion bounds the functions that build long strings from short
// input. The engines look for a kill between rows, not inside one string
// function, so REPLACE(REPEAT('a', 16000000), 'a', 'bb') runs on for
// minutes after its call was cancelled and killed. Their length must be a
// number of at most maxExpansion, and they may not feed one another or a
// function whose cost grows faster than its input.
func (c *checker) expansion(i int, name string, open []openCall) *Error {
	upper := strings.ToUpper(name)
	arg, ok := expanders[upper]
	if !ok {
		return nil
	}
	for _, o := range open {
		u := strings.ToUpper(o.name)
		if _, exp := expanders[u]; exp || quadratic[u] {
			return reject(c.toks[i].pos, upper+"() inside "+u+"() is not allowed: the server cannot stop such an expression once it runs")
		}
	}
	args := c.args(i + 1)
	if arg >= len(args) {
		return nil // the server will refuse the call
	}
	a := args[arg]
	if len(a) == 2 && c.isPunct(a[0], '+') {
		a = a[1:]
	}
	if len(a) == 1 && c.toks[a[0]].kind == tokNumber {
		t := &c.toks[a[0]]
		if n, err := strconv.Atoi(c.src[t.pos:t.end]); err == nil && n <= maxExpansion {
			return nil
		}
	}
	return reject(c.toks[i].pos, upper+"() must be given its length as a whole number of at most "+strconv.Itoa(maxExpansion)+": the server cannot stop a longer expansion once it runs")
}

// args splits the argument list whose '(' is token i into the token
// indexes of each argument.
func (c *checker) args(i int) [][]int {
	var out [][]int
	var cur []int
	depth := 0
	for k := i + 1; k < len(c.toks); k++ {
		t := &c.toks[k]
		switch {
		case t.isPunct('('):
			depth++
		case t.isPunct(')'):
			if depth == 0 {
				if len(cur) > 0 || len(out) > 0 {
					out = append(out, cur)
				}
				return out
			}
			depth--
		case t.isPunct(',') && depth == 0:
			out = append(out, cur)
			cur = nil
			continue
		}
		cur = append(cur, k)
	}
	return append(out, cur)
}

// literal checks a string literal for what a word directly before it makes
// of it.
func (c *checker) literal(i int) *Error {
	prev := c.tok(i - 1)
	if prev == nil || prev.kind != tokWord || prev.end != c.toks[i].pos {
		return nil
	}
	w := strings.ToLower(c.src[prev.pos:prev.end])
	body := c.src[c.toks[i].pos+1 : c.toks[i].end-1]
	switch {
	case w == "x":
		for k := 0; k < len(body); k++ {
			if !isHexDigit(body[k]) {
				return reject(prev.pos, "a hex literal X'...' may hold only hex digits")
			}
		}
	case w == "b":
		for k := 0; k < len(body); k++ {
			if body[k] != '0' && body[k] != '1' {
				return reject(prev.pos, "a bit literal B'...' may hold only 0 and 1")
			}
		}
	case w[0] == '_' && !introducer(w):
		return reject(prev.pos, "the character set introducer "+clip(w)+" is not allowed: in some multi-byte character sets a backslash or a quote can be part of a character; use _utf8mb4 or no introducer")
	}
	return nil
}

// at checks an '@' outside a string: the start of a system variable
// (@@name, @@session.name), or user@'host' in a SHOW statement. User
// variables are refused: a call may not leave state for the next one, nor
// read what an earlier one left.
func (c *checker) at(i int, show bool) *Error {
	t := &c.toks[i]
	if c.isPunct(i-1, '@') && c.toks[i-1].end == t.pos {
		return nil // the second '@' of "@@", checked with the first
	}
	if c.isPunct(i+1, '@') && c.toks[i+1].pos == t.end {
		k := i + 2
		name := c.tok(k)
		if name == nil || name.kind != tokWord || name.pos != c.toks[i+1].end {
			return reject(t.pos, "write a system variable as @@name, with no space")
		}
		if c.isPunct(k+1, '.') && c.toks[k+1].pos == name.end {
			switch strings.ToLower(c.src[name.pos:name.end]) {
			case "session", "global", "local":
			default:
				return reject(t.pos, "a system variable is @@name or @@session.name")
			}
			k += 2
			name = c.tok(k)
			if name == nil || name.kind != tokWord || name.pos != c.toks[k-1].end {
				return reject(t.pos, "write a system variable as @@session.name, with no spaces")
			}
		}
		if v := strings.ToLower(c.src[name.pos:name.end]); sessionStateVars[v] {
			return reject(name.pos, "@@"+v+" is not allowed: it reads what the previous statement on the connection left behind")
		}
		return nil
	}
	if show {
		prev, next := c.tok(i-1), c.tok(i+1)
		if prev != nil && (prev.kind == tokString || prev.kind == tokQuotedIdent) && prev.end == t.pos &&
			next != nil && (next.kind == tokString || next.kind == tokQuotedIdent) && next.pos == t.end {
			return nil // 'user'@'host'
		}
		return reject(t.pos, "write an account as 'user'@'host', both parts quoted, with no spaces; user variables are not allowed")
	}
	return reject(t.pos, "user variables (@name) are not allowed: nothing a call sets may be seen by the next one; use a literal or a common table expression instead")
}

// sessionStateVars are system variables that hold what the previous
// statement on the connection did.
var sessionStateVars = map[string]bool{
	"warning_count": true, "error_count": true, "last_insert_id": true,
	"identity": true, "insert_id": true, "last_gtid": true, "last_query_id": true,
}

// name refuses a reference to a table that shows other sessions'
// statements or this session's leftovers. Token i is a word or a quoted
// name that is not called.
func (c *checker) name(i int) *Error {
	if c.opts.Own || c.isPunct(i+1, '.') {
		return nil
	}
	n := c.nameOf(i)
	qual := ""
	if c.isPunct(i-1, '.') {
		if q := c.tok(i - 2); q != nil && (q.kind == tokWord || q.kind == tokQuotedIdent) {
			qual = c.nameOf(i - 2)
		}
	}
	if why := hiddenTable(qual, n); why != "" {
		return reject(c.toks[i].pos, clip(strings.ToLower(n))+" may not be read: "+why)
	}
	return nil
}

// nameOf is the name token i spells, as written; a quoted name without its
// backticks (doubled backticks are left as they are: no hidden table has
// one).
func (c *checker) nameOf(i int) string {
	t := &c.toks[i]
	if t.kind == tokQuotedIdent {
		return c.src[t.pos+1 : t.end-1]
	}
	return c.src[t.pos:t.end]
}

// hiddenTable says why a caller may not read a table, or "": it lists the
// statements of every session, literals included, or what this session's
// previous statements did. Names compare without regard to case.
func hiddenTable(qual, name string) string {
	const others = "it shows the statements of other sessions, with their literals"
	is := strings.EqualFold
	hasPrefix := func(p string) bool { return len(name) > len(p) && is(name[:len(p)], p) }
	switch {
	case is(name, "processlist") || is(name, "x$processlist") || is(name, "active_queries"):
		return others
	case is(name, "audit_log") && (qual == "" || is(qual, "__internal_schema")):
		return others + "; the audit log tools show it without literals"
	case hasPrefix("events_statements_") || hasPrefix("events_transactions_"):
		return others
	case is(qual, "performance_schema") && is(name, "threads"):
		return others
	case is(qual, "sys") && (is(name, "session") || is(name, "x$session")):
		return others
	case is(name, "session_status"):
		return "it shows what the connection's previous statements did"
	}
	return ""
}

// show refuses the SHOW statements that list other sessions' statements or
// what this session's previous statements did.
func (c *checker) show() *Error {
	if c.opts.Own {
		return nil
	}
	word := func(i int) string {
		if t := c.tok(i); t != nil && t.kind == tokWord {
			return strings.ToUpper(c.src[t.pos:t.end])
		}
		return ""
	}
	const others = " is not allowed: it shows the statements of other sessions, with their literals"
	const mine = " is not allowed: it shows what the connection's previous statements did, which may have been another caller's"
	w1, w2 := word(1), word(2)
	if w1 == "COUNT" && c.isPunct(2, '(') {
		w1, w2 = word(5), ""
	}
	if w1 == "FULL" {
		w1, w2 = w2, word(3)
	}
	switch {
	case w1 == "PROCESSLIST":
		return reject(c.toks[1].pos, "SHOW PROCESSLIST"+others)
	case w1 == "WARNINGS" || w1 == "ERRORS":
		return reject(c.toks[1].pos, "SHOW "+w1+mine)
	case w1 == "STATUS" || (w1 == "SESSION" || w1 == "LOCAL") && w2 == "STATUS":
		return reject(c.toks[1].pos, "SHOW SESSION STATUS"+mine+"; SHOW GLOBAL STATUS is allowed")
	case w1 == "PROFILE" || w1 == "PROFILES" || w1 == "LAST" && w2 == "INSERT":
		return reject(c.toks[1].pos, "SHOW "+w1+mine)
	case w1 == "QUERY" && w2 == "PROFILE", w1 == "ENGINE", w1 == "EXPLAIN", w1 == "ANALYZE":
		return reject(c.toks[1].pos, "SHOW "+w1+others)
	case w1 == "PROC":
		if t := c.tok(2); t != nil && t.kind == tokString && strings.Contains(strings.ToLower(stringValue(c.src[t.pos:t.end])), "current_quer") {
			return reject(t.pos, "SHOW PROC of the current queries"+others)
		}
	}
	return nil
}
