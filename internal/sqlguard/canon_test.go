package sqlguard

import (
	"strings"
	"testing"
)

// TestCanonical shows the text sent to the server for inputs whose
// reading could differ between servers, or between the caller's
// intention and the servers.
func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"  select\ta,b\nFROM t -- c\n;", "select a, b FROM t"},
		{"/* lead */ SELECT COUNT(*) FROM t WHERE a<=1 AND b<>2 OR c<=>d", "SELECT COUNT(*) FROM t WHERE a <= 1 AND b <> 2 OR c <=> d"},
		{"SELECT a.b, `t`.`c`, t.*, t.1e5 FROM db.t", "SELECT a.`b`, `t`.`c`, t.*, t.`1e5` FROM db.`t`"},
		// A keyword after '.' is a name to this reading, and now to every
		// server: "x. INTO OUTFILE" cannot write a file.
		{"SELECT x. INTO OUTFILE '/p'", "SELECT x. `INTO` OUTFILE '/p'"},
		// Operators never run together into a comment.
		{"SELECT 1 - -1, 2- -3", "SELECT 1 - -1, 2 - -3"},
		{"SELECT 2*(3)/4", "SELECT 2 * (3) / 4"},
		// Strings single-quoted, only \ ' and NUL escaped.
		{`SELECT "a""b", 'it''s', 'x\'y', 'tab\there', '\0', '\%\_', 'a\qb'`,
			`SELECT 'a"b', 'it\'s', 'x\'y', 'tab` + "\t" + `here', '\0', '\\%\\_', 'aqb'`},
		{"SELECT N'x', X'4142', _utf8mb4'y', _binary 'z'", "SELECT N'x', X'4142', _utf8mb4'y', _binary 'z'"},
		{"SELECT @@session.sql_mode, @@version", "SELECT @@session.sql_mode, @@version"},
		{"SHOW GRANTS FOR 'u'@'%'", "SHOW GRANTS FOR 'u'@'%'"},
		// Hints after SELECT are written again; others are comments.
		{"SELECT /*+ SET_VAR(a = 1 b='x') LEADING(t1 t2) */ 1", "SELECT /*+ SET_VAR(a=1) SET_VAR(b='x') LEADING(t1 t2) */ 1"},
		{"SELECT 1 FROM t /*+ SET_VAR(query_timeout=9) */", "SELECT 1 FROM t"},
		{"SELECT 1 # owner's note\n, 2", "SELECT 1 , 2"},
		{"EXPLAIN VERBOSE SELECT 1", "EXPLAIN VERBOSE SELECT 1"},
		// MySQL tells COUNT(*) from COUNT (*) by the space; both are kept.
		{"SELECT COUNT (*) FROM t", "SELECT COUNT (*) FROM t"},
	} {
		st, err := Check(tc.in)
		if err != nil {
			t.Errorf("Check(%q): %v", tc.in, err)
			continue
		}
		if st.SQL != tc.want {
			t.Errorf("Check(%q).SQL = %q, want %q", tc.in, st.SQL, tc.want)
		}
	}
}

// TestAIPrefixIsNotAModelCall: only the model functions themselves are.
func TestAIPrefixIsNotAModelCall(t *testing.T) {
	for _, q := range []string{"SELECT ai_score(x) FROM t", "SELECT llm_cost_usd(1)", "SELECT AI_CLASSIFYX(1)"} {
		if _, err := Check(q); err != nil {
			t.Errorf("Check(%q) = %v, want it accepted", q, err)
		}
	}
	for _, q := range []string{"SELECT AI_CLASSIFY('r', 'x', ['a'])", "SELECT embed('r', 'x')", "SELECT `ai_generate`('r', 'x')"} {
		if _, err := Check(q); err == nil {
			t.Errorf("Check(%q) accepted, want a model call refused", q)
		}
	}
}

// TestCheckCalls: only the engine's listed functions, and what the
// deployment adds, may be called, bare or quoted.
func TestCheckCalls(t *testing.T) {
	maria := MariaDBFunctions()
	for _, tc := range []struct {
		sql     string
		fs      *Functions
		refused string
	}{
		{"SELECT ABS(-1), `concat`('a', 'b'), COUNT(*), CAST(1 AS DECIMAL(10, 2)) FROM t", maria, ""},
		{"SELECT touch_me('x')", maria, "TOUCH_ME() is not a built-in function of MariaDB"},
		{"SELECT format_statement('x')", maria, "FORMAT_STATEMENT()"},
		{"SELECT `touch_me`('x')", maria, "TOUCH_ME()"},
		{"SELECT touch_me('x')", maria.With("Touch_Me"), ""},
		{"SELECT a FROM t WHERE a IN (1, 2) AND EXISTS (SELECT 1) AND b NOT IN (SELECT c FROM u)", maria, ""},
		{"WITH c (x, y) AS (SELECT 1, 2) SELECT x FROM c", maria, ""},
		{"SELECT * FROM (SELECT 1) AS d (a)", maria, ""},
		{"SELECT SUM(a) OVER (PARTITION BY b ORDER BY c) FROM t", maria, ""},
		{"EXPLAIN SELECT touch_me(1)", maria, "TOUCH_ME()"},
	} {
		st, err := Check(tc.sql)
		if err != nil {
			t.Fatalf("Check(%q): %v", tc.sql, err)
		}
		err = st.CheckCalls(tc.fs)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("CheckCalls(%q) = %v, want it accepted", tc.sql, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("CheckCalls(%q) = %v, want a refusal containing %q", tc.sql, err, tc.refused)
		}
	}
}
