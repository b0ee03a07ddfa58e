package sqlguard

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxIdentLen is the longest identifier MySQL accepts, in bytes here to stay
// on the safe side for multi-byte names.
const maxIdentLen = 64

// QuoteIdent validates a user-supplied identifier (database, table or column
// name) and returns it backtick-quoted, with backticks inside it doubled. The
// name must be 1 to 64 bytes of valid UTF-8 with no NUL or other control
// characters.
func QuoteIdent(name string) (string, error) {
	if name == "" {
		return "", &Error{Reason: "identifier is empty", Offset: -1}
	}
	if err := validateIdent(name, 0); err != nil {
		return "", err
	}
	return quoteIdent(name), nil
}

// QuoteQualified quotes a possibly qualified name such as db.table or
// catalog.db.table. It splits on dots that are not inside backticks, so
// both a.b and `a`.`b` are accepted, and a dot inside `a.b` stays part of
// the name. Each part is validated as by QuoteIdent. The result is the
// quoted parts joined by dots, for example `a`.`b`.
func QuoteQualified(name string) (string, error) {
	if name == "" {
		return "", &Error{Reason: "identifier is empty", Offset: -1}
	}
	var parts [3]string
	n := 0
	for i := 0; ; {
		if n == len(parts) {
			return "", &Error{Reason: "a qualified name has at most 3 parts (catalog.database.table); got more in " + quoteForMessage(name), Offset: i}
		}
		start := i
		var part string
		if name[i] == '`' {
			end, unquoted, ok := unquoteIdent(name, i)
			if !ok {
				return "", &Error{Reason: "unterminated quoted identifier in " + quoteForMessage(name), Offset: i}
			}
			if end < len(name) && name[end] != '.' {
				return "", &Error{Reason: "unexpected character after the closing backtick in " + quoteForMessage(name) + "; separate the parts with '.'", Offset: end}
			}
			part, i = unquoted, end
		} else {
			end := strings.IndexByte(name[i:], '.')
			if end < 0 {
				end = len(name)
			} else {
				end += i
			}
			part = name[i:end]
			if k := strings.IndexByte(part, '`'); k >= 0 {
				return "", &Error{Reason: "a backtick may only appear inside a fully quoted part of " + quoteForMessage(name), Offset: i + k}
			}
			i = end
		}
		// Characters are checked in the raw text, so that offsets point into
		// the input. Doubled backticks are neither control characters nor
		// invalid UTF-8, so the result is the same.
		raw, rawStart := name[start:i], start
		if name[start] == '`' {
			raw, rawStart = name[start+1:i-1], start+1
		}
		if err := validateLength(part, start); err != nil {
			return "", err
		}
		if err := validateChars(part, raw, rawStart); err != nil {
			return "", err
		}
		parts[n] = part
		n++
		if i == len(name) {
			break
		}
		i++ // the dot
		if i == len(name) {
			return "", &Error{Reason: "qualified name " + quoteForMessage(name) + " ends with '.'", Offset: i - 1}
		}
	}
	var b strings.Builder
	for k := 0; k < n; k++ {
		if k > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteIdent(parts[k]))
	}
	return b.String(), nil
}

// QuoteString returns s as a single-quoted SQL string literal for use in
// statements such as SHOW TABLES LIKE '...'. Backslashes and single quotes
// are escaped, and so are NUL, newline, carriage return and Ctrl-Z, as the
// MySQL client library does. LIKE wildcards (% and _) are not escaped, so
// callers that want to match them literally must escape them first.
func QuoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			// Doubling works whatever the server's backslash setting is.
			b.WriteString(`''`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// unquoteIdent reads the backtick-quoted identifier that starts at s[i]. It
// returns the offset after the closing backtick and the name with doubled
// backticks undone.
func unquoteIdent(s string, i int) (end int, name string, ok bool) {
	var b strings.Builder
	for j := i + 1; j < len(s); {
		k := strings.IndexByte(s[j:], '`')
		if k < 0 {
			break
		}
		b.WriteString(s[j : j+k])
		j += k
		if j+1 < len(s) && s[j+1] == '`' {
			b.WriteByte('`')
			j += 2
			continue
		}
		return j + 1, b.String(), true
	}
	return 0, "", false
}

// validateIdent checks one identifier. base is its offset in the caller's
// input, for error offsets.
func validateIdent(name string, base int) *Error {
	if err := validateLength(name, base); err != nil {
		return err
	}
	return validateChars(name, name, base)
}

func validateLength(name string, base int) *Error {
	if name == "" {
		return &Error{Reason: "identifier is empty", Offset: base}
	}
	if len(name) > maxIdentLen {
		return &Error{Reason: "identifier " + quoteForMessage(name) + " is " + strconv.Itoa(len(name)) + " bytes long; the limit is " + strconv.Itoa(maxIdentLen), Offset: base}
	}
	return nil
}

// validateChars checks the characters of the identifier name, whose text
// in the input is raw at offset base.
func validateChars(name, raw string, base int) *Error {
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRuneInString(raw[i:])
		if r == utf8.RuneError && size == 1 {
			return &Error{Reason: "identifier " + quoteForMessage(name) + " is not valid UTF-8", Offset: base + i}
		}
		if unicode.IsControl(r) {
			return &Error{Reason: "identifier " + quoteForMessage(name) + " contains a control character", Offset: base + i}
		}
		i += size
	}
	return nil
}

// quoteForMessage renders a name safely inside an error message.
func quoteForMessage(s string) string {
	return strconv.Quote(clip(s))
}
