package dorishttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// feMetricsBody is FE /metrics as PrometheusMetricVisitor writes it: labels
// joined by ", ", summaries as quantile lines plus _sum and _count, JVM
// families without the doris_fe_ prefix.
const feMetricsBody = `# HELP doris_fe_query_total total query
# TYPE doris_fe_query_total counter
doris_fe_query_total 1234
# HELP doris_fe_job job statistics
# TYPE doris_fe_job gauge
doris_fe_job{job="load", type="INSERT", state="LOADING"} 0
doris_fe_job{job="load", type="BROKER", state="FINISHED"} 17
# HELP doris_fe_query_latency_ms query latency
# TYPE doris_fe_query_latency_ms summary
doris_fe_query_latency_ms{quantile="0.75"} 12.0
doris_fe_query_latency_ms{quantile="0.95"} 40.0
doris_fe_query_latency_ms{quantile="0.98"} 51.0
doris_fe_query_latency_ms{quantile="0.99"} 77.0
doris_fe_query_latency_ms{quantile="0.999"} 240.0
doris_fe_query_latency_ms_sum 4567.0
doris_fe_query_latency_ms_count 321
# HELP jvm_heap_size_bytes jvm heap stat
# TYPE jvm_heap_size_bytes gauge
jvm_heap_size_bytes{type="max"} 8589934592
jvm_heap_size_bytes{type="committed"} 2147483648
jvm_heap_size_bytes{type="used"} 1073741824
# TYPE node_info gauge
node_info{type="is_master"} 1
node_info{type="be_node_num", state="alive"} 3
`

func TestFEMetrics(t *testing.T) {
	fe := newNode(t)
	fe.reply("GET /metrics", "text/plain; version=0.0.4", feMetricsBody)
	c := newTestClient(t, Config{FEURL: fe.URL})
	m, err := c.FEMetrics(context.Background())
	if err != nil {
		t.Fatalf("FEMetrics: %v", err)
	}
	assertAuth(t, fe.requests())
	if m.Bytes != int64(len(feMetricsBody)) || m.Node != fe.URL+"/metrics" {
		t.Errorf("Node, Bytes = %q, %d; want %q, %d", m.Node, m.Bytes, fe.URL+"/metrics", len(feMetricsBody))
	}
	got := map[string]float64{}
	for name, f := range m.Families {
		for _, s := range f.GetMetric() {
			key := name + labelString(s)
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				got[key] = s.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				got[key] = s.GetGauge().GetValue()
			case dto.MetricType_SUMMARY:
				got[key+"_count"] = float64(s.GetSummary().GetSampleCount())
				got[key+"_sum"] = s.GetSummary().GetSampleSum()
				for _, q := range s.GetSummary().GetQuantile() {
					got[fmt.Sprintf("%s{q=%g}", key, q.GetQuantile())] = q.GetValue()
				}
			}
		}
	}
	want := map[string]float64{
		"doris_fe_query_total": 1234,
		`doris_fe_job{job="load",state="LOADING",type="INSERT"}`:  0,
		`doris_fe_job{job="load",state="FINISHED",type="BROKER"}`: 17,
		"doris_fe_query_latency_ms_count":                         321,
		"doris_fe_query_latency_ms_sum":                           4567,
		"doris_fe_query_latency_ms{q=0.75}":                       12,
		"doris_fe_query_latency_ms{q=0.95}":                       40,
		"doris_fe_query_latency_ms{q=0.98}":                       51,
		"doris_fe_query_latency_ms{q=0.99}":                       77,
		"doris_fe_query_latency_ms{q=0.999}":                      240,
		`jvm_heap_size_bytes{type="max"}`:                         8589934592,
		`jvm_heap_size_bytes{type="committed"}`:                   2147483648,
		`jvm_heap_size_bytes{type="used"}`:                        1073741824,
		`node_info{type="is_master"}`:                             1,
		`node_info{state="alive",type="be_node_num"}`:             3,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

// labelString renders labels sorted by name, the way the parser keeps them.
func labelString(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

func TestBEMetrics(t *testing.T) {
	be := newNode(t)
	body := beMetricsBody(16, 4)
	be.reply("GET /metrics", "text/plain; version=0.0.4", body)
	c := newTestClient(t, Config{FEURL: "http://fe.invalid:8030"})

	// Not yet discovered: refused without a request.
	if _, err := c.BEMetrics(context.Background(), be.addr()); !errors.Is(err, ErrUnknownBackend) {
		t.Fatalf("BEMetrics before discovery: err = %v, want ErrUnknownBackend", err)
	}
	if n := len(be.requests()); n != 0 {
		t.Fatalf("an unknown BE received %d requests", n)
	}

	host, port, _ := strings.Cut(be.addr(), ":")
	addr, err := BackendAddr(host, port)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetDiscoveredBackends([]string{addr}); err != nil {
		t.Fatal(err)
	}
	m, err := c.BEMetrics(context.Background(), be.addr())
	if err != nil {
		t.Fatalf("BEMetrics: %v", err)
	}
	assertAuth(t, be.requests())
	if m.Bytes != int64(len(body)) {
		t.Errorf("Bytes = %d, want %d", m.Bytes, len(body))
	}
	rss := m.Families["doris_be_memory_allocated_bytes"]
	if rss == nil || rss.GetMetric()[0].GetGauge().GetValue() != 6442450944 {
		t.Errorf("doris_be_memory_allocated_bytes = %v, want 6442450944", rss)
	}
	if n := len(m.Families["doris_be_cpu"].GetMetric()); n != 16*10 {
		t.Errorf("doris_be_cpu has %d samples, want %d", n, 16*10)
	}
}

// The BE can print a family's TYPE (and HELP) line twice; the scrape still
// parses, with every sample of the family.
func TestBEMetricsRepeatedType(t *testing.T) {
	be := newNode(t)
	body := "# HELP doris_be_mem_consumption mem\n# TYPE doris_be_mem_consumption gauge\n" +
		"doris_be_mem_consumption{type=\"query\"} 10\n" +
		"# TYPE doris_be_cpu counter\ndoris_be_cpu{mode=\"idle\"} 5\n" +
		"# HELP doris_be_mem_consumption mem\n# TYPE doris_be_mem_consumption gauge\n" +
		"doris_be_mem_consumption{type=\"load\"} 20\n"
	be.reply("GET /metrics", "text/plain; version=0.0.4", body)
	c := newTestClient(t, Config{FEURL: "http://fe.invalid:8030", Backends: []string{be.addr()}})
	m, err := c.BEMetrics(context.Background(), be.addr())
	if err != nil {
		t.Fatalf("BEMetrics with a repeated TYPE line: %v", err)
	}
	if n := len(m.Families["doris_be_mem_consumption"].GetMetric()); n != 2 {
		t.Errorf("doris_be_mem_consumption has %d samples, want 2", n)
	}
	if m.Bytes != int64(len(body)) {
		t.Errorf("Bytes = %d, want %d", m.Bytes, len(body))
	}
}

func TestMetricsGarbage(t *testing.T) {
	tests := []struct {
		name, contentType, body, wantMsg string
	}{
		{"HTML page", "text/html; charset=utf-8", "<html><body>Doris</body></html>", "want Prometheus text, got text/html"},
		{"JSON", "application/json", `{"msg":"success","code":0}`, "want Prometheus text, got application/json"},
		{"not metrics", "text/plain", "this is { not: metrics\n", "not Prometheus text"},
		{"binary", "application/octet-stream", "\x00\x01\x02\xff\xfe", "not Prometheus text"},
		{"empty", "text/plain", "", "no metrics in 0 bytes"},
		{"cut in a line", "text/plain", "# TYPE doris_be_x gauge\ndoris_be_x{a=\"1", "not Prometheus text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newNode(t)
			be.reply("GET /metrics", tt.contentType, tt.body)
			c := newTestClient(t, Config{FEURL: "http://fe.invalid:8030", Backends: []string{be.addr()}})
			_, err := c.BEMetrics(context.Background(), be.addr())
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), be.URL+"/metrics") {
				t.Fatalf("err = %v, want %q naming the endpoint", err, tt.wantMsg)
			}
			assertNoSecret(t, err)
		})
	}
}

// beMetricsBody writes a BE /metrics like a production node's: per-CPU and
// per-disk families, memory, thrift pools, workload groups, and a tail of
// scalar counters and gauges; about 3,000 lines for 16 CPUs and 4 disks.
func beMetricsBody(cpus, disks int) string {
	var b strings.Builder
	family := func(name, typ string) {
		fmt.Fprintf(&b, "# TYPE %s %s\n", name, typ)
	}
	family("doris_be_cpu", "counter")
	modes := []string{"user", "nice", "system", "idle", "iowait", "irq", "soft_irq", "steal", "guest", "guest_nice"}
	for i := range cpus {
		for j, mode := range modes {
			fmt.Fprintf(&b, "doris_be_cpu{device=\"cpu%d\",mode=\"%s\"} %d\n", i, mode, 1000003*(i+1)+j*7919)
		}
	}
	family("doris_be_memory_allocated_bytes", "gauge")
	b.WriteString("doris_be_memory_allocated_bytes 6442450944\n")
	family("doris_be_memory_jemalloc_resident_bytes", "gauge")
	b.WriteString("doris_be_memory_jemalloc_resident_bytes 5905580032\n")
	for _, name := range []string{"doris_be_disk_bytes_read", "doris_be_disk_bytes_written", "doris_be_disk_reads_completed",
		"doris_be_disk_writes_completed", "doris_be_disk_io_time_ms", "doris_be_disk_io_time_weigthed"} {
		family(name, "counter")
		for d := range disks {
			fmt.Fprintf(&b, "%s{device=\"nvme%dn1\"} %d\n", name, d, 123456789*(d+1))
		}
	}
	for _, name := range []string{"doris_be_disks_total_capacity", "doris_be_disks_local_used_capacity", "doris_be_disks_avail_capacity"} {
		family(name, "gauge")
		for d := range disks {
			fmt.Fprintf(&b, "%s{path=\"/data%d/doris/storage\"} %d\n", name, d, 1<<40+d)
		}
	}
	for _, name := range []string{"doris_be_network_receive_bytes", "doris_be_network_send_bytes", "doris_be_network_receive_packets", "doris_be_network_send_packets"} {
		family(name, "counter")
		for _, dev := range []string{"lo", "eth0", "eth1", "docker0"} {
			fmt.Fprintf(&b, "%s{device=\"%s\"} %d\n", name, dev, 987654321)
		}
	}
	for _, name := range []string{"doris_be_thrift_current_clients", "doris_be_thrift_opened_clients", "doris_be_thrift_used_clients"} {
		family(name, "gauge")
		for _, pool := range []string{"backend", "broker", "frontend"} {
			fmt.Fprintf(&b, "%s{name=\"%s\"} %d\n", name, pool, 12)
		}
	}
	for _, name := range []string{"doris_be_workload_group_cpu_time_sec", "doris_be_workload_group_mem_used_bytes",
		"doris_be_workload_group_local_scan_bytes", "doris_be_workload_group_remote_scan_bytes"} {
		family(name, "gauge")
		for g := range 8 {
			fmt.Fprintf(&b, "%s{workload_group=\"wg_%d\"} %d.5\n", name, g, 100*g)
		}
	}
	// The long tail: scalar families, as most BE metrics are.
	for i := range 900 {
		name := fmt.Sprintf("doris_be_component_%03d_total", i)
		fmt.Fprintf(&b, "# HELP %s counter number %d\n", name, i)
		family(name, "counter")
		fmt.Fprintf(&b, "%s %d\n", name, i*31)
	}
	return b.String()
}

// BenchmarkBEMetrics reads and parses a realistic BE /metrics over loopback
// HTTP: the cost of one metrics tool call per BE.
func BenchmarkBEMetrics(b *testing.B) {
	body := beMetricsBody(32, 8)
	be := newBenchNode(b, body)
	c, err := New(Config{FEURL: "http://fe.invalid:8030", Backends: []string{be}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := c.BEMetrics(context.Background(), be)
		if err != nil {
			b.Fatal(err)
		}
		if m.Bytes != int64(len(body)) {
			b.Fatalf("read %d bytes, want %d", m.Bytes, len(body))
		}
	}
	b.ReportMetric(float64(strings.Count(body, "\n")), "lines")
}

func newBenchNode(b *testing.B, body string) string {
	b.Helper()
	srv := newNodeTB(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(body))
	})
	return strings.TrimPrefix(srv, "http://")
}

// BenchmarkParseBEMetrics is the parse alone, without HTTP, to show what
// share of BenchmarkBEMetrics the Prometheus parser takes.
func BenchmarkParseBEMetrics(b *testing.B) {
	body := beMetricsBody(32, 8)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(body))
		if err != nil || len(fams) == 0 {
			b.Fatalf("parse: %d families, %v", len(fams), err)
		}
	}
	b.ReportMetric(float64(strings.Count(body, "\n")), "lines")
}
