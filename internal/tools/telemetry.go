package tools

import (
	"context"
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
	"github.com/dorismcp/doris/internal/telemetry"
)

// report tells the call's telemetry what the tool returned: size bytes of
// encoded result, or err.
func report(ctx context.Context, out *query.Result, size int, err error) {
	c := telemetry.CallFrom(ctx)
	if c == nil {
		return
	}
	if err != nil {
		class, reason := classify(err)
		c.Failed(class, err, reason)
		return
	}
	truncation := ""
	if out.Truncated {
		truncation = out.TruncationReason
	}
	c.Result(out.RowCount, size, truncation)
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
	return telemetry.ErrorTypeTool, ""
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
