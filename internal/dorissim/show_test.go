package dorissim

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The Doris SHOW statements have the column sets of each release line.
func TestShowColumnsPerVersion(t *testing.T) {
	fe20 := "Name Host EditLogPort HttpPort QueryPort RpcPort Role IsMaster ClusterId Join Alive ReplayedJournalId LastHeartbeat IsHelper ErrMsg Version CurrentConnected"
	fe21 := "Name Host EditLogPort HttpPort QueryPort RpcPort ArrowFlightSqlPort Role IsMaster ClusterId Join Alive ReplayedJournalId LastStartTime LastHeartbeat IsHelper ErrMsg Version CurrentConnected"
	be20 := "BackendId Host HeartbeatPort BePort HttpPort BrpcPort LastStartTime LastHeartbeat Alive SystemDecommissioned TabletNum DataUsedCapacity TrashUsedCapcacity AvailCapacity TotalCapacity UsedPct MaxDiskUsedPct RemoteUsedCapacity Tag ErrMsg Version Status HeartbeatFailureCounter NodeRole"
	be21 := "BackendId Host HeartbeatPort BePort HttpPort BrpcPort ArrowFlightSqlPort LastStartTime LastHeartbeat Alive SystemDecommissioned TabletNum DataUsedCapacity TrashUsedCapacity AvailCapacity TotalCapacity UsedPct MaxDiskUsedPct RemoteUsedCapacity Tag ErrMsg Version Status HeartbeatFailureCounter NodeRole"
	pl := "CurrentConnected Id User Host LoginTime Catalog Db Command Time State QueryId Info"
	parts := "PartitionId PartitionName VisibleVersion VisibleVersionTime State PartitionKey Range DistributionKey Buckets ReplicationNum StorageMedium CooldownTime RemoteStoragePolicy LastConsistencyCheckTime DataSize IsInMemory ReplicaAllocation IsMutable"
	for _, tc := range []struct {
		version, query, cols string
	}{
		{Version20, "SHOW FRONTENDS", fe20},
		{Version21, "SHOW FRONTENDS", fe21},
		{Version30, "show frontends;", fe21},
		{Version20, "SHOW BACKENDS", be20},
		{Version21, "SHOW BACKENDS", be21},
		{Version30, "SHOW BACKENDS", be21 + " CpuCores Memory"},
		{Version20, "SHOW PROCESSLIST", pl},
		{Version21, "SHOW FULL PROCESSLIST", pl},
		{Version30, "SHOW PROCESSLIST", pl + " FE CloudCluster"},
		{Version20, "SHOW DATA", "TableName Size ReplicaCount"},
		{Version21, "SHOW DATA", "TableName Size ReplicaCount RemoteSize"},
		{Version20, "SHOW DATA FROM sample.orders", "TableName IndexName Size ReplicaCount RowCount"},
		{Version30, "SHOW DATA FROM orders", "TableName IndexName Size ReplicaCount RowCount RemoteSize"},
		{Version20, "SHOW PARTITIONS FROM orders", parts},
		{Version21, "SHOW PARTITIONS FROM sample.orders", parts + " SyncWithBaseTables UnsyncTables"},
		{Version20, "SHOW PROC '/current_queries'", "QueryId ConnectionId Catalog Database User ScanBytes ProcessRows ExecTime"},
		{Version21, "SHOW PROC '/current_queries'", "QueryId ConnectionId Catalog Database User ScanRows ScanBytes ReturnedRows CpuMs MaxPeakMemoryBytes CurrentUsedMemoryBytes WorkloadGroupId ShuffleSendBytes ShuffleSendRows ScanBytesFromLocalStorage ScanBytesFromRemoteStorage SpillWriteBytesToLocalStorage SpillReadBytesFromLocalStorage BytesWriteIntoCache"},
		{Version21, "SHOW CREATE TABLE customers", "Table Create Table"},
	} {
		s := startWith(t, Options{Version: tc.version})
		cols, _ := rows(t, open(t, s, SampleDB), tc.query)
		if diff := cmp.Diff(strings.Fields(tc.cols), strings.Fields(strings.Join(cols, " "))); diff != "" {
			t.Errorf("%s on %s: columns (-want +got):\n%s", tc.query, tc.version, diff)
		}
	}
}

func TestShowClusterAndData(t *testing.T) {
	s := startWith(t, Options{Backends: 5})
	db := open(t, s, SampleDB)
	cols, rs := rows(t, db, "SHOW BACKENDS")
	if len(rs) != 5 {
		t.Fatalf("SHOW BACKENDS: %d rows, want 5", len(rs))
	}
	if v := column(t, cols, rs, "Version")[0]; v != "doris-2.1.7-rc03-443e87e203" {
		t.Errorf("BE Version = %q", v)
	}
	cols, rs = rows(t, db, "SHOW FRONTENDS")
	if q := column(t, cols, rs, "QueryPort")[0]; !strings.HasSuffix(s.Addr(), ":"+q) {
		t.Errorf("FE QueryPort %s, server at %s", q, s.Addr())
	}

	cols, rs = rows(t, db, "SHOW DATA")
	names := column(t, cols, rs, "TableName")
	if diff := cmp.Diff([]string{"Total", "Quota", "Left"}, names[len(names)-3:]); diff != "" {
		t.Errorf("SHOW DATA trailing rows (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(column(t, cols, rs, "Size")[0], " KB") {
		t.Errorf("SHOW DATA sizes: %v", rs)
	}

	cols, rs = rows(t, db, "SHOW PARTITIONS FROM orders")
	if len(rs) != 24 || rs[0][1] != "p202301" || column(t, cols, rs, "Buckets")[0] != "8" {
		t.Errorf("SHOW PARTITIONS FROM orders: %d rows, first %v", len(rs), rs[0])
	}
	if _, rs := rows(t, db, "SHOW PARTITIONS FROM customers"); len(rs) != 1 || rs[0][1] != "customers" {
		t.Errorf("SHOW PARTITIONS FROM customers: %v", rs)
	}

	_, rs = rows(t, db, "SHOW CREATE TABLE customers")
	ddl := rs[0][1]
	for _, frag := range []string{
		"CREATE TABLE `customers` (\n  `id` int NOT NULL COMMENT 'Customer ID',\n",
		"  `vip_level` tinyint NOT NULL DEFAULT \"0\" COMMENT 'Loyalty tier, 0 = none',\n",
		") ENGINE=OLAP\nUNIQUE KEY(`id`)\nCOMMENT 'Registered customers of the online shop'\nDISTRIBUTED BY HASH(`id`) BUCKETS 4\nPROPERTIES (\n",
		"\"enable_unique_key_merge_on_write\" = \"true\",\n",
	} {
		if !strings.Contains(ddl, frag) {
			t.Errorf("SHOW CREATE TABLE customers lacks %q:\n%s", frag, ddl)
		}
	}
	_, rs = rows(t, db, "SHOW CREATE TABLE events")
	if !strings.Contains(rs[0][1], "DUPLICATE KEY(`event_id`)") || !strings.Contains(rs[0][1], "`trace_id` largeint NOT NULL") {
		t.Errorf("SHOW CREATE TABLE events:\n%s", rs[0][1])
	}
}
