package authn_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/authn"
)

// testPolicy: get_table_schema needs "schema", exec_query "query" and
// "schema"; doris://table/… mirrors get_table_schema, the prompt "dump"
// exec_query.
func testPolicy(t *testing.T) *authn.Policy {
	t.Helper()
	scopes, err := authn.ToolScopes(map[string][]string{"get_table_schema": {"schema"}, "exec_query": {"query", "schema"}})
	if err != nil {
		t.Fatal(err)
	}
	return authn.NewPolicy(scopes, authn.Mirror{
		Resource: func(uri string, listed bool) []string {
			if strings.HasPrefix(uri, "doris://table/") {
				return []string{"get_table_schema"}
			}
			return nil
		},
		Template: func(tpl string) []string {
			if strings.HasPrefix(tpl, "doris://table/") {
				return []string{"get_table_schema"}
			}
			return nil
		},
		Prompt: func(name string) []string {
			if name == "dump" {
				return []string{"exec_query"}
			}
			return nil
		},
	}, nil)
}

// answer is a handler that answers every list with two entries, one of
// them scoped, and records what reached it.
type answer struct{ reached []string }

func (a *answer) handle(_ context.Context, method string, _ mcp.Request) (mcp.Result, error) {
	a.reached = append(a.reached, method)
	switch method {
	case "tools/list":
		return &mcp.ListToolsResult{Tools: []*mcp.Tool{{Name: "get_db_list"}, {Name: "get_table_schema"}}}, nil
	case "resources/list":
		return &mcp.ListResourcesResult{Resources: []*mcp.Resource{{URI: "doris://stats/database"}, {URI: "doris://table/db/t"}}}, nil
	case "resources/templates/list":
		return &mcp.ListResourceTemplatesResult{ResourceTemplates: []*mcp.ResourceTemplate{{URITemplate: "doris://table/{db}/{table}"}, {URITemplate: "file:///{path}"}}}, nil
	case "prompts/list":
		return &mcp.ListPromptsResult{Prompts: []*mcp.Prompt{{Name: "plan"}, {Name: "dump"}}}, nil
	case "resources/read":
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: "x"}}}, nil
	case "prompts/get":
		return &mcp.GetPromptResult{}, nil
	case "tools/call":
		return &mcp.CallToolResult{}, nil
	}
	return nil, errors.New("unexpected method " + method)
}

// names lists what a list result holds, and its cache scope.
func names(t *testing.T, res mcp.Result) ([]string, string) {
	t.Helper()
	var out []string
	switch r := res.(type) {
	case *mcp.ListToolsResult:
		for _, x := range r.Tools {
			out = append(out, x.Name)
		}
		return out, r.CacheScope
	case *mcp.ListResourcesResult:
		for _, x := range r.Resources {
			out = append(out, x.URI)
		}
		return out, r.CacheScope
	case *mcp.ListResourceTemplatesResult:
		for _, x := range r.ResourceTemplates {
			out = append(out, x.URITemplate)
		}
		return out, r.CacheScope
	case *mcp.ListPromptsResult:
		for _, x := range r.Prompts {
			out = append(out, x.Name)
		}
		return out, r.CacheScope
	case *mcp.ReadResourceResult:
		return nil, r.CacheScope
	}
	t.Fatalf("unexpected result %T", res)
	return nil, ""
}

// TestPolicyLists: a principal sees in every list only what it may use,
// and every list is marked private, whatever its scopes.
func TestPolicyLists(t *testing.T) {
	p := testPolicy(t)
	full := map[string][]string{
		"tools/list":               {"get_db_list", "get_table_schema"},
		"resources/list":           {"doris://stats/database", "doris://table/db/t"},
		"resources/templates/list": {"doris://table/{db}/{table}", "file:///{path}"},
		"prompts/list":             {"plan", "dump"},
	}
	reduced := map[string][]string{
		"tools/list":               {"get_db_list"},
		"resources/list":           {"doris://stats/database"},
		"resources/templates/list": {"file:///{path}"},
		"prompts/list":             {"plan"},
	}
	for method := range full {
		for _, tc := range []struct {
			granted []string
			want    []string
		}{
			{[]string{"query", "schema"}, full[method]},
			{[]string{"query"}, reduced[method]},
		} {
			var next answer
			res, err := p.Enforce(context.Background(), "who", tc.granted, method, nil, next.handle)
			if err != nil {
				t.Fatalf("%s: %v", method, err)
			}
			got, scope := names(t, res)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s with %v (-want +got):\n%s", method, tc.granted, diff)
			}
			if scope != "private" {
				t.Errorf("%s: cacheScope %q", method, scope)
			}
		}
	}
}

// TestPolicyRefuses: a call, a read or a prompt the principal may not use
// never reaches the handler, and the refusal names the missing scope.
func TestPolicyRefuses(t *testing.T) {
	p := testPolicy(t)
	granted := []string{"query"}
	for _, tc := range []struct {
		req  mcp.Request
		want string
	}{
		{&mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "exec_query"}}, "tool exec_query needs scope schema"},
		{&mcp.ReadResourceRequest{Params: &mcp.ReadResourceParams{URI: "doris://table/db/t"}}, "resource doris://table/db/t needs scope schema"},
		{&mcp.GetPromptRequest{Params: &mcp.GetPromptParams{Name: "dump"}}, "prompt dump needs scope schema"},
	} {
		var next answer
		res, err := p.Enforce(context.Background(), "who", granted, "", tc.req, next.handle)
		if len(next.reached) > 0 {
			t.Errorf("%T reached the handler", tc.req)
		}
		var msg string
		var je *jsonrpc.Error
		switch {
		case errors.As(err, &je):
			msg = je.Message
		case res != nil:
			cr := res.(*mcp.CallToolResult)
			if !cr.IsError {
				t.Errorf("tool refusal is not a tool error")
			}
			msg = cr.Content[0].(*mcp.TextContent).Text
		}
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%T: %q, want %q", tc.req, msg, tc.want)
		}
	}
	// What is allowed, or mirrors nothing, passes, marked private.
	for method, req := range map[string]mcp.Request{
		"resources/read": &mcp.ReadResourceRequest{Params: &mcp.ReadResourceParams{URI: "doris://stats/database"}},
		"prompts/get":    &mcp.GetPromptRequest{Params: &mcp.GetPromptParams{Name: "plan"}},
		"tools/call":     &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "get_db_list"}},
	} {
		var next answer
		res, err := p.Enforce(context.Background(), "who", granted, method, req, next.handle)
		if err != nil || len(next.reached) != 1 {
			t.Errorf("%s: %v, reached %v", method, err, next.reached)
		}
		if rr, ok := res.(*mcp.ReadResourceResult); ok && rr.CacheScope != "private" {
			t.Errorf("resources/read: cacheScope %q", rr.CacheScope)
		}
	}
}

// TestPolicyUnscoped: with no tool scoped, nothing is filtered or refused,
// and results are still private.
func TestPolicyUnscoped(t *testing.T) {
	p := authn.NewPolicy(nil, authn.Mirror{}, nil)
	var next answer
	res, err := p.Enforce(context.Background(), "who", nil, "resources/list", nil, next.handle)
	if err != nil {
		t.Fatal(err)
	}
	if got, scope := names(t, res); len(got) != 2 || scope != "private" {
		t.Errorf("%v, %q", got, scope)
	}
	if got := p.Refused(tokenContext(t, &auth.TokenInfo{}), []string{"exec_query"}); got != nil {
		t.Errorf("Refused = %v", got)
	}
}

func TestPolicyMissing(t *testing.T) {
	p := testPolicy(t)
	if got := p.Missing(nil, "exec_query", "get_table_schema", "get_db_list"); !slices.Equal(got, []string{"query", "schema"}) {
		t.Errorf("Missing = %v, want each scope once", got)
	}
	ctx := tokenContext(t, &auth.TokenInfo{Scopes: []string{"schema"}})
	if got := p.Refused(ctx, []string{"exec_query", "get_table_schema"}); !slices.Equal(got, []string{"query"}) {
		t.Errorf("Refused = %v", got)
	}
	if got := p.Refused(context.Background(), []string{"exec_query"}); got != nil {
		t.Errorf("Refused without a token = %v", got)
	}
	for _, bad := range []map[string][]string{{"": {"a"}}, {"t": {""}}, {"t": {"a b"}}, {"t": {`a"`}}} {
		if _, err := authn.ToolScopes(bad); err == nil {
			t.Errorf("ToolScopes(%v) accepted", bad)
		}
	}
}
