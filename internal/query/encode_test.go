package query

import (
	"database/sql"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestEncodeRow(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		in   []byte
		want string
	}{
		{"INT", []byte("42"), `[42]`},
		{"BIGINT", []byte("-9007199254740991"), `[-9007199254740991]`},
		{"BIGINT", []byte("9007199254740993"), `["9007199254740993"]`},
		{"UNSIGNED BIGINT", []byte("18446744073709551615"), `["18446744073709551615"]`},
		{"DECIMAL", []byte("12345678901234567890.123456789"), `["12345678901234567890.123456789"]`},
		{"DOUBLE", []byte("1.5e+20"), `[1.5e+20]`},
		{"FLOAT", []byte("inf"), `["inf"]`},
		{"VARCHAR", []byte("a\"b\\c\n\x01<>&"), `["a\"b\\c\n\u0001<>&"]`},
		{"VARCHAR", []byte("bad \xff utf8 \u2028"), `["bad ` + "\ufffd" + ` utf8 \u2028"]`},
		{"DATETIME", []byte("2024-01-02 03:04:05"), `["2024-01-02 03:04:05"]`},
		{"BLOB", []byte{0, 1, 2, 255}, `["AAEC/w=="]`},
		{"JSON", []byte(`{"a": [1, 2]}`), `[{"a": [1, 2]}]`},
		{"JSON", []byte(`{broken`), `["{broken"]`},
		{"VARCHAR", nil, `[null]`},
		{"VARCHAR", []byte{}, `[""]`},
	} {
		got := string(appendRow(nil, []sql.RawBytes{tc.in}, []encoder{encoderFor(tc.typ)}))
		if got != tc.want {
			t.Errorf("%s %q: got %s, want %s", tc.typ, tc.in, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s %q: invalid JSON %s", tc.typ, tc.in, got)
		}
	}
}

// FuzzEncodeString: any bytes make a valid JSON string that decodes to the
// input when the input is valid UTF-8.
func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "\x00\x1f\x7f", "\xff\xfe", "日本語", "\u2028\u2029"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := encodeString(nil, in)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", out, in, err)
		}
		if utf8.Valid(in) && back != string(in) {
			t.Fatalf("round trip: %q became %q", in, back)
		}
	})
}

// AppendJSON writes what encoding/json would.
func TestResultAppendJSON(t *testing.T) {
	for _, r := range []*Result{
		{Columns: []Column{}, Rows: []json.RawMessage{}},
		{
			Columns:   []Column{{Name: `we"ird`, Type: "VARCHAR"}, {Name: "n", Type: "INT"}},
			Rows:      []json.RawMessage{json.RawMessage(`["a",1]`), json.RawMessage(`[null,2]`)},
			RowCount:  2,
			Truncated: true, TruncationReason: RowLimit, ElapsedMS: 12,
		},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON:\n%s\nwant\n%s", got, want)
		}
	}
}

// Row buffers hold a few rows, and a large row no more than itself.
func TestRowBufferSize(t *testing.T) {
	for _, tc := range []struct {
		first         bool
		need, maxRows int
		want          int
	}{
		{true, 80, 100, 80 * 16},
		{true, 80, 3, 80 * 3},
		{true, 1000, 100, rowBuffer},
		{true, 10 << 20, 100, 10 << 20}, // not sixteen times a large row
		{false, 80, 100, rowBuffer},
		{false, 10 << 20, 100, 10 << 20},
	} {
		if got := rowBufferSize(tc.first, tc.need, tc.maxRows); got != tc.want {
			t.Errorf("rowBufferSize(%v, %d, %d) = %d, want %d", tc.first, tc.need, tc.maxRows, got, tc.want)
		}
	}
}
