package dorissim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
)

// queryStats feeds the FE metrics: statement counts and recent latencies.
type queryStats struct {
	mu        sync.Mutex
	queries   int64
	errors    int64
	latencies []float64 // ms, the last maxLatencies statements
	sumMs     float64
}

const maxLatencies = 1024

func (q *queryStats) record(d time.Duration, failed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queries++
	if failed {
		q.errors++
	}
	ms := float64(d.Microseconds()) / 1000
	q.sumMs += ms
	if len(q.latencies) == maxLatencies {
		q.latencies = q.latencies[1:]
	}
	q.latencies = append(q.latencies, ms)
}

// httpServers are the FE's and the BEs' HTTP servers, all on loopback.
type httpServers struct {
	servers []*http.Server
	done    sync.WaitGroup
}

// startHTTP starts the FE HTTP server and one server per BE, and records
// their ports in the cluster so SHOW FRONTENDS and SHOW BACKENDS report
// them.
func (s *Server) startHTTP() error {
	h := &httpServers{}
	s.http = h
	serve := func(handler http.Handler) (int, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		h.servers = append(h.servers, srv)
		h.done.Add(1)
		go func() {
			defer h.done.Done()
			_ = srv.Serve(ln)
		}()
		return ln.Addr().(*net.TCPAddr).Port, nil
	}
	port, err := serve(s.feMux())
	if err != nil {
		return fmt.Errorf("FE HTTP server: %w", err)
	}
	s.cluster.feHTTPPort = port
	for _, be := range s.cluster.bes {
		port, err := serve(s.beMux(be))
		if err != nil {
			return fmt.Errorf("BE %d HTTP server: %w", be.id, err)
		}
		be.httpPort = port
	}
	return nil
}

// closeHTTP closes every HTTP server and its connections and waits for
// their goroutines.
func (h *httpServers) close() error {
	if h == nil {
		return nil
	}
	var errs []error
	for _, srv := range h.servers {
		if err := srv.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	h.done.Wait()
	return errors.Join(errs...)
}

// FEHTTPAddr returns the host:port of the FE's HTTP server (Doris's
// http_port, 8030 on a real FE).
func (s *Server) FEHTTPAddr() string {
	return fmt.Sprintf("127.0.0.1:%d", s.cluster.feHTTPPort)
}

// BEHTTPAddrs returns the host:port of each BE's HTTP server (Doris's
// webserver_port, 8040 on a real BE), in SHOW BACKENDS order.
func (s *Server) BEHTTPAddrs() []string {
	var out []string
	for _, be := range s.cluster.bes {
		out = append(out, fmt.Sprintf("127.0.0.1:%d", be.httpPort))
	}
	return out
}

// envelope is the body of every FE REST answer; the HTTP status is 200
// even for errors, whose kind is in Code.
type envelope struct {
	Msg   string `json:"msg"`
	Code  int    `json:"code"`
	Data  any    `json:"data"`
	Count int    `json:"count"`
}

func writeJSON(w http.ResponseWriter, e envelope) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(e)
}

func writeOK(w http.ResponseWriter, data any) {
	writeJSON(w, envelope{Msg: "success", Code: 0, Data: data})
}

// authorized checks HTTP Basic credentials against the simulator's users,
// answering 401 in the envelope when they do not match.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) (string, bool) {
	user, pass, found := r.BasicAuth()
	if !found {
		writeJSON(w, envelope{Msg: "Unauthorized", Code: 401, Data: "Need auth information."})
		return "", false
	}
	want, known := s.users[user]
	if !known || subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 {
		writeJSON(w, envelope{Msg: "Unauthorized", Code: 401, Data: fmt.Sprintf("Access denied for user '%s' (using password: %s)", user, yesNo(pass != ""))})
		return "", false
	}
	return user, true
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

func (s *Server) withAuth(f func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.authorized(w, r); ok {
			f(w, r)
		}
	}
}

func (s *Server) feMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", s.feMetrics)
	mux.HandleFunc("GET /api/health", s.withAuth(func(w http.ResponseWriter, r *http.Request) {
		n := len(s.cluster.bes)
		writeOK(w, map[string]int{"online_backend_num": n, "total_backend_num": n})
	}))
	mux.HandleFunc("GET /api/fe_version_info", s.withAuth(func(w http.ResponseWriter, r *http.Request) {
		rel := s.rel
		writeOK(w, map[string]any{"feVersionInfo": map[string]any{
			"dorisBuildVersionPrefix":    "doris",
			"dorisBuildVersionMajor":     rel.major,
			"dorisBuildVersionMinor":     rel.minor,
			"dorisBuildVersionPatch":     rel.patch,
			"dorisBuildVersionRcVersion": rel.rc,
			"dorisBuildVersion":          rel.build,
			"dorisBuildHash":             "git://simulator@" + rel.hash,
			"dorisBuildShortHash":        rel.hash,
			"dorisBuildTime":             "Mon, 02 Dec 2024 10:00:00 UTC",
			"dorisBuildInfo":             "simulator",
			"dorisJavaCompileVersion":    "openjdk full version \"17.0.2+8-86\"",
		}})
	}))
	mux.HandleFunc("GET /api/show_table_data", s.withAuth(s.showTableData))
	mux.HandleFunc("GET /rest/v2/manager/query/trace_id/{id}", s.withAuth(func(w http.ResponseWriter, r *http.Request) {
		// The other FEs are asked too unless is_all_node=false
		// (fidelity ledger: rest-trace-id).
		id, found := s.profiles.queryID(r.PathValue("id"))
		if r.URL.Query().Get("is_all_node") != "false" {
			for _, o := range s.others() {
				if !found {
					id, found = o.profiles.queryID(r.PathValue("id"))
				}
			}
		}
		if !found {
			writeJSON(w, envelope{Msg: "Bad Request", Code: 403, Data: "query id not found for trace id " + r.PathValue("id")})
			return
		}
		writeOK(w, id)
	}))
	mux.HandleFunc("GET /rest/v2/manager/query/profile/text/{id}", s.withAuth(func(w http.ResponseWriter, r *http.Request) {
		p, found := s.profiles.get(r.PathValue("id"))
		from := s
		if r.URL.Query().Get("is_all_node") != "false" {
			for _, o := range s.others() {
				if !found {
					p, found = o.profiles.get(r.PathValue("id"))
					from = o
				}
			}
		}
		s := from
		if !found {
			writeJSON(w, envelope{Msg: "Not Found", Code: 404, Data: "query id " + r.PathValue("id") + " not found"})
			return
		}
		writeOK(w, map[string]string{"profile": p.text(s.rel)})
	}))
	// This one answers in plain text, not in the envelope.
	mux.HandleFunc("GET /api/profile/text", s.withAuth(func(w http.ResponseWriter, r *http.Request) {
		p, found := s.profiles.get(r.URL.Query().Get("query_id"))
		if !found {
			http.Error(w, "query id "+r.URL.Query().Get("query_id")+" not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(p.text(s.rel)))
	}))
	return mux
}

// showTableData is GET /api/show_table_data?db=&table=: data size in bytes
// of each table, keyed by database and table. Views are reported with 0
// bytes, in the listing and when asked for by name, as the FE's
// ShowAction.getDataSizeOfTable does.
func (s *Server) showTableData(w http.ResponseWriter, r *http.Request) {
	db, table := r.URL.Query().Get("db"), r.URL.Query().Get("table")
	ctx := sql.NewContext(context.Background())
	var dbs []string
	if db != "" {
		if !s.pro.HasDatabase(ctx, db) {
			writeJSON(w, envelope{Msg: "Error", Code: 1, Data: "database " + db + " not found."})
			return
		}
		dbs = []string{db}
	} else {
		if table != "" {
			writeJSON(w, envelope{Msg: "Error", Code: 1, Data: "db and table cannot be empty at the same time"})
			return
		}
		for _, d := range s.pro.AllDatabases(ctx) {
			if d.Name() != "information_schema" && d.Name() != "mysql" {
				dbs = append(dbs, d.Name())
			}
		}
	}
	out := map[string]map[string]uint64{}
	for _, name := range dbs {
		d, err := s.pro.Database(ctx, name)
		if err != nil {
			continue
		}
		tables := map[string]uint64{}
		names, _ := d.GetTableNames(ctx)
		for _, n := range names {
			if table != "" && !strings.EqualFold(n, table) {
				continue
			}
			if t, found, err := d.GetTableInsensitive(ctx, n); err == nil && found {
				_, size := tableStats(t)
				tables[t.Name()] = size
			}
		}
		if vd, isViews := d.(sql.ViewDatabase); isViews {
			views, _ := vd.AllViews(ctx)
			for _, v := range views {
				if table == "" || strings.EqualFold(v.Name, table) {
					tables[v.Name] = 0 // views hold no data
				}
			}
		}
		out[name] = tables
	}
	writeOK(w, out)
}

// metricWriter writes Prometheus text exposition.
type metricWriter struct{ b strings.Builder }

func (m *metricWriter) typ(name, kind string) { fmt.Fprintf(&m.b, "# TYPE %s %s\n", name, kind) }

func (m *metricWriter) help(name, text string) { fmt.Fprintf(&m.b, "# HELP %s %s\n", name, text) }

// sample writes one line; labels are "k=v" pairs joined by ", " as the FE
// does.
func (m *metricWriter) sample(name string, v float64, labels ...string) {
	m.b.WriteString(name)
	if len(labels) > 0 {
		q := make([]string, len(labels))
		for i, l := range labels {
			k, val, _ := strings.Cut(l, "=")
			q[i] = fmt.Sprintf("%s=%q", k, val)
		}
		m.b.WriteString("{" + strings.Join(q, ", ") + "}")
	}
	fmt.Fprintf(&m.b, " %s\n", formatMetric(v))
}

func formatMetric(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}

func (s *Server) feMetrics(w http.ResponseWriter, _ *http.Request) {
	st := &s.stats
	st.mu.Lock()
	queries, errs, sum := st.queries, st.errors, st.sumMs
	lat := slices.Clone(st.latencies)
	st.mu.Unlock()
	sort.Float64s(lat)
	conns := 0
	s.mu.Lock()
	conns = len(s.conns)
	s.mu.Unlock()
	up := time.Since(s.started).Seconds()

	var m metricWriter
	m.help("doris_fe_query_total", "total query")
	m.typ("doris_fe_query_total", "counter")
	m.sample("doris_fe_query_total", float64(queries))
	m.help("doris_fe_query_err", "total error query")
	m.typ("doris_fe_query_err", "counter")
	m.sample("doris_fe_query_err", float64(errs))
	m.typ("doris_fe_request_total", "counter")
	m.sample("doris_fe_request_total", float64(queries))
	m.typ("doris_fe_qps", "gauge")
	m.sample("doris_fe_qps", float64(queries)/max(up, 1))
	m.typ("doris_fe_query_err_rate", "gauge")
	m.sample("doris_fe_query_err_rate", float64(errs)/max(up, 1))
	m.typ("doris_fe_connection_total", "gauge")
	m.sample("doris_fe_connection_total", float64(conns))
	m.typ("doris_fe_max_journal_id", "gauge")
	m.sample("doris_fe_max_journal_id", 302891)
	m.typ("doris_fe_query_latency_ms", "summary")
	for _, q := range []float64{0.75, 0.95, 0.98, 0.99, 0.999} {
		v := 0.0
		if len(lat) > 0 {
			v = lat[min(len(lat)-1, int(q*float64(len(lat))))]
		}
		m.sample("doris_fe_query_latency_ms", v, fmt.Sprintf("quantile=%g", q))
	}
	m.sample("doris_fe_query_latency_ms_sum", sum)
	m.sample("doris_fe_query_latency_ms_count", float64(queries))
	m.typ("doris_fe_txn_counter", "counter")
	for _, t := range []string{"begin", "failed", "reject", "success"} {
		m.sample("doris_fe_txn_counter", 0, "type="+t)
	}
	m.typ("jvm_heap_size_bytes", "gauge")
	m.sample("jvm_heap_size_bytes", 8589934592, "type=max")
	m.sample("jvm_heap_size_bytes", 2147483648, "type=committed")
	m.sample("jvm_heap_size_bytes", 734003200, "type=used")
	m.typ("jvm_non_heap_size_bytes", "gauge")
	m.sample("jvm_non_heap_size_bytes", 268435456, "type=committed")
	m.sample("jvm_non_heap_size_bytes", 201326592, "type=used")
	m.typ("node_info", "gauge")
	m.sample("node_info", 1, "type=fe_node_num", "state=total")
	m.sample("node_info", float64(len(s.cluster.bes)), "type=be_node_num", "state=total")
	m.sample("node_info", float64(len(s.cluster.bes)), "type=be_node_num", "state=alive")
	m.sample("node_info", 1, "type=is_master")
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(m.b.String()))
}

func (s *Server) beMux(be *backend) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status": "OK","msg": "To Be Added"}`))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		var m metricWriter
		rss := 1_200_000_000 + float64(be.used)*4
		m.typ("doris_be_memory_allocated_bytes", "gauge")
		m.sample("doris_be_memory_allocated_bytes", rss)
		m.typ("doris_be_memory_jemalloc_resident_bytes", "gauge")
		m.sample("doris_be_memory_jemalloc_resident_bytes", rss*0.9)
		m.typ("doris_be_memory_jemalloc_allocated_bytes", "gauge")
		m.sample("doris_be_memory_jemalloc_allocated_bytes", rss*0.8)
		m.typ("doris_be_mem_consumption", "gauge")
		for _, t := range [][2]any{{"global", 0.05}, {"query", 0.1}, {"load", 0.02}, {"compaction", 0.03}, {"schema_change", 0.0}} {
			m.sample("doris_be_mem_consumption", rss*t[1].(float64), "type="+t[0].(string))
		}
		m.typ("doris_be_cpu", "counter")
		up := time.Since(s.started).Seconds() * 100
		for _, mode := range [][2]any{{"user", 0.2}, {"system", 0.05}, {"idle", 0.75}} {
			m.sample("doris_be_cpu", up*mode[1].(float64), "device=cpu", "mode="+mode[0].(string))
		}
		// Declared a counter though it goes up and down: the query
		// contexts alive, loads included (fidelity ledger: be-query-ctx-cnt).
		m.typ("doris_be_query_ctx_cnt", "counter")
		m.sample("doris_be_query_ctx_cnt", float64(s.runningQueries()))
		path := fmt.Sprintf("path=/opt/apache-doris/be%d/storage", be.id)
		m.typ("doris_be_disks_total_capacity", "gauge")
		m.sample("doris_be_disks_total_capacity", float64(be.total), path)
		m.typ("doris_be_disks_local_used_capacity", "gauge")
		m.sample("doris_be_disks_local_used_capacity", float64(be.used), path)
		m.typ("doris_be_disks_avail_capacity", "gauge")
		m.sample("doris_be_disks_avail_capacity", float64(be.total-be.used), path)
		m.typ("doris_be_process_fd_num_used", "gauge")
		m.sample("doris_be_process_fd_num_used", 812)
		m.typ("doris_be_process_thread_num", "gauge")
		m.sample("doris_be_process_thread_num", 1536)
		m.typ("doris_be_tablet_base_max_compaction_score", "gauge")
		m.sample("doris_be_tablet_base_max_compaction_score", 1)
		m.typ("doris_be_tablet_cumulative_max_compaction_score", "gauge")
		m.sample("doris_be_tablet_cumulative_max_compaction_score", 2)
		// The BE groups samples in an unordered map and can print a
		// family's TYPE line twice (fidelity ledger: be-metrics-duplicate-type).
		m.typ("doris_be_mem_consumption", "gauge")
		m.sample("doris_be_mem_consumption", rss*0.01, "type=tablet_meta")
		// doris_be_version is not here: the BE serves it only on its brpc
		// port, at /brpc_metrics (fidelity ledger: be-version-metric).
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(m.b.String()))
	})
	return mux
}

func (s *Server) runningQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.conns {
		if c.running {
			n++
		}
	}
	return n
}
