package envelope

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type summary struct {
	calls   int
	methods []string
	ids     []string
}

func scanSummary(body string) (summary, error) {
	var s summary
	err := Scan([]byte(body), func(m Message) error {
		if m.IsCall() {
			s.calls++
			s.methods = append(s.methods, m.Method)
			s.ids = append(s.ids, string(m.ID))
		}
		return nil
	})
	return s, err
}

var cases = []struct {
	body  string
	calls int
	ids   string // joined with |
	err   bool
}{
	{`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"a":[1,{"b":"}"}]}}`, 1, "7", false},
	{`{"jsonrpc":"2.0","id":"a","method":"tools/call"}`, 1, `"a"`, false},
	{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`, 0, "", false},
	{`{"jsonrpc":"2.0","id":3,"result":{}}`, 0, "", false},
	{`{"jsonrpc":"2.0","id":null,"method":"tools/call"}`, 0, "", false},
	{`{"jsonrpc":"2.0","id":7,"method":"tools/call","METHOD":""}`, 1, "7", false},
	{`{"jsonrpc":"2.0","ID":7,"method":"tools/call"}`, 0, "", false},
	{`{"jsonrpc":"2.0","\u0069d":7,"m\u0065thod":"tools/call"}`, 1, "7", false},
	{`{"jsonrpc":"2.0","id":null,"method":"x","id":5}`, 1, "5", false}, // duplicate id: doubtful
	{`{"jsonrpc":"2.0","method":"x","method":"y"}`, 1, "", false},      // duplicate method: doubtful
	{`{"jsonrpc":"2.0","id":1,"method":42}`, 1, "1", false},            // non-string method: doubtful
	{` [{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"tools/list"},{"id":3,"method":"a"}] `, 2, "2|3", false},
	{`{"id":"a\"b","method":"m"}`, 1, `"a\"b"`, false},
	{`not json`, 0, "", true},
	{``, 0, "", true},
	{`[]`, 0, "", false},
	{`{"id":1,"method":"m"} {}`, 0, "", true},
	{`{"id":1,"method":"m"`, 0, "", true},
	{`{"id":` + strings.Repeat("[", MaxDepth+1), 0, "", true},
	{`{"id":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `,"method":"m"}`, 1, "[" + strings.Repeat("[", 49) + strings.Repeat("]", 50), false},
}

func TestScan(t *testing.T) {
	for _, tc := range cases {
		got, err := scanSummary(tc.body)
		if (err != nil) != tc.err {
			t.Errorf("%.80s: err %v, want error %v", tc.body, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if got.calls != tc.calls || strings.Join(got.ids, "|") != tc.ids {
			t.Errorf("%.80s: %d calls ids %q; want %d %q", tc.body, got.calls, strings.Join(got.ids, "|"), tc.calls, tc.ids)
		}
	}
}

// The crash and the quadratic cost of the first gate: deep nesting is
// refused in one pass, and a large body costs time linear in its size.
func TestScanHostileBodies(t *testing.T) {
	deep := `{"id":` + strings.Repeat("[", 2<<20)
	if err := Scan([]byte(deep), func(Message) error { return nil }); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("2 MiB of '[': %v", err)
	}
	// Nesting within the limit, repeated to fill 4 MiB.
	unit := `{"id":1,"method":"m","params":` + strings.Repeat("[", 900) + strings.Repeat("]", 900) + `}`
	var b bytes.Buffer
	b.WriteByte('[')
	for b.Len() < 4<<20 {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(unit)
	}
	b.WriteByte(']')
	start := time.Now()
	n := 0
	if err := Scan(b.Bytes(), func(m Message) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	t.Logf("4 MiB body, %d messages: %v", n, time.Since(start))
}

// reference reads a body as a strict decoder with exact-case keys, last
// duplicate winning, and reports the calls it sees.
func reference(body []byte) (calls int, ok bool) {
	var raw json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return 0, false
	}
	var msgs []map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		if json.Unmarshal(t, &msgs) != nil {
			return 0, false
		}
	} else {
		var m map[string]json.RawMessage
		if json.Unmarshal(t, &m) != nil {
			return 0, false
		}
		msgs = append(msgs, m)
	}
	for _, m := range msgs {
		id, hasID := m["id"]
		_, hasMethod := m["method"]
		if hasMethod && hasID && string(bytes.TrimSpace(id)) != "null" {
			calls++
		}
	}
	return calls, true
}

// FuzzScan: Scan never panics, and never sees fewer calls in a body than a
// strict decoder does (the gate counts a body Scan refuses as work, and
// doubt as a call).
func FuzzScan(f *testing.F) {
	for _, tc := range cases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := scanSummary(string(body))
		want, ok := reference(body)
		if !ok {
			return
		}
		if err == nil && got.calls < want {
			t.Fatalf("%d calls seen, the decoder sees %d", got.calls, want)
		}
	})
}

func BenchmarkScan4MiB(b *testing.B) {
	msg := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + strings.Repeat("x", 4<<20-100) + `"}}}`
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		Scan([]byte(msg), func(Message) error { return nil })
	}
}

func TestStringField(t *testing.T) {
	for _, tc := range []struct {
		obj, key, want string
		ok             bool
	}{
		{`{"name":"exec_query","arguments":{"name":"x"}}`, "name", "exec_query", true},
		{`{"NAME":"exec_query"}`, "name", "", false},
		{`{"n\u0061me":"a"}`, "name", "a", true},
		{`{"name":"a","name":"b"}`, "name", "", false},
		{`{"name":5}`, "name", "", false},
		{`["name"]`, "name", "", false},
		{`{}`, "name", "", false},
	} {
		got, ok := StringField([]byte(tc.obj), tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q %v, want %q %v", tc.obj, got, ok, tc.want, tc.ok)
		}
	}
}
