package doris

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/dorismcp/doris/internal/query"
)

// otelFixture is a Server recording into the OpenTelemetry SDK's manual
// reader and span recorder, with its log records kept.
type otelFixture struct {
	s      *Server
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	logs   *logCapture
	system string // the db.system.name expected of the backend
}

func newOTelFixture(t testing.TB, dsn string, opts ...Option) *otelFixture {
	t.Helper()
	f := &otelFixture{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	f.logs = &logCapture{mu: &sync.Mutex{}, recs: &[]logRecord{}, next: slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})}
	f.s = newServer(t, dsn, append([]Option{WithMeterProvider(mp), WithTracerProvider(tp), WithLogger(slog.New(f.logs))}, opts...)...)
	be, err := f.s.pool.Backend(context.Background())
	if err != nil {
		t.Fatalf("detecting the backend: %v", err)
	}
	f.system = map[query.Engine]string{query.Doris: "doris", query.MariaDB: "mariadb", query.MySQL: "mysql"}[be.Engine]
	return f
}

// point is one data point of a metric: its attributes and its value (a
// counter's or gauge's value, a histogram's count and sum).
type point struct {
	Attrs map[string]string
	Value int64
	Count uint64
	Sum   float64
}

// points collects the metrics and returns those of the named one, sorted
// by attributes.
func (f *otelFixture) points(t testing.TB, name string) []point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := f.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collecting metrics: %v", err)
	}
	var out []point
	attrs := func(s attribute.Set) map[string]string {
		m := map[string]string{}
		for _, kv := range s.ToSlice() {
			m[string(kv.Key)] = kv.Value.Emit()
		}
		return m
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out = append(out, point{Attrs: attrs(p.Attributes), Count: p.Count, Sum: p.Sum})
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{Attrs: attrs(p.Attributes), Count: p.Count, Sum: float64(p.Sum)})
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{Attrs: attrs(p.Attributes), Value: p.Value})
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{Attrs: attrs(p.Attributes), Value: p.Value})
				}
			default:
				t.Fatalf("metric %s has data of type %T", name, m.Data)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i].Attrs) < fmt.Sprint(out[j].Attrs) })
	return out
}

// attrsOf lists the attribute sets of points, for comparison.
func attrsOf(ps []point) []map[string]string {
	var out []map[string]string
	for _, p := range ps {
		out = append(out, p.Attrs)
	}
	return out
}

// logCapture keeps every log record, rendered as text, and passes it on.
type logCapture struct {
	next  slog.Handler
	attrs []slog.Attr
	mu    *sync.Mutex
	recs  *[]logRecord
}

type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

func (h *logCapture) Enabled(ctx context.Context, l slog.Level) bool { return true }

func (h *logCapture) Handle(ctx context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	*h.recs = append(*h.recs, rec)
	h.mu.Unlock()
	return h.next.Handle(ctx, r)
}

func (h *logCapture) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(slices.Clip(h.attrs), attrs...)
	c.next = h.next.WithAttrs(attrs)
	return &c
}

func (h *logCapture) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

func (h *logCapture) records() []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(*h.recs)
}

// calls are the Info records of finished tool calls.
func (h *logCapture) calls() []logRecord {
	var out []logRecord
	for _, r := range h.records() {
		if r.Level == slog.LevelInfo && r.Msg == "call" {
			out = append(out, r)
		}
	}
	return out
}

// A transport the telemetry tests run over: HTTP (network.transport tcp)
// and stdio pipes (pipe).
type otelTransport struct {
	name      string
	transport string
	connect   func(t *testing.T, s *Server, hc *http.Client) *mcp.ClientSession
}

var otelTransports = []otelTransport{
	{"http", "tcp", func(t *testing.T, s *Server, hc *http.Client) *mcp.ClientSession {
		return connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", hc, "")
	}},
	{"stdio", "pipe", func(t *testing.T, s *Server, _ *http.Client) *mcp.ClientSession {
		cs, _ := servePipes(t, context.Background(), s, nil)
		return cs
	}},
}

// The metrics and spans of a successful, a truncated, a guard-rejected and
// a timed-out call, over HTTP and over stdio: names, attributes and span
// structure as the semantic conventions give them.
func TestTelemetryOfCalls(t *testing.T) {
	cases := []struct {
		name string
		args map[string]any
		// What the call answers.
		wantRows  int
		wantError string // part of the tool error; "" for a result
		// What telemetry shows.
		errorType   string // error.type of mcp.server.operation.duration
		logError    string // the error key of the call's log line
		summary     string // db.query.summary; "" when no statement ran
		dbErrorType string // error.type of the statement
		truncation  string
		guardReason string
	}{{
		name:     "success",
		args:     map[string]any{"sql": "SELECT COUNT(*) FROM customers WHERE city <> 'nowhere'"},
		wantRows: 1, summary: "SELECT customers",
	}, {
		name:     "truncated",
		args:     map[string]any{"sql": "SELECT c.id, o.id FROM customers c JOIN orders o ON o.customer_id = c.id", "max_rows": 2},
		wantRows: 2, summary: "SELECT customers orders", truncation: "row_limit",
	}, {
		name:      "guard rejection",
		args:      map[string]any{"sql": "DELETE FROM customers WHERE id = 1"},
		wantError: "only SELECT", errorType: "tool_error", logError: "guard_rejected", guardReason: "statement_kind",
	}, {
		name:      "timeout",
		args:      map[string]any{"sql": longQuery, "timeout_seconds": 1},
		wantError: "time limit of 1s", errorType: "tool_error", logError: "timeout",
		summary: "SELECT seq_1_to_20000 seq_1_to_20000", dbErrorType: "timeout",
	}}
	for _, tr := range otelTransports {
		for _, tc := range cases {
			t.Run(tr.name+"/"+tc.name, func(t *testing.T) {
				f := newOTelFixture(t, backend(t))
				cs := tr.connect(t, f.s, nil)
				r, msg, err := call(context.Background(), cs, "exec_query", tc.args)
				if err != nil {
					t.Fatal(err)
				}
				if tc.wantError != "" {
					if !strings.Contains(msg, tc.wantError) {
						t.Fatalf("tool error %q, want one containing %q", msg, tc.wantError)
					}
				} else if msg != "" || r.RowCount != tc.wantRows {
					t.Fatalf("got %d rows, error %q; want %d rows", r.RowCount, msg, tc.wantRows)
				}

				// mcp.server.operation.duration: one tools/call.
				want := map[string]string{
					"mcp.method.name":       "tools/call",
					"gen_ai.tool.name":      "exec_query",
					"gen_ai.operation.name": "execute_tool",
					"network.transport":     tr.transport,
					"mcp.protocol.version":  cs.InitializeResult().ProtocolVersion,
				}
				if tc.errorType != "" {
					want["error.type"] = tc.errorType
				}
				var calls []point
				for _, p := range f.points(t, "mcp.server.operation.duration") {
					if p.Attrs["mcp.method.name"] == "tools/call" {
						calls = append(calls, p)
					}
				}
				if diff := cmp.Diff([]map[string]string{want}, attrsOf(calls)); diff != "" {
					t.Errorf("mcp.server.operation.duration attributes (-want +got):\n%s", diff)
				} else if calls[0].Count != 1 {
					t.Errorf("mcp.server.operation.duration counted %d calls", calls[0].Count)
				}

				// db.client.operation.duration: one statement, or none.
				var wantDB []map[string]string
				if tc.summary != "" {
					a := map[string]string{"db.system.name": f.system, "db.namespace": "sample", "db.query.summary": tc.summary}
					if tc.dbErrorType != "" {
						a["error.type"] = tc.dbErrorType
					}
					wantDB = append(wantDB, a)
				}
				if diff := cmp.Diff(wantDB, attrsOf(f.points(t, "db.client.operation.duration"))); diff != "" {
					t.Errorf("db.client.operation.duration attributes (-want +got):\n%s", diff)
				}

				// The library's own: rows and bytes, truncations, rejections.
				rows := f.points(t, "doris.mcp.result.rows")
				if tc.wantError == "" {
					if len(rows) != 1 || rows[0].Count != 1 || rows[0].Sum != float64(tc.wantRows) {
						t.Errorf("doris.mcp.result.rows: %+v, want one call of %d rows", rows, tc.wantRows)
					}
					if b := f.points(t, "doris.mcp.result.size"); len(b) != 1 || b[0].Sum < 50 {
						t.Errorf("doris.mcp.result.size: %+v", b)
					}
				} else if len(rows) != 0 {
					t.Errorf("doris.mcp.result.rows recorded for a failed call: %+v", rows)
				}
				var wantTrunc, wantGuard []point
				if tc.truncation != "" {
					wantTrunc = []point{{Attrs: map[string]string{"gen_ai.tool.name": "exec_query", "doris.mcp.reason": tc.truncation}, Value: 1}}
				}
				if tc.guardReason != "" {
					wantGuard = []point{{Attrs: map[string]string{"doris.mcp.reason": tc.guardReason}, Value: 1}}
				}
				if diff := cmp.Diff(wantTrunc, f.points(t, "doris.mcp.truncations")); diff != "" {
					t.Errorf("doris.mcp.truncations (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(wantGuard, f.points(t, "doris.mcp.guard.rejections")); diff != "" {
					t.Errorf("doris.mcp.guard.rejections (-want +got):\n%s", diff)
				}

				// Spans: the server span of the call, and under it the
				// client span of its statement.
				var server sdktrace.ReadOnlySpan
				var clients []sdktrace.ReadOnlySpan
				for _, s := range f.spans.Ended() {
					switch s.SpanKind() {
					case trace.SpanKindServer:
						if s.Name() == "tools/call exec_query" {
							server = s
						}
					case trace.SpanKindClient:
						clients = append(clients, s)
					}
				}
				if server == nil {
					t.Fatal("no server span named \"tools/call exec_query\"")
				}
				if got := spanAttrs(server)["mcp.method.name"]; got != "tools/call" {
					t.Errorf("server span mcp.method.name %q", got)
				}
				wantStatus := codes.Unset
				if tc.errorType != "" {
					wantStatus = codes.Error
				}
				if server.Status().Code != wantStatus || spanAttrs(server)["error.type"] != tc.errorType {
					t.Errorf("server span status %v, error.type %q; want %v, %q", server.Status().Code, spanAttrs(server)["error.type"], wantStatus, tc.errorType)
				}
				if tc.summary == "" {
					if len(clients) != 0 {
						t.Errorf("%d client spans for a call that ran no statement", len(clients))
					}
				} else {
					if len(clients) != 1 {
						t.Fatalf("%d client spans, want 1", len(clients))
					}
					c := clients[0]
					if c.Name() != tc.summary || c.Parent().SpanID() != server.SpanContext().SpanID() || c.SpanContext().TraceID() != server.SpanContext().TraceID() {
						t.Errorf("client span %q with parent %v; want %q under the server span %v", c.Name(), c.Parent().SpanID(), tc.summary, server.SpanContext().SpanID())
					}
					a := spanAttrs(c)
					if a["db.system.name"] != f.system || a["db.namespace"] != "sample" || a["db.query.summary"] != tc.summary ||
						a["db.response.returned_rows"] != fmt.Sprint(tc.wantRows) || a["error.type"] != tc.dbErrorType {
						t.Errorf("client span attributes %v", a)
					}
				}

				// One Info line for the call, with the stable keys.
				logs := f.logs.calls()
				if len(logs) != 1 {
					t.Fatalf("%d Info call lines, want 1: %+v", len(logs), logs)
				}
				keys := slices.Sorted(func(yield func(string) bool) {
					for k := range logs[0].Attrs {
						if !yield(k) {
							return
						}
					}
				})
				if diff := cmp.Diff([]string{"bytes", "duration_ms", "error", "principal", "rows", "session", "tool", "truncated"}, keys); diff != "" {
					t.Errorf("call log keys (-want +got):\n%s", diff)
				}
				wantLog := map[string]string{"tool": "exec_query", "error": tc.logError, "truncated": fmt.Sprint(tc.truncation != ""), "rows": fmt.Sprint(tc.wantRows)}
				for k, v := range wantLog {
					if logs[0].Attrs[k] != v {
						t.Errorf("call log %s=%q, want %q", k, logs[0].Attrs[k], v)
					}
				}
			})
		}
	}
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// headerTransport adds a header to every request.
type headerTransport struct {
	key, value string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.key, h.value)
	return http.DefaultTransport.RoundTrip(r)
}

// The server span joins the caller's trace: from params._meta.traceparent
// over either transport, from the traceparent header over HTTP when _meta
// has none, and _meta wins over the header.
func TestTelemetryTraceContext(t *testing.T) {
	const (
		metaTrace   = "4bf92f3577b34da6a3ce929d0e0e4736"
		metaSpan    = "00f067aa0ba902b7"
		headerTrace = "0af7651916cd43dd8448eb211c80319c"
		headerSpan  = "b7ad6b7169203331"
	)
	header := headerTransport{"traceparent", "00-" + headerTrace + "-" + headerSpan + "-01"}
	meta := mcp.Meta{"traceparent": "00-" + metaTrace + "-" + metaSpan + "-01", "tracestate": "vendor=x"}
	cases := []struct {
		name       string
		transport  otelTransport
		header     bool
		meta       bool
		wantTrace  string
		wantParent string
		wantState  string
	}{
		{"stdio _meta", otelTransports[1], false, true, metaTrace, metaSpan, "vendor=x"},
		{"http _meta", otelTransports[0], false, true, metaTrace, metaSpan, "vendor=x"},
		{"http header", otelTransports[0], true, false, headerTrace, headerSpan, ""},
		{"http _meta over header", otelTransports[0], true, true, metaTrace, metaSpan, "vendor=x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newOTelFixture(t, backend(t))
			var hc *http.Client
			if tc.header {
				hc = &http.Client{Transport: header}
			}
			cs := tc.transport.connect(t, f.s, hc)
			p := &mcp.CallToolParams{Name: "exec_query", Arguments: map[string]any{"sql": "SELECT 1"}}
			if tc.meta {
				p.Meta = meta
			}
			if _, err := cs.CallTool(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			var server sdktrace.ReadOnlySpan
			for _, s := range f.spans.Ended() {
				if s.Name() == "tools/call exec_query" {
					server = s
				}
			}
			if server == nil {
				t.Fatal("no server span")
			}
			got := []string{server.SpanContext().TraceID().String(), server.Parent().SpanID().String(), server.Parent().TraceState().String()}
			if diff := cmp.Diff([]string{tc.wantTrace, tc.wantParent, tc.wantState}, got); diff != "" {
				t.Errorf("trace, parent span, trace state (-want +got):\n%s", diff)
			}
			if !server.Parent().IsRemote() {
				t.Error("the parent is not marked remote")
			}
		})
	}
}
