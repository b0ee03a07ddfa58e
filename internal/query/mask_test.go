package query

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Which rule masks a column is remembered for a bounded number of names,
// and answers the same past the bound.
func TestMaskerRules(t *testing.T) {
	m := NewMasker([]MaskRule{
		{Columns: regexp.MustCompile(`(?i)email`), Mask: strings.ToUpper},
		{Columns: regexp.MustCompile(`(?i)^phone|email$`), Mask: func(string) string { return "***" }},
	})
	for range 2 { // the second time from the cache
		for col, want := range map[string]string{"email": "A@B", "user_email": "A@B", "phone": "***", "name": "a@b"} {
			got := string(m.encoder(col, encodeString)(nil, []byte("a@b")))
			if got != `"`+want+`"` {
				t.Errorf("column %s: %s, want %q", col, got, want)
			}
			if m.Masks(col) != (want != "a@b") {
				t.Errorf("column %s: Masks %v", col, m.Masks(col))
			}
		}
	}
	long := strings.Repeat("x", maxMatchedName) + "_email"
	if !m.Masks(long) {
		t.Error("a long column name is not matched")
	}
	if _, ok := m.matched.Load(long); ok {
		t.Errorf("a column name of %d bytes is remembered", len(long))
	}
	for i := range maxMatched + 100 {
		m.Masks(fmt.Sprintf("c%d", i))
	}
	if n := m.names.Load(); n != maxMatched {
		t.Errorf("%d column names remembered, want at most %d", n, maxMatched)
	}
	if !m.Masks("late_email") || m.Masks("late_name") {
		t.Error("past the bound, columns are not matched as before")
	}
}
