package telemetry

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// An FE or BE HTTP request made for a call is a client span under the
// call's span, and carries its trace context; one made outside a call
// passes as it is.
func TestTransport(t *testing.T) {
	var gotParent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotParent = append(gotParent, r.Header.Get("traceparent"))
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	rec := tracetest.NewSpanRecorder()
	tel, err := New(Options{Tracers: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: Transport(nil)}
	get := func(req *http.Request) {
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	outside, _ := http.NewRequest("GET", srv.URL+"/api/health?token=x", nil)
	get(outside)

	ctx, c := tel.StartRequest(t.Context(), Request{Method: "tools/call", Tool: "get_table_data_size", Transport: TransportTCP})
	for _, path := range []string{"/api/show_data?token=x", "/missing"} {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		get(req)
	}
	c.End(nil, nil)

	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 2 requests and the call", len(spans))
	}
	call := spans[2]
	host, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	for i, s := range spans[:2] {
		if s.Name() != "GET" || s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != call.SpanContext().SpanID() {
			t.Errorf("span %d: %q, kind %v, parent %v; want a GET client span under the call", i, s.Name(), s.SpanKind(), s.Parent().SpanID())
		}
		if want := "00-" + s.SpanContext().TraceID().String() + "-" + s.SpanContext().SpanID().String() + "-01"; gotParent[i+1] != want {
			t.Errorf("request %d carried traceparent %q, want %q", i, gotParent[i+1], want)
		}
	}
	status := func(s sdktrace.ReadOnlySpan) map[string]string {
		m := map[string]string{}
		for _, kv := range s.Attributes() {
			m[string(kv.Key)] = kv.Value.String()
		}
		return m
	}
	want := map[string]string{
		"http.request.method": "GET", "url.full": srv.URL + "/api/show_data",
		"server.address": host, "server.port": port, "http.response.status_code": "200",
	}
	if diff := cmp.Diff(want, status(spans[0])); diff != "" {
		t.Errorf("span attributes (-want +got):\n%s", diff)
	}
	if got := status(spans[1]); got["error.type"] != strconv.Itoa(http.StatusNotFound) {
		t.Errorf("a 404 has error.type %q", got["error.type"])
	}
	if gotParent[0] != "" {
		t.Errorf("a request outside any call carried traceparent %q", gotParent[0])
	}
}
