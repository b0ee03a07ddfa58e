package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/mcpconv"
	"go.opentelemetry.io/otel/trace"
)

// ErrorTypeTool is the error.type of a tools/call answered with a result
// whose isError is true, as the MCP conventions name it; semconv has no
// constant for it.
const ErrorTypeTool = "tool_error"

// Transports, as network.transport names them (mcpconv.NetworkTransportTCP
// and NetworkTransportPipe): HTTP runs on TCP, stdio on pipes.
const (
	TransportTCP  = "tcp"
	TransportPipe = "pipe"
)

// Request describes one MCP request as it enters the server.
type Request struct {
	Method    string
	Tool      string // for tools/call
	Session   string // mcp.session.id; empty when stateless or over stdio
	Transport string // TransportTCP or TransportPipe
	Protocol  string // mcp.protocol.version, when known
	// Principal is who made the request, once authentication names them;
	// empty until then. It is logged, never a token.
	Principal string
	// Meta is the request's params._meta, whose traceparent and tracestate
	// join the caller's trace; Header, the HTTP request's header, is the
	// fallback.
	Meta   map[string]any
	Header http.Header
}

// Call is what is recorded of one request while it runs. Its methods on a
// nil *Call do nothing.
type Call struct {
	t     *Telemetry
	req   Request
	start time.Time
	span  trace.Span

	mu        sync.Mutex
	rows      int
	bytes     int
	truncated string // the reason, when the result was cut
	errClass  string // the class of a tool error, for the log
	err       error  // its details, for Debug
	summaries []string
}

type callKey struct{}

// CallFrom returns the call ctx belongs to, or nil.
func CallFrom(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}

type transportKey struct{}

// WithTransport marks the requests of sessions connected with ctx as
// carried by transport.
func WithTransport(ctx context.Context, transport string) context.Context {
	return context.WithValue(ctx, transportKey{}, transport)
}

// TransportFrom is the transport WithTransport set, else TCP (HTTP).
func TransportFrom(ctx context.Context) string {
	if s, ok := ctx.Value(transportKey{}).(string); ok {
		return s
	}
	return TransportTCP
}

// noSpan is the span of calls when nothing traces: it records nothing and
// costs nothing to hold.
var noSpan = trace.SpanFromContext(context.Background())

// metaCarrier reads trace context from params._meta.
type metaCarrier map[string]any

func (m metaCarrier) Get(key string) string {
	s, _ := m[key].(string)
	return s
}
func (m metaCarrier) Set(key, value string) { m[key] = value }
func (m metaCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// StartRequest starts the server span of a request, joined to the
// caller's trace from params._meta, else from the HTTP headers, and
// returns the context to run it in. End must be called with its outcome.
func (t *Telemetry) StartRequest(ctx context.Context, r Request) (context.Context, *Call) {
	c := &Call{t: t, req: r, start: time.Now()}
	if !t.tracing {
		// Without a tracer the caller's trace context has no use.
		c.span = noSpan
		return context.WithValue(ctx, callKey{}, c), c
	}
	if r.Meta != nil && metaCarrier(r.Meta).Get("traceparent") != "" {
		ctx = t.prop.Extract(ctx, metaCarrier(r.Meta))
	} else if r.Header != nil {
		ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	name := r.Method
	if r.Tool != "" {
		name += " " + r.Tool
	}
	ctx, c.span = t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
	if c.span.IsRecording() {
		c.span.SetAttributes(c.attrs(nil)...)
		if r.Session != "" {
			c.span.SetAttributes(semconv.McpSessionID(r.Session))
		}
	}
	return context.WithValue(ctx, callKey{}, c), c
}

// attrs are the request's attributes of mcp.server.operation.duration
// and of its span, with error.type when errType is set.
func (c *Call) attrs(errType *string) []attribute.KeyValue {
	r := c.req
	a := make([]attribute.KeyValue, 0, 6)
	a = append(a, semconv.McpMethodNameKey.String(r.Method))
	if r.Tool != "" {
		a = append(a, semconv.GenAIToolName(r.Tool), semconv.GenAIOperationNameExecuteTool)
	}
	a = append(a, semconv.NetworkTransportKey.String(r.Transport))
	if r.Protocol != "" {
		a = append(a, semconv.McpProtocolVersion(r.Protocol))
	}
	if errType != nil && *errType != "" {
		a = append(a, semconv.ErrorTypeKey.String(*errType))
	}
	return a
}

// Result records what a tool returned.
func (c *Call) Result(rows, bytes int, truncation string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.rows, c.bytes, c.truncated = rows, bytes, truncation
	c.mu.Unlock()
	ctx := context.Background()
	if c.t.rows.Enabled(ctx) || c.t.bytes.Enabled(ctx) {
		tool := metric.WithAttributes(semconv.GenAIToolName(c.req.Tool))
		c.t.rows.Record(ctx, int64(rows), tool)
		c.t.bytes.Record(ctx, int64(bytes), tool)
	}
	if truncation != "" && c.t.truncations.Enabled(ctx) {
		c.t.truncations.Add(ctx, 1, metric.WithAttributes(semconv.GenAIToolName(c.req.Tool), AttrReason.String(truncation)))
	}
}

// Failed records a tool error: class is short and stable ("timeout",
// "guard_rejected", …) and is what Info logs and spans show; err is kept
// for Debug. A guard rejection also counts under guardReason.
func (c *Call) Failed(class string, err error, guardReason string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.errClass, c.err = class, err
	c.mu.Unlock()
	if guardReason != "" && c.t.guardRejects.Enabled(context.Background()) {
		c.t.guardRejects.Add(context.Background(), 1, metric.WithAttributes(AttrReason.String(guardReason)))
	}
}

// End records the request's outcome: its duration metric, its span's end
// and, for a tools/call, the call's log line.
func (c *Call) End(res mcp.Result, err error) {
	took := time.Since(c.start)
	errType := ""
	var werr *jsonrpc.Error
	switch {
	case errors.As(err, &werr):
		errType = strconv.FormatInt(werr.Code, 10)
	case err != nil:
		errType = string(mcpconv.ErrorTypeOther)
	default:
		if r, ok := res.(*mcp.CallToolResult); ok && r.IsError {
			errType = ErrorTypeTool
		}
	}
	ctx := context.Background()
	if c.t.opDuration.Enabled(ctx) {
		c.t.opDuration.Inst().Record(ctx, took.Seconds(), metric.WithAttributes(c.attrs(&errType)...))
	}
	c.mu.Lock()
	rows, bytes, truncated, class, cerr := c.rows, c.bytes, c.truncated, c.errClass, c.err
	summaries := c.summaries
	c.mu.Unlock()
	if errType != "" && class == "" {
		class = errType
	}
	if c.span.IsRecording() {
		if errType != "" {
			c.span.SetAttributes(semconv.ErrorTypeKey.String(errType))
			c.span.SetStatus(codes.Error, class)
		}
	}
	c.span.End()
	if c.req.Method != string(mcpconv.MethodNameToolsCall) {
		return
	}
	log := c.t.log
	ms := took.Milliseconds()
	log.Info("call",
		"tool", c.req.Tool,
		"duration_ms", ms,
		"rows", rows,
		"bytes", bytes,
		"truncated", truncated != "",
		"principal", c.req.Principal,
		"error", class)
	if log.Enabled(ctx, slog.LevelDebug) {
		detail := ""
		if cerr != nil {
			detail = cerr.Error()
		} else if err != nil {
			detail = err.Error()
		}
		// The session id lets whoever holds it use the session: never at
		// Info, where logs are shipped and kept.
		log.Debug("call details",
			"tool", c.req.Tool,
			"session", c.req.Session,
			"transport", c.req.Transport,
			"protocol", c.req.Protocol,
			"statements", summaries,
			"truncation_reason", truncated,
			"error_detail", detail)
	}
}

func (c *Call) addSummary(s string) {
	c.mu.Lock()
	c.summaries = append(c.summaries, s)
	c.mu.Unlock()
}

// RecordSession records the duration of a session that has ended.
func (t *Telemetry) RecordSession(took time.Duration, transport, protocol string, err error) {
	ctx := context.Background()
	if !t.sessionDuration.Enabled(ctx) {
		return
	}
	a := []attribute.KeyValue{semconv.NetworkTransportKey.String(transport)}
	if protocol != "" {
		a = append(a, semconv.McpProtocolVersion(protocol))
	}
	if err != nil {
		a = append(a, semconv.ErrorTypeKey.String(string(mcpconv.ErrorTypeOther)))
	}
	t.sessionDuration.Inst().Record(ctx, took.Seconds(), metric.WithAttributes(a...))
}
