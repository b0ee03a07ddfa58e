// Package tools is the MCP tool catalog: each tool's schemas, its SQL and
// the path of that SQL through the guard and the bounded query runtime.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

// Config is what the tools need from the Server.
type Config struct {
	Exec query.Executor
	// Default holds the limits of a call that asks for none; Max the most a
	// call may ask for.
	Default, Max query.Limits
	// Mask applies to every result unless Unmasked says the caller is exempt.
	Mask     *query.Masker
	Unmasked func(ctx context.Context) bool
}

// Register adds every tool to s.
func Register(s *mcp.Server, cfg Config) error {
	c := &catalog{cfg: cfg}
	return c.register(s)
}

type catalog struct {
	cfg Config
}

// resultSchema is the output schema shared by every tool: the result shape
// of package query.
var resultSchema = &jsonschema.Schema{
	Type:     "object",
	Required: []string{"columns", "rows", "row_count", "truncated", "elapsed_ms"},
	Properties: map[string]*jsonschema.Schema{
		"columns": {
			Type:        "array",
			Description: "Result columns in order, with the database's type name.",
			Items: &jsonschema.Schema{
				Type:     "object",
				Required: []string{"name", "type"},
				Properties: map[string]*jsonschema.Schema{
					"name": {Type: "string"},
					"type": {Type: "string"},
				},
			},
		},
		"rows": {
			Type: "array",
			Description: "Rows as arrays in column order. NULL is null; integers beyond 2^53 and DECIMAL " +
				"values are strings so no digit is lost; binary values are base64.",
			Items: &jsonschema.Schema{Type: "array"},
		},
		"row_count":         {Type: "integer", Description: "Number of rows returned."},
		"truncated":         {Type: "boolean", Description: "True when more rows existed than were returned."},
		"truncation_reason": {Type: "string", Enum: []any{query.RowLimit, query.ByteLimit}, Description: "Which limit cut the result."},
		"elapsed_ms":        {Type: "integer", Description: "Time the statement took, in milliseconds."},
	},
}

type toolFunc[In any] func(ctx context.Context, in In) (*query.Result, error)

// add registers a read-only tool whose arguments decode strictly into In
// and whose result is a query.Result. The result is encoded once and sent
// both as structured content and as its JSON text, for older clients.
func add[In any](s *mcp.Server, name, title, desc string, run toolFunc[In]) error {
	in, err := jsonschema.For[In](nil)
	if err != nil {
		return fmt.Errorf("tool %s: input schema: %w", name, err)
	}
	in.AdditionalProperties = &jsonschema.Schema{Not: &jsonschema.Schema{}}
	t := &mcp.Tool{
		Name:         name,
		Title:        title,
		Description:  desc,
		InputSchema:  in,
		OutputSchema: resultSchema,
		Annotations:  &mcp.ToolAnnotations{Title: title, ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)},
	}
	s.AddTool(t, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args In
		if raw := req.Params.Arguments; len(raw) > 0 && string(raw) != "null" {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&args); err != nil {
				return errorResult(fmt.Errorf("invalid arguments: %w", err)), nil
			}
		}
		res, err := run(ctx, args)
		if err != nil {
			return errorResult(err), nil
		}
		b, err := json.Marshal(res)
		if err != nil {
			return errorResult(err), nil
		}
		return &mcp.CallToolResult{
			StructuredContent: json.RawMessage(b),
			Content:           []mcp.Content{&mcp.TextContent{Text: string(b)}},
		}, nil
	})
	return nil
}

func errorResult(err error) *mcp.CallToolResult {
	r := &mcp.CallToolResult{}
	r.SetError(err)
	return r
}

// limits resolves a call's requested rows, bytes and timeout against the
// deployment: zero means the default, above the maximum is an error.
func (c *catalog) limits(maxRows, maxBytes, timeoutSeconds int) (query.Limits, error) {
	l := c.cfg.Default
	switch {
	case maxRows < 0:
		return l, fmt.Errorf("max_rows must be positive, got %d", maxRows)
	case maxRows > c.cfg.Max.MaxRows:
		return l, fmt.Errorf("max_rows %d exceeds this server's limit of %d", maxRows, c.cfg.Max.MaxRows)
	case maxRows > 0:
		l.MaxRows = maxRows
	}
	switch {
	case maxBytes < 0:
		return l, fmt.Errorf("max_bytes must be positive, got %d", maxBytes)
	case maxBytes > c.cfg.Max.MaxBytes:
		return l, fmt.Errorf("max_bytes %d exceeds this server's limit of %d", maxBytes, c.cfg.Max.MaxBytes)
	case maxBytes > 0:
		l.MaxBytes = maxBytes
	}
	d := time.Duration(timeoutSeconds) * time.Second
	switch {
	case timeoutSeconds < 0:
		return l, fmt.Errorf("timeout_seconds must be positive, got %d", timeoutSeconds)
	case d > c.cfg.Max.Timeout:
		return l, fmt.Errorf("timeout_seconds %d exceeds this server's limit of %v", timeoutSeconds, c.cfg.Max.Timeout)
	case timeoutSeconds > 0:
		l.Timeout = d
	}
	return l, nil
}

// run checks stmt with the guard, whoever wrote it, and runs it through
// the bounded runtime with the caller's masking.
func (c *catalog) run(ctx context.Context, db, stmt string, lim query.Limits) (*query.Result, error) {
	st, err := sqlguard.Check(stmt)
	if err != nil {
		return nil, err
	}
	mask := c.cfg.Mask
	if c.cfg.Unmasked != nil && c.cfg.Unmasked(ctx) {
		mask = nil
	}
	return query.Run(ctx, c.cfg.Exec, query.Request{Stmt: st, DB: db, Limits: lim, Mask: mask})
}

// metaLimits bounds the library's own metadata statements.
func (c *catalog) metaLimits() query.Limits {
	l := c.cfg.Default
	l.MaxRows = c.cfg.Max.MaxRows
	return l
}
