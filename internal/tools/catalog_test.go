package tools

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/pool"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/testdb"
)

// testLimits are the deployment's defaults and maxima in these tests, the
// Server's own defaults.
var (
	testDefault = query.Limits{MaxRows: 100, MaxBytes: 1 << 20, Timeout: 30 * time.Second}
	testMax     = query.Limits{MaxRows: 10_000, MaxBytes: 16 << 20, Timeout: 300 * time.Second}
)

// setup is what a test catalog is built from; options change it.
type setup struct {
	pool pool.Config
	// fe is the FE HTTP API's configuration; FEURL empty: none.
	fe      dorishttp.Config
	catalog Config
}

// An option changes a test catalog's setup.
type option func(*setup)

// withFE gives the catalog the FE HTTP API at addr (host:port), reached
// with the DSN's account.
func withFE(addr string) option { return func(s *setup) { s.fe.FEURL = "http://" + addr } }

// withBEs configures the BE webservers instead of finding them.
func withBEs(addrs ...string) option {
	return func(s *setup) { s.fe.Backends, s.catalog.BEConfigured = addrs, true }
}

// withPoolSize bounds the connections to Doris.
func withPoolSize(n int) option { return func(s *setup) { s.pool.MaxOpen, s.pool.MaxIdle = n, n } }

// testCatalog is the catalog on the database dsn, through the connection
// layer the Server uses, changed by opts. Its tools are called directly,
// without MCP or HTTP in between.
func testCatalog(t testing.TB, dsn string, opts ...option) *catalog {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	st := setup{
		pool: pool.Config{
			DSN: cfg, MaxOpen: 8, MaxIdle: 4, ConnMaxIdleTime: time.Minute, ConnMaxLifetime: time.Hour,
			IdleTimeout: time.Minute, Wait: 5 * time.Second, QueryTimeout: testDefault.Timeout, HealthInterval: time.Hour,
			Logger: log, Closed: context.Canceled,
		},
		fe:      dorishttp.Config{User: cfg.User, Password: cfg.Passwd, Timeout: testDefault.Timeout},
		catalog: Config{Default: testDefault, Max: testMax, Logger: log, MaxStatement: 1 << 20},
	}
	for _, o := range opts {
		o(&st)
	}
	p := pool.New(st.pool)
	t.Cleanup(func() { p.Close(context.Background()) })
	st.catalog.Exec = p
	if st.fe.FEURL != "" {
		if st.catalog.FEHTTP, err = dorishttp.New(st.fe); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.catalog.FEHTTP.Close)
	}
	c := &catalog{cfg: st.catalog, caps: newCapabilityCache(0)}
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
func (c *catalog) call(t testing.TB, name string, args map[string]any) (result json.RawMessage, toolError string) {
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

// session is a catalog as the moved end-to-end tests call it: call and
// mustCall take it where they took an MCP client session.
type session struct {
	t testing.TB
	c *catalog
}

// defaultMasks are rules like the Server's defaults, for the tests that
// expect a masked caller.
var defaultMasks = query.NewMasker([]query.MaskRule{
	{Columns: regexp.MustCompile("(?i)phone|mobile"), Mask: func(string) string { return "***" }},
	{Columns: regexp.MustCompile("(?i)email"), Mask: func(string) string { return "***" }},
	{Columns: regexp.MustCompile("(?i)id_card|identity"), Mask: func(string) string { return "***" }},
})

// newSession is the catalog on dsn with default masking, changed by opts.
func newSession(t testing.TB, dsn string, opts ...option) *session {
	t.Helper()
	masked := func(s *setup) { s.catalog.Mask = defaultMasks }
	return &session{t, testCatalog(t, dsn, append([]option{masked}, opts...)...)}
}

// simSession is newSession on a fresh simulator of version, which it
// returns too.
func simSession(t *testing.T, version string, opts ...option) (*session, *dorissim.Server) {
	t.Helper()
	sim := testdb.Sim(t, dorissim.Options{Version: version})
	return newSession(t, sim.DSN(dorissim.SampleDB), opts...), sim
}

// withMask replaces the mask rules by one.
func withMask(columns string, mask func(string) string) option {
	return func(s *setup) {
		s.catalog.Mask = query.NewMasker([]query.MaskRule{{Columns: regexp.MustCompile("(?i)" + columns), Mask: mask}})
	}
}

// unmaskedAll makes every caller exempt from masking.
func unmaskedAll(s *setup) { s.catalog.Unmasked = func(context.Context) bool { return true } }

// withLimits sets the deployment's defaults and maxima.
// The connection layer's detection and the FE HTTP requests are bounded
// by the default time, as the Server bounds them.
func withLimits(def, max query.Limits) option {
	return func(s *setup) {
		s.catalog.Default, s.catalog.Max = def, max
		s.pool.QueryTimeout, s.fe.Timeout = def.Timeout, def.Timeout
	}
}

// result is the structured content of a tool result.
type result = testdb.Result

// call runs a tool and returns its decoded result, or the text of its
// error result. The error is always nil: there is no transport to fail.
func call(_ context.Context, cs *session, tool string, args map[string]any) (*result, string, error) {
	raw, msg := cs.c.call(cs.t, tool, args)
	if msg != "" {
		return nil, msg, nil
	}
	var r result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, "", fmt.Errorf("decoding %s: %w", raw, err)
	}
	return &r, "", nil
}

// mustCall is call for calls that must succeed.
func mustCall(t testing.TB, ctx context.Context, cs *session, tool string, args map[string]any) *result {
	t.Helper()
	r, toolErr, err := call(ctx, cs, tool, args)
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	if toolErr != "" {
		t.Fatalf("%s %v: tool error: %s", tool, args, toolErr)
	}
	return r
}

// openDB opens dsn with the driver, closed when the test ends.
func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// hasRow reports whether some row of r has want in column col.
func hasRow(r *result, col int, want string) bool {
	for _, row := range r.Rows {
		if s, ok := row[col].(string); ok && s == want {
			return true
		}
	}
	return false
}
