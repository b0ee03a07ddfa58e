package sqlguard

import "testing"

func TestTopLimit(t *testing.T) {
	for sql, want := range map[string]int64{
		"SELECT * FROM t LIMIT 500":                                     500,
		"select * from t limit 10, 500":                                 500,
		"SELECT * FROM t LIMIT 500 OFFSET 10":                           500,
		"SELECT a FROM t UNION ALL SELECT b FROM u LIMIT 7":             7,
		"WITH x AS (SELECT * FROM t LIMIT 3) SELECT * FROM x LIMIT 900": 900,
		"SELECT * FROM t":                                               -1,
		"SELECT * FROM (SELECT * FROM t LIMIT 5) s":                     -1,
		"SELECT * FROM t WHERE id IN (SELECT id FROM u LIMIT 5)":        -1,
		"SELECT * FROM t LIMIT 5.5":                                     -1,
		"SHOW TABLES":                                                   -1,
	} {
		st, err := Check(sql)
		if err != nil {
			t.Fatalf("Check(%q): %v", sql, err)
		}
		l, ok := st.TopLimit()
		switch {
		case want < 0 && ok:
			t.Errorf("TopLimit(%q) = %+v, want none", sql, l)
		case want >= 0 && (!ok || l.Count != want):
			t.Errorf("TopLimit(%q) = %+v, %v; want %d", sql, l, ok, want)
		case ok && st.SQL[l.At:l.End] != "500" && want == 500:
			t.Errorf("TopLimit(%q) range %q", sql, st.SQL[l.At:l.End])
		}
	}
}
