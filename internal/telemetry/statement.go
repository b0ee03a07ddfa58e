package telemetry

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// systemDoris is db.system.name for Apache Doris. The conventions list no
// value for it; the Apache projects they do list (cassandra, hive, hbase,
// derby) go without the vendor prefix, and so does this one.
const systemDoris = "doris"

// systemName maps the engine the server detected (query.Engine's names) to
// db.system.name.
func systemName(engine string) attribute.KeyValue {
	switch engine {
	case "doris":
		return semconv.DBSystemNameKey.String(systemDoris)
	case "mariadb":
		return semconv.DBSystemNameMariaDB
	case "mysql":
		return semconv.DBSystemNameMySQL
	}
	return semconv.DBSystemNameOtherSQL
}

// Statement is one Doris statement being run. Its methods on a nil
// *Statement do nothing.
type Statement struct {
	t     *Telemetry
	start time.Time
	span  trace.Span
	// attrs are the metric's attributes (nil when nothing records): each
	// from a bounded set, never text the caller wrote, so no caller can
	// grow the metric's series. The span carries the summary.
	attrs []attribute.KeyValue
}

// StartStatement starts the client span of a statement of the call in ctx
// (none outside a call: a health check, say). engine is the detected
// engine's name, db the database it runs in ("" for the connection's
// default) and sql the statement as the guard accepted it, of which only
// the summary is recorded.
func StartStatement(ctx context.Context, engine, db, sql string) (context.Context, *Statement) {
	c := CallFrom(ctx)
	if c == nil {
		return ctx, nil
	}
	t := c.t
	debug := t.log.Enabled(ctx, slog.LevelDebug)
	if !t.tracing && !t.dbDuration.Enabled(ctx) && !debug {
		return ctx, nil
	}
	s := &Statement{t: t, start: time.Now(), span: noSpan}
	if t.tracing {
		ctx, s.span = t.tracer.Start(ctx, "", trace.WithSpanKind(trace.SpanKindClient))
	}
	if !s.span.IsRecording() && !t.dbDuration.Enabled(ctx) && !debug {
		return ctx, s
	}
	summary := Summary(sql)
	if debug {
		c.addSummary(summary)
	}
	if db == "" {
		db = t.namespace
	}
	system, op := systemName(engine), semconv.DBOperationName(operation(summary))
	s.attrs = []attribute.KeyValue{system, op}
	if db != "" && db == t.namespace {
		// Only the configured database: a caller's db_name is theirs.
		s.attrs = append(s.attrs, semconv.DBNamespace(db))
	}
	if s.span.IsRecording() {
		// The conventions name the span after the summary.
		name := summary
		if name == "" {
			name = system.Value.AsString()
		}
		s.span.SetName(name)
		s.span.SetAttributes(system, op)
		if db != "" {
			s.span.SetAttributes(semconv.DBNamespace(db))
		}
		if summary != "" {
			s.span.SetAttributes(semconv.DBQuerySummary(summary))
		}
	}
	return ctx, s
}

// End records the statement's outcome: rows returned and, when it failed,
// the class of its error ("" when it did not).
func (s *Statement) End(rows int, errType string) {
	if s == nil {
		return
	}
	if s.attrs != nil {
		a := s.attrs
		if errType != "" {
			a = append(a[:len(a):len(a)], semconv.ErrorTypeKey.String(errType))
		}
		ctx := context.Background()
		if s.t.dbDuration.Enabled(ctx) {
			s.t.dbDuration.Inst().Record(ctx, time.Since(s.start).Seconds(), metric.WithAttributes(a...))
		}
	}
	if s.span.IsRecording() {
		s.span.SetAttributes(semconv.DBResponseReturnedRows(rows))
		if errType != "" {
			s.span.SetAttributes(semconv.ErrorTypeKey.String(errType))
			s.span.SetStatus(codes.Error, errType)
		}
	}
	s.span.End()
}
