package doris_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"
)

// The benchmarks compare the library's MCP path (go-sdk client over real
// HTTP to Server.Handler, exec_query, the bounded runtime and the pool)
// with the plain driver doing the same work in the same run: database/sql
// and go-sql-driver/mysql on the same DSN, scanning the rows and encoding
// them as JSON. Like the tests they run against the simulator, or against
// a real server when DORIS_TEST_DSN is set:
//
//	go test -run '^$' -bench . -benchmem
//	DORIS_TEST_DSN=… go test -run '^$' -bench . -benchmem
//
// The raw variant of each pair reports the MCP/raw ratio as a metric; with
// -v each benchmark also logs whether its targets are met. To see where the
// MCP path spends its time, profile the concurrent variant:
//
//	go test -run '^$' -bench 'ToolCall/c=16/mcp' -benchmem -benchtime 5s \
//		-cpuprofile cpu.out -memprofile mem.out -o doris.test
//	go tool pprof -top -cum doris.test cpu.out

// benchSmallQuery returns ten rows of four columns of the sample data.
const benchSmallQuery = "SELECT id, name, city, created_at FROM customers ORDER BY id LIMIT 10"

// benchLargeQuery would return a million rows without the limits.
const benchLargeQuery = "SELECT * FROM seq_1_to_1000000"

// benchWideQuery has rows of about 220 bytes, so 10,000 of them exceed the
// default byte limit of 1 MiB: the byte limit, not the row limit, ends it.
const benchWideQuery = "SELECT seq, REPEAT('x', 200) AS pad FROM seq_1_to_1000000"

// benchConcurrency is the number of concurrent callers of the parallel
// variant of BenchmarkToolCall.
const benchConcurrency = 16

// benchFixture is one Server on HTTP with client sessions, and a plain
// driver pool beside it, both on the same backend.
type benchFixture struct {
	sessions []*mcp.ClientSession
	// bare are sessions on a plain go-sdk server with the same query as an
	// mcp.AddTool handler: what an embedder would write without the library.
	bare []*mcp.ClientSession
	db   *sql.DB
	// nsPerOp records the last round of each sub-benchmark, for the ratios.
	mu      sync.Mutex
	nsPerOp map[string]float64
}

// newBenchFixture starts a Server with a pool large enough for
// benchConcurrency callers, mounts it on httptest and connects n client
// sessions over one keep-alive HTTP transport; the driver pool gets the same
// size. Logs are discarded: logging to the benchmark would be measured.
func newBenchFixture(b *testing.B, n int, opts ...doris.Option) *benchFixture {
	b.Helper()
	dsn := testdb.DSN(b)
	opts = append([]doris.Option{
		doris.WithLogger(slog.New(slog.DiscardHandler)),
		doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 2 * benchConcurrency, MaxIdle: 2 * benchConcurrency}),
	}, opts...)
	srv := newServer(b, dsn, opts...)
	hs := serveHTTP(b, srv)
	tr := &http.Transport{MaxIdleConns: 4 * n, MaxIdleConnsPerHost: 4 * n, IdleConnTimeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	f := &benchFixture{nsPerOp: map[string]float64{}}
	for range n {
		f.sessions = append(f.sessions, connect(b, context.Background(), hs.URL+"/mcp", hc, ""))
	}
	f.db = openDB(b, dsn)
	f.db.SetMaxOpenConns(2 * benchConcurrency)
	f.db.SetMaxIdleConns(2 * benchConcurrency)
	bare := httptest.NewServer(bareServer(f.db))
	b.Cleanup(bare.Close)
	for range n {
		f.bare = append(f.bare, connect(b, context.Background(), bare.URL, hc, ""))
	}
	return f
}

// bareServer is the go-sdk alone, stateless like the library's default,
// serving exec_query as a typed mcp.AddTool handler over the plain driver.
func bareServer(db *sql.DB) http.Handler {
	type in struct {
		SQL string `json:"sql"`
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "bare", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "exec_query"}, func(ctx context.Context, _ *mcp.CallToolRequest, a in) (*mcp.CallToolResult, handRows, error) {
		o, err := queryByHand(ctx, db, a.SQL)
		return nil, o, err
	})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Stateless: true})
}

// handRows is a result as a server written by hand returns it: the rows
// as strings.
type handRows struct {
	Columns  []string `json:"columns"`
	Rows     [][]any  `json:"rows"`
	RowCount int      `json:"row_count"`
}

// queryByHand runs query on db and reads its rows as handRows.
func queryByHand(ctx context.Context, db *sql.DB, query string) (handRows, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return handRows{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return handRows{}, err
	}
	o := handRows{Columns: cols, Rows: [][]any{}}
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return handRows{}, err
		}
		row := make([]any, len(raw))
		for i, v := range raw {
			if v != nil {
				row[i] = string(v)
			}
		}
		o.Rows = append(o.Rows, row)
	}
	o.RowCount = len(o.Rows)
	return o, rows.Err()
}

// record keeps a sub-benchmark's time per operation, overwritten by each
// round so the final round's figure remains.
func (f *benchFixture) record(b *testing.B, name string) {
	if b.N == 0 {
		return
	}
	f.mu.Lock()
	f.nsPerOp[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	f.mu.Unlock()
}

func (f *benchFixture) ns(name string) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nsPerOp[name]
}

// benchNoLeaks fails the benchmark if goroutines it started outlive it. It
// must be called first, so its check runs after every other cleanup.
func benchNoLeaks(b *testing.B) {
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	b.Cleanup(func() { goleak.VerifyNone(b, opts...) })
}

// benchCall calls exec_query and returns its structured result's row count,
// failing on a transport error or an error result.
func benchCall(ctx context.Context, cs *mcp.ClientSession, args map[string]any) (int, error) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "exec_query", Arguments: args})
	if err != nil {
		return 0, err
	}
	if res.IsError {
		var msg strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				msg.WriteString(tc.Text)
			}
		}
		return 0, fmt.Errorf("exec_query: tool error: %s", msg.String())
	}
	m, ok := res.StructuredContent.(map[string]any)
	if !ok {
		return 0, fmt.Errorf("exec_query: structured content is %T", res.StructuredContent)
	}
	n, _ := m["row_count"].(float64)
	return int(n), nil
}

// benchRaw is the baseline: the plain driver runs q, scans every row as
// raw bytes and encodes columns and rows as JSON, text as strings and
// NULL as null — what an ordinary service would do without the library.
func benchRaw(ctx context.Context, db *sql.DB, q string) (int, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	var out [][]any
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return 0, err
		}
		row := make([]any, len(raw))
		for i, v := range raw {
			if v != nil {
				row[i] = string(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	body, err := json.Marshal(struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
	}{cols, out})
	if err != nil {
		return 0, err
	}
	if len(body) == 0 {
		return 0, fmt.Errorf("empty encoding")
	}
	return len(out), nil
}

// benchExpectRows checks an operation's row count.
func benchExpectRows(what string, want int, got int, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if got != want {
		return fmt.Errorf("%s: %d rows, want %d", what, got, want)
	}
	return nil
}

// benchConcurrently runs op b.N times in total from workers goroutines and
// fails the benchmark with the first error. Worker w is the only user of
// whatever op associates with w.
func benchConcurrently(b *testing.B, workers int, op func(w int) error) {
	b.Helper()
	var next atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := op(w); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := first.Load(); err != nil {
		b.Fatal(*err)
	}
}

// benchSequentially runs op b.N times, timing each run, reports the median
// and 99th-percentile latency and returns the median in microseconds.
func benchSequentially(b *testing.B, op func() error) float64 {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	p50 := float64(lat[len(lat)/2].Nanoseconds()) / 1e3
	b.ReportMetric(p50, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	return p50
}

// benchWarm runs op from workers goroutines a few times each, so pools hold
// their connections, the backend is detected and caches are filled before
// anything is timed.
func benchWarm(b *testing.B, workers, rounds int, op func(w int) error) {
	b.Helper()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				if err := op(w); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToolCall measures one exec_query of a ten-row query end to end
// (go-sdk client, HTTP, Server.Handler, guard, pool, driver, encoding, and
// the client decoding the result) against the plain driver running the same
// query and encoding its rows, with 1 and with 16 concurrent callers, each
// MCP caller on its own client session.
//
// Targets: at 16 callers the MCP path reaches at least half the raw
// driver's throughput; at 1 caller its median latency is within 100 µs of
// the raw driver's.
func BenchmarkToolCall(b *testing.B) {
	benchNoLeaks(b)
	f := newBenchFixture(b, benchConcurrency)
	ctx := context.Background()
	args := map[string]any{"sql": benchSmallQuery}
	mcpOp := func(w int) error {
		n, err := benchCall(ctx, f.sessions[w], args)
		return benchExpectRows("exec_query", 10, n, err)
	}
	rawOp := func(int) error {
		n, err := benchRaw(ctx, f.db, benchSmallQuery)
		return benchExpectRows("raw", 10, n, err)
	}
	bareOp := func(w int) error {
		n, err := benchCall(ctx, f.bare[w], args)
		return benchExpectRows("bare go-sdk", 10, n, err)
	}
	benchWarm(b, benchConcurrency, 20, mcpOp)
	benchWarm(b, benchConcurrency, 20, rawOp)
	benchWarm(b, benchConcurrency, 20, bareOp)

	p50 := map[string]float64{}
	for _, c := range []int{1, benchConcurrency} {
		for _, path := range []struct {
			name string
			op   func(int) error
		}{{"mcp", mcpOp}, {"bare", bareOp}, {"raw", rawOp}} {
			name := fmt.Sprintf("c=%d/%s", c, path.name)
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				if c == 1 {
					p := benchSequentially(b, func() error { return path.op(0) })
					f.mu.Lock()
					p50[name] = p
					f.mu.Unlock()
				} else {
					benchConcurrently(b, c, path.op)
				}
				f.record(b, name)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
				if path.name == "bare" {
					// The library's throughput relative to the bare go-sdk
					// server's, measured just before.
					if m := f.ns(fmt.Sprintf("c=%d/mcp", c)); m > 0 {
						b.ReportMetric(f.ns(name)/m, "mcp/bare-throughput")
					}
				}
				if path.name == "raw" {
					// The MCP variant ran just before: its throughput
					// relative to this one, and at c=1 its excess median
					// latency.
					if m := f.ns(fmt.Sprintf("c=%d/mcp", c)); m > 0 {
						b.ReportMetric(f.ns(name)/m, "mcp/raw-throughput")
					}
					if m, ok := p50["c=1/mcp"]; ok && c == 1 {
						b.ReportMetric(m-p50[name], "mcp-excess-p50-µs")
					}
				}
			})
		}
	}

	if mcp1, raw1 := p50["c=1/mcp"], p50["c=1/raw"]; mcp1 > 0 && raw1 > 0 {
		b.Logf("c=1: p50 MCP %.0f µs, raw %.0f µs, difference %.0f µs (target ≤ 100 µs: %s); throughput MCP/raw %.2f",
			mcp1, raw1, mcp1-raw1, benchMet(mcp1-raw1 <= 100), f.ns("c=1/raw")/f.ns("c=1/mcp"))
	}
	for _, c := range []int{1, benchConcurrency} {
		if m, bare := f.ns(fmt.Sprintf("c=%d/mcp", c)), f.ns(fmt.Sprintf("c=%d/bare", c)); m > 0 && bare > 0 {
			b.Logf("c=%d: throughput library/bare go-sdk %.2f (target ≥ 1.05: %s)", c, bare/m, benchMet(bare/m >= 1.05))
		}
	}
	if m, r := f.ns(fmt.Sprintf("c=%d/mcp", benchConcurrency)), f.ns(fmt.Sprintf("c=%d/raw", benchConcurrency)); m > 0 && r > 0 {
		b.Logf("c=%d: throughput MCP/raw %.2f (target ≥ 0.50: %s)", benchConcurrency, r/m, benchMet(r/m >= 0.5))
	}
}

func benchMet(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// BenchmarkLargeResult measures exec_query of a million-row query cut by
// the limits — the default 100 rows, max_rows 10000, and rows wide enough
// that the default 1 MiB byte limit cuts them first — against the plain
// driver reading the same number of rows with LIMIT. Besides time it
// reports the peak growth of the heap (live and not yet collected objects,
// client and server together, and the simulator when it runs in process)
// during one call.
//
// Targets: the MCP path takes at most twice the raw driver's time, and the
// heap grows by at most max_bytes + 16 MiB.
func BenchmarkLargeResult(b *testing.B) {
	benchNoLeaks(b)
	f := newBenchFixture(b, 1)
	ctx := context.Background()
	cs := f.sessions[0]
	const maxBytes = doris.DefaultByteLimit
	peaks := map[string]uint64{}

	cases := []struct {
		name string
		args map[string]any
		raw  string // LIMIT filled in from the MCP row count
	}{
		{"default", map[string]any{"sql": benchLargeQuery}, benchLargeQuery},
		{"max_rows=10000", map[string]any{"sql": benchLargeQuery, "max_rows": 10000}, benchLargeQuery},
		{"byte_limit", map[string]any{"sql": benchWideQuery, "max_rows": 10000}, benchWideQuery},
	}
	for _, tc := range cases {
		// The row count the MCP path returns is the raw driver's LIMIT.
		rowsWant, err := benchCall(ctx, cs, tc.args)
		if err != nil {
			b.Fatalf("%s: %v", tc.name, err)
		}
		rawSQL := fmt.Sprintf("%s LIMIT %d", tc.raw, rowsWant)
		mcpOp := func() error {
			n, err := benchCall(ctx, cs, tc.args)
			return benchExpectRows("exec_query", rowsWant, n, err)
		}
		rawOp := func() error {
			n, err := benchRaw(ctx, f.db, rawSQL)
			return benchExpectRows("raw", rowsWant, n, err)
		}
		benchWarm(b, 1, 3, func(int) error { return mcpOp() })
		benchWarm(b, 1, 3, func(int) error { return rawOp() })

		for _, path := range []struct {
			name string
			op   func() error
		}{{"mcp", mcpOp}, {"raw", rawOp}} {
			name := tc.name + "/" + path.name
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := path.op(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				f.record(b, name)
				peak, err := benchPeakHeap(path.op)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(rowsWant), "rows")
				if path.name == "mcp" {
					f.mu.Lock()
					peaks[tc.name] = peak
					f.mu.Unlock()
				} else if m := f.ns(tc.name + "/mcp"); m > 0 {
					b.ReportMetric(m/f.ns(name), "mcp/raw-time")
				}
			})
		}
		if m, r := f.ns(tc.name+"/mcp"), f.ns(tc.name+"/raw"); m > 0 && r > 0 {
			peak := float64(peaks[tc.name]) / (1 << 20)
			b.Logf("%s (%d rows): time MCP/raw %.2f (target ≤ 2: %s); MCP peak heap growth %.1f MiB (target ≤ %d MiB: %s)",
				tc.name, rowsWant, m/r, benchMet(m/r <= 2), peak, (maxBytes+16<<20)>>20, benchMet(peaks[tc.name] <= maxBytes+16<<20))
		}
	}
}

// benchHeapMetric is the runtime metric of heap memory taken by objects,
// live or not yet swept: what runtime.MemStats calls HeapAlloc, read
// without stopping the world.
const benchHeapMetric = "/memory/classes/heap/objects:bytes"

// benchPeakHeap runs op once after a collection and returns the largest
// growth of the heap over its level before op, sampled every 100 µs.
func benchPeakHeap(op func() error) (uint64, error) {
	runtime.GC()
	sample := []metrics.Sample{{Name: benchHeapMetric}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: benchHeapMetric}}
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	err := op()
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	close(done)
	wg.Wait()
	if p := peak.Load(); p > base {
		return p - base, err
	}
	return 0, err
}

// BenchmarkShutdownIdleSessions measures Shutdown of a stateful Server
// whose clients each hold an idle standalone GET stream, against the same
// Server with no session at all: the sessions should add little, since
// Shutdown never waits for clients. Each round builds its Server and
// sessions outside the timer.
func BenchmarkShutdownIdleSessions(b *testing.B) {
	dsn := testdb.DSN(b)
	var base float64
	for _, n := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			var perSession float64
			for range b.N {
				b.StopTimer()
				// The clients all connect at once: room for their handshakes.
				srv, err := doris.New(doris.WithDSN(dsn), doris.WithStatefulSessions(0), doris.WithQueryLimits(doris.QueryLimits{MaxInFlight: max(256, 2*n)}))
				if err != nil {
					b.Fatal(err)
				}
				hs := serveHTTP(b, srv)
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				tr := &http.Transport{MaxIdleConnsPerHost: 2 * n}
				hc := &http.Client{Transport: tr}
				var wg sync.WaitGroup
				sessions := make([]*mcp.ClientSession, n)
				for i := range sessions {
					wg.Go(func() {
						c := mcp.NewClient(&mcp.Implementation{Name: "idle", Version: "1"}, nil)
						cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: hs.URL + "/mcp", HTTPClient: hc, MaxRetries: -1},
							&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
						if err != nil {
							b.Error(err)
							return
						}
						sessions[i] = cs
					})
				}
				wg.Wait()
				for srv.OpenStreams() < n && !b.Failed() {
					time.Sleep(time.Millisecond)
				}
				if n > 0 {
					runtime.GC()
					var after runtime.MemStats
					runtime.ReadMemStats(&after)
					perSession = float64(after.HeapInuse-min(before.HeapInuse, after.HeapInuse)) / float64(n)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				b.StartTimer()
				err = srv.Shutdown(ctx)
				b.StopTimer()
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				for _, cs := range sessions {
					if cs != nil {
						cs.Close()
					}
				}
				hs.Close()
				tr.CloseIdleConnections()
				b.StartTimer()
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if n == 0 {
				base = ns
			} else if base > 0 {
				b.ReportMetric(ns/base, "vs-no-sessions")
				// Client and server together: both run in this process.
				b.ReportMetric(perSession/1024, "heap-KiB/session")
			}
		})
	}
}

// BenchmarkNonReadingClients: 24 clients each ask for the largest result
// the default limits allow (10,000 rows, 16 MiB) and never read their
// responses. It reports how far the process's resident memory grows while
// they hold on: the result budget charges results as they grow, those that
// find no room end early, and each unread response is held until its
// write times out.
//
// Target: growth at most 256 MiB at default settings.
func BenchmarkNonReadingClients(b *testing.B) {
	const clients = 24
	s := newServer(b, testdb.DSN(b), doris.WithLogger(slog.New(slog.DiscardHandler)))
	hs := serveHTTP(b, s)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":{` +
		`"sql":"SELECT REPEAT('x', 1500) AS pad, seq FROM seq_1_to_10000","max_rows":10000,"max_bytes":16777216}}}`
	var peak uint64
	for b.Loop() {
		runtime.GC()
		base := rss(b)
		var conns []net.Conn
		for range clients {
			conns = append(conns, postUnread(b, hs.Listener.Addr().String(), body))
		}
		// Until every call has run or been refused: the pool wait (5 s)
		// bounds how long a refused one waits for room.
		deadline := time.Now().Add(8 * time.Second)
		for time.Now().Before(deadline) {
			peak = max(peak, rss(b)-min(base, rss(b)))
			time.Sleep(20 * time.Millisecond)
		}
		for _, c := range conns {
			c.Close()
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-growth-MiB")
	b.Logf("%d non-reading clients asking for 16 MiB results: resident memory grew by %d MiB at the peak (target ≤ 256 MiB: %s)",
		clients, peak>>20, benchMet(peak <= 256<<20))
}

// rss is the process's resident set size, from /proc/self/status.
func rss(b *testing.B) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb uint64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkFairShare measures the two promises of the shared limits, from
// HTTP clients of the Handler:
//
//   - small-answered: of 64 one-row calls held in the engine at once, with
//     the default budget and a pool of 72, how many are answered (target:
//     all 64);
//   - delay-vs-pool-wait: how much longer another principal's call takes
//     while one principal has 100 slow calls in flight, as a fraction of
//     the pool wait (target: at most 1).
func BenchmarkFairShare(b *testing.B) {
	dsn := testdb.DSN(b)
	db := openDB(b, dsn)
	const poolWait = time.Second
	var answered int
	var delay time.Duration
	for b.Loop() {
		answered = 0
		func() {
			q, release := heldQuery(b, db, 2*time.Second, time.Second)
			defer release()
			s := newServer(b, dsn, doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 72, MaxIdle: 8}), doris.WithLogger(slog.New(slog.DiscardHandler)))
			hs := serveHTTP(b, s)
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + q + `"}}}`
			var outs []<-chan string
			for range 64 {
				outs = append(outs, postAsync(context.Background(), hs.URL+"/mcp", body, nil))
			}
			waitFor(b, 10*time.Second, "the calls to run", func() bool { return running(b, db, "seq_1_to_1000") == 64 })
			release()
			for _, out := range outs {
				if strings.Contains(<-out, `"row_count":1`) {
					answered++
				}
			}
		}()
		func() {
			q, release := heldQuery(b, db, 3*time.Second, 2*time.Second)
			defer release()
			s := newServer(b, dsn, doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 20, MaxIdle: 5, Wait: poolWait}), doris.WithLogger(slog.New(slog.DiscardHandler)),
				doris.WithBearerTokens(
					doris.BearerToken{Token: "greedy-token-0123456789abcdef", Name: "greedy"},
					doris.BearerToken{Token: "modest-token-0123456789abcdef", Name: "modest"},
				))
			hs := serveHTTP(b, s)
			modest := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"SELECT name FROM products ORDER BY id LIMIT 2"}}}`
			mh := map[string]string{"Authorization": "Bearer modest-token-0123456789abcdef"}
			<-postAsync(context.Background(), hs.URL+"/mcp", modest, mh) // connects and detects the server
			start := time.Now()
			<-postAsync(context.Background(), hs.URL+"/mcp", modest, mh)
			alone := time.Since(start)
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + q + `"}}}`
			gh := map[string]string{"Authorization": "Bearer greedy-token-0123456789abcdef"}
			var outs []<-chan string
			for range 100 {
				outs = append(outs, postAsync(context.Background(), hs.URL+"/mcp", body, gh))
			}
			waitFor(b, 10*time.Second, "the greedy calls to run", func() bool { return running(b, db, "seq_1_to_1000") >= 17 })
			start = time.Now()
			got := <-postAsync(context.Background(), hs.URL+"/mcp", modest, mh)
			delay = max(time.Since(start)-alone, 0)
			if !strings.Contains(got, `"row_count":2`) {
				b.Errorf("the other principal's call answered %.300s", got)
			}
			release()
			for _, out := range outs {
				<-out
			}
		}()
	}
	b.ReportMetric(float64(answered), "small-answered")
	b.ReportMetric(float64(delay)/float64(poolWait), "delay-vs-pool-wait")
	b.Logf("64 small calls at once: %d answered (target 64: %s); another principal's call beside 100 slow ones: %v slower (target ≤ one pool wait, %v: %s)",
		answered, benchMet(answered == 64), delay.Round(time.Millisecond), poolWait, benchMet(delay <= poolWait))
}
