package sqlguard

import (
	"errors"
	"strings"
	"testing"
)

func TestQuoteIdent(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   string
		reason string // non-empty: an error containing it is expected
		offset int
	}{
		{in: "t", want: "`t`"},
		{in: "order_items", want: "`order_items`"},
		{in: "select", want: "`select`"},
		{in: "a`b", want: "`a``b`"},
		{in: "`", want: "````"},
		{in: "a.b", want: "`a.b`"},
		{in: "with space", want: "`with space`"},
		{in: "a;DROP TABLE t", want: "`a;DROP TABLE t`"},
		{in: "名前", want: "`名前`"},
		{in: strings.Repeat("x", 64), want: "`" + strings.Repeat("x", 64) + "`"},
		{in: "", reason: "identifier is empty", offset: -1},
		{in: strings.Repeat("x", 65), reason: "is 65 bytes long; the limit is 64", offset: 0},
		{in: strings.Repeat("é", 33), reason: "is 66 bytes long", offset: 0},
		{in: "a\x00b", reason: "contains a control character", offset: 1},
		{in: "a\nb", reason: "contains a control character", offset: 1},
		{in: "ab\x7f", reason: "contains a control character", offset: 2},
		{in: "a\u0085", reason: "contains a control character", offset: 1},
		{in: "a\xffb", reason: "is not valid UTF-8", offset: 1},
	} {
		got, err := QuoteIdent(tc.in)
		if tc.reason == "" {
			if err != nil || got != tc.want {
				t.Errorf("QuoteIdent(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		var ge *Error
		if !errors.As(err, &ge) || !strings.Contains(ge.Reason, tc.reason) || ge.Offset != tc.offset || got != "" {
			t.Errorf("QuoteIdent(%q) = %q, %v; want error %q at %d", tc.in, got, err, tc.reason, tc.offset)
		}
	}
}

func TestQuoteQualified(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   string
		reason string
		offset int
	}{
		{in: "t", want: "`t`"},
		{in: "db.t", want: "`db`.`t`"},
		{in: "cat.db.t", want: "`cat`.`db`.`t`"},
		{in: "`db`.`t`", want: "`db`.`t`"},
		{in: "`db`.t", want: "`db`.`t`"},
		{in: "db.`t`", want: "`db`.`t`"},
		{in: "`a.b`.c", want: "`a.b`.`c`"},
		{in: "`a``b`.`c`", want: "`a``b`.`c`"},
		{in: "`with space`.`x;y`", want: "`with space`.`x;y`"},
		{in: "``````", want: "``````"},
		{in: "", reason: "identifier is empty", offset: -1},
		{in: "a.b.c.d", reason: "at most 3 parts", offset: 6},
		{in: "a..b", reason: "identifier is empty", offset: 2},
		{in: ".a", reason: "identifier is empty", offset: 0},
		{in: "a.", reason: "ends with '.'", offset: 1},
		{in: "``.a", reason: "identifier is empty", offset: 0},
		{in: "`a", reason: "unterminated quoted identifier", offset: 0},
		{in: "`a`b", reason: "unexpected character after the closing backtick", offset: 3},
		{in: "a`b`", reason: "a backtick may only appear inside a fully quoted part", offset: 1},
		{in: "db.a`b", reason: "a backtick may only appear", offset: 4},
		{in: "db." + strings.Repeat("x", 65), reason: "the limit is 64", offset: 3},
		{in: "db.a\x00", reason: "control character", offset: 4},
		{in: "`db`.`a\nb`", reason: "control character", offset: 7},
		{in: "d\xffb.t", reason: "not valid UTF-8", offset: 1},
	} {
		got, err := QuoteQualified(tc.in)
		if tc.reason == "" {
			if err != nil || got != tc.want {
				t.Errorf("QuoteQualified(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		var ge *Error
		if !errors.As(err, &ge) || !strings.Contains(ge.Reason, tc.reason) || ge.Offset != tc.offset || got != "" {
			t.Errorf("QuoteQualified(%q) = %q, %v; want error %q at %d", tc.in, got, err, tc.reason, tc.offset)
		}
	}
}

func TestQuoteString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "''"},
		{"abc", "'abc'"},
		{"it's", "'it''s'"},
		{`a\b`, `'a\\b'`},
		{`x\'; DROP TABLE t; --`, `'x\\''; DROP TABLE t; --'`},
		{"a\x00b", `'a\0b'`},
		{"l1\nl2\r", `'l1\nl2\r'`},
		{"z\x1a", `'z\Z'`},
		{`"double"`, `'"double"'`},
		{"50%_off", "'50%_off'"},
		{"名前", "'名前'"},
	} {
		if got := QuoteString(tc.in); got != tc.want {
			t.Errorf("QuoteString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestQuotedOutputPassesCheck builds statements the way the rest of the
// project does and makes sure the guard reads each literal as one token.
func TestQuotedOutputPassesCheck(t *testing.T) {
	for _, s := range []string{"plain", "it's", `back\slash`, `\`, `\'`, "'; DROP TABLE t; -- ", "nul\x00", "x`y", "*/ /*! */"} {
		sql := "SHOW TABLES LIKE " + QuoteString(s)
		st, err := Check(sql)
		if err != nil || st.Kind != Show {
			t.Fatalf("Check(%q) = %+v, %v; want the SHOW accepted", sql, st, err)
		}
		toks, err := Tokenize(st.SQL)
		if err != nil || len(toks) != 4 || toks[3].Kind != String || stringValue(toks[3].Text) != s {
			t.Errorf("Check(%q).SQL = %q, want the literal %q as its fourth token", sql, st.SQL, s)
		}
	}
	for _, name := range []string{"t", "select", "a`b", "x;DROP TABLE y", "/*!", "-- c", "名前"} {
		q, err := QuoteIdent(name)
		if err != nil {
			t.Fatalf("QuoteIdent(%q): %v", name, err)
		}
		sql := "SELECT * FROM db." + q + " WHERE 1 = 0"
		if st, err := Check(sql); err != nil || st.SQL != sql {
			t.Errorf("Check(%q) = %+v, %v; want it accepted unchanged", sql, st, err)
		}
	}
}
