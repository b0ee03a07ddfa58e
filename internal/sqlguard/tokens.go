package sqlguard

// TokenKind is the kind of a [Token].
type TokenKind uint8

// The kinds of token Tokens returns.
const (
	Word        TokenKind = TokenKind(tokWord)        // unquoted identifier or keyword
	QuotedIdent TokenKind = TokenKind(tokQuotedIdent) // `identifier`
	String      TokenKind = TokenKind(tokString)      // 'string' or "string"
	Number      TokenKind = TokenKind(tokNumber)      // numeric literal
	Punct       TokenKind = TokenKind(tokPunct)       // one byte of punctuation or operator
)

// Token is one significant token of a statement, as the guard reads it.
type Token struct {
	Kind TokenKind
	// Text is the token as written, for words, quoted identifiers and
	// punctuation. It is empty for string and numeric literals: what is
	// built from tokens (a query summary for telemetry, say) can then never
	// carry a literal.
	Text string
}

// Tokens splits sql into tokens the way Check reads it, comments and
// whitespace left out. It fails where Check fails to lex.
func Tokens(sql string) ([]Token, error) {
	lx := lexer{src: sql}
	toks, err := lx.run(nil)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(toks))
	for i, t := range toks {
		out[i].Kind = TokenKind(t.kind)
		if t.kind != tokString && t.kind != tokNumber {
			out[i].Text = sql[t.pos:t.end]
		}
	}
	return out, nil
}
