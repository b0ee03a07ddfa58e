package sqlguard

import (
	"strconv"
	"strings"
)

type tokKind uint8

const (
	tokWord        tokKind = iota + 1 // unquoted identifier or keyword
	tokQuotedIdent                    // `identifier`
	tokString                         // 'string' or "string"
	tokNumber                         // numeric literal
	tokPunct                          // one byte of punctuation or operator
)

// token is one significant token. Whitespace and comments produce none.
type token struct {
	pos, end int
	info     *wordInfo // facts about a tokWord that the rules care about; nil for plain names
	kind     tokKind
	ch       byte  // the byte of a tokPunct
	hint     int32 // 1 + the index in lexer.hints of the hint comment right after this token; 0 for none
}

func (t *token) isPunct(c byte) bool { return t.kind == tokPunct && t.ch == c }

// identChar marks the bytes that may appear in an unquoted identifier. MySQL
// and Doris both allow letters, digits, '_', '$' and every byte of a
// multi-byte UTF-8 character.
var identChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '$' || c >= 0x80
	}
	return t
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f'
}

func scanIdent(s string, i int) int {
	for i < len(s) && identChar[s[i]] {
		i++
	}
	return i
}

// lexer splits a statement into tokens. It follows the MySQL lexer, and it
// fails on any construct that Apache Doris would split differently in a way
// that could move the end of a string, identifier or comment.
//
// The token slice is threaded through run as a local value, not stored in
// the lexer, so that Check can hand it a recycled array.
type lexer struct {
	src   string
	hints []hint // optimizer hint comments, in order
}

// hint is an optimizer hint comment, /*+ ... */.
type hint struct {
	pos      int // offset of the "/*+"
	from, to int // its text, between "/*+" and "*/"
	after    int // index of the token it follows, or -1
}

func wordToken(s string, pos, end int) token {
	return token{pos: pos, end: end, kind: tokWord, info: lookupWord(s[pos:end])}
}

func punctToken(s string, pos int) token {
	return token{pos: pos, end: pos + 1, kind: tokPunct, ch: s[pos]}
}

// followsName reports whether the byte at i directly follows a name with no
// space between them, as in t.col or `t`.col.
func followsName(toks []token, i int) bool {
	if len(toks) == 0 {
		return false
	}
	last := &toks[len(toks)-1]
	return last.end == i && (last.kind == tokWord || last.kind == tokQuotedIdent)
}

// run appends the tokens of the input to toks and returns the result.
func (lx *lexer) run(toks []token) ([]token, *Error) {
	s := lx.src
	if toks == nil {
		toks = make([]token, 0, len(s)/6+8) // about one token in six bytes
	}
	i := 0
	for i < len(s) {
		c := s[i]
		j := i
		var err *Error
		switch {
		case c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			j = i + 1
		case isDigit(c):
			var kind tokKind
			kind, j = lexNumber(s, i)
			if kind == tokWord {
				toks = append(toks, wordToken(s, i, j))
			} else {
				toks = append(toks, token{pos: i, end: j, kind: kind})
			}
		case identChar[c]:
			if j, err = lexWord(s, i); err == nil {
				toks = append(toks, wordToken(s, i, j))
			}
		case c == '\'' || c == '"':
			if j, err = lexQuoted(s, i, tokString); err == nil {
				toks = append(toks, token{pos: i, end: j, kind: tokString})
			}
		case c == '`':
			if j, err = lexQuoted(s, i, tokQuotedIdent); err == nil {
				toks = append(toks, token{pos: i, end: j, kind: tokQuotedIdent})
			}
		case c == '#':
			j, err = lx.lineComment(i, i+1)
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			// MySQL starts a comment only when '--' is followed by
			// whitespace, a control character or the end of the text.
			// Doris starts one in every case. So '--x' would be code to
			// one server and a comment to the other, and the rest of the
			// line could hide a statement from either of them.
			if i+2 < len(s) && s[i+2] > ' ' && s[i+2] != 0x7f {
				return nil, reject(i, "'--' must be followed by a space to start a comment (Apache Doris reads '--x' as a comment, MySQL as two minus signs); add a space, or write '- -x' for a double negation")
			}
			j, err = lx.lineComment(i, i+2)
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j, err = lx.blockComment(i, len(toks)-1)
		case c == '*' && i+1 < len(s) && s[i+1] == '/':
			// MySQL reads '*/' outside a comment as '*' '/', and Doris reads
			// it as the end of a hint. In "2*/* ; DROP ... */" that moves
			// where comments begin and end, so it is refused outright.
			return nil, reject(i, "'*/' outside a comment is not allowed; put spaces around '*' and '/' operators")
		case c == ':' && i+1 < len(s) && s[i+1] == '=':
			return nil, reject(i, "':=' assigns a user variable, which is not allowed; compare with '=' instead")
		case c == '.' && followsName(toks, i):
			// MySQL reads whatever follows "name." as an identifier, even if
			// it starts with a digit or is a keyword (t.1e5, t.delete). The
			// next word is lexed whole so that the rules see the qualified
			// name.
			toks = append(toks, punctToken(s, i))
			j = i + 1
			if j < len(s) && identChar[s[j]] {
				if j, err = lexWord(s, i+1); err == nil {
					toks = append(toks, wordToken(s, i+1, j))
				}
			}
		case c == '.' && i+1 < len(s) && isDigit(s[i+1]):
			j = fractionEnd(s, i+1)
			toks = append(toks, token{pos: i, end: j, kind: tokNumber})
		case c == '\\':
			// MySQL and MariaDB read \N as NULL, one token with whatever
			// letters follow it: "\NINTO" is NULL and INTO.
			return nil, reject(i, "'\\' outside a string literal is not allowed; write NULL instead of \\N")
		case c < ' ' || c == 0x7f:
			return nil, reject(i, "control character 0x"+strconv.FormatUint(uint64(c), 16)+" is not allowed outside string literals")
		default:
			toks = append(toks, punctToken(s, i))
			j = i + 1
		}
		if err != nil {
			return nil, err
		}
		i = j
	}
	return toks, nil
}

// lexWord returns the end of the unquoted identifier or keyword at i.
func lexWord(s string, i int) (int, *Error) {
	j := scanIdent(s, i)
	if j == i+1 && s[i]|0x20 == 'r' && j < len(s) && (s[j] == '\'' || s[j] == '"') {
		// Doris reads R'...' as a raw string without escapes, which ends at
		// the first quote. MySQL reads an identifier R followed by an ordinary
		// string. Both end at the same quote unless the text holds a backslash
		// or a doubled quote.
		q := s[j]
		if k := strings.IndexByte(s[j+1:], q); k >= 0 {
			closeAt := j + 1 + k
			if strings.IndexByte(s[j+1:closeAt], '\\') >= 0 || closeAt+1 < len(s) && s[closeAt+1] == q {
				return 0, reject(i, "a string directly after R must not contain backslashes or doubled quotes (Apache Doris reads R'...' as a raw string); put a space after R or rewrite the literal")
			}
		}
	}
	return j, nil
}

// lexNumber lexes a token that starts with a digit. The token is a number,
// or an identifier such as 1abc, which MySQL allows. Like MySQL, an
// exponent takes priority, so 1e5INTO is the number 1e5 followed by INTO.
func lexNumber(s string, i int) (tokKind, int) {
	if s[i] == '0' && i+1 < len(s) && (s[i+1]|0x20 == 'x' || s[i+1]|0x20 == 'b') {
		hex := s[i+1]|0x20 == 'x'
		j := i + 2
		for j < len(s) && (hex && isHexDigit(s[j]) || !hex && (s[j] == '0' || s[j] == '1')) {
			j++
		}
		if j > i+2 && (j == len(s) || !identChar[s[j]]) {
			return tokNumber, j
		}
		return tokWord, scanIdent(s, i)
	}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j < len(s) && identChar[s[j]] {
		if k := exponentEnd(s, j); k > 0 {
			return tokNumber, k
		}
		return tokWord, scanIdent(s, j)
	}
	if j < len(s) && s[j] == '.' {
		return tokNumber, fractionEnd(s, j+1)
	}
	return tokNumber, j
}

// fractionEnd returns the end of the digits and optional exponent that
// follow a decimal point; j is the offset after the point.
func fractionEnd(s string, j int) int {
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if k := exponentEnd(s, j); k > 0 {
		return k
	}
	return j
}

// exponentEnd returns the end of an exponent such as e10, E+3 or e-7 that
// starts at j, or 0 if there is none.
func exponentEnd(s string, j int) int {
	if j >= len(s) || s[j]|0x20 != 'e' {
		return 0
	}
	k := j + 1
	if k < len(s) && (s[k] == '+' || s[k] == '-') {
		k++
	}
	if k >= len(s) || !isDigit(s[k]) {
		return 0
	}
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	return k
}

// lexQuoted returns the end of the string literal or backtick-quoted
// identifier starting at i. Strings allow backslash escapes and doubled
// quotes, and identifiers allow doubled backticks only.
func lexQuoted(s string, i int, kind tokKind) (int, *Error) {
	q := s[i]
	j := i + 1
	for j < len(s) {
		c := s[j]
		switch {
		case c == '\\' && kind == tokString:
			j += 2
		case c == q:
			if j+1 < len(s) && s[j+1] == q {
				j += 2
				continue
			}
			return j + 1, nil
		default:
			j++
		}
	}
	if kind == tokString {
		return 0, reject(i, "unterminated string literal starting at offset "+strconv.Itoa(i))
	}
	return 0, reject(i, "unterminated quoted identifier starting at offset "+strconv.Itoa(i))
}

// lineComment skips a '#' or '-- ' comment that starts at start and whose
// text starts at body. It returns the offset of the terminating newline.
func (lx *lexer) lineComment(start, body int) (int, *Error) {
	s := lx.src
	j := body
	for j < len(s) && s[j] != '\n' {
		if s[j] == '\r' && j+1 < len(s) && s[j+1] != '\n' {
			// Doris ends a line comment at '\r' and MySQL does not, so
			// whatever follows a lone '\r' would be code to Doris only.
			return 0, reject(j, "a line comment may not contain a carriage return that is not followed by a newline")
		}
		j++
	}
	if j < len(s) && j > body && s[j-1] == '\\' {
		// Doris continues a line comment after a backslash at the end of the
		// line, and MySQL does not.
		return 0, reject(start, "a line comment may not end with a backslash (Apache Doris would continue the comment onto the next line)")
	}
	// The comment is dropped from the text sent to the server, so what it
	// holds (quotes, a '+' that old Doris versions read as a hint) can no
	// longer be read differently.
	return j, nil
}

// blockComment skips a /* ... */ comment starting at i. An optimizer hint,
// "/*+ ... */", is recorded with the index of the token it follows.
func (lx *lexer) blockComment(i, after int) (int, *Error) {
	s := lx.src
	k := strings.Index(s[i+2:], "*/")
	if k < 0 {
		return 0, reject(i, "unterminated comment starting at offset "+strconv.Itoa(i))
	}
	bodyEnd := i + 2 + k
	body := s[i+2 : bodyEnd]
	if strings.HasPrefix(body, "!") || len(body) >= 2 && body[0]|0x20 == 'm' && body[1] == '!' {
		return 0, reject(i, "executable comments /*! ... */ are not allowed: the server runs their contents as SQL")
	}
	isHint := strings.HasPrefix(body, "+")
	// Doris nests block comments and MySQL does not. The comment never
	// reaches the server, but a statement written for Doris would mean
	// something else than it reads here, so it is refused when a later "*/"
	// shows that the author expected nesting.
	if n := strings.Index(s[i+2:bodyEnd+1], "/*"); n >= 0 && (isHint || strings.Contains(s[bodyEnd+2:], "*/")) {
		return 0, reject(i+2+n, "nested comments are not allowed: remove the '/*' inside the comment (Apache Doris nests comments and MySQL does not)")
	}
	if isHint {
		if err := checkHint(body[1:], i+3); err != nil {
			return 0, err
		}
		lx.hints = append(lx.hints, hint{pos: i, from: i + 3, to: bodyEnd, after: after})
	}
	return bodyEnd + 2, nil
}

// checkHint checks the text of an optimizer hint comment. base is the
// offset of the text in the input.
//
// Doris lexes a hint's contents as SQL tokens. To it, a quote inside the hint
// opens a string that can run past the first "*/", and '--' opens a comment
// that can hide the "*/". MySQL ends the hint at the first "*/" whatever
// comes before it. The hint is only accepted when both readings agree.
func checkHint(text string, base int) *Error {
	for k := 0; k < len(text); k++ {
		switch c := text[k]; c {
		case ';':
			return reject(base+k, "';' is not allowed inside an optimizer hint")
		case '#':
			return reject(base+k, "comments are not allowed inside an optimizer hint")
		case '-':
			if k+1 < len(text) && text[k+1] == '-' {
				return reject(base+k, "comments are not allowed inside an optimizer hint")
			}
		case '\'', '"', '`':
			end := strings.IndexByte(text[k+1:], c)
			if end < 0 {
				return reject(base+k, "a quoted value in an optimizer hint must end before the closing '*/'")
			}
			end += k + 1
			if c != '`' && strings.IndexByte(text[k+1:end], '\\') >= 0 {
				return reject(base+k, "backslashes are not allowed in quoted values inside an optimizer hint")
			}
			if end+1 < len(text) && text[end+1] == c {
				return reject(base+k, "doubled quotes are not allowed in quoted values inside an optimizer hint")
			}
			k = end
		}
	}
	return nil
}
