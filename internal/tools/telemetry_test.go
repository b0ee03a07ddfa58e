package tools

import (
	"errors"
	"testing"

	"github.com/dorismcp/doris/internal/sqlguard"
)

// The guard's real rejections sort into their classes.
func TestGuardReason(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"DELETE FROM t", "statement_kind"},
		{"DROP TABLE t", "statement_kind"},
		{"SELECT 1; SELECT 2", "multiple_statements"},
		{"SELECT /*+ SET_VAR(a=1; b=2) */ 1", "hint"},
		{"SELECT 1 /*! DROP TABLE t */", "comment"},
		{"SELECT * FROM t FOR UPDATE", "side_effect"},
		{"SELECT * INTO OUTFILE '/tmp/x' FROM t", "side_effect"},
		{"SELECT 'unterminated", "syntax"},
		{"SELECT 1 --x", "comment"},
	}
	for _, tc := range cases {
		_, err := sqlguard.Check(tc.sql)
		var ge *sqlguard.Error
		if !errors.As(err, &ge) {
			t.Fatalf("Check(%q) = %v, want a rejection", tc.sql, err)
		}
		if class, reason := classify(err); class != "guard_rejected" || reason != tc.want {
			t.Errorf("classify(%q: %s) = %s, %s; want guard_rejected, %s", tc.sql, ge.Reason, class, reason, tc.want)
		}
	}
	if got := guardReason("a reason nobody wrote yet"); got != "other" {
		t.Errorf("an unknown reason is %q", got)
	}
}
