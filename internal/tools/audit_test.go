package tools

import "testing"

func TestHideLiterals(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT id FROM sample.customers WHERE city = 'Shanghai'":         "SELECT id FROM sample.customers WHERE city = ?",
		"SELECT * FROM t WHERE email IN ('a@b.c', \"d@e.f\") AND id > 42": "SELECT * FROM t WHERE email IN (?, ?) AND id > ?",
		"SELECT `it's` FROM t1 -- 'note'\nLIMIT 10":                       "SELECT `it's` FROM t1 LIMIT ?",
		"SELECT * FROM t WHERE phone = '1380013":                          "SELECT * FROM t WHERE phone = …",
		"SELECT a /* 'x@y.z' */ FROM t":                                   "SELECT a FROM t",
	} {
		if got := hideLiterals(in); got != want {
			t.Errorf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
	if got := cut("ab€de", 3); got != "ab€…" {
		t.Errorf("cut: %q", got)
	}
}
