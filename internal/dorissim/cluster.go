package dorissim

import (
	"fmt"
	"strconv"
	"time"
)

// internalCatalog is Doris's built-in catalog, where every session starts.
const internalCatalog = "internal"

// externalCatalog is the one external catalog SHOW CATALOGS lists. It is
// not simulated: switching to it or naming it fails with a clear error.
const externalCatalog = "hive_lake"

// Simulated ports that no client connects to; the HTTP ports are real.
const (
	feEditLogPort   = 9010
	feRPCPort       = 9020
	feArrowPort     = 10030
	beHeartbeatPort = 9050
	beBePort        = 9060
	beBrpcPort      = 8060
	beArrowPort     = 10040
	clusterID       = 840241689
)

// backend is one simulated BE. All BEs listen on 127.0.0.1; httpPort is
// the port of its real HTTP server.
type backend struct {
	id       int64
	httpPort int
	tablets  int
	used     uint64 // bytes of data
	total    uint64 // disk capacity in bytes
}

// cluster is the FE and BEs that SHOW FRONTENDS and SHOW BACKENDS report.
type cluster struct {
	feName     string
	feHTTPPort int
	queryPort  int
	bes        []*backend
}

func newCluster(n int, queryPort int, dataBytes uint64, tablets int) *cluster {
	c := &cluster{feName: "fe_65a0c6f0_b31f_42ac_bd20_26d851299f1a", queryPort: queryPort}
	for i := range n {
		c.bes = append(c.bes, &backend{
			id:      10002 + int64(i),
			tablets: tablets / n,
			used:    dataBytes / uint64(n),
			total:   75_000_000_000 + uint64(i)*1_000_000_000,
		})
	}
	return c
}

// capacity prints bytes as Doris's SHOW BACKENDS does: "%.3f <unit>".
func capacity(b uint64) string {
	if b == 0 {
		return "0.000"
	}
	units := []string{"B", "KB", "MB", "GB", "TB"}
	f := float64(b)
	u := 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	return fmt.Sprintf("%.3f %s", f, units[u])
}

// frontendsResult is SHOW FRONTENDS for rel.
func (s *Server) frontendsResult() ([]string, [][]any) {
	c := s.cluster
	start := s.started.Format(datetimeFmt)
	beat := time.Now().Format(datetimeFmt)
	if !s.rel.atLeast(Version21) {
		return []string{"Name", "Host", "EditLogPort", "HttpPort", "QueryPort", "RpcPort", "Role", "IsMaster", "ClusterId", "Join", "Alive", "ReplayedJournalId", "LastHeartbeat", "IsHelper", "ErrMsg", "Version", "CurrentConnected"},
			[][]any{{c.feName, "127.0.0.1", itoa(feEditLogPort), itoa(c.feHTTPPort), itoa(c.queryPort), itoa(feRPCPort), "FOLLOWER", "true", itoa(clusterID), "true", "true", "302891", beat, "true", "", s.rel.nodeVersion(), "Yes"}}
	}
	return []string{"Name", "Host", "EditLogPort", "HttpPort", "QueryPort", "RpcPort", "ArrowFlightSqlPort", "Role", "IsMaster", "ClusterId", "Join", "Alive", "ReplayedJournalId", "LastStartTime", "LastHeartbeat", "IsHelper", "ErrMsg", "Version", "CurrentConnected"},
		[][]any{{c.feName, "127.0.0.1", itoa(feEditLogPort), itoa(c.feHTTPPort), itoa(c.queryPort), itoa(feRPCPort), itoa(feArrowPort), "FOLLOWER", "true", itoa(clusterID), "true", "true", "302891", start, beat, "true", "", s.rel.nodeVersion(), "Yes"}}
}

// backendsResult is SHOW BACKENDS for rel: 24 columns in 2.0 (with its
// TrashUsedCapcacity misspelling), 25 in 2.1, CpuCores and Memory added
// in 3.0.
func (s *Server) backendsResult() ([]string, [][]any) {
	cols := []string{"BackendId", "Host", "HeartbeatPort", "BePort", "HttpPort", "BrpcPort"}
	if s.rel.atLeast(Version21) {
		cols = append(cols, "ArrowFlightSqlPort")
	}
	trash := "TrashUsedCapacity"
	if !s.rel.atLeast(Version21) {
		trash = "TrashUsedCapcacity"
	}
	cols = append(cols, "LastStartTime", "LastHeartbeat", "Alive", "SystemDecommissioned", "TabletNum", "DataUsedCapacity", trash,
		"AvailCapacity", "TotalCapacity", "UsedPct", "MaxDiskUsedPct", "RemoteUsedCapacity", "Tag", "ErrMsg", "Version", "Status",
		"HeartbeatFailureCounter", "NodeRole")
	if s.rel.atLeast(Version30) {
		cols = append(cols, "CpuCores", "Memory")
	}
	start := s.started.Format(datetimeFmt)
	beat := time.Now().Format(datetimeFmt)
	var rows [][]any
	for _, b := range s.cluster.bes {
		pct := fmt.Sprintf("%.2f %%", 100*float64(b.used)/float64(b.total))
		row := []any{strconv.FormatInt(b.id, 10), "127.0.0.1", itoa(beHeartbeatPort), itoa(beBePort), itoa(b.httpPort), itoa(beBrpcPort)}
		if s.rel.atLeast(Version21) {
			row = append(row, itoa(beArrowPort))
		}
		row = append(row, start, beat, "true", "false", itoa(b.tablets), capacity(b.used), capacity(0),
			capacity(b.total-b.used), capacity(b.total), pct, pct, capacity(0), `{"location" : "default"}`, "", s.rel.nodeVersion(),
			fmt.Sprintf(`{"lastSuccessReportTabletsTime":"%s","lastStreamLoadTime":-1,"isQueryDisabled":false,"isLoadDisabled":false}`, beat),
			"0", "mix")
		if s.rel.atLeast(Version30) {
			row = append(row, "8", "31.26 GB")
		}
		rows = append(rows, row)
	}
	return cols, rows
}

// catalogsResult is SHOW CATALOGS: the internal catalog and one external
// catalog that is listed but not served.
func (s *Server) catalogsResult(current string) ([]string, [][]any) {
	isCur := func(name string) string {
		if name == current {
			return "yes"
		}
		return ""
	}
	if !s.rel.atLeast(Version21) {
		return []string{"CatalogId", "CatalogName", "Type", "IsCurrent"},
			[][]any{{"0", internalCatalog, "internal", isCur(internalCatalog)}, {"130100", externalCatalog, "hms", isCur(externalCatalog)}}
	}
	created := s.started.Add(-24 * time.Hour)
	return []string{"CatalogId", "CatalogName", "Type", "IsCurrent", "CreateTime", "LastUpdateTime", "Comment"},
		[][]any{
			{"0", internalCatalog, "internal", isCur(internalCatalog), "UNRECORDED", nil, "Doris internal catalog"},
			{"130100", externalCatalog, "hms", isCur(externalCatalog), created.Format(datetimeFmt + ".000"), created.Format(datetimeFmt), nil},
		}
}

func itoa(n int) string { return strconv.Itoa(n) }
