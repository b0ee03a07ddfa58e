// Package tools is the MCP tool catalog: each tool's schemas, its SQL and
// the path of that SQL through the guard and the bounded query runtime.
//
// Some tools need Apache Doris itself (its catalogs, SHOW FRONTENDS), a
// release of it (trace ids from 2.1), or its HTTP API (profiles, table
// sizes, /metrics). What the backend offers is detected on first use and
// again after a TTL, and every tool stays listed: one the backend cannot
// serve answers with an error that says what is missing and how to get
// it, which a model can pass on, where a tool missing from the list would
// leave it guessing.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/envelope"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

// Config is what the tools need from the Server.
type Config struct {
	Exec query.Executor
	// Default holds the limits of a call that asks for none; Max the most a
	// call may ask for.
	Default, Max query.Limits
	// Mask applies to every data result unless Unmasked says the caller is
	// exempt.
	Mask     *query.Masker
	Unmasked func(ctx context.Context) bool
	Logger   *slog.Logger
	// MaxStatement bounds the bytes of SQL a caller may send; a longer
	// statement is refused before the guard reads it.
	MaxStatement int
	// Guard is how the read-only guard judges callers' SQL.
	Guard sqlguard.Options
	// Memory, when set, is the room the results of the call of ctx may
	// take in the Server's memory budget, charged as they grow; nil for
	// none.
	Memory func(ctx context.Context) query.Memory
	// Tracer, when set, observes every statement the tools send; Report
	// learns what each call returned.
	Tracer query.Tracer
	Report Reporter

	// FEHTTP reaches the FE's HTTP API and the BE webservers; nil when
	// the deployment configured no FE HTTP address, and the tools that
	// need it answer with an error saying how to configure it.
	FEHTTP *dorishttp.Client
	// BEConfigured says the BE webserver addresses were configured; when
	// false they are discovered from SHOW BACKENDS (Host, HttpPort) on
	// each call that needs them.
	BEConfigured bool
	// CapabilityTTL is how long what was detected about the backend is
	// trusted before it is detected again. Zero means one minute.
	CapabilityTTL time.Duration
	// Domains lists one tool per domain of the reference server's 1.0
	// release instead of every tool (see domains.go).
	Domains bool
	// MayCall reports whether the caller of ctx may call the tool of that
	// (flat) name; nil allows every call. A domain's children are checked
	// with it, since the scopes of a call name only its domain.
	MayCall func(ctx context.Context, tool string) bool
}

// Register adds the tools to s, flat or by domain, and returns the handler
// of each tool it listed, by name.
func Register(s *mcp.Server, cfg Config) (map[string]mcp.ToolHandler, error) {
	c := &catalog{cfg: cfg, caps: newCapabilityCache(cfg.CapabilityTTL)}
	// Encoded once, and each Server's own: the go-sdk would re-encode a
	// *jsonschema.Schema on every tools/list.
	out, err := json.Marshal(resultSchema())
	if err != nil {
		return nil, err
	}
	c.resultSchema = out
	if err := c.register(); err != nil {
		return nil, err
	}
	listed := make(map[string]mcp.ToolHandler)
	if cfg.Domains {
		c.registerDomains(s, listed)
	} else {
		for _, e := range c.tools {
			s.AddTool(e.tool, e.handler)
			listed[e.tool.Name] = e.handler
		}
	}
	c.registerResources(s)
	c.registerPrompts(s)
	return listed, nil
}

// entry is one tool of the catalog and the handler of its calls.
type entry struct {
	tool    *mcp.Tool
	handler mcp.ToolHandler
}

type catalog struct {
	cfg   Config
	tools []entry
	caps  *capabilityCache
	// resultSchema is the encoded output schema of every tool.
	resultSchema json.RawMessage
	// noTablesample is set once the server has refused TABLESAMPLE.
	noTablesample atomic.Bool
}

// resultSchema is the output schema of every tool: the result shape of
// package query. It is sent with every tool in tools/list, so it says only
// what a client cannot infer.
func resultSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:     "object",
		Required: []string{"columns", "rows", "row_count", "truncated", "elapsed_ms"},
		Properties: map[string]*jsonschema.Schema{
			"columns": {
				Type: "array",
				Items: &jsonschema.Schema{
					Type:       "object",
					Properties: map[string]*jsonschema.Schema{"name": {Type: "string"}, "type": {Type: "string"}},
				},
			},
			"rows": {
				Type:        "array",
				Description: "In column order; integers past 2^53 and DECIMALs as strings, binary as base64.",
				Items:       &jsonschema.Schema{Type: "array"},
			},
			"row_count":         {Type: "integer"},
			"truncated":         {Type: "boolean"},
			"truncation_reason": {Type: "string", Enum: []any{query.RowLimit, query.ByteLimit}},
			"elapsed_ms":        {Type: "integer"},
		},
	}
}

type toolFunc[In any] func(ctx context.Context, in In) (*query.Result, error)

// add registers a read-only tool whose arguments decode strictly into In
// and whose result is a query.Result. The result is encoded once and sent
// both as structured content and as its JSON text, for older clients.
func add[In any](c *catalog, name, title, desc string, run toolFunc[In]) error {
	log := c.cfg.Logger
	in, err := jsonschema.For[In](nil)
	if err != nil {
		return fmt.Errorf("tool %s: input schema: %w", name, err)
	}
	in.AdditionalProperties = &jsonschema.Schema{Not: &jsonschema.Schema{}}
	// An argument is of its type: the inferred ["null", T] of a Go slice
	// or pointer would tell a model that null will do.
	for _, p := range in.Properties {
		if len(p.Types) == 2 && p.Types[0] == "null" {
			p.Type, p.Types = p.Types[1], nil
		}
	}
	rules, err := argRules(reflect.TypeFor[In](), in,
		limitsOf(c.cfg.Default.MaxRows, c.cfg.Default.MaxBytes, c.cfg.Default.Timeout),
		limitsOf(c.cfg.Max.MaxRows, c.cfg.Max.MaxBytes, c.cfg.Max.Timeout))
	if err != nil {
		return fmt.Errorf("tool %s: %w", name, err)
	}
	// Encoded once: the go-sdk re-encodes a *jsonschema.Schema on every call.
	inJSON, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("tool %s: input schema: %w", name, err)
	}
	t := &mcp.Tool{
		Name:         name,
		Title:        title,
		Description:  desc,
		InputSchema:  json.RawMessage(inJSON),
		OutputSchema: c.resultSchema,
		Annotations:  &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)},
	}
	c.tools = append(c.tools, entry{t, func(ctx context.Context, req *mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		// The go-sdk does not recover handler panics; one bad value (a
		// host's mask function, say) must not take the process down.
		defer func() {
			if p := recover(); p != nil {
				res, err = errorResult(fmt.Errorf("internal error in %s: %v", name, p)), nil
				log.Error("tool panicked", "tool", name, "panic", p, "stack", string(debug.Stack()))
			}
		}()
		var args In
		if rules != nil {
			prepare(rules, reflect.ValueOf(&args).Elem())
		}
		if raw := req.Params.Arguments; len(raw) > 0 && string(raw) != "null" {
			if err := decodeArguments(raw, &args, in.Properties); err != nil {
				return errorResult(argumentError(err)), nil
			}
		}
		if rules != nil {
			if err := enforce(rules, reflect.ValueOf(&args).Elem()); err != nil {
				return errorResult(fmt.Errorf("invalid arguments: %w", err)), nil
			}
		}
		out, err := run(ctx, args)
		if err != nil {
			c.report(ctx, nil, 0, err)
			var ue *query.UnavailableError
			if errors.As(err, &ue) {
				// The caller learns that Doris is unavailable; the cause
				// (addresses, account names) is for the operator.
				log.Warn("doris unavailable", "tool", name, "err", ue.Cause)
			}
			return errorResult(err), nil
		}
		b := out.AppendJSON(nil)
		c.report(ctx, out, len(b), nil)
		return &mcp.CallToolResult{
			StructuredContent: json.RawMessage(b),
			// The same bytes, not a copy: b is never written again.
			Content: []mcp.Content{&mcp.TextContent{Text: unsafe.String(unsafe.SliceData(b), len(b))}},
		}, nil
	}})
	return nil
}

// decodeArguments decodes the arguments raw into args, refusing unknown
// ones. An object whose keys are all exactly names of the input schema's
// properties has nothing unknown, and is decoded directly; any other value
// goes through a decoder that refuses unknown fields (and matches the
// others regardless of case, as encoding/json does).
func decodeArguments(raw json.RawMessage, args any, properties map[string]*jsonschema.Schema) error {
	if envelope.Each(raw, func(k string, _ []byte) bool { return properties[k] != nil }) {
		return json.Unmarshal(raw, args)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(args)
}

// argumentError says what is wrong with a call's arguments in the terms of
// the tool's input schema, not of the Go types behind it.
func argumentError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("invalid arguments: %s must be %s, got %s", te.Field, jsonKind(te.Type), te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("invalid arguments: must be an object, got %s", te.Value)
	case errors.As(err, &se):
		return errors.New("invalid arguments: not valid JSON")
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("invalid arguments: unknown argument %s", field)
	}
	return errors.New("invalid arguments: not a JSON object of this tool's arguments")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list of " + strings.TrimPrefix(jsonKind(t.Elem()), "a ") + "s"
	}
	return "an object"
}

func errorResult(err error) *mcp.CallToolResult {
	r := &mcp.CallToolResult{}
	r.SetError(err)
	return r
}

// limits resolves a call's requested rows, bytes and timeout against the
// deployment: zero means the default, above the maximum is an error.
func (c *catalog) limits(maxRows, maxBytes, timeoutSeconds int) (query.Limits, error) {
	def, top := c.cfg.Default, c.cfg.Max
	rows, err := resolve("max_rows", maxRows, def.MaxRows, top.MaxRows)
	if err != nil {
		return def, err
	}
	bytes, err := resolve("max_bytes", maxBytes, def.MaxBytes, top.MaxBytes)
	if err != nil {
		return def, err
	}
	timeout := def.Timeout
	if timeoutSeconds != 0 {
		secs, err := resolve("timeout_seconds", timeoutSeconds, 0, int(top.Timeout/time.Second))
		if err != nil {
			return def, err
		}
		timeout = time.Duration(secs) * time.Second
	}
	return query.Limits{MaxRows: rows, MaxBytes: bytes, Timeout: timeout}, nil
}

// resolve is one limit of a call: def when not asked for (zero), an error
// when negative or above top.
func resolve(name string, asked, def, top int) (int, error) {
	switch {
	case asked < 0:
		return 0, fmt.Errorf("%s must be positive, got %d", name, asked)
	case asked > top:
		return 0, fmt.Errorf("%s %d exceeds this server's limit of %d", name, asked, top)
	case asked > 0:
		return asked, nil
	}
	return def, nil
}

// run checks stmt with the guard, whoever wrote it, and runs it through
// the bounded runtime.
func (c *catalog) run(ctx context.Context, db, stmt string, lim query.Limits, mask *query.Masker) (*query.Result, error) {
	st, err := c.check(stmt, true)
	if err != nil {
		return nil, err
	}
	return c.query(ctx, query.Request{Stmt: st, DB: db, Limits: lim, Mask: mask})
}

// query runs req within the Server's memory budget: its result is charged
// as it grows, and held until it is delivered.
func (c *catalog) query(ctx context.Context, req query.Request) (*query.Result, error) {
	return c.queryOn(ctx, c.cfg.Exec, req)
}

// queryOn is query through ex, which may set up the session first (see
// setupExec).
func (c *catalog) queryOn(ctx context.Context, ex query.Executor, req query.Request) (*query.Result, error) {
	req.Memory, req.Tracer = c.memory(ctx), c.cfg.Tracer
	return query.Run(ctx, ex, req)
}

// memory is the budget room of the call of ctx; nil without a budget.
func (c *catalog) memory(ctx context.Context) query.Memory {
	if c.cfg.Memory == nil {
		return nil
	}
	return c.cfg.Memory(ctx)
}

// check refuses a statement over the size limit before reading it, then
// has the guard read it. own marks a statement the library wrote itself
// from validated names, as opposed to a caller's SQL.
func (c *catalog) check(stmt string, own bool) (*sqlguard.Statement, error) {
	if c.cfg.MaxStatement > 0 && len(stmt) > c.cfg.MaxStatement {
		return nil, fmt.Errorf("sql is %d bytes; this server accepts statements of at most %d bytes", len(stmt), c.cfg.MaxStatement)
	}
	opts := c.cfg.Guard
	opts.Own = own
	return sqlguard.CheckWith(stmt, opts)
}

// mask is the masking of a data result for the caller of ctx. The
// library's metadata results are not masked: a database named crm_email
// would mask every table name listed under "Tables_in_crm_email".
func (c *catalog) mask(ctx context.Context) *query.Masker {
	if c.cfg.Unmasked != nil && c.cfg.Unmasked(ctx) {
		return nil
	}
	return c.cfg.Mask
}

// metaLimits bounds the library's own metadata statements.
func (c *catalog) metaLimits() query.Limits {
	l := c.cfg.Default
	l.MaxRows = c.cfg.Max.MaxRows
	return l
}
