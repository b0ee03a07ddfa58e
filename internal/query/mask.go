package query

import (
	"regexp"
	"sync"
	"sync/atomic"
)

// A MaskRule hides part of the values of the columns whose names match
// Columns. Mask receives a value as text and returns what the caller sees.
type MaskRule struct {
	Columns *regexp.Regexp
	Mask    func(string) string
}

// Masker applies mask rules to result columns. A nil *Masker masks nothing.
type Masker struct {
	rules []MaskRule
	// matched caches, by column name, the index of the first rule that
	// matches it (-1: none), for a bounded number of names of bounded
	// length: result column names are the caller's to choose.
	matched sync.Map
	names   atomic.Int32
}

// The names remembered: at most maxMatched, each at most maxMatchedName
// bytes.
const (
	maxMatched     = 4096
	maxMatchedName = 256
)

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
	if i := m.rule(column); i >= 0 {
		mask := m.rules[i].Mask
		return func(dst, v []byte) []byte { return encodeString(dst, []byte(mask(string(v)))) }
	}
	return enc
}

// rule is the index of the first rule matching column, -1 for none.
func (m *Masker) rule(column string) int {
	if i, ok := m.matched.Load(column); ok {
		return i.(int)
	}
	i := -1
	for j, r := range m.rules {
		if r.Columns.MatchString(column) {
			i = j
			break
		}
	}
	if len(column) <= maxMatchedName && m.names.Load() < maxMatched {
		if _, loaded := m.matched.LoadOrStore(column, i); !loaded {
			m.names.Add(1)
		}
	}
	return i
}

// Masks reports whether a rule covers column: tools that return a
// column's values under another name (a profile's min, max and top values)
// must then leave them out.
func (m *Masker) Masks(column string) bool {
	return m != nil && m.rule(column) >= 0
}
