package telemetry

import (
	"net/http"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps the RoundTripper of the FE and BE HTTP client (nil: the
// default transport) so that each request made for a call is a client
// span under the call's span, in the HTTP conventions, and carries the
// trace context on to Doris. Requests made outside a call pass unchanged.
func Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return httpTransport{next}
}

type httpTransport struct{ next http.RoundTripper }

func (h httpTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c := CallFrom(r.Context())
	if c == nil || !c.t.tracing {
		return h.next.RoundTrip(r)
	}
	ctx, span := c.t.tracer.Start(r.Context(), r.Method, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	if span.IsRecording() {
		span.SetAttributes(httpAttrs(r)...)
	}
	r = r.Clone(ctx)
	c.t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
	resp, err := h.next.RoundTrip(r)
	switch {
	case err != nil:
		span.SetAttributes(semconv.ErrorTypeKey.String("_OTHER"))
		span.SetStatus(codes.Error, "request failed")
	case resp.StatusCode >= 400:
		span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode), semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
		span.SetStatus(codes.Error, resp.Status)
	default:
		span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	}
	return resp, err
}

// httpAttrs are a request's span attributes. url.full leaves out the user
// information and the query, where credentials could be.
func httpAttrs(r *http.Request) []attribute.KeyValue {
	u := url.URL{Scheme: r.URL.Scheme, Host: r.URL.Host, Path: r.URL.Path}
	a := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLFull(u.String())}
	if host := r.URL.Hostname(); host != "" {
		a = append(a, semconv.ServerAddress(host))
	}
	if port, err := strconv.Atoi(r.URL.Port()); err == nil {
		a = append(a, semconv.ServerPort(port))
	}
	return a
}
