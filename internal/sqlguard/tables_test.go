package sqlguard

import (
	"strings"
	"testing"
)

func TestTableRefs(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"SELECT * FROM t", "t"},
		{"SELECT * FROM db.t AS x, `my db`.`t 2` y WHERE a = 'FROM s'", "db.t=x `my db`.`t 2`=y"},
		{"SELECT * FROM internal.db.t JOIN u USING (id) LEFT JOIN v ON v.id = u.id", "internal.db.t u v"},
		{"SELECT * FROM t FORCE INDEX (i) JOIN u IGNORE INDEX (j) ON 1", "t u"},
		{"SELECT * FROM t TABLESAMPLE(10 PERCENT) s", "t"},
		{"WITH c AS (SELECT * FROM base) SELECT * FROM c JOIN other ON 1", "base other"},
		{"WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n FROM c), d AS (SELECT * FROM e) SELECT * FROM c, d", "e"},
		{"SELECT * FROM (WITH s AS (SELECT * FROM t) SELECT * FROM s) x JOIN u ON 1", "t u"},
		{"SELECT * FROM (SELECT * FROM inner_t) d, outer_t", "inner_t outer_t"},
		{"select 1 from ((`d`.`a` `a` join `d`.`b` `b` on(1)) join `c` on(1)), d.e e", "`d`.`a`=a `d`.`b`=b `c` d.e=e"},
		{"SELECT * FROM t WHERE x IN (SELECT y FROM u) ORDER BY 1", "t u"},
		{"SELECT * FROM t /* JOIN hidden */ -- FROM also hidden\n", "t"},
		{"SELECT 1", ""},
	} {
		toks, err := Tokenize(tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range TableRefs(toks) {
			s := r.Text
			if r.Alias != "" {
				s += "=" + r.Alias
			}
			if !strings.HasPrefix(r.Text, toks[r.Pos].Text) {
				t.Errorf("%s: Pos %d is not where %s starts", tc.sql, r.Pos, r.Text)
			}
			got = append(got, s)
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.sql, g, tc.want)
		}
	}
}

// FuzzTableRefs: any statement's tokens read without a panic, and each
// reference is a name of one to three parts at its position.
func FuzzTableRefs(f *testing.F) {
	for _, tc := range acceptCases {
		f.Add(tc.in)
	}
	f.Add("SELECT * FROM ((a JOIN b) , c) ) ) , d")
	f.Fuzz(func(t *testing.T, sql string) {
		toks, err := Tokenize(sql)
		if err != nil {
			return
		}
		for _, r := range TableRefs(toks) {
			if len(r.Parts) < 1 || len(r.Parts) > 3 || r.Pos < 0 || r.Pos >= len(toks) || !strings.HasPrefix(r.Text, toks[r.Pos].Text) {
				t.Fatalf("%q: reference %+v", sql, r)
			}
		}
	})
}
