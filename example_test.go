package doris_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/testdb"
)

// TestMain points the examples' DORIS_DSN at a Doris to query: the one in
// DORIS_TEST_DSN, or an in-process simulator of one.
func TestMain(m *testing.M) {
	if mode := os.Getenv(benchServeEnv); mode != "" {
		serveForBench(mode)
		return
	}
	testdb.DefaultParallel(8)
	// Whatever a test started must have ended by the end of the run:
	// every Server shut down, every client and simulator closed.
	before := goleak.IgnoreCurrent()
	dsn := os.Getenv("DORIS_TEST_DSN")
	var sim *dorissim.Server
	if dsn == "" {
		var err error
		if sim, err = dorissim.Start(dorissim.Options{}); err != nil {
			log.Fatal(err)
		}
		dsn = sim.DSN(dorissim.SampleDB)
	}
	os.Setenv("DORIS_DSN", dsn)
	code := m.Run()
	if sim != nil {
		sim.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(before); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left at the end of the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Mount the MCP endpoint on a mux, list the tools with the go-sdk client
// and run a query.
func Example() {
	// A go-sql-driver DSN such as reader:secret@tcp(fe:9030)/sample.
	srv, err := doris.New(doris.WithDSN(os.Getenv("DORIS_DSN")))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", srv.Handler())
	hs := httptest.NewServer(mux)
	defer hs.Close()

	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: hs.URL + "/mcp"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()

	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, t := range tools.Tools {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	fmt.Println(names)

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{
		Name:      "exec_query",
		Arguments: map[string]any{"sql": "SELECT id, city FROM customers ORDER BY id", "max_rows": 2},
	})
	if err != nil {
		log.Fatal(err)
	}
	printResult(res)

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// [analyze_columns analyze_data_access_patterns analyze_data_flow_dependencies analyze_resource_growth_curves analyze_slow_queries_topn analyze_table_storage exec_query get_catalog_list get_cluster_nodes get_db_list get_db_table_list get_memory_stats get_monitoring_metrics get_recent_audit_logs get_sql_explain get_sql_profile get_table_basic_info get_table_column_comments get_table_comment get_table_data_size get_table_indexes get_table_schema monitor_data_freshness trace_column_lineage]
	// columns: [id city]
	// rows: [[1,"Qingdao"],[2,"Qingdao"]]
	// truncated: true (row_limit)
}

func printResult(res *mcp.CallToolResult) {
	var r struct {
		Columns []struct{ Name string } `json:"columns"`
		Rows    []json.RawMessage       `json:"rows"`
		Trunc   bool                    `json:"truncated"`
		Reason  string                  `json:"truncation_reason"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	json.Unmarshal(b, &r)
	var cols []string
	for _, c := range r.Columns {
		cols = append(cols, c.Name)
	}
	rows, _ := json.Marshal(r.Rows)
	fmt.Println("columns:", cols)
	fmt.Println("rows:", string(rows))
	fmt.Printf("truncated: %v (%s)\n", r.Trunc, r.Reason)
}

// Serve MCP over a pair of pipes, as ServeStdio does over standard input and
// output for an agent binary.
func ExampleServer_ServeTransport() {
	srv, err := doris.New(doris.WithDSN(os.Getenv("DORIS_DSN")))
	if err != nil {
		log.Fatal(err)
	}

	clientR, serverW := io.Pipe()
	serverR, clientW := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- srv.ServeTransport(context.Background(), &mcp.IOTransport{Reader: serverR, Writer: serverW})
	}()

	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.IOTransport{Reader: clientR, Writer: clientW}, nil)
	if err != nil {
		log.Fatal(err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{
		Name:      "exec_query",
		Arguments: map[string]any{"sql": "SELECT COUNT(*) AS n FROM products WHERE price > 0"},
	})
	if err != nil {
		log.Fatal(err)
	}
	printResult(res)

	// Shutdown ends the session; ServeTransport reports ErrServerClosed.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fmt.Println("shutdown:", srv.Shutdown(sctx))
	fmt.Println("served:", <-served)
	cs.Close()
	// Output:
	// columns: [n]
	// rows: [[200]]
	// truncated: false ()
	// shutdown: <nil>
	// served: doris: server closed
}

// The host recipe: the host owns the signals and the http.Server. On
// SIGTERM it gives Shutdown a deadline; once Shutdown has returned nothing
// of value is left on the connections, so the http.Server gets a short
// bounded Shutdown, then Close: a client reconnecting at that moment must
// not hold the exit.
func ExampleServer_Shutdown() {
	srv, err := doris.New(doris.WithDSN(os.Getenv("DORIS_DSN")))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", srv.Handler())
	mux.Handle("/live", srv.LiveHandler())
	mux.Handle("/ready", srv.ReadyHandler())
	httpSrv := &http.Server{
		Addr:              ":8080",
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		if err := httpSrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
			stop()
		}
	}()
	<-ctx.Done()

	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	hctx, hcancel := context.WithTimeout(context.Background(), time.Second)
	defer hcancel()
	if httpSrv.Shutdown(hctx) != nil {
		httpSrv.Close()
	}
	if err != nil {
		log.Print(err)
	}
}

// bearer adds a bearer token to every request of a client.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// Static bearer tokens with scopes: a request without a token gets 401,
// and a token without the scope exec_query needs does not see that tool.
func ExampleWithBearerTokens() {
	srv, err := doris.New(
		doris.WithDSN(os.Getenv("DORIS_DSN")),
		doris.WithBearerTokens(
			doris.BearerToken{Token: "s3cret-token-of-the-dashboard", Name: "dashboard", Scopes: []string{"doris:read"}},
			// The secret can be given by its SHA-256 instead; this is the
			// digest of "s3cret-token-of-the-analyst".
			doris.BearerToken{Digest: "d463afe7c4cef53ad9ba42014828ff18877fecf8cb129d0869bd8ea7ffb9478c", Name: "analyst", Scopes: []string{"doris:read", "doris:query"}},
		),
		doris.WithToolScopes(map[string][]string{"exec_query": {"doris:query"}}),
	)
	if err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	resp, err := http.Post(hs.URL, "application/json", nil)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("no token:", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))

	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "dashboard", Version: "1"}, nil)
	tr := &mcp.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: &http.Client{Transport: bearer{"s3cret-token-of-the-dashboard"}}}
	cs, err := client.Connect(ctx, tr, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	canQuery := slices.ContainsFunc(tools.Tools, func(t *mcp.Tool) bool { return t.Name == "exec_query" })
	fmt.Println("dashboard sees exec_query:", canQuery)
	srv.Shutdown(ctx)
	// Output:
	// no token: 401 Bearer realm="doris-mcp"
	// dashboard sees exec_query: false
}

// JWTs from an issuer: here an Ed25519 key the example holds both halves
// of; in production the issuer's JWKSURL is usual. The tool sees who
// called through PrincipalFromContext.
func ExampleWithJWT() {
	issuerKey := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // the issuer's, never the server's
	srv, err := doris.New(
		doris.WithDSN(os.Getenv("DORIS_DSN")),
		doris.WithJWT(doris.JWTConfig{
			Issuer:     "https://idp.example.com",
			Audience:   "doris-mcp",
			Algorithms: []string{"EdDSA"},
			Keys:       map[string]any{"2026-12": issuerKey.Public()},
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "whoami"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		p, _ := doris.PrincipalFromContext(ctx)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: p.Name + " " + strings.Join(p.Scopes, ",")}}}, nil, nil
	})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	// What the issuer hands the agent.
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": "https://idp.example.com", "aud": "doris-mcp", "sub": "report-agent",
		"scope": "doris:read doris:query", "exp": time.Now().Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = "2026-12"
	signed, err := tok.SignedString(issuerKey)
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "report-agent", Version: "1"}, nil)
	tr := &mcp.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: &http.Client{Transport: bearer{signed}}}
	cs, err := client.Connect(ctx, tr, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	srv.Shutdown(ctx)
	// Output:
	// report-agent doris:read,doris:query
}
