package sqlguard

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokens(t *testing.T) {
	got, err := Tokens("SELECT `a b`, 'x' /* c */ FROM t.u WHERE n = 42 -- d\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Token{
		{Word, "SELECT"}, {QuotedIdent, "`a b`"}, {Punct, ","}, {String, ""}, {Word, "FROM"},
		{Word, "t"}, {Punct, "."}, {Word, "u"}, {Word, "WHERE"}, {Word, "n"}, {Punct, "="}, {Number, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	if _, err := Tokens("SELECT 'open"); err == nil {
		t.Error("an unterminated string lexed")
	}
}
