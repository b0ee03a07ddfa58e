package sqlguard

import "testing"

// TestCanonicalOnServer asks a live MariaDB to read the canonical text:
// literals keep their values, and every accepted statement of the tables
// above prepares on the server exactly when the caller's text does, with
// the same number of result columns.
func TestCanonicalOnServer(t *testing.T) {
	db := liveDB(t)
	db.SetMaxOpenConns(1)
	for _, lit := range []string{
		`'plain'`, `'it''s'`, `"dq""x"`, `'a\'b'`, `'back\\slash'`, `'\%\_'`, `'\n\t\r\b\Z\0'`, `'\q'`,
		`'名前'`, `"mixed ' and \" quotes"`, `_utf8mb4'x'`, `N'national'`, `X'4142'`, `'a' 'b'`,
	} {
		in := "SELECT " + lit
		st, err := Check(in)
		if err != nil {
			t.Fatalf("Check(%q): %v", in, err)
		}
		var want, got []byte
		if err := db.QueryRow(in).Scan(&want); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if err := db.QueryRow(st.SQL).Scan(&got); err != nil {
			t.Fatalf("%s: %v", st.SQL, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s reads %q, its canonical text %s reads %q", in, want, st.SQL, got)
		}
	}
	cols := func(q string) (int, bool) {
		rows, err := db.Query(q)
		if err != nil {
			return 0, false
		}
		defer rows.Close()
		c, _ := rows.Columns()
		return len(c), true
	}
	for _, tc := range acceptCases {
		st, err := Check(tc.in)
		if err != nil {
			continue
		}
		n1, ok1 := cols(tc.in)
		n2, ok2 := cols(st.SQL)
		if ok1 && (!ok2 || n1 != n2) {
			t.Errorf("%q runs with %d columns, its canonical text %q: ok=%v, %d columns", tc.in, n1, st.SQL, ok2, n2)
		}
	}
}
