package dorissim

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAuditLog(t *testing.T) {
	const q = "SELECT * FROM __internal_schema.audit_log"
	// 2.0 has no built-in audit table.
	if me := mysqlErr(t, open(t, startWith(t, Options{Version: Version20}), ""), q); !strings.Contains(me.Message, "Database [__internal_schema] does not exist.") {
		t.Errorf("2.0: %d %q", me.Number, me.Message)
	}
	want21 := "query_id time client_ip user catalog db state error_code error_message query_time scan_bytes scan_rows return_rows stmt_id stmt_type is_query frontend_ip cpu_time_ms sql_hash sql_digest peak_memory_bytes workload_group stmt"
	want30 := "query_id time client_ip user catalog db state error_code error_message query_time scan_bytes scan_rows return_rows shuffle_send_rows shuffle_send_bytes scan_bytes_from_local_storage scan_bytes_from_remote_storage stmt_id stmt_type is_query is_nereids frontend_ip cpu_time_ms sql_hash sql_digest peak_memory_bytes workload_group compute_group stmt"
	for _, tc := range []struct{ version, cols string }{{Version21, want21}, {Version30, want30}} {
		db := open(t, startWith(t, Options{Version: tc.version}), "")
		cols, rs := rows(t, db, q+" LIMIT 1")
		if diff := cmp.Diff(strings.Fields(tc.cols), cols); diff != "" {
			t.Errorf("%s: audit_log columns (-want +got):\n%s", tc.version, diff)
		}
		if len(rs) != 1 {
			t.Fatalf("%s: audit_log is empty", tc.version)
		}
	}

	// The history is realistic enough to analyse, and the same on every
	// server started the same day.
	a, b := open(t, start(t), ""), open(t, start(t), "")
	for _, tc := range []struct{ query, want string }{
		{"SELECT COUNT(*) >= 2000, COUNT(DISTINCT DATE(time)) >= 28, MAX(time) < CURDATE(), MIN(time) >= CURDATE() - INTERVAL 30 DAY FROM __internal_schema.audit_log", "1 1 1 1"},
		{"SELECT SUM(user = 'root') > 0, SUM(user = 'admin') > 0, COUNT(DISTINCT user) >= 4 FROM __internal_schema.audit_log", "1 1 1"},
		{"SELECT GROUP_CONCAT(DISTINCT state ORDER BY state) FROM __internal_schema.audit_log", "EOF,ERR,OK"},
		{"SELECT COUNT(*) > 0 FROM __internal_schema.audit_log WHERE state = 'ERR' AND error_code = 1105 AND error_message LIKE 'errCode = 2, detailMessage = %'", "1"},
		{"SELECT COUNT(*) > 10 FROM __internal_schema.audit_log WHERE query_time > 5000", "1"},
		{"SELECT COUNT(*) > 0 FROM __internal_schema.audit_log WHERE stmt LIKE 'INSERT INTO sample_mart.% SELECT % FROM sample.%' AND stmt_type = 'INSERT'", "1"},
		{"SELECT COUNT(*) FROM __internal_schema.audit_log WHERE client_ip NOT LIKE '%.%.%.%:%' OR LENGTH(query_id) <> 33 OR SUBSTRING(query_id, 17, 1) <> '-' OR LENGTH(sql_hash) <> 32", "0"},
	} {
		_, rs := rows(t, a, tc.query)
		if got := strings.Join(rs[0], " "); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.query, got, tc.want)
		}
	}
	const sig = "SELECT COUNT(*), SUM(query_time), MIN(query_id), MAX(stmt) FROM __internal_schema.audit_log"
	_, ra := rows(t, a, sig)
	_, rb := rows(t, b, sig)
	if diff := cmp.Diff(ra, rb); diff != "" {
		t.Errorf("two servers generated different audit logs (-a +b):\n%s", diff)
	}
}
