package sqlguard

import "strings"

// The text sent to the server is not the caller's text. It is written anew
// from the tokens Check accepted, in a form that MySQL, MariaDB and every
// Apache Doris parser split into exactly those tokens:
//
//   - comments are dropped, and optimizer hints after SELECT are written
//     again from their parsed content;
//   - tokens are separated by a space, except where a space would change
//     the meaning and the servers agree on the split (f(x), a.b, <=, @@v,
//     X'4142', user@'host'); two tokens are never put together in a way
//     that could form a comment, a user variable or an escape;
//   - strings are single-quoted, with only the backslash, the quote and
//     NUL escaped;
//   - a name after a '.' is backtick-quoted, so no server can read it as a
//     keyword.
//
// A difference between how this package and a server would split the
// caller's text can then no longer matter: the server never sees it.

// emitter writes the canonical text of a token stream.
type emitter struct {
	b   strings.Builder
	src string
}

// opPairs are the punctuation pairs that may stay together: the pieces of
// the operators <=, >=, <>, !=, <=>, ||, &&, <<, >>, -> and ->>, and the @@
// of a system variable.
var opPairs = map[[2]byte]bool{
	{'<', '='}: true, {'>', '='}: true, {'<', '>'}: true, {'!', '='}: true,
	{'=', '>'}: true, {'|', '|'}: true, {'&', '&'}: true, {'<', '<'}: true,
	{'>', '>'}: true, {'-', '>'}: true, {'@', '@'}: true,
}

// glue reports whether b may be written directly after a, given that it
// was written so in the input (adjacent). The pairs here are those whose
// split every supported server agrees on.
func glue(src string, a, b *token) bool {
	if a.end != b.pos {
		return false
	}
	if a.kind == tokPunct && b.kind == tokPunct {
		switch {
		case opPairs[[2]byte{a.ch, b.ch}]:
			return true
		case a.ch == '(' && (b.ch == '(' || b.ch == ')' || b.ch == '*'):
			return true
		case (a.ch == ')' || a.ch == '*') && (b.ch == ')' || b.ch == ','):
			return true
		case a.ch == '.' && b.ch == '*':
			return true
		}
		return false
	}
	switch {
	case a.kind == tokPunct:
		switch a.ch {
		case '(', '.':
			return true
		case '@': // the name of @@name, the host of user@'host'
			return true
		case '-', '+', '~', '!':
			return b.kind == tokNumber || b.kind == tokWord || b.kind == tokQuotedIdent
		}
		return false
	case b.kind == tokPunct:
		switch b.ch {
		case ')', ',':
			return true
		case '(':
			// MySQL tells a built-in function from a name by the '('
			// directly after it: COUNT (*) is a syntax error.
			return a.kind == tokWord || a.kind == tokQuotedIdent
		case '.':
			return a.kind == tokWord || a.kind == tokQuotedIdent
		case '@':
			return a.kind == tokString || a.kind == tokQuotedIdent // user@host
		}
		return false
	case a.kind == tokWord && b.kind == tokString:
		// A character set introducer or X'..', B'..', N'..': Check has
		// made sure the word is one whose string every server reads alike.
		return introducer(src[a.pos:a.end])
	}
	return false
}

// introducer reports whether a word directly before a string literal makes
// it a literal of another kind that every server reads with the same
// string rules: the national, hex and bit literals, and the introducers of
// character sets in which no byte of a multi-byte character can be a
// backslash or a quote.
func introducer(w string) bool {
	switch strings.ToLower(w) {
	case "n", "x", "b", "_utf8mb4", "_utf8mb3", "_utf8", "_binary", "_latin1", "_ascii":
		return true
	}
	return false
}

// write appends token t, whose neighbour before it is prev (nil for the
// first token). name marks a token read as a name, which is written
// backtick-quoted.
func (e *emitter) write(prev, t *token, name bool) {
	if prev != nil && !glue(e.src, prev, t) {
		e.b.WriteByte(' ')
	}
	text := e.src[t.pos:t.end]
	switch t.kind {
	case tokString:
		e.b.WriteString(canonicalString(text))
	case tokWord:
		if name {
			e.b.WriteByte('`')
			e.b.WriteString(text) // a word holds no backtick
			e.b.WriteByte('`')
		} else {
			e.b.WriteString(text)
		}
	default:
		e.b.WriteString(text)
	}
}

// canonicalString rewrites a string literal, as written with either quote
// and any escapes, as a single-quoted literal of the same value in which
// only the backslash, the single quote and NUL are escaped.
//
// MySQL keeps the backslash of \% and \_ (so that LIKE can use them), and
// so does Doris; the value then holds the backslash, which is written
// escaped, and reads back the same.
func canonicalString(lit string) string {
	q := lit[0]
	body := lit[1 : len(lit)-1]
	var b strings.Builder
	b.Grow(len(lit) + 2)
	b.WriteByte('\'')
	put := func(c byte) {
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			switch e := body[i]; e {
			case '0':
				put(0)
			case 'b':
				put('\b')
			case 'n':
				put('\n')
			case 'r':
				put('\r')
			case 't':
				put('\t')
			case 'Z':
				put(0x1a)
			case '%', '_':
				put('\\')
				put(e)
			default:
				put(e)
			}
		case c == q && i+1 < len(body) && body[i+1] == q:
			i++
			put(q)
		default:
			put(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// stringValue returns the value of a string literal token.
func stringValue(lit string) string {
	s := canonicalString(lit)
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' {
			i++
			if s[i] == '0' {
				b.WriteByte(0)
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// emit writes the canonical text of toks, read from src, with the hints
// they carry, and returns it with the offset in it of each token listed in
// want (token indexes), in the same order. It is a function of its parts,
// not a checker method, so that Check's token array, which toks may be,
// stays on the stack: nothing of toks is kept.
func emit(src string, toks []token, hints []parsedHint, want []int) (string, []int) {
	e := emitter{src: src}
	e.b.Grow(len(src) + 16)
	offs := make([]int, len(want))
	var prev *token
	for i := range toks {
		t := &toks[i]
		if prev != nil && prev.hint > 0 {
			prev = nil // the hint ends with a comment; a space follows
			e.b.WriteByte(' ')
		}
		for k, w := range want {
			if w == i {
				offs[k] = e.b.Len()
				if prev != nil && !glue(src, prev, t) {
					offs[k]++
				}
			}
		}
		e.write(prev, t, isName(toks, i))
		if t.hint > 0 {
			e.b.WriteString(" /*+ " + hints[t.hint-1].text + " */")
		}
		prev = t
	}
	return e.b.String(), offs
}

// isName reports whether token i is read as a name whatever its spelling:
// a word right after a '.' that is not part of a system variable.
func isName(toks []token, i int) bool {
	punct := func(k int, ch byte) bool { return k >= 0 && k < len(toks) && toks[k].isPunct(ch) }
	if toks[i].kind != tokWord || !punct(i-1, '.') {
		return false
	}
	// @@session.sql_mode: the name after the scope stays as written.
	return !(punct(i-3, '@') && punct(i-4, '@'))
}
