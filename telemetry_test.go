package doris_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/testdb"
)

// otelFixture is a Server recording into the OpenTelemetry SDK's manual
// reader and span recorder, with its log records kept.
type otelFixture struct {
	s      *doris.Server
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	logs   *logCapture
	system string // the db.system.name expected of the backend
}

func newOTelFixture(t testing.TB, dsn string, opts ...doris.Option) *otelFixture {
	t.Helper()
	f := &otelFixture{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	f.logs = &logCapture{mu: &sync.Mutex{}, recs: &[]logRecord{}, next: slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})}
	f.s = newServer(t, dsn, append([]doris.Option{doris.WithMeterProvider(mp), doris.WithTracerProvider(tp), doris.WithLogger(slog.New(f.logs))}, opts...)...)
	be, err := f.s.Pool().Backend(context.Background())
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
			m[string(kv.Key)] = kv.Value.String()
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
	connect   func(t *testing.T, s *doris.Server, hc *http.Client) *mcp.ClientSession
}

var otelTransports = []otelTransport{
	{"http", "tcp", func(t *testing.T, s *doris.Server, hc *http.Client) *mcp.ClientSession {
		return connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", hc, "")
	}},
	{"stdio", "pipe", func(t *testing.T, s *doris.Server, _ *http.Client) *mcp.ClientSession {
		cs, _ := servePipes(t, context.Background(), s, nil)
		return cs
	}},
}

// The metrics and spans of a successful, a truncated, a guard-rejected and
// a timed-out call, over HTTP and over stdio: names, attributes and span
// structure as the semantic conventions give them.
func TestTelemetryOfCalls(t *testing.T) {
	testdb.Parallel(t)
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
		args:      map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 1},
		wantError: "time limit of 1s", errorType: "tool_error", logError: "timeout",
		summary: testdb.LongQuerySummary, dbErrorType: "timeout",
	}}
	for _, tr := range otelTransports {
		for _, tc := range cases {
			t.Run(tr.name+"/"+tc.name, func(t *testing.T) {
				f := newOTelFixture(t, testdb.DSN(t))
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
					// No caller-written text: the summary is the span's.
					a := map[string]string{"db.system.name": f.system, "db.namespace": "sample", "db.operation.name": "SELECT"}
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
				if diff := cmp.Diff([]string{"bytes", "duration_ms", "error", "principal", "rows", "tool", "truncated"}, keys); diff != "" {
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
		m[string(kv.Key)] = kv.Value.String()
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
	testdb.Parallel(t)
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
			f := newOTelFixture(t, testdb.DSN(t))
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

// Every query killed in the engine is counted once, by why: the caller
// cancelled, the time limit ran out on the client's side, Shutdown's
// deadline, or a result complete at its byte limit. Stats and the
// What a caller writes never becomes a metric attribute: statements on
// tables of made-up names, and databases of made-up names, all land in
// one db.client.operation.duration series per outcome.
func TestMetricAttributesBounded(t *testing.T) {
	testdb.Parallel(t)
	f := newOTelFixture(t, testdb.DSN(t))
	cs := otelTransports[0].connect(t, f.s, nil)
	for i := range 5 {
		for _, args := range []map[string]any{
			{"sql": fmt.Sprintf("SELECT * FROM t_%d_%d", i, time.Now().UnixNano())},
			{"sql": "SELECT 1", "db_name": fmt.Sprintf("db_%d", i)},
		} {
			if _, _, err := call(context.Background(), cs, "exec_query", args); err != nil {
				t.Fatal(err)
			}
		}
	}
	points := f.points(t, "db.client.operation.duration")
	var total uint64
	for _, p := range points {
		total += p.Count
		for k, v := range p.Attrs {
			if strings.Contains(v, "t_") || strings.Contains(v, "db_") {
				t.Errorf("metric attribute %s=%q carries caller text", k, v)
			}
		}
	}
	if len(points) > 2 || total == 0 {
		t.Errorf("%d series for 10 statements (want at most 2: success and one failure class): %+v", len(points), attrsOf(points))
	}
}

// doris.mcp.queries.killed metric agree.
func TestTelemetryKills(t *testing.T) {
	testdb.Parallel(t)
	// Each case's query is told apart from any other test's in the
	// process list by its column name.
	slow := func(marker string) string {
		return "SELECT COUNT(*) AS " + marker + testdb.LongFrom
	}
	cases := []struct {
		reason string
		run    func(t *testing.T, f *otelFixture, db *sql.DB, marker string)
		want   doris.KilledStats
	}{{
		reason: "cancel",
		want:   doris.KilledStats{Cancel: 1},
		run: func(t *testing.T, f *otelFixture, db *sql.DB, marker string) {
			cs := otelTransports[0].connect(t, f.s, nil)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, _, err := call(ctx, cs, "exec_query", map[string]any{"sql": slow(marker), "timeout_seconds": 120})
				done <- err
			}()
			waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, marker) == 1 })
			cancel()
			<-done
		},
	}, {
		// The engine stops a statement at its limit itself; the client's
		// deadline, a moment later, kills one it did not stop. Here that
		// deadline is the query runtime's cause, given once it runs.
		reason: "timeout",
		want:   doris.KilledStats{Timeout: 1},
		run: func(t *testing.T, f *otelFixture, db *sql.DB, marker string) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			done := make(chan error, 1)
			go func() {
				done <- f.s.Pool().Do(ctx, query.Session{}, func(ctx context.Context, conn *sql.Conn) error {
					rows, err := conn.QueryContext(ctx, slow(marker))
					if err == nil {
						rows.Close()
					}
					return err
				})
			}()
			waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, marker) == 1 })
			cancel(&query.TimeoutError{Limit: time.Second})
			if err := <-done; err == nil {
				t.Error("the statement outlived its deadline")
			}
		},
	}, {
		reason: "shutdown",
		want:   doris.KilledStats{Shutdown: 1},
		run: func(t *testing.T, f *otelFixture, db *sql.DB, marker string) {
			cs := otelTransports[0].connect(t, f.s, nil)
			done := make(chan string, 1)
			go func() {
				_, msg, _ := call(context.Background(), cs, "exec_query", map[string]any{"sql": slow(marker), "timeout_seconds": 120})
				done <- msg
			}()
			waitFor(t, 5*time.Second, "the query to run", func() bool { return running(t, db, marker) == 1 })
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			f.s.Shutdown(ctx)
			if msg := <-done; !strings.Contains(msg, "shutting down") {
				t.Errorf("the call cut by Shutdown answered %q", msg)
			}
			var phases []string
			for _, p := range f.points(t, "doris.mcp.shutdown.phase.duration") {
				phases = append(phases, p.Attrs["doris.mcp.shutdown.phase"])
			}
			if diff := cmp.Diff([]string{"cancel", "close", "drain", "sessions", "streams"}, phases); diff != "" {
				t.Errorf("shutdown phases recorded (-want +got):\n%s", diff)
			}
		},
	}, {
		reason: "limit",
		want:   doris.KilledStats{Limit: 1},
		run: func(t *testing.T, f *otelFixture, db *sql.DB, marker string) {
			cs := otelTransports[0].connect(t, f.s, nil)
			q := "SELECT a.seq AS " + marker + ", b.seq FROM seq_1_to_20000 a, seq_1_to_20000 b"
			r := mustCall(t, context.Background(), cs, "exec_query", map[string]any{"sql": q, "max_bytes": 200})
			if r.TruncationReason != "byte_limit" {
				t.Fatalf("truncation %q, want byte_limit", r.TruncationReason)
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			dsn := testdb.DSN(t)
			f := newOTelFixture(t, dsn)
			db := openDB(t, dsn)
			// Unique to this run too: a query an earlier run left behind
			// must not pass for this one.
			marker := fmt.Sprintf("killed_by_%s_%d", tc.reason, time.Now().UnixNano())
			tc.run(t, f, db, marker)
			waitFor(t, 5*time.Second, "the kill to be counted", func() bool { return f.s.Stats().Killed != doris.KilledStats{} })
			if diff := cmp.Diff(tc.want, f.s.Stats().Killed); diff != "" {
				t.Errorf("Stats().Killed (-want +got):\n%s", diff)
			}
			want := []point{{Attrs: map[string]string{"doris.mcp.reason": tc.reason}, Value: 1}}
			if diff := cmp.Diff(want, f.points(t, "doris.mcp.queries.killed")); diff != "" {
				t.Errorf("doris.mcp.queries.killed (-want +got):\n%s", diff)
			}
			waitFor(t, 5*time.Second, "the query to leave the engine", func() bool { return running(t, db, marker) == 0 })
		})
	}
}

// Stats is safe to call while calls run, and agrees with the observable
// metrics: calls in flight, connections by state, health per FE; Draining
// turns true with Shutdown.
func TestTelemetryStatsWhileCalling(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	f := newOTelFixture(t, dsn)
	db := openDB(t, dsn)
	waitFor(t, 5*time.Second, "the first health check", func() bool { return f.s.Stats().Health[0].Healthy })

	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					f.s.Stats()
				}
			}
		})
	}
	const calls = 3
	marker := fmt.Sprintf("stats_while_calling_%d", time.Now().UnixNano())
	statsQuery := "SELECT COUNT(*) AS " + marker + testdb.LongFrom
	cs := otelTransports[0].connect(t, f.s, nil)
	stdio := otelTransports[1].connect(t, f.s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var callers sync.WaitGroup
	for i := range calls {
		callers.Go(func() {
			c := cs
			if i == 0 {
				c = stdio
			}
			call(ctx, c, "exec_query", map[string]any{"sql": statsQuery, "timeout_seconds": 120})
		})
	}
	waitFor(t, 5*time.Second, "the queries to run", func() bool { return running(t, db, marker) == calls })
	st := f.s.Stats()
	close(stop)
	readers.Wait()

	addr := f.s.DSN().Addr
	if st.InFlight != calls || st.Sessions < 1 || st.Draining || len(st.Pools) != 1 || len(st.Health) != 1 {
		t.Fatalf("Stats while %d calls run: %+v", calls, st)
	}
	p := st.Pools[0]
	if p.Account != f.s.DSN().User || p.Address != addr || p.InUse != calls || p.Open != p.InUse+p.Idle {
		t.Errorf("pool stats %+v, want %d connections in use on %s@%s", p, calls, f.s.DSN().User, addr)
	}
	if h := st.Health[0]; h.Address != addr || !h.Healthy || h.Checked.IsZero() {
		t.Errorf("health %+v", h)
	}
	if got := f.points(t, "doris.mcp.calls.in_flight"); len(got) != 1 || got[0].Value != calls {
		t.Errorf("doris.mcp.calls.in_flight: %+v", got)
	}
	pool := f.s.DSN().User + "@" + addr
	conns := map[string]int64{}
	for _, p := range f.points(t, "db.client.connection.count") {
		if p.Attrs["db.client.connection.pool.name"] != pool {
			t.Errorf("connection count of pool %q, want %q", p.Attrs["db.client.connection.pool.name"], pool)
		}
		conns[p.Attrs["db.client.connection.state"]] = p.Value
	}
	if conns["used"] != calls {
		t.Errorf("db.client.connection.count by state: %v, want %d used", conns, calls)
	}
	host, port := doris.SplitAddress(addr)
	wantHealth := []point{{Attrs: map[string]string{"server.address": host, "server.port": fmt.Sprint(port)}, Value: 1}}
	if diff := cmp.Diff(wantHealth, f.points(t, "doris.mcp.health")); diff != "" {
		t.Errorf("doris.mcp.health (-want +got):\n%s", diff)
	}

	cancel()
	callers.Wait()
	waitFor(t, 5*time.Second, "the calls to end", func() bool { return f.s.Stats().InFlight == 0 })
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := f.s.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if st := f.s.Stats(); !st.Draining || st.InFlight != 0 {
		t.Errorf("Stats after Shutdown: %+v", st)
	}
}

// mcp.server.session.duration is recorded when a session ends: a stdio
// session whose client closes, a stateful HTTP session the client deletes.
func TestTelemetrySessionDuration(t *testing.T) {
	testdb.Parallel(t)
	t.Run("stdio", func(t *testing.T) {
		f := newOTelFixture(t, testdb.DSN(t))
		cs, served := servePipes(t, context.Background(), f.s, nil)
		mustCall(t, context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT 1"})
		cs.Close()
		if err := <-served; err != nil {
			t.Fatalf("ServeTransport: %v", err)
		}
		got := f.points(t, "mcp.server.session.duration")
		if len(got) != 1 || got[0].Count != 1 || got[0].Attrs["network.transport"] != "pipe" || got[0].Attrs["error.type"] != "" {
			t.Errorf("mcp.server.session.duration: %+v", got)
		}
	})
	t.Run("stateful http", func(t *testing.T) {
		f := newOTelFixture(t, testdb.DSN(t), doris.WithStatefulSessions(time.Minute))
		cs := connect(t, context.Background(), serveHTTP(t, f.s).URL+"/mcp", nil, "2025-11-25")
		mustCall(t, context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT 1"})
		cs.Close()
		var got []point
		waitFor(t, 5*time.Second, "the session's duration", func() bool {
			got = f.points(t, "mcp.server.session.duration")
			return len(got) > 0
		})
		want := []map[string]string{{"network.transport": "tcp", "mcp.protocol.version": "2025-11-25"}}
		if diff := cmp.Diff(want, attrsOf(got)); diff != "" || got[0].Count != 1 {
			t.Errorf("mcp.server.session.duration (-want +got):\n%s\n%+v", diff, got)
		}
	})
}

// Literals of a statement never reach the log at Info or above, whether
// the call succeeds, is refused by the guard or fails in the database; the
// details, at Debug, do name what happened.
func TestTelemetryNoLiteralsAtInfo(t *testing.T) {
	testdb.Parallel(t)
	const secret, number = "Sesame_81523", "77316049"
	f := newOTelFixture(t, testdb.DSN(t))
	cs := otelTransports[0].connect(t, f.s, nil)
	stmts := []string{
		"SELECT COUNT(*) FROM customers WHERE name <> '" + secret + "'",
		"DELETE FROM customers WHERE name = '" + secret + "'",
		"SELECT * FROM customers WHERE WHERE name = '" + secret + "'",
		"SELECT no_such_column FROM customers WHERE name = '" + secret + "'",
		// The guard's message quotes this one: it reaches the Debug details.
		number + " + 1",
	}
	for _, q := range stmts {
		if _, _, err := call(context.Background(), cs, "exec_query", map[string]any{"sql": q}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.logs.calls()); n != len(stmts) {
		t.Errorf("%d Info call lines for %d calls", n, len(stmts))
	}
	debug, quoted := 0, false
	for _, r := range f.logs.records() {
		text := r.Msg + fmt.Sprint(r.Attrs)
		if r.Level >= slog.LevelInfo && (strings.Contains(text, secret) || strings.Contains(text, number)) {
			t.Errorf("a literal reached the log at %v: %s", r.Level, text)
		}
		quoted = quoted || (r.Level < slog.LevelInfo && strings.Contains(text, number))
		if r.Level == slog.LevelDebug && r.Msg == "call details" {
			debug++
			if r.Attrs["error_detail"] == "" && !strings.Contains(r.Attrs["statements"], "SELECT customers") {
				t.Errorf("call details say nothing: %v", r.Attrs)
			}
		}
	}
	if debug != len(stmts) {
		t.Errorf("%d Debug call details for %d calls", debug, len(stmts))
	}
	if !quoted {
		t.Error("no Debug record has the error that quotes a literal")
	}
}

// BenchmarkCallTelemetry measures a tools/call with OpenTelemetry enabled
// (the SDK with a manual reader and an always-sampling tracer) against the
// same call without providers, alternating them call by call in one run;
// on/off-p50 is their ratio.
func BenchmarkCallTelemetry(b *testing.B) {
	benchNoLeaks(b)
	dsn := testdb.DSN(b)
	quiet := doris.WithLogger(slog.New(slog.DiscardHandler))
	off := newServer(b, dsn, quiet)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { mp.Shutdown(context.Background()); tp.Shutdown(context.Background()) })
	on := newServer(b, dsn, quiet, doris.WithMeterProvider(mp), doris.WithTracerProvider(tp))
	ctx := context.Background()
	csOff := connect(b, ctx, serveHTTP(b, off).URL+"/mcp", nil, "")
	csOn := connect(b, ctx, serveHTTP(b, on).URL+"/mcp", nil, "")
	args := map[string]any{"sql": benchSmallQuery}
	op := func(cs *mcp.ClientSession) time.Duration {
		start := time.Now()
		n, err := benchCall(ctx, cs, args)
		if err := benchExpectRows("exec_query", 10, n, err); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for range 50 {
		op(csOff)
		op(csOn)
	}
	var tOff, tOn []time.Duration
	b.ResetTimer()
	for range b.N {
		tOff = append(tOff, op(csOff))
		tOn = append(tOn, op(csOn))
	}
	b.StopTimer()
	slices.Sort(tOff)
	slices.Sort(tOn)
	p50Off, p50On := tOff[len(tOff)/2], tOn[len(tOn)/2]
	b.ReportMetric(float64(p50Off.Nanoseconds())/1e3, "off-p50-µs")
	b.ReportMetric(float64(p50On.Nanoseconds())/1e3, "on-p50-µs")
	b.ReportMetric(float64(p50On)/float64(p50Off), "on/off-p50")
}

// Requests other than tool calls, with or without params, have their
// spans and durations too, and no call log line.
func TestTelemetryOtherMethods(t *testing.T) {
	testdb.Parallel(t)
	for _, tr := range otelTransports {
		t.Run(tr.name, func(t *testing.T) {
			f := newOTelFixture(t, testdb.DSN(t))
			cs := tr.connect(t, f.s, nil)
			if _, err := cs.ListTools(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			// A stateless HTTP ping of 2026-07-28 is refused by the go-sdk
			// client's own transport; stdio carries one.
			wantPing := tr.transport == "pipe"
			if wantPing {
				if err := cs.Ping(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
			}
			methods := map[string]bool{}
			for _, p := range f.points(t, "mcp.server.operation.duration") {
				methods[p.Attrs["mcp.method.name"]] = p.Attrs["network.transport"] == tr.transport && p.Attrs["error.type"] == ""
			}
			if !methods["tools/list"] || methods["ping"] != wantPing {
				t.Errorf("methods recorded, and whether their attributes were right: %v", methods)
			}
			spans := map[string]bool{}
			for _, s := range f.spans.Ended() {
				spans[s.Name()] = s.SpanKind() == trace.SpanKindServer
			}
			if !spans["tools/list"] || spans["ping"] != wantPing {
				t.Errorf("server spans: %v", spans)
			}
			if n := len(f.logs.calls()); n != 0 {
				t.Errorf("%d call log lines for no tool call", n)
			}
		})
	}
}

// Refusals by authentication are counted by reason, and an authenticated
// call's log line names its principal, never its token.
func TestTelemetryAuth(t *testing.T) {
	testdb.Parallel(t)
	const token = "s3cret-token-value-for-telemetry"
	f := newOTelFixture(t, testdb.DSN(t), doris.WithBearerTokens(doris.BearerToken{Token: token, Name: "reporter"}),
		doris.WithToolScopes(map[string][]string{"exec_query": {"doris:query"}}))
	hs := serveHTTP(t, f.s)
	v := map[string]string{"Mcp-Protocol-Version": "2025-06-18"}
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"SELECT 1"}}}`
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_db_list","arguments":{}}}`
	post(t, hs.URL+"/mcp", call, v)
	post(t, hs.URL+"/mcp", call, map[string]string{"Mcp-Protocol-Version": "2025-06-18", "Authorization": "Bearer wrong"})
	post(t, hs.URL+"/mcp", call, map[string]string{"Mcp-Protocol-Version": "2025-06-18", "Authorization": "Bearer " + token})
	if code, _, body := post(t, hs.URL+"/mcp", list, map[string]string{"Mcp-Protocol-Version": "2025-06-18", "Authorization": "Bearer " + token}); code != http.StatusOK {
		t.Fatalf("authorised call: %d %s", code, body)
	}
	got := map[string]int64{}
	for _, p := range f.points(t, "doris.mcp.auth.failures") {
		got[p.Attrs["doris.mcp.reason"]] += p.Value
	}
	if diff := cmp.Diff(map[string]int64{"missing_token": 1, "invalid_token": 1, "insufficient_scope": 1}, got); diff != "" {
		t.Errorf("auth failures by reason (-want +got):\n%s", diff)
	}
	var named bool
	for _, r := range f.logs.records() {
		if text := fmt.Sprint(r.Msg, r.Attrs); strings.Contains(text, token) {
			t.Errorf("a log line carries the token: %s", text)
		}
		named = named || (r.Level == slog.LevelInfo && r.Attrs["principal"] == "reporter")
	}
	if !named {
		t.Error("no Info call line names the principal")
	}
}

// The FE and BE HTTP requests a call makes are client spans under its span.
func TestTelemetryHTTPSpans(t *testing.T) {
	testdb.Parallel(t)
	sim, dsn := testdb.DorisSim(t, dorissim.Version21)
	f := newOTelFixture(t, dsn, doris.WithFEHTTP(sim.FEHTTPAddr()))
	cs := connect(t, context.Background(), serveHTTP(t, f.s).URL+"/mcp", nil, "")
	mustCall(t, context.Background(), cs, "get_monitoring_metrics", map[string]any{"role": "all"})
	var server sdktrace.ReadOnlySpan
	for _, sp := range f.spans.Ended() {
		if sp.Name() == "tools/call get_monitoring_metrics" {
			server = sp
		}
	}
	if server == nil {
		t.Fatal("no server span for the call")
	}
	var gets int
	for _, sp := range f.spans.Ended() {
		if sp.SpanKind() == trace.SpanKindClient && sp.Name() == "GET" && sp.Parent().SpanID() == server.SpanContext().SpanID() {
			u := spanAttrs(sp)["url.full"]
			if strings.Contains(u, testdb.Password) || strings.Contains(u, "@") {
				t.Errorf("HTTP span url.full %q carries credentials", u)
			}
			if strings.HasSuffix(u, "/metrics") {
				gets++
			}
		}
	}
	if want := 1 + len(sim.BEHTTPAddrs()); gets < want {
		t.Errorf("%d /metrics client spans under the call, want at least %d (FE and every BE)", gets, want)
	}
}
