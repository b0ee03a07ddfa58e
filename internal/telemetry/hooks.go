package telemetry

import "context"

// The hooks the query runtime and the tool catalog call (query.Tracer and
// tools.Reporter, which this package does not import): each records on the
// call its context belongs to, and does nothing outside one.

// StartStatement starts the telemetry of a statement (see the package
// function StartStatement) and returns the function that ends it.
func (t *Telemetry) StartStatement(ctx context.Context, system, db, sql string) (context.Context, func(rows int, errorType string)) {
	ctx, st := StartStatement(ctx, system, db, sql)
	return ctx, st.End
}

// Result records what the tool of the call in ctx returned.
func (t *Telemetry) Result(ctx context.Context, rows, size int, truncation string) {
	CallFrom(ctx).Result(rows, size, truncation)
}

// Failed records the tool error of the call in ctx.
func (t *Telemetry) Failed(ctx context.Context, class string, err error, guardReason string) {
	CallFrom(ctx).Failed(class, err, guardReason)
}
