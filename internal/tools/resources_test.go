package tools

import (
	"context"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMirroredTools: every resource template and resource the catalog
// serves mirrors tools, and only tools the catalog registers, so a
// misspelt name cannot leave a resource open to callers the tool refuses.
func TestMirroredTools(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	names, err := Register(s, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := s.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	known := func(what string, tools []string) {
		t.Helper()
		if len(tools) == 0 {
			t.Errorf("%s mirrors no tool", what)
		}
		for _, tool := range tools {
			if names[tool] == nil {
				t.Errorf("%s mirrors %q, which is not a registered tool", what, tool)
			}
		}
	}
	templates, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(templates.ResourceTemplates) != 2 {
		t.Errorf("%d templates, want 2", len(templates.ResourceTemplates))
	}
	for _, tpl := range templates.ResourceTemplates {
		known(tpl.URITemplate, TemplateTools(tpl.URITemplate))
		if !slices.Contains(TemplateTools(tpl.URITemplate), "get_table_schema") {
			t.Errorf("%s does not mirror get_table_schema", tpl.URITemplate)
		}
	}
	for _, uri := range []string{statsURI, "doris://table/sample/orders", "doris://view/sample/v"} {
		read, listed := ResourceTools(uri, false), ResourceTools(uri, true)
		known(uri, read)
		known(uri+" listed", listed)
		for _, tool := range read {
			if !slices.Contains(listed, tool) {
				t.Errorf("%s: listing it needs less (%v) than reading it (%v)", uri, listed, read)
			}
		}
		if uri != statsURI && !slices.Contains(listed, "get_db_table_list") {
			t.Errorf("%s: its resources/list entry does not mirror get_db_table_list", uri)
		}
	}
	if got := ResourceTools("file:///etc/passwd", false); got != nil {
		t.Errorf("a resource the catalog does not serve mirrors %v", got)
	}
}
