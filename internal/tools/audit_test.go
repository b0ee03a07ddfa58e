package tools

import (
	"strings"
	"testing"

	"github.com/dorismcp/doris/internal/sqlguard"
)

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

func TestProfileSQL(t *testing.T) {
	ref := tableRef{db: "d", table: "t`x"}
	want := map[string]bool{"nulls": true, "distinct": true, "min_max": true, "top_values": true}
	for _, tablesample := range []bool{true, false} {
		stmt := profileSQL(ref, []string{"a", "b c"}, want, 100, nil, tablesample)
		st, err := sqlguard.Check(stmt)
		if err != nil {
			t.Fatalf("tablesample %v: the guard refuses %s: %v", tablesample, stmt, err)
		}
		if st.SelectOffset != 0 {
			t.Errorf("tablesample %v: does not start with SELECT, so the runtime cannot bound it with a hint", tablesample)
		}
		if got := strings.Contains(stmt, "FROM `d`.`t``x` TABLESAMPLE(100 ROWS) LIMIT 100)"); got != tablesample {
			t.Errorf("tablesample %v: %s", tablesample, stmt)
		}
	}
}
