package sqlguard

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"INSERT INTO `m`.`t` SELECT a FROM s -- FROM hidden\n", []string{"INSERT", "INTO", "m", ".", "t", "SELECT", "a", "FROM", "s"}},
		{"SELECT 'FROM x' AS `a``b` /* JOIN y */ FROM t", []string{"SELECT", "'FROM x'", "AS", "a`b", "FROM", "t"}},
		{"select x.1e5 from t", []string{"select", "x", ".", "1e5", "from", "t"}},
	} {
		toks, err := Tokenize(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		var got []string
		for _, tok := range toks {
			got = append(got, tok.Name())
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, bad := range []string{"SELECT 'open", "SELECT 1 /* open", "SELECT --x"} {
		if _, err := Tokenize(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
