package query

import "regexp"

// A MaskRule hides part of the values of the columns whose names match
// Columns. Mask receives a value as text and returns what the caller sees.
type MaskRule struct {
	Columns *regexp.Regexp
	Mask    func(string) string
}

// Masker applies mask rules to result columns. A nil *Masker masks nothing.
type Masker struct {
	rules []MaskRule
}

// NewMasker returns a Masker for rules, or nil when there are none.
func NewMasker(rules []MaskRule) *Masker {
	if len(rules) == 0 {
		return nil
	}
	return &Masker{rules: rules}
}

// encoder returns enc, or, when a rule matches column, an encoder that
// masks the value and sends it as a string. The first matching rule wins.
func (m *Masker) encoder(column string, enc encoder) encoder {
	if m == nil {
		return enc
	}
	for _, r := range m.rules {
		if r.Columns.MatchString(column) {
			mask := r.Mask
			return func(dst, v []byte) []byte { return encodeString(dst, []byte(mask(string(v)))) }
		}
	}
	return enc
}

// Masks reports whether a rule covers column: tools that return a
// column's values under another name (a profile's min, max and top values)
// must then leave them out.
func (m *Masker) Masks(column string) bool {
	if m == nil {
		return false
	}
	for _, r := range m.rules {
		if r.Columns.MatchString(column) {
			return true
		}
	}
	return false
}
