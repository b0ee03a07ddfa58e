package tools

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/query"
)

type metricsArgs struct {
	Role              string `json:"role,omitempty" schema:"enum=fe|be|all,default=all" jsonschema:"Which nodes to read."`
	MonitorType       string `json:"monitor_type,omitempty" schema:"enum=all|query|connection|memory|jvm|cpu|storage|compaction|transaction|cluster|process|machine,default=all" jsonschema:"Kind of metric; machine is cpu, memory and storage together."`
	Priority          string `json:"priority,omitempty" schema:"enum=core|p0|all,default=core" jsonschema:"core (p0 is the same): a curated set, each with its meaning; all: every metric the nodes expose."`
	NamePrefix        string `json:"name_prefix,omitempty" jsonschema:"Only metrics whose name starts with this, e.g. doris_be_mem or jvm_."`
	ContentType       string `json:"content_type,omitempty" schema:"enum=data|definitions|both,default=data" jsonschema:"data: values read from the nodes, each with its meaning (both is the same); definitions: the curated metrics' names, kinds and meanings, without reading any node."`
	IncludeRawMetrics bool   `json:"include_raw_metrics,omitempty" jsonschema:"Every metric the nodes expose, as priority all."`
}

type memoryArgs struct {
	Node           string   `json:"node,omitempty" jsonschema:"One BE, as host:http_port (see get_cluster_nodes); every BE when omitted."`
	DataType       string   `json:"data_type,omitempty" schema:"enum=realtime|historical|both,default=realtime" jsonschema:"realtime: memory now. Doris keeps no memory history on its nodes, so historical (and both) is refused: read it from a metrics store that scrapes /metrics."`
	TrackerType    string   `json:"tracker_type,omitempty" schema:"enum=overview|all|global|query|load|compaction,default=overview" jsonschema:"Which memory trackers to list: overview and all list every one; the others only trackers of that type. Process and jemalloc rows are always listed."`
	TrackerNames   []string `json:"tracker_names,omitempty" jsonschema:"Only the trackers of these names (the name column), e.g. query or global."`
	TimeRange      string   `json:"time_range,omitempty" schema:"enum=1h|6h|24h" jsonschema:"Accepted for compatibility with the reference server; it applies to historical data, which Doris does not keep."`
	IncludeDetails *bool    `json:"include_details,omitempty" schema:"default=true" jsonschema:"false: only the process's own rows, without jemalloc and trackers."`
}

// A metricInfo is a curated metric: its kind and what it means.
type metricInfo struct {
	kind, meaning string
}

// coreMetrics are the metrics an operator reads first, by family name,
// with what each says. Names are Doris's own, FE then BE.
var coreMetrics = map[string]metricInfo{
	"doris_fe_query_total":                            {"query", "Queries the FE received since it started."},
	"doris_fe_query_err":                              {"query", "Queries that failed since the FE started."},
	"doris_fe_query_err_rate":                         {"query", "Failed queries per second."},
	"doris_fe_qps":                                    {"query", "Queries per second."},
	"doris_fe_request_total":                          {"query", "MySQL-protocol requests received, queries and others."},
	"doris_fe_query_latency_ms":                       {"query", "Query latency in milliseconds at the given quantile; _sum and _count over all queries."},
	"doris_fe_connection_total":                       {"connection", "Client connections open on this FE."},
	"doris_fe_max_journal_id":                         {"cluster", "Newest metadata journal id; followers lagging far behind the master replay slowly."},
	"doris_fe_txn_counter":                            {"transaction", "Load transactions by outcome (begin, success, failed, reject) since start."},
	"jvm_heap_size_bytes":                             {"jvm", "FE JVM heap in bytes: max, committed and used. Used near max means GC pressure."},
	"jvm_non_heap_size_bytes":                         {"jvm", "FE JVM non-heap memory in bytes (metaspace, code cache)."},
	"node_info":                                       {"cluster", "Node counts the FE sees: FEs and BEs, total and alive; is_master is 1 on the master."},
	"doris_be_memory_allocated_bytes":                 {"memory", "Memory the BE process has allocated, in bytes."},
	"doris_be_memory_jemalloc_resident_bytes":         {"memory", "Bytes jemalloc holds resident in RAM, caches included."},
	"doris_be_memory_jemalloc_allocated_bytes":        {"memory", "Bytes the BE has allocated through jemalloc and not freed."},
	"doris_be_mem_consumption":                        {"memory", "Bytes held per memory tracker (query, load, compaction, schema change, global)."},
	"doris_be_cpu":                                    {"cpu", "CPU time in jiffies per mode since boot; its rate over time is CPU use."},
	"doris_be_query_ctx_cnt":                          {"query", "Query contexts alive on this BE now, loads included (declared a counter, but it falls as they end)."},
	"doris_be_disks_total_capacity":                   {"storage", "Capacity of each data directory, in bytes."},
	"doris_be_disks_local_used_capacity":              {"storage", "Bytes of data stored in each data directory."},
	"doris_be_disks_avail_capacity":                   {"storage", "Free bytes of each data directory; loads fail when it runs out."},
	"doris_be_process_fd_num_used":                    {"process", "File descriptors the BE process has open."},
	"doris_be_process_thread_num":                     {"process", "Threads of the BE process."},
	"doris_be_tablet_base_max_compaction_score":       {"compaction", "Highest base compaction score of a tablet; high values mean compaction lags."},
	"doris_be_tablet_cumulative_max_compaction_score": {"compaction", "Highest cumulative compaction score; above about 100 loads slow down, near 1000 they fail."},
}

// kindOf is a metric's kind: the curated one, or a guess from its name
// for the others.
func kindOf(name string) string {
	if info, ok := coreMetrics[name]; ok {
		return info.kind
	}
	n := strings.ToLower(name)
	for _, k := range [...]struct{ kind, words string }{
		{"jvm", "jvm_"},
		{"compaction", "compaction"},
		{"memory", "mem|jemalloc|cache"},
		{"cpu", "cpu|load_average"},
		{"storage", "disk|capacity|tablet|rowset|segment"},
		{"connection", "connection|thrift|brpc"},
		{"transaction", "txn|transaction|load|stream"},
		{"query", "query|qps|latency|request|scan|fragment|pipeline"},
		{"cluster", "node|journal|edit_log|image|version"},
	} {
		for _, w := range strings.Split(k.words, "|") {
			if strings.Contains(n, w) {
				return k.kind
			}
		}
	}
	return "process"
}

var metricColumns = cols(
	"node", "VARCHAR",
	"role", "VARCHAR",
	"metric", "VARCHAR",
	"labels", "VARCHAR",
	"value", "DOUBLE",
	"kind", "VARCHAR",
	"meaning", "VARCHAR",
)

// scrape is one node's metrics, or why they could not be read.
type scrape struct {
	node, role string
	m          *dorishttp.Metrics
	err        error
}

// scrapeAll reads the FE's (fe) and every BE's (be) /metrics at once.
func (c *catalog) scrapeAll(ctx context.Context, fe, be bool) ([]scrape, error) {
	var nodes []scrape
	if fe {
		nodes = append(nodes, scrape{node: "fe", role: "fe"})
	}
	if be {
		bes, err := c.backends(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range bes {
			nodes = append(nodes, scrape{node: b.Addr, role: "be"})
		}
	}
	hctx, cancel := context.WithTimeout(ctx, c.cfg.Default.Timeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range nodes {
		n := &nodes[i]
		wg.Go(func() {
			if n.role == "fe" {
				n.m, n.err = c.cfg.FEHTTP.FEMetrics(hctx)
				if n.m != nil {
					n.node = n.m.Node
					if u, err := url.Parse(n.m.Node); err == nil && u.Host != "" {
						n.node = u.Host // host:port, as the BEs are named
					}
				}
			} else {
				n.m, n.err = c.cfg.FEHTTP.BEMetrics(hctx, n.node)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	failed := 0
	for _, n := range nodes {
		if n.err != nil {
			failed++
		}
	}
	if failed > 0 && failed == len(nodes) {
		return nil, feError(fmt.Sprintf("reading /metrics of %s", nodes[0].node), nodes[0].err)
	}
	return nodes, nil
}

func (c *catalog) monitoringMetrics(ctx context.Context, in metricsArgs) (*query.Result, error) {
	start := time.Now()
	role, kind, priority := strings.ToLower(in.Role), strings.ToLower(in.MonitorType), strings.ToLower(in.Priority)
	if in.IncludeRawMetrics {
		priority = "all"
	}
	if len(in.NamePrefix) > 128 {
		return nil, errors.New("name_prefix is longer than any metric name (128 bytes at most)")
	}
	kinds := func(k string) bool {
		return kind == "all" || kind == k || kind == "machine" && (k == "cpu" || k == "memory" || k == "storage")
	}
	if strings.EqualFold(in.ContentType, "definitions") {
		var rows [][]any
		for _, name := range slices.Sorted(maps.Keys(coreMetrics)) {
			info := coreMetrics[name]
			r := "be"
			if !strings.HasPrefix(name, "doris_be_") {
				r = "fe"
			}
			if (role == "all" || role == r) && kinds(info.kind) && strings.HasPrefix(name, in.NamePrefix) {
				rows = append(rows, []any{nil, r, name, nil, nil, info.kind, info.meaning})
			}
		}
		return c.result(ctx, start, c.metaLimits(), metricColumns, rows)
	}
	if _, err := c.require(ctx, "get_monitoring_metrics", need{FEHTTP: true}); err != nil {
		return nil, err
	}
	nodes, err := c.scrapeAll(ctx, role != "be", role != "fe")
	if err != nil {
		return nil, err
	}
	var rows [][]any
	for _, n := range nodes {
		if kinds("cluster") {
			// Like Prometheus's own up: whether the node could be read.
			up, meaning := 1.0, "The node's /metrics was read."
			if n.err != nil {
				up, meaning = 0, "The node's /metrics could not be read: "+n.err.Error()
			}
			if strings.HasPrefix("up", in.NamePrefix) {
				rows = append(rows, []any{n.node, n.role, "up", "", up, "cluster", meaning})
			}
		}
		if n.m == nil {
			continue
		}
		for _, name := range sortedFamilies(n.m) {
			info, curated := coreMetrics[name]
			if priority == "core" && !curated {
				continue
			}
			if !strings.HasPrefix(name, in.NamePrefix) {
				continue
			}
			k := kindOf(name)
			if !kinds(k) {
				continue
			}
			fam := n.m.Families[name]
			meaning := info.meaning
			if meaning == "" {
				meaning = fam.GetHelp()
			}
			for _, s := range samples(fam) {
				rows = append(rows, []any{n.node, n.role, s.name, s.labels, jsonNumber(s.value), k, meaning})
			}
		}
	}
	lim := c.metaLimits()
	return c.result(ctx, start, lim, metricColumns, rows)
}

func sortedFamilies(m *dorishttp.Metrics) []string {
	out := make([]string, 0, len(m.Families))
	for name := range m.Families {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// sample is one value of a metric family, with its labels as k=v,k=v.
type sample struct {
	name, labels string
	value        float64
}

// samples flattens a family: a summary into its quantiles, _sum and
// _count; a histogram into _sum and _count.
func samples(fam *dto.MetricFamily) []sample {
	var out []sample
	name := fam.GetName()
	for _, m := range fam.GetMetric() {
		labels := labelText(m.GetLabel(), "")
		switch fam.GetType() {
		case dto.MetricType_COUNTER:
			out = append(out, sample{name, labels, m.GetCounter().GetValue()})
		case dto.MetricType_GAUGE:
			out = append(out, sample{name, labels, m.GetGauge().GetValue()})
		case dto.MetricType_SUMMARY:
			for _, q := range m.GetSummary().GetQuantile() {
				out = append(out, sample{name, labelText(m.GetLabel(), "quantile="+strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)), q.GetValue()})
			}
			out = append(out, sample{name + "_sum", labels, m.GetSummary().GetSampleSum()},
				sample{name + "_count", labels, float64(m.GetSummary().GetSampleCount())})
		case dto.MetricType_HISTOGRAM:
			out = append(out, sample{name + "_sum", labels, m.GetHistogram().GetSampleSum()},
				sample{name + "_count", labels, float64(m.GetHistogram().GetSampleCount())})
		default:
			out = append(out, sample{name, labels, m.GetUntyped().GetValue()})
		}
	}
	return out
}

func labelText(pairs []*dto.LabelPair, extra string) string {
	parts := make([]string, 0, len(pairs)+1)
	for _, p := range pairs {
		parts = append(parts, p.GetName()+"="+p.GetValue())
	}
	slices.Sort(parts)
	if extra != "" {
		parts = append(parts, extra)
	}
	return strings.Join(parts, ",")
}

// jsonNumber is v as JSON can carry it: NaN and infinities, which
// Prometheus text allows, become null.
func jsonNumber(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

var memoryColumns = cols(
	"node", "VARCHAR",
	"category", "VARCHAR",
	"name", "VARCHAR",
	"bytes", "BIGINT",
	"meaning", "VARCHAR",
)

func (c *catalog) memoryStats(ctx context.Context, in memoryArgs) (*query.Result, error) {
	start := time.Now()
	if !strings.EqualFold(in.DataType, "realtime") {
		return nil, fmt.Errorf("data_type %s: Doris keeps no memory history on its nodes; use data_type realtime, "+
			"or read history from a metrics store (Prometheus) that scrapes the BEs' /metrics", in.DataType)
	}
	trackerType := strings.ToLower(in.TrackerType)
	if _, err := c.require(ctx, "get_memory_stats", need{FEHTTP: true}); err != nil {
		return nil, err
	}
	nodes, err := c.scrapeAll(ctx, false, true)
	if err != nil {
		return nil, err
	}
	if in.Node != "" {
		nodes = slices.DeleteFunc(nodes, func(n scrape) bool { return n.node != strings.ToLower(in.Node) })
		if len(nodes) == 0 {
			return nil, fmt.Errorf("node %q is not a BE of this cluster; get_cluster_nodes lists them (host:http_port)", in.Node)
		}
	}
	var rows [][]any
	for _, n := range nodes {
		if n.err != nil {
			rows = append(rows, []any{n.node, "error", "unreadable", nil, "The BE's /metrics could not be read: " + n.err.Error()})
			continue
		}
		for _, name := range sortedFamilies(n.m) {
			var category string
			switch {
			case name == "doris_be_mem_consumption":
				category = "tracker"
			case strings.HasPrefix(name, "doris_be_memory_jemalloc"):
				category = "jemalloc"
			case strings.HasPrefix(name, "doris_be_memory_"), name == "doris_be_process_mem_bytes":
				category = "process"
			default:
				continue
			}
			if category != "process" && in.IncludeDetails != nil && !*in.IncludeDetails {
				continue
			}
			fam := n.m.Families[name]
			meaning := coreMetrics[name].meaning
			if meaning == "" {
				meaning = fam.GetHelp()
			}
			for _, s := range samples(fam) {
				label := strings.TrimPrefix(strings.TrimPrefix(s.name, "doris_be_memory_"), "doris_be_")
				if category == "tracker" {
					label = strings.TrimPrefix(s.labels, "type=")
					if trackerType != "overview" && trackerType != "all" && !strings.Contains(strings.ToLower(label), trackerType) ||
						len(in.TrackerNames) > 0 && !slices.ContainsFunc(in.TrackerNames, func(n string) bool { return strings.EqualFold(n, label) }) {
						continue
					}
				} else if s.labels != "" {
					label += "{" + s.labels + "}"
				}
				var v any
				if !math.IsNaN(s.value) && !math.IsInf(s.value, 0) {
					v = int64(s.value)
				}
				rows = append(rows, []any{n.node, category, label, v, meaning})
			}
		}
	}
	return c.result(ctx, start, c.metaLimits(), memoryColumns, rows)
}
