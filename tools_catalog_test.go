package doris_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/testdb"
)

// Resources and prompts through the go-sdk client: list, templates, read
// each template, get each prompt with and without arguments.
func TestResourcesAndPrompts(t *testing.T) {
	testdb.Parallel(t)
	dsn := testdb.DSN(t)
	for name, open := range map[string]func(t *testing.T) *mcp.ClientSession{
		"http-stateless": func(t *testing.T) *mcp.ClientSession {
			return connect(t, context.Background(), serveHTTP(t, newServer(t, dsn)).URL+"/mcp", nil, "")
		},
		"http-stateful": func(t *testing.T) *mcp.ClientSession {
			return connect(t, context.Background(), serveHTTP(t, newServer(t, dsn, doris.WithStatefulSessions(time.Minute))).URL+"/mcp", nil, "2025-11-25")
		},
		"stdio": func(t *testing.T) *mcp.ClientSession { return connectStdio(t, newServer(t, dsn)) },
	} {
		t.Run(name, func(t *testing.T) { testResourcesAndPrompts(t, open(t)) })
	}
}

func testResourcesAndPrompts(t *testing.T, cs *mcp.ClientSession) {
	ctx := context.Background()

	list, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range list.Resources {
		uris = append(uris, r.URI)
	}
	if diff := cmp.Diff([]string{
		"doris://stats/database", "doris://view/sample/customer_order_totals", "doris://table/sample/customers",
		"doris://table/sample/events", "doris://table/sample/order_items", "doris://table/sample/orders", "doris://table/sample/products",
	}, uris, cmpSorted); diff != "" || list.NextCursor != "" {
		t.Errorf("resources/list (-want +got):\n%s cursor %q", diff, list.NextCursor)
	}

	tmpls, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var templates []string
	for _, tm := range tmpls.ResourceTemplates {
		templates = append(templates, tm.URITemplate)
	}
	if diff := cmp.Diff([]string{"doris://table/{db}/{table}", "doris://view/{db}/{view}"}, templates, cmpSorted); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}

	read := func(uri string) map[string]any {
		t.Helper()
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(res.Contents[0].Text), &doc); err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		return doc
	}
	table := read("doris://table/sample/orders")
	wantIndexes := 3
	if !testdb.Real() {
		wantIndexes = 0 // Doris lists secondary indexes only; the sample has none
	}
	if ddl, _ := table["ddl"].(string); !strings.Contains(ddl, "CREATE TABLE") || len(table["columns"].([]any)) != 7 || len(table["indexes"].([]any)) != wantIndexes {
		t.Errorf("table resource: %v", table)
	}
	if c := table["columns"].([]any)[0].(map[string]any); c["name"] != "id" || c["comment"] != "Order ID" {
		t.Errorf("first column %v", c)
	}
	view := read("doris://view/sample/customer_order_totals")
	if ddl, _ := view["ddl"].(string); !strings.Contains(strings.ToUpper(ddl), "VIEW") || len(view["columns"].([]any)) != 4 {
		t.Errorf("view resource: %v", view)
	}
	stats := read("doris://stats/database")
	if stats["db"] != "sample" || len(stats["tables"].([]any)) != 6 {
		t.Errorf("stats resource: %v", stats)
	}
	for _, bad := range []string{"doris://table/sample/no_such_table", "doris://view/sample/orders", "doris://table/sample/x%60%3B%20DROP", "doris://table/sample/a/b"} {
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: bad}); err == nil {
			t.Errorf("%s: read succeeded", bad)
		}
	}
	// A table read as a view, or the reverse, is told the URI to read.
	for uri, want := range map[string]string{
		"doris://view/sample/orders":                 "sample.orders is a table; read doris://table/sample/orders",
		"doris://table/sample/customer_order_totals": "sample.customer_order_totals is a view; read doris://view/sample/customer_order_totals",
		"doris://table/sample/no_such_table":         "no table no_such_table in database sample",
	} {
		_, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		var je *jsonrpc.Error
		if !errors.As(err, &je) || je.Code != mcp.ResourceNotFoundError(uri).(*jsonrpc.Error).Code || !strings.Contains(je.Message, want) {
			t.Errorf("%s: %v, want resource not found saying %q", uri, err, want)
		}
	}

	pl, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pl.Prompts {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"data_quality_check", "performance_optimization", "real_time_monitoring", "report_generation",
		"sales_analysis", "user_behavior_analysis"}, names, cmpSorted); diff != "" {
		t.Errorf("prompts (-want +got):\n%s", diff)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var toolNames []string
	for _, tl := range tools.Tools {
		toolNames = append(toolNames, tl.Name)
	}
	for _, p := range pl.Prompts {
		for _, args := range []map[string]string{nil, argsFor(p)} {
			res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: p.Name, Arguments: args})
			if err != nil {
				t.Fatalf("%s %v: %v", p.Name, args, err)
			}
			text := res.Messages[0].Content.(*mcp.TextContent).Text
			steers := 0
			for _, tool := range toolNames {
				if strings.Contains(text, tool) {
					steers++
				}
			}
			if steers < 2 {
				t.Errorf("%s: names %d of the server's tools:\n%s", p.Name, steers, text)
			}
			for _, v := range args {
				if !strings.Contains(text, v) {
					t.Errorf("%s: argument %q not used:\n%s", p.Name, v, text)
				}
			}
		}
	}
	// Bad arguments are invalid params (-32602), saying what is wrong.
	for _, bad := range []struct {
		name string
		args map[string]string
		want string
	}{
		{"sales_analysis", map[string]string{"bogus": "x"}, `no argument "bogus"; it takes table_name, time_period, metrics`},
		{"user_behavior_analysis", map[string]string{"days": "abc"}, "days must be a whole number from 1 to 365"},
		{"performance_optimization", map[string]string{"days": "0"}, "from 1 to 30"},
		{"real_time_monitoring", map[string]string{"threshold_hours": "1e9"}, "from 1 to 8760"},
	} {
		_, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: bad.name, Arguments: bad.args})
		var je *jsonrpc.Error
		if !errors.As(err, &je) || je.Code != jsonrpc.CodeInvalidParams || !strings.Contains(je.Message, bad.want) {
			t.Errorf("%s %v: %v, want invalid params saying %q", bad.name, bad.args, err, bad.want)
		}
	}
	// Without arguments a plan still reads as a sentence.
	res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "data_quality_check"})
	if err != nil {
		t.Fatal(err)
	}
	if text := res.Messages[0].Content.(*mcp.TextContent).Text; !strings.Contains(text, "covering all of its columns") {
		t.Errorf("data_quality_check without arguments:\n%s", text)
	}
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func argsFor(p *mcp.Prompt) map[string]string {
	args := map[string]string{}
	for _, a := range p.Arguments {
		args[a.Name] = "value-of-" + a.Name
		if strings.Contains(a.Description, " 1 to ") { // a number of days or hours
			args[a.Name] = "7"
		}
	}
	return args
}

// resources/list pages through a database with more tables than a page.
func TestResourcePages(t *testing.T) {
	testdb.Parallel(t)
	sim := testdb.Sim(t, dorissim.Options{})
	db := openDB(t, sim.DSN(""))
	if _, err := db.Exec("CREATE DATABASE paged"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 230 {
		name := fmt.Sprintf("t_%03d", i)
		if _, err := db.Exec("CREATE TABLE paged." + name + " (id INT PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		want = append(want, "doris://table/paged/"+name)
	}
	ctx := context.Background()
	cs := connect(t, ctx, serveHTTP(t, newServer(t, sim.DSN("paged"))).URL+"/mcp", nil, "")
	var got []string
	pages := 0
	for r, err := range cs.Resources(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.URI)
	}
	var res *mcp.ListResourcesResult
	for params := (&mcp.ListResourcesParams{}); ; params.Cursor = res.NextCursor {
		var err error
		if res, err = cs.ListResources(ctx, params); err != nil {
			t.Fatal(err)
		}
		pages++
		if res.NextCursor == "" {
			break
		}
	}
	if diff := cmp.Diff(append([]string{"doris://stats/database"}, want...), got, cmpSorted); diff != "" {
		t.Errorf("all pages (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3 of at most 100", pages)
	}
}

// Without a default database resources/list has the summary resource only,
// and reading it says why it cannot answer.
func TestResourcesWithoutDefaultDB(t *testing.T) {
	testdb.Parallel(t)
	sim := testdb.Sim(t, dorissim.Options{})
	ctx := context.Background()
	cs := connect(t, ctx, serveHTTP(t, newServer(t, sim.DSN(""))).URL+"/mcp", nil, "")
	list, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Resources) != 1 || list.Resources[0].URI != "doris://stats/database" {
		t.Errorf("resources: %v", list.Resources)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "doris://stats/database"}); err == nil || !strings.Contains(err.Error(), "no default database") {
		t.Errorf("reading the summary without a default database: %v", err)
	}
	// A template names its database, so it still works.
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "doris://table/sample/orders"}); err != nil {
		t.Error(err)
	}
}
