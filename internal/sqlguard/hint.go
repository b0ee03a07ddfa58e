package sqlguard

import "strings"

// SetVar is a session variable that a SET_VAR optimizer hint sets for the
// duration of the statement.
type SetVar struct {
	Name string // lower case
	// Value is the value as one token: a number (with its sign), a word
	// such as true, or the value of a string literal.
	Value string
	// Quoted reports whether Value came from a string literal.
	Quoted bool
}

// parsedHint is an optimizer hint comment after a SELECT, read and written
// anew.
type parsedHint struct {
	text string   // the canonical text between "/*+ " and " */"
	vars []SetVar // what its SET_VAR hints set, in order
}

// parseHint reads the text of the hint comment h. Apache Doris reads a
// hint as a list of hints, each a name with an optional list of
// parameters in parentheses; a SET_VAR parameter is "name = value" where
// the value is one constant or identifier and the comma between
// parameters is optional. MySQL allows one variable per SET_VAR. The
// canonical text has one SET_VAR per variable, which both read alike.
func parseHint(src string, h hint) (parsedHint, *Error) {
	text := src[h.from:h.to]
	sub := lexer{src: text}
	toks, err := sub.run(nil)
	if err != nil {
		err.Offset += h.from
		return parsedHint{}, err
	}
	var out parsedHint
	e := emitter{src: text}
	var prev *token
	for k := 0; k < len(toks); k++ {
		t := &toks[k]
		if t.kind != tokWord || !strings.EqualFold(text[t.pos:t.end], "SET_VAR") {
			if prev == nil && e.b.Len() > 0 {
				e.b.WriteByte(' ')
			}
			e.write(prev, t, false)
			prev = t
			continue
		}
		setVarAt := h.from + t.pos
		vars, next, err := parseSetVar(text, toks, k+1, func(k int) int {
			if k < len(toks) {
				return h.from + toks[k].pos
			}
			return setVarAt
		})
		if err != nil {
			return parsedHint{}, err
		}
		for _, v := range vars {
			if e.b.Len() > 0 {
				e.b.WriteByte(' ')
			}
			e.b.WriteString("SET_VAR(" + v.Name + "=")
			if v.Quoted {
				e.b.WriteString(QuoteString(v.Value))
			} else {
				e.b.WriteString(v.Value)
			}
			e.b.WriteByte(')')
		}
		out.vars = append(out.vars, vars...)
		prev = nil
		k = next - 1
	}
	out.text = e.b.String()
	if out.text == "" {
		return parsedHint{}, reject(h.pos, "empty optimizer hint; remove it")
	}
	return out, nil
}

// parseSetVar reads the parameters of a SET_VAR hint, from the '(' at k,
// and returns them with the index after the closing ')'.
func parseSetVar(text string, toks []token, k int, at func(int) int) ([]SetVar, int, *Error) {
	bad := func(k int, why string) ([]SetVar, int, *Error) {
		return nil, 0, reject(at(k), "cannot read the SET_VAR hint: "+why+"; write SET_VAR(variable = value), with one number, word or string as the value")
	}
	if k >= len(toks) || !toks[k].isPunct('(') {
		return bad(k, "'(' must follow SET_VAR")
	}
	var vars []SetVar
	k++
	for {
		if k < len(toks) && toks[k].isPunct(')') && len(vars) > 0 {
			return vars, k + 1, nil
		}
		if k >= len(toks) {
			return bad(k, "the hint ends inside SET_VAR")
		}
		var v SetVar
		switch t := &toks[k]; t.kind {
		case tokWord:
			v.Name = text[t.pos:t.end]
		case tokQuotedIdent, tokString:
			// Doris takes a quoted name too; only plain names are
			// accepted, and written bare.
			if t.kind == tokString {
				v.Name = stringValue(text[t.pos:t.end])
			} else {
				_, v.Name, _ = unquoteIdent(text[t.pos:t.end], 0)
			}
			if v.Name == "" || scanIdent(v.Name, 0) != len(v.Name) {
				return bad(k, "a variable name is letters, digits and '_'")
			}
		default:
			return bad(k, "expected a variable name")
		}
		v.Name = strings.ToLower(v.Name)
		k++
		if k >= len(toks) || !toks[k].isPunct('=') {
			return bad(k, "expected '=' after "+v.Name)
		}
		k++
		sign := ""
		if k < len(toks) && (toks[k].isPunct('-') || toks[k].isPunct('+')) && k+1 < len(toks) && toks[k+1].kind == tokNumber && toks[k].end == toks[k+1].pos {
			sign = text[toks[k].pos:toks[k].end]
			k++
		}
		if k >= len(toks) {
			return bad(k, "expected a value")
		}
		switch t := &toks[k]; {
		case t.kind == tokNumber:
			v.Value = sign + text[t.pos:t.end]
		case sign != "":
			return bad(k, "expected a number after the sign")
		case t.kind == tokWord:
			v.Value = text[t.pos:t.end]
		case t.kind == tokString:
			v.Value, v.Quoted = stringValue(text[t.pos:t.end]), true
		default:
			return bad(k, "a value is one number, word or string")
		}
		vars = append(vars, v)
		k++
		if k < len(toks) && toks[k].isPunct(',') {
			k++
			if k < len(toks) && toks[k].isPunct(')') {
				return bad(k, "a ',' must be followed by another variable")
			}
		}
	}
}
