package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/dbconv"
	"go.opentelemetry.io/otel/semconv/v1.41.0/mcpconv"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName names the instrumentation scope of every meter and tracer.
const ScopeName = "github.com/dorismcp/doris"

// Names of the library's own metrics. The conventions have none for what
// they count, so they live under doris.mcp.
const (
	MetricRows           = "doris.mcp.result.rows"
	MetricBytes          = "doris.mcp.result.size"
	MetricTruncations    = "doris.mcp.truncations"
	MetricGuardRejects   = "doris.mcp.guard.rejections"
	MetricAuthFailures   = "doris.mcp.auth.failures"
	MetricKilled         = "doris.mcp.queries.killed"
	MetricInFlight       = "doris.mcp.calls.in_flight"
	MetricHealth         = "doris.mcp.health"
	MetricShutdownPhases = "doris.mcp.shutdown.phase.duration"
)

// Attribute keys of the library's own metrics, beside the conventions'.
const (
	AttrReason = attribute.Key("doris.mcp.reason")
	AttrPhase  = attribute.Key("doris.mcp.shutdown.phase")
)

// Kill reasons: why a statement was killed in the engine.
const (
	KillCancel   = "cancel"   // the caller cancelled, disconnected or its session ended
	KillTimeout  = "timeout"  // the statement's time limit
	KillShutdown = "shutdown" // Shutdown's hard stop
	KillLimit    = "limit"    // the result was complete (row or byte limit) and the rest not wanted
)

// Options are what a Telemetry is built from. Nil providers and logger
// mean none.
type Options struct {
	Meters  metric.MeterProvider
	Tracers trace.TracerProvider
	Logger  *slog.Logger
	// Namespace is the db.namespace of statements that name no database:
	// the connection's default database.
	Namespace string
}

// Telemetry records what the server does. It is safe for concurrent use;
// its methods on a nil *Telemetry do nothing.
type Telemetry struct {
	log       *slog.Logger
	tracer    trace.Tracer
	meter     metric.Meter
	prop      propagation.TraceContext
	namespace string
	// tracing is false without a tracer provider: no span is started, not
	// even a no-op one, whose context costs allocations on every call.
	tracing bool

	opDuration      mcpconv.ServerOperationDuration
	sessionDuration mcpconv.ServerSessionDuration
	dbDuration      dbconv.ClientOperationDuration
	rows            metric.Int64Histogram
	bytes           metric.Int64Histogram
	truncations     metric.Int64Counter
	guardRejects    metric.Int64Counter
	authFailures    metric.Int64Counter
	killedCounter   metric.Int64Counter
	phases          metric.Float64Histogram

	observers metric.Registration

	killed [4]atomic.Int64 // by kill reason, in the order of killReasons
}

var killReasons = [4]string{KillCancel, KillTimeout, KillShutdown, KillLimit}

// Bucket boundaries the conventions advise for MCP and database durations.
var (
	mcpBuckets = []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300}
	dbBuckets  = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}
)

// New builds the instruments. It fails only if a provider refuses one.
func New(o Options) (*Telemetry, error) {
	mp, tp := o.Meters, o.Tracers
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	t := &Telemetry{log: o.Logger, namespace: o.Namespace, tracing: o.Tracers != nil}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.meter = mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	t.tracer = tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	m := t.meter
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	var err error
	t.opDuration, err = mcpconv.NewServerOperationDuration(m, metric.WithExplicitBucketBoundaries(mcpBuckets...))
	add(err)
	t.sessionDuration, err = mcpconv.NewServerSessionDuration(m, metric.WithExplicitBucketBoundaries(mcpBuckets...))
	add(err)
	t.dbDuration, err = dbconv.NewClientOperationDuration(m, metric.WithExplicitBucketBoundaries(dbBuckets...))
	add(err)
	t.rows, err = m.Int64Histogram(MetricRows, metric.WithUnit("{row}"),
		metric.WithDescription("Rows a tool call returned."),
		metric.WithExplicitBucketBoundaries(0, 1, 10, 100, 1000, 10_000, 100_000))
	add(err)
	t.bytes, err = m.Int64Histogram(MetricBytes, metric.WithUnit("By"),
		metric.WithDescription("Bytes of encoded result a tool call returned."),
		metric.WithExplicitBucketBoundaries(0, 1<<10, 16<<10, 128<<10, 1<<20, 4<<20, 16<<20))
	add(err)
	t.truncations, err = m.Int64Counter(MetricTruncations, metric.WithUnit("{call}"),
		metric.WithDescription("Tool calls whose result was cut by a limit, by reason."))
	add(err)
	t.guardRejects, err = m.Int64Counter(MetricGuardRejects, metric.WithUnit("{statement}"),
		metric.WithDescription("Statements the read-only guard refused, by reason."))
	add(err)
	t.authFailures, err = m.Int64Counter(MetricAuthFailures, metric.WithUnit("{request}"),
		metric.WithDescription("Requests refused by authentication, by reason."))
	add(err)
	t.killedCounter, err = m.Int64Counter(MetricKilled, metric.WithUnit("{query}"),
		metric.WithDescription("Queries killed in the engine, by reason."))
	add(err)
	t.phases, err = m.Float64Histogram(MetricShutdownPhases, metric.WithUnit("s"),
		metric.WithDescription("Time each phase of Shutdown took."))
	add(err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	return t, nil
}

// PoolState is one connection pool as the observers see it.
type PoolState struct {
	Name        string // db.client.connection.pool.name
	Idle, InUse int64
}

// HealthState is the last health check of one FE.
type HealthState struct {
	Address string // server.address; empty when unknown
	Port    int    // server.port; 0 when unknown
	Healthy bool
}

// Source is what the observable instruments read, at each collection.
type Source struct {
	InFlight func() int64
	Pools    func() []PoolState
	Health   func() []HealthState
}

// Observe registers the observable instruments over src: calls in flight,
// connections by state, health per FE. Close unregisters them.
func (t *Telemetry) Observe(src Source) error {
	m := t.meter
	inFlight, err1 := m.Int64ObservableUpDownCounter(MetricInFlight, metric.WithUnit("{call}"),
		metric.WithDescription("Calls admitted and not yet answered."))
	conns, err2 := dbconv.NewClientConnectionCountObservable(m)
	health, err3 := m.Int64ObservableGauge(MetricHealth, metric.WithUnit("1"),
		metric.WithDescription("1 while the last health check of the FE passed, else 0."))
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(inFlight, src.InFlight())
		for _, p := range src.Pools() {
			name := semconv.DBClientConnectionPoolName(p.Name)
			o.ObserveInt64(conns.Inst(), p.Idle, metric.WithAttributes(name, semconv.DBClientConnectionStateIdle))
			o.ObserveInt64(conns.Inst(), p.InUse, metric.WithAttributes(name, semconv.DBClientConnectionStateUsed))
		}
		for _, h := range src.Health() {
			v := int64(0)
			if h.Healthy {
				v = 1
			}
			attrs := make([]attribute.KeyValue, 0, 2)
			if h.Address != "" {
				attrs = append(attrs, semconv.ServerAddress(h.Address))
			}
			if h.Port != 0 {
				attrs = append(attrs, semconv.ServerPort(h.Port))
			}
			o.ObserveInt64(health, v, metric.WithAttributes(attrs...))
		}
		return nil
	}, inFlight, conns.Inst(), health)
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	t.observers = reg
	return nil
}

// Close unregisters the observers: a closed Server reports nothing more.
func (t *Telemetry) Close(context.Context) error {
	if t == nil || t.observers == nil {
		return nil
	}
	return t.observers.Unregister()
}

// Killed counts a query killed in the engine for reason, one of the Kill
// constants.
func (t *Telemetry) Killed(reason string) {
	if t == nil {
		return
	}
	// The metric first: whoever sees the count in Stats finds it there too.
	t.killedCounter.Add(context.Background(), 1, metric.WithAttributes(AttrReason.String(reason)))
	for i, r := range killReasons {
		if r == reason {
			t.killed[i].Add(1)
		}
	}
}

// KilledCounts are the queries killed so far, by reason.
type KilledCounts struct{ Cancel, Timeout, Shutdown, Limit int64 }

// KilledSoFar reads the kill counters.
func (t *Telemetry) KilledSoFar() KilledCounts {
	if t == nil {
		return KilledCounts{}
	}
	return KilledCounts{t.killed[0].Load(), t.killed[1].Load(), t.killed[2].Load(), t.killed[3].Load()}
}

// AuthFailed counts a request refused by authentication. Reason is a short
// class ("missing_token", "invalid_token", …), never the token.
func (t *Telemetry) AuthFailed(ctx context.Context, reason string) {
	if t == nil {
		return
	}
	t.authFailures.Add(ctx, 1, metric.WithAttributes(AttrReason.String(reason)))
}

// ShutdownPhase records how long a phase of Shutdown took.
func (t *Telemetry) ShutdownPhase(phase string, took time.Duration) {
	if t == nil {
		return
	}
	t.phases.Record(context.Background(), took.Seconds(), metric.WithAttributes(AttrPhase.String(phase)))
}
