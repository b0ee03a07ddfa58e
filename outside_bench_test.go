package doris_test

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
)

// benchServeEnv makes this test binary serve MCP for BenchmarkFromOutside
// instead of running tests: "library" (Server.Handler), "bare" (a plain
// go-sdk server) or "plain" (net/http without MCP), on the DSN in
// benchDSNEnv, printing its address.
const (
	benchServeEnv = "DORIS_BENCH_SERVE"
	benchDSNEnv   = "DORIS_BENCH_DSN"
)

// outsideQuery is the ten-row query every server answers.
const outsideQuery = "SELECT id, name, city, created_at FROM customers ORDER BY id LIMIT 10"

// serveForBench is the server process of BenchmarkFromOutside; it serves
// until its standard input closes.
func serveForBench(mode string) {
	dsn := os.Getenv(benchDSNEnv)
	var h http.Handler
	switch mode {
	case "library":
		srv, err := doris.New(doris.WithDSN(dsn), doris.WithLogger(slog.New(slog.DiscardHandler)),
			doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 64, MaxIdle: 64}))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer srv.Shutdown(context.Background())
		h = srv.Handler()
	case "bare", "plain":
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		db.SetMaxOpenConns(64)
		db.SetMaxIdleConns(64)
		h = bareServer(db)
		if mode == "plain" {
			h = plainServer(db)
		}
	}
	// DORIS_BENCH_PROFILE=dir profiles each server process into
	// dir/<mode>.cpu and dir/<mode>.allocs, for go tool pprof.
	if dir := os.Getenv("DORIS_BENCH_PROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, mode+".cpu"))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
		defer func() {
			if f, err := os.Create(filepath.Join(dir, mode+".allocs")); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// /memstats reports the process's allocations and CPU time so far,
	// for the benchmark's per-call figures.
	mux := http.NewServeMux()
	mux.Handle("/mcp", h)
	mux.HandleFunc("/memstats", func(w http.ResponseWriter, _ *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Fprintf(w, "%d %d %d", m.Mallocs, m.TotalAlloc, cpu.Microseconds())
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Println(ln.Addr().String())
	io.Copy(io.Discard, os.Stdin)
	hs.Close()
}

// plainServer answers the benchmark's call without MCP: a net/http
// handler that decodes the JSON-RPC request with encoding/json, runs the
// statement through database/sql and encodes its rows as a JSON-RPC
// result. It is the least an HTTP server in Go pays for the same work.
func plainServer(db *sql.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Params struct {
				Arguments struct {
					SQL string `json:"sql"`
				} `json:"arguments"`
			} `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := queryByHand(r.Context(), db, req.Params.Arguments.SQL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{"structuredContent": out}})
	})
}

// startBenchServer runs this binary as a server process of mode and
// returns its MCP endpoint.
func startBenchServer(b *testing.B, mode, dsn string) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), benchServeEnv+"="+mode, benchDSNEnv+"="+dsn)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line := make([]byte, 64)
	n, err := out.Read(line)
	if err != nil {
		b.Fatalf("%s server: %v", mode, err)
	}
	return "http://" + strings.TrimSpace(string(line[:n])) + "/mcp"
}

// BenchmarkFromOutside measures what a client sees: the library's Handler,
// a bare go-sdk server and a plain net/http handler (no MCP: the least any
// Go HTTP server pays) answering the same ten-row query, each in a process
// of its own, driven from this one by a raw HTTP client posting a fixed
// stateless tools/call over keep-alive connections, in rounds that
// alternate between the library and the bare server; the raw driver
// running the query in this process is the physical limit. It reports the
// median calls per second of each at 1 and 16 callers, their ratios, and
// each server process's allocations and CPU time per call. Run it with
// -benchtime=1x; DORIS_BENCH_ROUND sets the round length (default 2s),
// DORIS_BENCH_CALLERS one number of callers, DORIS_BENCH_PROFILE a
// directory for the servers' profiles.
func BenchmarkFromOutside(b *testing.B) {
	dsn := testdb.DSN(b)
	round := 2 * time.Second
	if d, err := time.ParseDuration(os.Getenv("DORIS_BENCH_ROUND")); err == nil {
		round = d
	}
	const rounds = 5
	endpoints := map[string]string{
		"library": startBenchServer(b, "library", dsn),
		"bare":    startBenchServer(b, "bare", dsn),
		"plain":   startBenchServer(b, "plain", dsn),
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 128}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	// DORIS_BENCH_PROTOCOL=2026-07-28 sends the call as a client of that
	// version does (its _meta and headers); 2025-06-18 otherwise.
	version := cmp.Or(os.Getenv("DORIS_BENCH_PROTOCOL"), "2025-06-18")
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + outsideQuery + `"}}}`)
	if version == "2026-07-28" {
		body = []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":` + clientMeta + `,"name":"exec_query","arguments":{"sql":"` + outsideQuery + `"}}}`)
	}

	post := func(url string) error {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", version)
		if version == "2026-07-28" {
			req.Header.Set("Mcp-Method", "tools/call")
			req.Header.Set("Mcp-Name", "exec_query")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if !bytes.Contains(got, []byte(`"row_count":10`)) {
			return fmt.Errorf("%s answered %.300s", url, got)
		}
		return nil
	}
	raw := func() error {
		rows, err := db.Query(outsideQuery)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		if n != 10 {
			return errors.New("raw: not ten rows")
		}
		return rows.Err()
	}
	// measure runs op from callers goroutines for d; calls per second.
	measure := func(callers int, d time.Duration, op func() error) float64 {
		var calls atomic.Int64
		var firstErr error
		var once sync.Once
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				for time.Now().Before(stop) {
					if err := op(); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					calls.Add(1)
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		return float64(calls.Load()) / d.Seconds()
	}
	paths := []struct {
		name string
		op   func() error
	}{
		{"library", func() error { return post(endpoints["library"]) }},
		{"bare", func() error { return post(endpoints["bare"]) }},
		{"plain", func() error { return post(endpoints["plain"]) }},
		{"raw", raw},
	}
	for _, p := range paths {
		measure(4, round/4, p.op) // warm connections and caches
	}
	// usage is what a server process has spent: allocations, bytes
	// allocated, CPU time in µs.
	type usage struct{ allocs, bytes, cpu float64 }
	memstats := func(name string) (u usage) {
		resp, err := hc.Get(strings.TrimSuffix(endpoints[name], "/mcp") + "/memstats")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := fmt.Fscan(resp.Body, &u.allocs, &u.bytes, &u.cpu); err != nil {
			b.Fatal(err)
		}
		return u
	}
	// DORIS_BENCH_CALLERS=16 measures only that many callers.
	callerCounts := []int{1, 16}
	if n, err := strconv.Atoi(os.Getenv("DORIS_BENCH_CALLERS")); err == nil && n > 0 {
		callerCounts = []int{n}
	}
	b.ResetTimer()
	for _, callers := range callerCounts {
		got := map[string][]float64{}
		spent, calls := map[string]usage{}, map[string]float64{}
		for r := range rounds {
			// Alternate the order so neither server always goes first.
			order := slices.Clone(paths)
			if r%2 == 1 {
				order[0], order[1] = order[1], order[0]
			}
			for _, p := range order {
				if p.name == "raw" {
					got[p.name] = append(got[p.name], measure(callers, round, p.op))
					continue
				}
				u0 := memstats(p.name)
				qps := measure(callers, round, p.op)
				u1 := memstats(p.name)
				got[p.name] = append(got[p.name], qps)
				s := spent[p.name]
				spent[p.name] = usage{s.allocs + u1.allocs - u0.allocs, s.bytes + u1.bytes - u0.bytes, s.cpu + u1.cpu - u0.cpu}
				calls[p.name] += qps * round.Seconds()
			}
		}
		perCall := func(name string) usage {
			s, n := spent[name], calls[name]
			return usage{s.allocs / n, s.bytes / n, s.cpu / n}
		}
		for _, name := range []string{"library", "bare", "plain"} {
			u := perCall(name)
			b.ReportMetric(u.allocs, fmt.Sprintf("c%d-%s-allocs/call", callers, name))
			b.ReportMetric(u.bytes, fmt.Sprintf("c%d-%s-B/call", callers, name))
			b.ReportMetric(u.cpu, fmt.Sprintf("c%d-%s-cpu-µs/call", callers, name))
		}
		lu, bu, pu := perCall("library"), perCall("bare"), perCall("plain")
		b.Logf("%d callers, the server process per call: library %.0f allocations, %.0f B, %.0f µs CPU; bare go-sdk %.0f, %.0f B, %.0f µs; plain net/http %.0f, %.0f B, %.0f µs",
			callers, lu.allocs, lu.bytes, lu.cpu, bu.allocs, bu.bytes, bu.cpu, pu.allocs, pu.bytes, pu.cpu)
		med := func(name string) float64 {
			v := slices.Clone(got[name])
			slices.Sort(v)
			return v[len(v)/2]
		}
		lib, bare, plain, rawQPS := med("library"), med("bare"), med("plain"), med("raw")
		b.ReportMetric(lib, fmt.Sprintf("c%d-library-calls/s", callers))
		b.ReportMetric(bare, fmt.Sprintf("c%d-bare-calls/s", callers))
		b.ReportMetric(plain, fmt.Sprintf("c%d-plain-calls/s", callers))
		b.ReportMetric(rawQPS, fmt.Sprintf("c%d-raw-queries/s", callers))
		b.ReportMetric(lib/plain, fmt.Sprintf("c%d-library/plain", callers))
		b.ReportMetric(lib/bare, fmt.Sprintf("c%d-library/bare", callers))
		b.ReportMetric(lib/rawQPS, fmt.Sprintf("c%d-library/raw", callers))
		b.Logf("%d callers, median of %d rounds of %v: library %.0f calls/s (rounds %.0f), bare go-sdk %.0f (%.0f), plain net/http %.0f (%.0f), raw driver %.0f; library/bare %.2f, library/plain %.2f, library/raw %.3f",
			callers, rounds, round, lib, got["library"], bare, got["bare"], plain, got["plain"], rawQPS, lib/bare, lib/plain, lib/rawQPS)
		if callers == 1 {
			b.Logf("1 caller: time per call over the raw driver's: library %.0f µs, plain net/http %.0f µs", (1/lib-1/rawQPS)*1e6, (1/plain-1/rawQPS)*1e6)
		}
	}
}
