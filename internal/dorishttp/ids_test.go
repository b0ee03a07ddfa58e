package dorishttp

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
)

var traceIDs = []struct {
	id string
	ok bool
}{
	{"mcp-2f1c:abc.1", true},
	{"7d0c1f9e-5a4b-4c3d-9e8f-0a1b2c3d4e5f", true},
	{"a..b", true},
	{"_", true},
	{strings.Repeat("x", 128), true},
	{"", false},
	{".", false},
	{"..", false},
	{"...", false},
	{"a/b", false},
	{`a\b`, false},
	{"a%2fb", false},
	{"a?b", false},
	{"a#b", false},
	{"a b", false},
	{"a;b", false},
	{"é", false},
	{strings.Repeat("x", 129), false},
}

var queryIDs = []struct {
	id string
	ok bool
}{
	{"e133f2641e0a411c-b73f1f6c67bedcf9", true},
	{"E133F2641E0A411C-B73F1F6C67BEDCF9", true},
	{"1-0", true},
	{"", false},
	{"-", false},
	{"abc", false},
	{"abc-", false},
	{"-abc", false},
	{"g1-2", false},
	{"1-2-3", false},
	{"..-..", false},
	{"12345678901234567-1", false},
	{"1-2 ", false},
}

func TestCheckIDs(t *testing.T) {
	for _, tt := range traceIDs {
		if err := checkTraceID(tt.id); (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("checkTraceID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
	for _, tt := range queryIDs {
		if err := checkQueryID(tt.id); (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("checkQueryID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}

// FuzzIDs: whatever an accepted id is, it is one path segment that needs no
// escaping and is not a step up or in place.
func FuzzIDs(f *testing.F) {
	for _, tt := range traceIDs {
		f.Add(tt.id)
	}
	for _, tt := range queryIDs {
		f.Add(tt.id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		for name, check := range map[string]func(string) error{"trace": checkTraceID, "query": checkQueryID} {
			if check(id) != nil {
				continue
			}
			if url.PathEscape(id) != id || strings.Trim(id, ".") == "" || strings.ContainsAny(id, "/\\%?#;") {
				t.Errorf("%s id %q accepted", name, id)
			}
		}
	})
}

// FuzzRedact: no password survives redaction, whatever surrounds it,
// including text that rebuilds it next to the mark.
func FuzzRedact(f *testing.F) {
	f.Add(testPassword, "before ", " after")
	f.Add("]]", "x]", "]y")
	f.Add("e", "the ", " end")
	f.Add("acted]", "[red", "")
	f.Add("pass\nword", strings.Repeat("x", 795), "")
	f.Fuzz(func(t *testing.T, password, before, after string) {
		if password == "" {
			return
		}
		r := newRedactor(testUser, password)
		token := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + password))
		for _, text := range []string{before + password + after, before + token + after, before + after} {
			for _, out := range []string{r.redact(text), r.snippet([]byte(text)), r.wrap(errors.New(text)).Error()} {
				for _, secret := range r.secrets {
					if strings.Contains(out, secret) {
						t.Fatalf("redacted %q to %q, which still holds %q", text, out, secret)
					}
				}
			}
		}
	})
}
