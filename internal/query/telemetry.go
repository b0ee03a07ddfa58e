package query

import (
	"context"
	"errors"
	"strconv"

	"github.com/go-sql-driver/mysql"
)

// statementErrorType is the error.type of a statement's outcome: "" when it
// succeeded (a result cut at a limit did), the engine's error number, or
// the reason it was stopped.
func statementErrorType(ctx context.Context, e Engine, res *Result, err error) string {
	var me *mysql.MySQLError
	switch {
	case err == nil, res.Truncated && context.Cause(ctx) == errStop:
		return ""
	case engineTimeout(e, err):
		return "timeout"
	case errors.As(context.Cause(ctx), new(*TimeoutError)):
		return "timeout"
	case ctx.Err() != nil:
		return "cancelled"
	case errors.As(err, &me):
		return strconv.Itoa(int(me.Number))
	}
	return "_OTHER"
}

// LimitStop reports whether cause is what cancels a statement whose result
// is complete: the rest of it is not wanted.
func LimitStop(cause error) bool { return cause == errStop }
