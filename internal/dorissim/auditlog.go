package dorissim

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// AuditDB and AuditTable name Doris's built-in audit log table (2.1 and
// later), which the simulator fills with generated history.
const (
	AuditDB    = "__internal_schema"
	AuditTable = "audit_log"
)

// auditRows is how many audit records the simulator generates, spread
// over the auditDays days before the server's start day.
const (
	auditRows = 3000
	auditDays = 30
)

// auditColumn is one column of audit_log: its name and engine type.
type auditColumn struct{ name, typ string }

// auditSchema returns the audit_log columns of a release line: 2.1.7 has
// the later 2.1 layout (DATETIME(3) time, stmt_type), 3.0 adds the shuffle
// and storage counters, is_nereids and compute_group.
func auditSchema(rel release) []auditColumn {
	base := []auditColumn{
		{"query_id", "VARCHAR(48)"}, {"time", "DATETIME(3)"}, {"client_ip", "VARCHAR(128)"}, {"user", "VARCHAR(128)"},
		{"catalog", "VARCHAR(128)"}, {"db", "VARCHAR(128)"}, {"state", "VARCHAR(128)"}, {"error_code", "INT"},
		{"error_message", "TEXT"}, {"query_time", "BIGINT"}, {"scan_bytes", "BIGINT"}, {"scan_rows", "BIGINT"},
		{"return_rows", "BIGINT"},
	}
	if rel.atLeast(Version30) {
		base = append(base, auditColumn{"shuffle_send_rows", "BIGINT"}, auditColumn{"shuffle_send_bytes", "BIGINT"},
			auditColumn{"scan_bytes_from_local_storage", "BIGINT"}, auditColumn{"scan_bytes_from_remote_storage", "BIGINT"})
	}
	base = append(base, auditColumn{"stmt_id", "BIGINT"}, auditColumn{"stmt_type", "VARCHAR(48)"}, auditColumn{"is_query", "TINYINT"})
	if rel.atLeast(Version30) {
		base = append(base, auditColumn{"is_nereids", "TINYINT"})
	}
	base = append(base, auditColumn{"frontend_ip", "VARCHAR(128)"}, auditColumn{"cpu_time_ms", "BIGINT"},
		auditColumn{"sql_hash", "VARCHAR(128)"}, auditColumn{"sql_digest", "VARCHAR(128)"},
		auditColumn{"peak_memory_bytes", "BIGINT"}, auditColumn{"workload_group", "TEXT"})
	if rel.atLeast(Version30) {
		base = append(base, auditColumn{"compute_group", "TEXT"})
	}
	return append(base, auditColumn{"stmt", "TEXT"})
}

// auditDDL creates the audit database and table; every column is
// nullable, as in Doris.
func auditDDL(rel release) []string {
	cols := make([]string, 0, len(auditSchema(rel)))
	for _, c := range auditSchema(rel) {
		cols = append(cols, fmt.Sprintf("  `%s` %s NULL", c.name, c.typ))
	}
	return []string{
		"CREATE DATABASE IF NOT EXISTS `" + AuditDB + "`",
		"CREATE TABLE `" + AuditDB + "`.`" + AuditTable + "` (\n" + strings.Join(cols, ",\n") + "\n) COMMENT='Doris internal audit table, DO NOT MODIFY IT'",
	}
}

// auditStmt is a statement template of the generated history.
type auditStmt struct {
	sql      string
	kind     string // stmt_type
	scanRows int    // rows the statement reads
	retRows  int    // rows it returns (queries) or writes (INSERT)
	slowMs   int    // typical duration in ms
	weight   int
}

// auditStmts are the statements a shop's users, BI tool and ETL jobs run
// on the sample database. The INSERT ... SELECT jobs give lineage (source
// tables into sample_mart tables).
var auditStmts = []auditStmt{
	{"SELECT * FROM sample.orders WHERE order_date >= '2024-12-01' ORDER BY id LIMIT 100", "SELECT", 5000, 100, 40, 12},
	{"SELECT id, name, email FROM sample.customers WHERE city = 'Shanghai'", "SELECT", 2000, 120, 15, 10},
	{"SELECT status, COUNT(*) FROM sample.orders GROUP BY status", "SELECT", 5000, 6, 30, 10},
	{"SELECT category, COUNT(*), AVG(price) FROM sample.products GROUP BY category", "SELECT", 200, 8, 10, 6},
	{"SELECT c.city, SUM(o.total) AS revenue FROM sample.orders o JOIN sample.customers c ON c.id = o.customer_id GROUP BY c.city ORDER BY revenue DESC", "SELECT", 7000, 16, 180, 8},
	{"SELECT p.name, SUM(oi.qty) AS units FROM sample.order_items oi JOIN sample.products p ON p.id = oi.product_id GROUP BY p.name ORDER BY units DESC LIMIT 20", "SELECT", 12700, 20, 250, 6},
	{"SELECT event_type, COUNT(*) FROM sample.events WHERE occurred_at >= '2024-07-01' GROUP BY event_type", "SELECT", 1000, 6, 12, 5},
	{"SELECT * FROM sample.customer_order_totals ORDER BY total_spent DESC LIMIT 50", "SELECT", 7000, 50, 300, 4},
	{"SELECT o.id, o.total, oi.product_id, oi.qty FROM sample.orders o JOIN sample.order_items oi ON oi.order_id = o.id WHERE o.customer_id = 42", "SELECT", 12700, 9, 60, 5},
	{"SELECT COUNT(DISTINCT customer_id) FROM sample.orders WHERE order_date BETWEEN '2024-01-01' AND '2024-06-30'", "SELECT", 5000, 1, 35, 4},
	{"SELECT a.customer_id, b.customer_id FROM sample.orders a JOIN sample.orders b ON a.shipping_city = b.shipping_city", "SELECT", 10000, 2000000, 45000, 1},
	{"SELECT DATE_FORMAT(order_date, '%Y-%m') AS month, SUM(total) FROM sample.orders GROUP BY month ORDER BY month", "SELECT", 5000, 24, 45, 6},
	{"SELECT 1", "SELECT", 0, 1, 1, 6},
	{"SELECT @@version_comment LIMIT 1", "SELECT", 0, 1, 1, 3},
	{"SHOW DATABASES", "SHOW", 0, 3, 2, 3},
	{"SHOW TABLES FROM sample", "SHOW", 0, 6, 2, 2},
	{"SET query_timeout = 60", "SET", 0, 0, 1, 2},
	{"USE sample", "USE", 0, 0, 1, 2},
	{"INSERT INTO sample_mart.daily_sales SELECT order_date, COUNT(*), SUM(total) FROM sample.orders GROUP BY order_date", "INSERT", 5000, 730, 2600, 2},
	{"INSERT INTO sample_mart.customer_ltv SELECT c.id, c.name, SUM(o.total) FROM sample.customers c JOIN sample.orders o ON o.customer_id = c.id GROUP BY c.id, c.name", "INSERT", 7000, 1800, 4200, 2},
	{"INSERT INTO sample_mart.product_sales SELECT oi.product_id, p.category, SUM(oi.qty * oi.unit_price) FROM sample.order_items oi JOIN sample.products p ON p.id = oi.product_id GROUP BY oi.product_id, p.category", "INSERT", 12900, 200, 3100, 2},
	{"SELECT * FROM sample.order WHERE id = 100001", "SELECT", 0, 0, 3, 2},
}

// failed variants: the statement above whose table is misspelt fails; a
// few others fail by timeout or memory.
const auditBadTable = "SELECT * FROM sample.order WHERE id = 100001"

var auditUsers = []struct {
	name string
	ips  []string
}{
	{"root", []string{"127.0.0.1", "10.0.0.5"}},
	{"admin", []string{"10.0.0.5", "10.0.1.17"}},
	{"analyst_li", []string{"10.0.3.21", "10.0.3.22"}},
	{"bi_reader", []string{"10.0.4.8"}},
	{"etl_job", []string{"10.0.2.11"}},
	{"shop_app", []string{"10.0.5.31", "10.0.5.32", "10.0.5.33"}},
}

// auditData is the audit history of rel ending at the start of day,
// generated once per process: the same day gives the same rows.
func auditData(rel release, day time.Time) tableData {
	k := auditKey{rel, day.Unix()}
	if d, ok := auditCache.Load(k); ok {
		return d.(tableData)
	}
	d, _ := auditCache.LoadOrStore(k, generateAudit(rel, day))
	return d.(tableData)
}

type auditKey struct {
	rel release
	day int64
}

var auditCache sync.Map // auditKey → tableData

func generateAudit(rel release, day time.Time) tableData {
	r := &rng{s: uint64(day.Unix())}
	cols := auditSchema(rel)
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	total := 0
	for _, st := range auditStmts {
		total += st.weight
	}
	from := day.AddDate(0, 0, -auditDays)
	span := int64(auditDays * 24 * time.Hour / time.Millisecond)
	offsets := make([]int64, auditRows)
	for i := range offsets {
		offsets[i] = int64(r.next() % uint64(span))
	}
	slices.Sort(offsets)

	data := tableData{name: AuditTable, cols: names, key: fmt.Sprintf("%s/%v/%d", AuditTable, rel, day.Unix())}
	for i, off := range offsets {
		n := r.intn(total)
		var st auditStmt
		for _, s := range auditStmts {
			if n < s.weight {
				st = s
				break
			}
			n -= s.weight
		}
		user := auditUsers[r.intn(len(auditUsers))]
		switch st.kind {
		case "INSERT":
			user = auditUsers[4] // etl_job
		}
		ip := user.ips[r.intn(len(user.ips))]
		when := from.Add(time.Duration(off) * time.Millisecond)
		ms := st.slowMs/2 + r.intn(st.slowMs+1)
		state, code, msg := "EOF", 0, ""
		if st.kind != "SELECT" && st.kind != "SHOW" {
			state = "OK"
		}
		ret := st.retRows
		switch {
		case st.sql == auditBadTable:
			state, code, msg, ret = "ERR", 1105, "errCode = 2, detailMessage = Table [order] does not exist in database [sample].", 0
		case st.slowMs > 10000 && r.chance(40):
			state, code, msg, ret = "ERR", 1105, "errCode = 2, detailMessage = Timeout", 0
			ms = 60000
		case r.chance(2):
			ms *= 20 // an occasional slow run of an ordinary query
		}
		scanBytes := int64(st.scanRows) * 96
		row := map[string]value{
			"query_id":                       str(fmt.Sprintf("%016x-%016x", r.next(), r.next())),
			"time":                           str(when.Format("2006-01-02 15:04:05.000")),
			"client_ip":                      str(fmt.Sprintf("%s:%d", ip, 40000+r.intn(25000))),
			"user":                           str(user.name),
			"catalog":                        str(internalCatalog),
			"db":                             str(SampleDB),
			"state":                          str(state),
			"error_code":                     num(code),
			"error_message":                  str(msg),
			"query_time":                     num(ms),
			"scan_bytes":                     num(scanBytes),
			"scan_rows":                      num(st.scanRows),
			"return_rows":                    num(ret),
			"stmt_id":                        num(i + 1),
			"stmt_type":                      str(st.kind),
			"is_query":                       num(boolInt(st.kind == "SELECT")),
			"is_nereids":                     num(1),
			"frontend_ip":                    str("127.0.0.1"),
			"cpu_time_ms":                    num(ms * 3 / 4),
			"sql_hash":                       str(sqlHash(st.sql)),
			"sql_digest":                     str(""),
			"peak_memory_bytes":              num(int64(st.scanRows)*256 + 65536),
			"workload_group":                 str("normal"),
			"compute_group":                  str(""),
			"stmt":                           str(st.sql),
			"shuffle_send_rows":              num(st.scanRows / 2),
			"shuffle_send_bytes":             num(scanBytes / 2),
			"scan_bytes_from_local_storage":  num(scanBytes),
			"scan_bytes_from_remote_storage": num(0),
		}
		if ms >= 5000 {
			row["sql_digest"] = str(sqlHash("digest:" + st.sql))
		}
		vals := make([]value, len(names))
		for k, c := range names {
			vals[k] = row[c]
		}
		data.rows = append(data.rows, vals)
	}
	return data
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
