package sqlguard

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// This file checks Check against an independent scanner. The scanner is
// deliberately simple and separate from the package's lexer. It can read a
// statement the way MySQL does or the way Apache Doris does, and every
// statement Check accepts must look harmless in each reading.

// dialect selects how refScan splits text.
type dialect struct {
	name string
	// doris: '--' always starts a comment that ends at '\r' or '\n' and
	// continues after a trailing backslash, block comments nest, R'...' is
	// a raw string and '#' is not a comment.
	doris bool
	// hintTokens makes /*+ ... */ a run of ordinary tokens between hint
	// delimiters instead of a comment.
	hintTokens bool
}

var dialects = []dialect{
	{name: "mysql"},
	{name: "doris", doris: true},
	{name: "doris-hint-tokens", doris: true, hintTokens: true},
}

type refToken struct {
	kind   byte // 'w' word, 's' string, 'q' quoted identifier, 'p' punctuation, 'h' hint delimiter
	text   string
	pos    int
	inHint bool
}

type refScan struct {
	toks     []refToken
	comments []string
	// unclosed is set when a Doris reading ends inside a nested comment:
	// Doris refuses such a statement, so nothing in it runs.
	unclosed bool
}

func isRefWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// scan splits s into tokens and comments. ok is false when a string,
// identifier or comment does not end.
func (d dialect) scan(s string) (res refScan, ok bool) {
	inHint := false
	emit := func(kind byte, from, to int) {
		res.toks = append(res.toks, refToken{kind: kind, text: s[from:to], pos: from, inHint: inHint})
	}
	i := 0
	for i < len(s) {
		c := s[i]
		rest := s[i:]
		switch {
		case strings.ContainsRune(" \t\n\r\f\v", rune(c)):
			i++
		case inHint && strings.HasPrefix(rest, "*/"):
			emit('h', i, i+2)
			inHint = false
			i += 2
		case d.doris && (c == 'R' || c == 'r') && len(rest) > 1 && (rest[1] == '\'' || rest[1] == '"') &&
			(i == 0 || !isRefWordByte(s[i-1])):
			end := strings.IndexByte(rest[2:], rest[1])
			if end < 0 {
				return res, false
			}
			emit('s', i, i+2+end+1)
			i += 2 + end + 1
		case c == '\'' || c == '"':
			j := i + 1
			for {
				if j >= len(s) {
					return res, false
				}
				if s[j] == '\\' {
					j += 2
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			emit('s', i, j+1)
			i = j + 1
		case c == '`':
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], '`')
				if k < 0 {
					return res, false
				}
				j += k
				if j+1 < len(s) && s[j+1] == '`' {
					j += 2
					continue
				}
				break
			}
			emit('q', i, j+1)
			i = j + 1
		case c == '#' && !d.doris:
			j := strings.IndexByte(rest, '\n')
			if j < 0 {
				j = len(rest)
			}
			res.comments = append(res.comments, rest[:j])
			i += j
		case strings.HasPrefix(rest, "--") && (d.doris || len(rest) == 2 || rest[2] <= ' ' || rest[2] == 0x7f):
			j := 2
			for j < len(rest) {
				if rest[j] == '\n' || d.doris && rest[j] == '\r' {
					break
				}
				if d.doris && rest[j] == '\\' && j+1 < len(rest) && rest[j+1] == '\n' {
					j += 2
					continue
				}
				j++
			}
			res.comments = append(res.comments, rest[:j])
			i += j
		case d.hintTokens && isHintStart(rest):
			n := strings.IndexByte(rest, '+') + 1
			emit('h', i, i+n)
			inHint = true
			i += n
		case strings.HasPrefix(rest, "/*"):
			j := 2
			depth := 1
			for depth > 0 {
				if j+1 >= len(rest) {
					if d.doris {
						// Doris refuses an unterminated comment; the
						// MySQL reading checks that Check saw its end.
						res.unclosed = true
						return res, true
					}
					return res, false
				}
				switch {
				case rest[j] == '*' && rest[j+1] == '/':
					depth--
					j += 2
				case d.doris && rest[j] == '/' && rest[j+1] == '*':
					depth++
					j += 2
				default:
					j++
				}
			}
			res.comments = append(res.comments, rest[:j])
			i += j
		case isRefWordByte(c):
			j := i
			for j < len(s) && isRefWordByte(s[j]) {
				j++
			}
			emit('w', i, j)
			i = j
		default:
			emit('p', i, i+1)
			i++
		}
	}
	return res, !inHint
}

// isHintStart reports whether s starts with an optimizer hint opener:
// "/*" then optional spaces then "+".
func isHintStart(s string) bool {
	if !strings.HasPrefix(s, "/*") {
		return false
	}
	s = strings.TrimLeft(s[2:], " ")
	return strings.HasPrefix(s, "+")
}

// The lists below are kept apart from the package tables on purpose, so that
// deleting an entry there makes this test fail.
var (
	refWriteWords = wordSet("INSERT UPDATE DELETE REPLACE MERGE TRUNCATE LOAD CREATE ALTER DROP RENAME GRANT REVOKE SET USE CALL DO PREPARE EXECUTE DEALLOCATE KILL LOCK UNLOCK INSTALL UNINSTALL ANALYZE OPTIMIZE REPAIR FLUSH PURGE SHUTDOWN")
	refCalls      = wordSet("SLEEP BENCHMARK GET_LOCK RELEASE_LOCK RELEASE_ALL_LOCKS IS_FREE_LOCK IS_USED_LOCK LOAD_FILE SYS_EXEC SYS_EVAL MASTER_POS_WAIT SOURCE_POS_WAIT WAIT_FOR_EXECUTED_GTID_SET WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS NEXTVAL SETVAL QUERY LOCAL FILE S3 HDFS HTTP MASTER_GTID_WAIT WSREP_SYNC_WAIT_UPTO_GTID BINLOG_GTID_POS DES_ENCRYPT DES_DECRYPT EMBED AI_GENERATE AI_CLASSIFY AI_EXTRACT AI_FILTER AI_FIXGRAMMAR AI_MASK AI_SENTIMENT AI_SIMILARITY AI_SUMMARIZE AI_TRANSLATE AI_AGG")
	refStarters   = wordSet("SELECT WITH SHOW DESC DESCRIBE EXPLAIN VALUES TABLE")
	refExplainOps = wordSet("EXTENDED PARTITIONS ANALYZE VERBOSE TREE GRAPH PLAN DUMP PROCESS PARSED ANALYZED REWRITTEN LOGICAL OPTIMIZED PHYSICAL SHAPE MEMO DISTRIBUTED ALL FORMAT")
)

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

func wordSet(list string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}

func upperWord(t refToken) string {
	if t.kind != 'w' {
		return ""
	}
	return strings.ToUpper(t.text)
}

// verifyReading checks an accepted statement's text under one dialect.
func verifyReading(d dialect, sql string) error {
	res, ok := d.scan(sql)
	if !ok {
		return fmt.Errorf("%s: accepted %q does not scan: an unterminated string, identifier or comment", d.name, sql)
	}
	if res.unclosed {
		return nil // a syntax error to this reading
	}
	for _, cm := range res.comments {
		if strings.HasPrefix(cm, "/*!") || strings.HasPrefix(strings.ToUpper(cm), "/*M!") {
			return fmt.Errorf("%s: accepted %q has an executable comment %q", d.name, sql, cm)
		}
	}
	var code []refToken // tokens outside hints
	sawHash := false
	for _, tk := range res.toks {
		if tk.kind == 'p' && tk.text == ";" {
			return fmt.Errorf("%s: accepted %q has ';' at %d outside quotes and comments", d.name, sql, tk.pos)
		}
		if tk.kind == 'p' && tk.text == "#" {
			sawHash = true
		}
		if !tk.inHint && tk.kind != 'h' {
			code = append(code, tk)
		}
	}
	if d.doris && sawHash {
		// Doris has no '#' comments, so this text is a syntax error there.
		// It is still one statement, which was checked above.
		return nil
	}
	first := 0
	for first < len(code) && code[first].kind == 'p' && code[first].text == "(" {
		first++
	}
	if first == len(code) || !refStarters[upperWord(code[first])] {
		return fmt.Errorf("%s: accepted %q does not start with an allowed keyword", d.name, sql)
	}
	lead := upperWord(code[first])
	explainFamily := first == 0 && (lead == "EXPLAIN" || lead == "DESC" || lead == "DESCRIBE")
	inOptions := explainFamily
	for k, tk := range code {
		w := upperWord(tk)
		var prev, next, next2 refToken
		if k > 0 {
			prev = code[k-1]
		}
		if k+1 < len(code) {
			next = code[k+1]
		}
		if k+2 < len(code) {
			next2 = code[k+2]
		}
		if k > first && inOptions && !refExplainOps[w] && tk.text != "=" && upperWord(prev) != "FORMAT" && !(prev.text == "=" && k >= 2 && upperWord(code[k-2]) == "FORMAT") {
			inOptions = false
		}
		if tk.kind == 'p' && tk.text == ":" && next.text == "=" && next.pos == tk.pos+1 {
			return fmt.Errorf("%s: accepted %q assigns with ':=' at %d", d.name, sql, tk.pos)
		}
		calledName := ""
		switch {
		case tk.kind == 'w':
			calledName = w
		case tk.kind == 'q':
			calledName = strings.ToUpper(strings.Trim(tk.text, "`"))
		}
		if next.text == "(" && refCalls[calledName] {
			return fmt.Errorf("%s: accepted %q calls %s() at %d", d.name, sql, calledName, tk.pos)
		}
		// "0.0(" is a number to both servers; the reference does not lex
		// numbers, so it judges only names that start like names.
		if next.text == "(" && calledName != "" && !isDigitByte(calledName[0]) && prev.text == "." {
			return fmt.Errorf("%s: accepted %q calls the qualified function %s() at %d", d.name, sql, calledName, tk.pos)
		}
		if next.text == "(" && calledName == "LAST_INSERT_ID" && next2.text != ")" {
			return fmt.Errorf("%s: accepted %q sets LAST_INSERT_ID at %d", d.name, sql, tk.pos)
		}
		if tk.kind != 'w' || prev.text == "." || next.text == "(" {
			continue
		}
		switch {
		case w == "INTO":
			return fmt.Errorf("%s: accepted %q has INTO at %d", d.name, sql, tk.pos)
		case w == "FOR" && (upperWord(next) == "UPDATE" || upperWord(next) == "SHARE"),
			w == "LOCK" && upperWord(next) == "IN",
			w == "NEXT" && upperWord(next) == "VALUE" && upperWord(next2) == "FOR":
			return fmt.Errorf("%s: accepted %q has a locking or sequence clause at %d", d.name, sql, tk.pos)
		}
		if !refWriteWords[w] || lead == "SHOW" {
			continue
		}
		switch {
		case w == "SET" && (upperWord(prev) == "CHARACTER" || upperWord(prev) == "CHAR"),
			w == "USE" && (upperWord(next) == "INDEX" || upperWord(next) == "KEY"),
			w == "ANALYZE" && inOptions:
			continue
		}
		return fmt.Errorf("%s: accepted %q has the write keyword %s at %d", d.name, sql, w, tk.pos)
	}
	return nil
}

// verifyAccepted checks everything Check promises about an accepted input.
func verifyAccepted(t *testing.T, sql string, st *Statement) {
	if st == nil {
		t.Fatalf("Check(%q) returned neither a statement nor an error", sql)
	}
	if st.SQL == "" {
		t.Fatalf("Check(%q).SQL is empty", sql)
	}
	// One reading: every dialect splits the canonical text into the same
	// tokens, and they are the tokens of the input.
	want := normalTokens(t, sql)
	for _, d := range dialects {
		if err := verifyReading(d, st.SQL); err != nil {
			t.Fatalf("Check(%q) accepted: %v", sql, err)
		}
		res, ok := d.scan(st.SQL)
		if !ok || res.unclosed {
			t.Fatalf("Check(%q): %s cannot read the canonical text %q", sql, d.name, st.SQL)
		}
		var got []string
		for k, tk := range res.toks {
			if tk.inHint || tk.kind == 'h' {
				continue
			}
			got = append(got, refNormal(tk, k > 0 && res.toks[k-1].text == "."))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Check(%q): %s reads the canonical text %q as other tokens (-input +canonical):\n%s", sql, d.name, st.SQL, diff)
		}
	}
	for _, cm := range mustScan(t, st.SQL).comments {
		if !strings.HasPrefix(cm, "/*+ ") {
			t.Fatalf("Check(%q): the canonical text %q has the comment %q", sql, st.SQL, cm)
		}
	}
	verifyShape(t, sql, st, false)

	// Checking the returned text again gives the same text.
	again, err := Check(st.SQL)
	if err != nil {
		t.Fatalf("Check(%q) accepted, but Check of its SQL %q = %v", sql, st.SQL, err)
	}
	if again.Kind != st.Kind || again.SQL != st.SQL || again.SelectOffset != st.SelectOffset || again.HasHint != st.HasHint ||
		!cmp.Equal(again.SetVars, st.SetVars, cmpopts.EquateEmpty()) {
		t.Fatalf("Check(%q) = %+v, but Check of its SQL = %+v", sql, *st, *again)
	}

	// The documented way to add a hint keeps the statement acceptable.
	for _, s := range []*Statement{st, st.Target} {
		if s == nil || s.SelectOffset < 0 || s.HasHint {
			continue
		}
		o := s.SelectOffset + len("SELECT")
		hinted := s.SQL[:o] + " /*+ SET_VAR(query_timeout=1) */" + s.SQL[o:]
		h, err := Check(hinted)
		if err != nil || !h.HasHint || h.Kind != Select || h.SelectOffset != s.SelectOffset {
			t.Fatalf("Check(%q) after adding a hint to %q = %+v, %v", hinted, sql, h, err)
		}
	}
}

func mustScan(t *testing.T, s string) refScan {
	res, ok := dialects[0].scan(s)
	if !ok {
		t.Fatalf("cannot scan %q", s)
	}
	return res
}

// normalTokens is the MySQL reading of the input up to its ';', each token
// as refNormal writes it.
func normalTokens(t *testing.T, sql string) []string {
	var out []string
	res := mustScan(t, sql)
	for k, tk := range res.toks {
		if tk.text == ";" {
			break
		}
		if tk.inHint || tk.kind == 'h' {
			continue
		}
		out = append(out, refNormal(tk, k > 0 && res.toks[k-1].text == "."))
	}
	return out
}

// refNormal writes a token so that two spellings of one token compare
// equal: a string by its value, a name by its name.
func refNormal(tk refToken, afterDot bool) string {
	switch {
	case tk.kind == 's':
		return "s:" + stringValue(tk.text)
	case tk.kind == 'q':
		_, name, _ := unquoteIdent(tk.text, 0)
		return "n:" + name
	case tk.kind == 'w' && afterDot:
		return "n:" + tk.text
	}
	return string(tk.kind) + ":" + tk.text
}

// verifyShape checks Kind, SelectOffset, HasHint and Target against the
// reference scanner.
func verifyShape(t *testing.T, input string, st *Statement, isTarget bool) {
	res, _ := dialects[0].scan(st.SQL)
	var first refToken
	if len(res.toks) > 0 {
		first = res.toks[0]
	}
	lead := upperWord(first)
	switch {
	case lead == "SELECT":
		if st.SelectOffset != first.pos || !strings.EqualFold(st.SQL[first.pos:first.pos+6], "SELECT") {
			t.Fatalf("Check(%q): SelectOffset = %d, want %d", input, st.SelectOffset, first.pos)
		}
	case st.SelectOffset != -1:
		t.Fatalf("Check(%q): SelectOffset = %d for a statement starting with %q", input, st.SelectOffset, first.text)
	}
	var want []Kind
	switch {
	case lead == "SELECT", lead == "WITH", lead == "VALUES", lead == "TABLE", first.text == "(":
		want = []Kind{Select}
	case lead == "SHOW":
		want = []Kind{Show}
	case lead == "DESC", lead == "DESCRIBE", lead == "EXPLAIN":
		want = []Kind{Describe, Explain}
	}
	if isTarget {
		want = []Kind{Select}
		if lead != "SELECT" && lead != "WITH" && lead != "VALUES" && lead != "TABLE" && first.text != "(" {
			t.Fatalf("Check(%q): EXPLAIN target %q is not a query", input, st.SQL)
		}
	}
	found := false
	for _, k := range want {
		found = found || st.Kind == k
	}
	if !found {
		t.Fatalf("Check(%q): Kind = %v for a statement starting with %q", input, st.Kind, first.text)
	}
	hint := false
	for _, cm := range res.comments {
		hint = hint || strings.HasPrefix(cm, "/*+")
	}
	if st.HasHint != hint {
		t.Fatalf("Check(%q): HasHint = %v, the reference scanner says %v", input, st.HasHint, hint)
	}
	if (st.Kind == Explain) != (st.Target != nil) {
		t.Fatalf("Check(%q): Kind %v with Target %v", input, st.Kind, st.Target)
	}
	if st.Target != nil {
		if isTarget || !strings.HasSuffix(st.SQL, st.Target.SQL) || len(st.Target.SQL) >= len(st.SQL) {
			t.Fatalf("Check(%q): Target.SQL %q is not a proper suffix of %q", input, st.Target.SQL, st.SQL)
		}
		verifyShape(t, input, st.Target, true)
	}
}

func FuzzCheck(f *testing.F) {
	for _, tc := range acceptCases {
		f.Add(tc.in)
	}
	for _, tc := range rejectCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := Check(sql)
		if err != nil {
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("Check(%q) error %T is not *Error", sql, err)
			}
			if st != nil {
				t.Fatalf("Check(%q) returned both a statement and an error", sql)
			}
			if ge.Reason == "" || ge.Offset < -1 || ge.Offset >= len(sql) && ge.Offset != -1 {
				t.Fatalf("Check(%q) = %#v: empty reason or offset out of range", sql, ge)
			}
			return
		}
		verifyAccepted(t, sql, st)
	})
}

// TestReferenceAgreesOnAccepted runs the fuzz invariants over the accepted
// table, so that they are exercised by a plain go test as well.
func TestReferenceAgreesOnAccepted(t *testing.T) {
	for _, tc := range acceptCases {
		st, err := Check(tc.in)
		if err != nil {
			t.Fatalf("Check(%q): %v", tc.in, err)
		}
		verifyAccepted(t, tc.in, st)
	}
}

// TestReferenceCatchesBypasses makes sure the reference scanner itself can
// fail: each input is harmless to one reading and dangerous to another.
func TestReferenceCatchesBypasses(t *testing.T) {
	for _, tc := range []struct {
		dialect int
		sql     string
	}{
		{0, "SELECT 1; DROP TABLE t"},
		{0, "SELECT 1 /*! ; DROP TABLE t */"},
		{0, "SELECT * FROM t WHERE a IN (DELETE FROM u)"},
		{0, "SELECT SLEEP(1)"},
		{0, "SELECT `sleep` (1)"},
		{0, "SELECT 1 INTO OUTFILE '/x'"},
		{0, "SELECT @a := 1"},
		{0, "UPDATE t SET a = 1"},
		{0, "SELECT * FROM t FOR UPDATE"},
		{1, "SELECT 1 --'\n; DROP TABLE t; -- '"},
		{1, "SELECT 1 /* /* */ '*/ ; DROP TABLE t; -- '"},
		{1, `SELECT R'a\' ; DROP TABLE t; -- '`},
		{1, "SELECT 1 -- \\\n'\n; DROP TABLE t; -- '"},
		{1, "SELECT 1 -- x\r; DROP TABLE t"},
		{0, "SELECT /*+ '*/ ; DROP TABLE t; -- ' */ 1"},
		{2, "SELECT /*+ -- */ '\n */ ; DROP TABLE t; -- ' 1"},
		{0, "SELECT `LAST_INSERT_ID`(4242)"},
		{0, "SELECT sys.format_bytes(1)"},
		{0, "SELECT MASTER_GTID_WAIT('0-1-1', 2)"},
		{1, "SELECT 1 /* a /* b */ , '*/ ; DROP TABLE t; -- '"},
	} {
		if err := verifyReading(dialects[tc.dialect], tc.sql); err == nil {
			t.Errorf("%s reading of %q passed the invariants, want a failure", dialects[tc.dialect].name, tc.sql)
		}
	}
}
