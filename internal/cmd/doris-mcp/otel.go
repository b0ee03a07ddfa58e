package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/dorismcp/doris"
)

// telemetry is the OpenTelemetry SDK the command wires to the library,
// which itself uses only the API: the pattern a host follows.
type telemetry struct {
	opts []doris.Option
	// metrics serves /metrics in Prometheus text; nil without -metrics.
	metrics  http.Handler
	shutdown []func(context.Context) error
}

// newTelemetry builds the providers asked for: a Prometheus exporter with
// -metrics, OTLP over HTTP when the standard OTEL_EXPORTER_OTLP_*
// variables name an endpoint (the exporters read the rest of them).
func newTelemetry(promMetrics bool, lookup func(string) (string, bool)) (*telemetry, error) {
	t := &telemetry{}
	set := func(k string) bool { v, ok := lookup(k); return ok && v != "" }
	var readers []sdkmetric.Option
	if promMetrics {
		reg := prometheus.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			return nil, fmt.Errorf("-metrics: %w", err)
		}
		readers = append(readers, sdkmetric.WithReader(exp))
		t.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	ctx := context.Background()
	if set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTLP metrics: %w", err)
		}
		readers = append(readers, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(15*time.Second))))
	}
	if len(readers) > 0 {
		mp := sdkmetric.NewMeterProvider(readers...)
		t.opts = append(t.opts, doris.WithMeterProvider(mp))
		t.shutdown = append(t.shutdown, mp.Shutdown)
	}
	if set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTLP traces: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
		t.opts = append(t.opts, doris.WithTracerProvider(tp))
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	return t, nil
}

// close flushes what the exporters hold and stops them, within ctx.
func (t *telemetry) close(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}
