package tools

import (
	"context"
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

// A Reporter learns what each tool call returned.
type Reporter interface {
	// Result reports a result of rows rows and size bytes of encoding;
	// truncation is why it was cut short ("" when it was not).
	Result(ctx context.Context, rows, size int, truncation string)
	// Failed reports a tool error: its class (ClassToolError when no other
	// applies), the error, and for a guard rejection its reason's class.
	Failed(ctx context.Context, class string, err error, guardReason string)
}

// ClassToolError is the class of a tool error no other class names.
const ClassToolError = "tool_error"

// report tells the Reporter what the tool returned: size bytes of encoded
// result, or err.
func (c *catalog) report(ctx context.Context, out *query.Result, size int, err error) {
	r := c.cfg.Report
	if r == nil {
		return
	}
	if err != nil {
		class, reason := classify(err)
		r.Failed(ctx, class, err, reason)
		return
	}
	truncation := ""
	if out.Truncated {
		truncation = out.TruncationReason
	}
	r.Result(ctx, out.RowCount, size, truncation)
}

// classify names the class of a tool error, and for a guard rejection its
// reason, in words stable enough to count and alert on. The messages
// themselves may quote the statement.
func classify(err error) (class, reason string) {
	var ge *sqlguard.Error
	var te *query.TimeoutError
	var ue *query.UnavailableError
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &ge):
		return "guard_rejected", guardReason(ge.Reason)
	case errors.As(err, &te):
		return "timeout", ""
	case errors.As(err, &ue):
		return "unavailable", ""
	case errors.Is(err, context.Canceled):
		return "cancelled", ""
	case errors.As(err, &me):
		return "query_error", ""
	}
	return ClassToolError, ""
}

// guardReason sorts the guard's reasons, written for the author of the
// statement, into a few classes. A reason it does not know is "other".
func guardReason(reason string) string {
	r := strings.ToLower(reason)
	for _, c := range guardClasses {
		for _, w := range c.words {
			if strings.Contains(r, w) {
				return c.class
			}
		}
	}
	return "other"
}

// guardClasses are tried in order: the first whose words appear in a
// reason names its class.
var guardClasses = []struct {
	class string
	words []string
}{
	{"multiple_statements", []string{"multiple statements"}},
	{"statement_kind", []string{"only select", "common table expression must be a query"}},
	{"hint", []string{"hint", "set_var"}},
	{"comment", []string{"comment"}},
	{"side_effect", []string{"into ", "row locks", "sequence", "user variable", "last_insert_id", "fetch a url", "function", "not allowed: it"}},
	{"syntax", []string{"unterminated", "unbalanced", "expected", "empty statement", "utf-8", "nul bytes", "control character", "backslash", "'*/'"}},
}
