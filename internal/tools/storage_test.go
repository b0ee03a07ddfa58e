package tools

import (
	"fmt"
	"testing"
	"time"
)

// A row's staleness: a view behind which some table's change is unknown
// is fresh when the newest known change is, and of unknown staleness
// otherwise, since the unknown one may be later.
func TestSetChange(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		last    string
		partial bool
		want    string
	}{
		{"2026-12-05 11:00:00", false, "[2026-12-05 11:00:00 1 false]"},
		{"2026-12-05 09:00:00", false, "[2026-12-05 09:00:00 3 true]"},
		{"2026-12-05 11:00:00", true, "[2026-12-05 11:00:00 1 false]"},
		{"2026-12-05 09:00:00", true, "[2026-12-05 09:00:00 3 <nil>]"},
		{"2026-12-05 10:00:00", false, "[2026-12-05 10:00:00 2 false]"}, // exactly the threshold is not older than it
		{"", true, "[<nil> <nil> <nil>]"},
	} {
		row := make([]any, 8)
		setChange(row, tc.last, tc.partial, now, 2)
		if got := fmt.Sprint(row[1:4]); got != tc.want {
			t.Errorf("last %q partial %v: %s, want %s", tc.last, tc.partial, got, tc.want)
		}
	}
}

// SHOW DATA FROM a table lists its indexes by name, the base not first when
// a rollup sorts before it, then Total: the size is the Total's, the rows
// the base index's.
func TestTableData(t *testing.T) {
	names := []string{"TableName", "IndexName", "Size", "ReplicaCount", "RowCount", "RemoteSize"}
	rows := [][]any{
		{"orders", "a_rollup", "1.000 KB", "3", "10", "0.000 "},
		{"", "orders", "2.000 KB", "3", "42", "0.000 "},
		{"", "Total", "3.000 KB", "6", "", "0.000 "},
	}
	size, replicas, count := tableData("orders", names, rows)
	if size != int64(3072) || replicas != int64(6) || count != int64(42) {
		t.Errorf("tableData = %v, %v, %v; want 3072 bytes, 6 replicas, 42 rows", size, replicas, count)
	}
}
