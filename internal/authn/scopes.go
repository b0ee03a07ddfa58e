package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ToolScopes checks and copies the scopes each tool needs, as a host
// configures them.
func ToolScopes(scopes map[string][]string) (map[string][]string, error) {
	m := make(map[string][]string, len(scopes))
	for tool, ss := range scopes {
		if tool == "" {
			return nil, errors.New("empty tool name")
		}
		for _, s := range ss {
			if s == "" || strings.ContainsAny(s, " \t\"\\") {
				return nil, fmt.Errorf("tool %s: malformed scope %q", tool, s)
			}
		}
		m[tool] = slices.Clone(ss)
	}
	return m, nil
}

// Mirror names the tools whose data each resource, resource template and
// prompt gives, so that a principal may list and use it only if it may
// call every one of those tools. A nil func, or an empty answer, mirrors
// no tool: what is not named needs no scope, as for tools.
type Mirror struct {
	// Resource names the tools for the resource at uri; listed is true
	// for an entry of resources/list, which may say more (the names of
	// the tables there are, say) than reading the resource.
	Resource func(uri string, listed bool) []string
	Template func(uriTemplate string) []string
	Prompt   func(name string) []string
}

// A Policy says what an authenticated principal may use: the scopes each
// tool needs, and through a Mirror, each resource and prompt.
type Policy struct {
	tools  map[string][]string
	mirror Mirror
	log    *slog.Logger
}

// NewPolicy returns the policy of the scopes by tool (as checked by
// [ToolScopes]) and mirror.
func NewPolicy(tools map[string][]string, mirror Mirror, log *slog.Logger) *Policy {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	none := func(string) []string { return nil }
	if mirror.Resource == nil {
		mirror.Resource = func(string, bool) []string { return nil }
	}
	if mirror.Template == nil {
		mirror.Template = none
	}
	if mirror.Prompt == nil {
		mirror.Prompt = none
	}
	return &Policy{tools: tools, mirror: mirror, log: log}
}

// Scoped reports whether any tool needs a scope.
func (p *Policy) Scoped() bool { return len(p.tools) > 0 }

// Missing lists, once each, the scopes the tools need that granted lacks.
func (p *Policy) Missing(granted []string, tools ...string) []string {
	var missing []string
	for _, tool := range tools {
		for _, s := range p.tools[tool] {
			if !slices.Contains(granted, s) && !slices.Contains(missing, s) {
				missing = append(missing, s)
			}
		}
	}
	return missing
}

// Refused lists the scopes missing for the tools called by the
// authenticated request of ctx, for an HTTP gate to refuse it before the
// MCP layer. It can only refuse: Enforce decides what it cannot read.
func (p *Policy) Refused(ctx context.Context, tools []string) []string {
	if !p.Scoped() || len(tools) == 0 {
		return nil
	}
	ti := auth.TokenInfoFromContext(ctx)
	if ti == nil {
		return nil
	}
	return p.Missing(ti.Scopes, tools...)
}

// codeRefused is the JSON-RPC error code of a resource read or prompt
// refused for a missing scope (the implementation-defined server range
// of JSON-RPC 2.0).
const codeRefused = -32000

// Enforce serves an MCP request of the principal who, granted the scopes
// granted, through next: it refuses the tools, resources and prompts the
// principal may not use, leaves them out of the lists it gets, and marks
// every cacheable result private, since what it holds depends on who
// asked.
func (p *Policy) Enforce(ctx context.Context, who string, granted []string, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	if p.Scoped() {
		var kind, name string
		var missing []string
		switch r := req.(type) {
		case *mcp.CallToolRequest:
			if r.Params != nil {
				kind, name = "tool", r.Params.Name
				missing = p.Missing(granted, name)
			}
		case *mcp.ReadResourceRequest:
			if r.Params != nil {
				kind, name = "resource", r.Params.URI
				missing = p.Missing(granted, p.mirror.Resource(name, false)...)
			}
		case *mcp.GetPromptRequest:
			if r.Params != nil {
				kind, name = "prompt", r.Params.Name
				missing = p.Missing(granted, p.mirror.Prompt(name)...)
			}
		}
		if len(missing) > 0 {
			p.log.Info("request refused: missing scope", "principal", who, kind, name, "missing", missing)
			msg := fmt.Sprintf("insufficient scope: %s %s needs scope %s", kind, name, strings.Join(missing, " "))
			if kind == "tool" {
				return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}, nil
			}
			return nil, &jsonrpc.Error{Code: codeRefused, Message: msg}
		}
	}
	res, err := next(ctx, method, req)
	if err != nil {
		return res, err
	}
	return p.private(granted, res), nil
}

// private returns a copy of res, a result for the principal granted the
// scopes granted: lists without what it may not use, and marked for
// private caching. Results of other kinds are returned as they are.
func (p *Policy) private(granted []string, res mcp.Result) mcp.Result {
	allowed := func(tools []string) bool { return len(p.Missing(granted, tools...)) == 0 }
	switch r := res.(type) {
	case *mcp.ListToolsResult:
		cp := *r
		if p.Scoped() {
			cp.Tools = slices.DeleteFunc(slices.Clone(r.Tools), func(t *mcp.Tool) bool { return !allowed([]string{t.Name}) })
		}
		cp.CacheScope = "private"
		return &cp
	case *mcp.ListResourcesResult:
		cp := *r
		if p.Scoped() {
			cp.Resources = slices.DeleteFunc(slices.Clone(r.Resources), func(res *mcp.Resource) bool {
				return !allowed(p.mirror.Resource(res.URI, true))
			})
		}
		cp.CacheScope = "private"
		return &cp
	case *mcp.ListResourceTemplatesResult:
		cp := *r
		if p.Scoped() {
			cp.ResourceTemplates = slices.DeleteFunc(slices.Clone(r.ResourceTemplates), func(t *mcp.ResourceTemplate) bool {
				return !allowed(p.mirror.Template(t.URITemplate))
			})
		}
		cp.CacheScope = "private"
		return &cp
	case *mcp.ListPromptsResult:
		cp := *r
		if p.Scoped() {
			cp.Prompts = slices.DeleteFunc(slices.Clone(r.Prompts), func(pr *mcp.Prompt) bool {
				return !allowed(p.mirror.Prompt(pr.Name))
			})
		}
		cp.CacheScope = "private"
		return &cp
	case *mcp.ReadResourceResult:
		cp := *r
		cp.CacheScope = "private"
		return &cp
	}
	return res
}
