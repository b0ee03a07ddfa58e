package dorissim

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// get fetches url with Basic auth (user "" sends none) and returns the
// status and body.
func get(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// getEnvelope fetches a FE REST URL as root and decodes its envelope.
func getEnvelope(t *testing.T, url, user, pass string) envelopeOut {
	t.Helper()
	status, body := get(t, url, user, pass)
	if status != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", url, status, body)
	}
	var e envelopeOut
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
	return e
}

type envelopeOut struct {
	Msg   string          `json:"msg"`
	Code  int             `json:"code"`
	Data  json.RawMessage `json:"data"`
	Count int             `json:"count"`
}

// Discovery works end to end: the HttpPort columns of SHOW FRONTENDS and
// SHOW BACKENDS lead to servers that answer /metrics with Doris's names.
func TestHTTPDiscoveryAndMetrics(t *testing.T) {
	s := startWith(t, Options{Backends: 2})
	db := open(t, s, SampleDB)
	rows(t, db, "SELECT COUNT(*) FROM orders")
	_ = mysqlErr(t, db, "SELECT * FROM nosuch")

	cols, rs := rows(t, db, "SHOW FRONTENDS")
	fe := net.JoinHostPort(column(t, cols, rs, "Host")[0], column(t, cols, rs, "HttpPort")[0])
	if fe != s.FEHTTPAddr() {
		t.Errorf("SHOW FRONTENDS points at %s, FEHTTPAddr is %s", fe, s.FEHTTPAddr())
	}
	status, body := get(t, "http://"+fe+"/metrics", "", "")
	if status != http.StatusOK {
		t.Fatalf("FE /metrics: %d", status)
	}
	for _, want := range []string{
		"# TYPE doris_fe_query_total counter\n", "# TYPE doris_fe_query_latency_ms summary\n",
		"doris_fe_query_latency_ms{quantile=\"0.99\"} ", "doris_fe_query_latency_ms_count ",
		"doris_fe_query_err 1\n", "node_info{type=\"be_node_num\", state=\"alive\"} 2\n", "jvm_heap_size_bytes{type=\"used\"} ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("FE /metrics lacks %q:\n%s", want, body)
		}
	}

	cols, rs = rows(t, db, "SHOW BACKENDS")
	hosts, ports := column(t, cols, rs, "Host"), column(t, cols, rs, "HttpPort")
	var bes []string
	for i := range rs {
		bes = append(bes, net.JoinHostPort(hosts[i], ports[i]))
	}
	if diff := cmp.Diff(s.BEHTTPAddrs(), bes); diff != "" {
		t.Errorf("SHOW BACKENDS HTTP addresses (-accessor +SHOW):\n%s", diff)
	}
	for _, be := range bes {
		status, body := get(t, "http://"+be+"/metrics", "", "")
		for _, want := range []string{"doris_be_memory_allocated_bytes ", "doris_be_mem_consumption{type=\"query\"} ", "doris_be_cpu{device=\"cpu\", mode=\"idle\"} "} {
			if status != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("BE %s /metrics (%d) lacks %q", be, status, want)
			}
		}
		if _, body := get(t, "http://"+be+"/api/health", "", ""); body != `{"status": "OK","msg": "To Be Added"}` {
			t.Errorf("BE /api/health = %s", body)
		}
	}
}

func TestHTTPAuth(t *testing.T) {
	s := startWith(t, Options{Users: map[string]string{"alice": "s3cret"}})
	url := "http://" + s.FEHTTPAddr() + "/api/health"
	for _, tc := range []struct {
		user, pass string
		code       int
	}{
		{"root", "", 0},
		{"alice", "s3cret", 0},
		{"alice", "wrong", 401},
		{"bob", "", 401},
		{"", "", 401},
	} {
		if e := getEnvelope(t, url, tc.user, tc.pass); e.Code != tc.code {
			t.Errorf("%s/%s: code %d (%s), want %d", tc.user, tc.pass, e.Code, e.Data, tc.code)
		}
	}
	s2 := startWith(t, Options{Users: map[string]string{"root": "pw"}})
	if e := getEnvelope(t, "http://"+s2.FEHTTPAddr()+"/api/health", "root", ""); e.Code != 401 || e.Msg != "Unauthorized" {
		t.Errorf("root without its password: %+v", e)
	}
}

func TestHTTPShowTableDataAndVersion(t *testing.T) {
	for _, v := range []string{Version20, Version30} {
		s := startWith(t, Options{Version: v})
		base := "http://" + s.FEHTTPAddr()
		e := getEnvelope(t, base+"/api/show_table_data?db=sample", "root", "")
		var data map[string]map[string]int64
		if err := json.Unmarshal(e.Data, &data); err != nil || e.Code != 0 || e.Msg != "success" {
			t.Fatalf("show_table_data: %+v %v", e, err)
		}
		if data["sample"]["orders"] <= 0 || data["sample"]["customer_order_totals"] != 0 || len(data["sample"]) != 6 {
			t.Errorf("show_table_data = %v", data)
		}
		// A view asked for by name is reported too, with 0 bytes.
		for table, want := range map[string]string{"customer_order_totals": `{"sample":{"customer_order_totals":0}}`, "nothing": `{"sample":{}}`} {
			if e := getEnvelope(t, base+"/api/show_table_data?db=sample&table="+table, "root", ""); e.Code != 0 || string(e.Data) != want {
				t.Errorf("show_table_data of %s: code %d, data %s; want %s", table, e.Code, e.Data, want)
			}
		}
		if e := getEnvelope(t, base+"/api/show_table_data?db=nowhere", "root", ""); e.Code != 1 || string(e.Data) != `"database nowhere not found."` {
			t.Errorf("unknown db: %+v", e)
		}
		e = getEnvelope(t, base+"/api/fe_version_info", "root", "")
		var vi struct {
			FeVersionInfo map[string]any `json:"feVersionInfo"`
		}
		if err := json.Unmarshal(e.Data, &vi); err != nil {
			t.Fatal(err)
		}
		if got, want := vi.FeVersionInfo["dorisBuildVersion"], s.rel.build; got != want {
			t.Errorf("%s: dorisBuildVersion %v, want %v", v, got, want)
		}
	}
}

// A query run with a trace id and enable_profile leaves a profile that
// the FE serves: trace id → query id → profile text.
func TestHTTPProfileByTraceID(t *testing.T) {
	s := start(t)
	base := "http://" + s.FEHTTPAddr()
	c := conn(t, open(t, s, SampleDB))
	ctx := context.Background()
	for _, q := range []string{"SET enable_profile = true", "SET session_context = 'trace_id:trace-one'"} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	const q1 = "SELECT COUNT(*) FROM orders WHERE status = 'paid'"
	rows(t, c, q1)
	const q2 = `SELECT /*+ SET_VAR(session_context="trace_id:trace-two") */ id FROM customers LIMIT 3`
	rows(t, c, q2)

	for _, tc := range []struct{ trace, sql, rows string }{
		{"trace-one", q1, "Returned Rows: 1\n"},
		{"trace-two", " id FROM customers LIMIT 3", "Returned Rows: 3\n"},
	} {
		e := getEnvelope(t, base+"/rest/v2/manager/query/trace_id/"+tc.trace, "root", "")
		var qid string
		if err := json.Unmarshal(e.Data, &qid); err != nil || e.Code != 0 || len(qid) != 33 {
			t.Fatalf("trace %s: %+v", tc.trace, e)
		}
		e = getEnvelope(t, base+"/rest/v2/manager/query/profile/text/"+qid, "root", "")
		var p struct{ Profile string }
		if err := json.Unmarshal(e.Data, &p); err != nil || e.Code != 0 {
			t.Fatalf("profile %s: %+v", qid, e)
		}
		for _, want := range []string{"Summary:\n", "   - Profile ID: " + qid + "\n", "   - Task State: EOF\n", "   - User: root\n", "   - Default Db: sample\n", tc.sql, "   - Trace ID: " + tc.trace + "\n", tc.rows} {
			if !strings.Contains(p.Profile, want) {
				t.Errorf("profile of %s lacks %q:\n%s", tc.trace, want, p.Profile)
			}
		}
		if status, body := get(t, base+"/api/profile/text?query_id="+qid, "root", ""); status != http.StatusOK || body != p.Profile {
			t.Errorf("/api/profile/text: %d %q", status, body)
		}
	}
	if e := getEnvelope(t, base+"/rest/v2/manager/query/trace_id/unknown", "root", ""); e.Code != 403 || e.Msg != "Bad Request" {
		t.Errorf("unknown trace id: %+v", e)
	}
	if status, _ := get(t, base+"/api/profile/text?query_id=0000000000000000-0000000000000000", "root", ""); status != http.StatusNotFound {
		t.Errorf("unknown query id: HTTP %d", status)
	}

	// A hint alone can turn profiling on for its statement.
	c2 := conn(t, open(t, s, SampleDB))
	rows(t, c2, `SELECT /*+ SET_VAR(enable_profile=true, session_context='trace_id:trace-hint') */ 1`)
	if e := getEnvelope(t, base+"/rest/v2/manager/query/trace_id/trace-hint", "root", ""); e.Code != 0 {
		t.Errorf("no profile for a statement hinted with enable_profile=true: %+v", e)
	}
	if _, rs := rows(t, c2, "SELECT @@enable_profile, @@session_context"); rs[0][0] != "0" || rs[0][1] != "" {
		t.Errorf("the hint outlived its statement: %v", rs)
	}

	// Without enable_profile the trace id still leads to the query id
	// (fidelity ledger: session-context-trace-id), but no profile is kept.
	if _, err := c.ExecContext(ctx, "SET enable_profile = false"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "SET session_context = 'trace_id:trace-three'"); err != nil {
		t.Fatal(err)
	}
	rows(t, c, q1)
	e := getEnvelope(t, base+"/rest/v2/manager/query/trace_id/trace-three", "root", "")
	var qid string
	if e.Code != 0 || json.Unmarshal(e.Data, &qid) != nil || qid == "" {
		t.Fatalf("no query id for a trace id without enable_profile: %+v", e)
	}
	if e := getEnvelope(t, base+"/rest/v2/manager/query/profile/text/"+qid, "root", ""); e.Code != 404 {
		t.Errorf("profile recorded without enable_profile: %+v", e)
	}
}
