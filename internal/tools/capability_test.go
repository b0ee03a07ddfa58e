package tools

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dorismcp/doris/internal/query"
)

func TestParseDorisVersion(t *testing.T) {
	for _, tc := range []struct {
		comment string
		want    dorisVersion
	}{
		{"Doris version doris-2.0.12-2971efd194", dorisVersion{2, 0, 12}},
		{"Doris version doris-2.0.15.1-279e7f0d39", dorisVersion{2, 0, 15}},
		{"Doris version doris-2.1.7-rc03-443e87e203", dorisVersion{2, 1, 7}},
		{"Doris version doris-3.0.3-rc03-43f06a5e26 (Cloud Mode)", dorisVersion{3, 0, 3}},
		{"selectdb-doris-2.1.8-5-398fdbcc0c", dorisVersion{2, 1, 8}},
		// A vendor's own numbering says nothing of the Doris base.
		{"SelectDB Core version selectdb-4.0.4.5-5a05d2a760 (Cloud Mode)", dorisVersion{}},
		{"Doris version doris-0.0.0--83f899b32b", dorisVersion{}},
		{"mariadb.org binary distribution", dorisVersion{}},
	} {
		if diff := cmp.Diff(tc.want, parseDorisVersion(tc.comment)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.comment, diff)
		}
	}
}

func TestCapabilitiesCheck(t *testing.T) {
	doris21 := capabilities{Engine: query.Doris, Version: dorisVersion{2, 1, 7}, Audit: true}
	profile := need{Major: 2, Minor: 1, Why: "trace ids", FEHTTP: true}
	for _, tc := range []struct {
		name string
		caps capabilities
		need need
		want string // in the error; "" for none
	}{
		{"mariadb", capabilities{Engine: query.MariaDB, Comment: "mariadb.org binary distribution"}, need{}, "needs Apache Doris"},
		{"mysql", capabilities{Engine: query.MySQL}, need{FEHTTP: true}, "this server is mysql"},
		{"too old", capabilities{Engine: query.Doris, Version: dorisVersion{2, 0, 12}, FEHTTP: nil}, profile, "needs Apache Doris ≥ 2.1 (trace ids); this server is Doris 2.0.12"},
		{"new enough", doris21, profile, ""},
		{"3.0", capabilities{Engine: query.Doris, Version: dorisVersion{3, 0, 4}}, profile, ""},
		{"vendor numbering", capabilities{Engine: query.Doris}, profile, ""},
		{"no FE HTTP", capabilities{Engine: query.Doris, Version: dorisVersion{2, 1, 7}, FEHTTP: errFEHTTPUnset}, profile, "needs the FE HTTP port"},
		{"FE HTTP down", capabilities{Engine: query.Doris, Version: dorisVersion{2, 1, 7}, FEHTTP: errors.New("connection refused")}, profile, "did not answer: connection refused"},
		{"FE HTTP unused", capabilities{Engine: query.Doris, FEHTTP: errFEHTTPUnset}, need{}, ""},
		{"no audit log", capabilities{Engine: query.Doris, Version: dorisVersion{2, 1, 7}}, need{Audit: true}, "SET GLOBAL enable_audit_plugin = true"},
		{"audit log", doris21, need{Audit: true}, ""},
	} {
		err := tc.caps.check("some_tool", tc.need)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestQuotedParts(t *testing.T) {
	for q, want := range map[string]int{"`a`": 1, "`a`.`b`": 2, "`a`.`b`.`c`": 3, "`a``.``b`": 1, "`a.b`.`c`": 2} {
		if got := quotedParts(q); got != want {
			t.Errorf("quotedParts(%s) = %d, want %d", q, got, want)
		}
	}
}
