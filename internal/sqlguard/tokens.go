package sqlguard

import (
	"strings"
	"unicode/utf8"
)

// TokenKind is the lexical class of a Token.
type TokenKind uint8

// The kinds of token Tokenize returns.
const (
	Word        = TokenKind(tokWord)        // unquoted identifier or keyword
	QuotedIdent = TokenKind(tokQuotedIdent) // `identifier`
	String      = TokenKind(tokString)      // 'string' or "string"
	Number      = TokenKind(tokNumber)      // numeric literal
	Punct       = TokenKind(tokPunct)       // one byte of punctuation or operator
)

// Token is one significant token of a statement: whitespace and comments
// produce none.
type Token struct {
	Kind TokenKind
	// Text is the token as written, quotes included.
	Text string
	// Pos is the byte offset of the token in the input.
	Pos int
}

// Name returns the identifier a Word or QuotedIdent token names: a quoted
// identifier without its backticks and with doubled backticks undone, a
// word as written. Other tokens return their text.
func (t Token) Name() string {
	if t.Kind != QuotedIdent {
		return t.Text
	}
	if _, name, ok := unquoteIdent(t.Text, 0); ok {
		return name
	}
	return t.Text
}

// IsName reports whether t can name something: a word or a quoted
// identifier.
func (t Token) IsName() bool { return t.Kind == Word || t.Kind == QuotedIdent }

// IsWord reports whether t is the unquoted word w, in any case.
func (t Token) IsWord(w string) bool { return t.Kind == Word && strings.EqualFold(t.Text, w) }

// IsPunct reports whether t is the punctuation p.
func (t Token) IsPunct(p string) bool { return t.Kind == Punct && t.Text == p }

// Tokenize splits sql into tokens with the same lexer Check uses, so that a
// caller reading SQL text that Doris stored (a view's definition, a logged
// statement) splits strings, quoted identifiers and comments exactly as the
// guard does. It reads any statement, writes included, and fails only where
// the lexer cannot tell how MySQL and Doris would split the text.
func Tokenize(sql string) ([]Token, error) {
	if !utf8.ValidString(sql) {
		return nil, reject(firstInvalidUTF8(sql), "the statement is not valid UTF-8")
	}
	lx := lexer{src: sql}
	toks, err := lx.run(nil)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(toks))
	for i, t := range toks {
		out[i] = Token{Kind: TokenKind(t.kind), Text: sql[t.pos:t.end], Pos: t.pos}
	}
	return out, nil
}
