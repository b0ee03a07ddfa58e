package tools

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/pool"
	"github.com/dorismcp/doris/internal/query"
)

// testLimits are the deployment's defaults and maxima in these tests, the
// Server's own defaults.
var (
	testDefault = query.Limits{MaxRows: 100, MaxBytes: 1 << 20, Timeout: 30 * time.Second}
	testMax     = query.Limits{MaxRows: 10_000, MaxBytes: 16 << 20, Timeout: 300 * time.Second}
)

// testCatalog is the catalog on the database dsn, through the connection
// layer the Server uses, and on the FE HTTP API at feAddr when it is set.
// Its tools are called directly, without MCP or HTTP in between.
func testCatalog(t *testing.T, dsn, feAddr string) *catalog {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	p := pool.New(pool.Config{
		DSN: cfg, MaxOpen: 8, MaxIdle: 4, ConnMaxIdleTime: time.Minute, ConnMaxLifetime: time.Hour,
		IdleTimeout: time.Minute, Wait: 5 * time.Second, QueryTimeout: testDefault.Timeout, HealthInterval: time.Hour,
		Logger: log, Closed: context.Canceled,
	})
	t.Cleanup(func() { p.Close(context.Background()) })
	var fe *dorishttp.Client
	if feAddr != "" {
		if fe, err = dorishttp.New(dorishttp.Config{FEURL: "http://" + feAddr, User: cfg.User, Password: cfg.Passwd, Timeout: testDefault.Timeout}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fe.Close)
	}
	c := &catalog{
		cfg:  Config{Exec: p, Default: testDefault, Max: testMax, Logger: log, MaxStatement: 1 << 20, FEHTTP: fe},
		caps: newCapabilityCache(0),
	}
	if c.resultSchema, err = json.Marshal(resultSchema()); err != nil {
		t.Fatal(err)
	}
	if err := c.register(); err != nil {
		t.Fatal(err)
	}
	return c
}

// call calls the tool name with args: its result, or the message of its
// tool error.
func (c *catalog) call(t *testing.T, name string, args map[string]any) (result json.RawMessage, toolError string) {
	t.Helper()
	for _, e := range c.tools {
		if e.tool.Name != name {
			continue
		}
		b, err := json.Marshal(args)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.handler(context.Background(), &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: name, Arguments: b}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.IsError {
			return nil, res.Content[0].(*mcp.TextContent).Text
		}
		return res.StructuredContent.(json.RawMessage), ""
	}
	t.Fatalf("no tool %s", name)
	return nil, ""
}

// inputSchema is the input schema of the tool name, decoded into v.
func (c *catalog) inputSchema(t *testing.T, name string, v any) {
	t.Helper()
	for _, e := range c.tools {
		if e.tool.Name == name {
			if err := json.Unmarshal(e.tool.InputSchema.(json.RawMessage), v); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no tool %s", name)
}
