package dorissim

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/memory"
	gms "github.com/dolthub/go-mysql-server/sql"
	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"
)

// The query every backend must run for a long time while being cheap to
// cancel: it waits ten minutes for its first row, using no CPU, so the
// tests that hold it leave the machine to the others.
const longQuery = "SELECT COUNT(*) FROM seq_1_to_20000_wait_600000ms a"

func start(t testing.TB) *Server {
	t.Helper()
	return startWith(t, Options{})
}

func startWith(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func open(t testing.TB, s *Server, db string) *sql.DB {
	t.Helper()
	d, err := sql.Open("mysql", s.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func conn(t testing.TB, d *sql.DB) *sql.Conn {
	t.Helper()
	c, err := d.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// rows runs q and returns every row as text ("NULL" for NULL) plus the
// column names.
func rows(t testing.TB, db querier, q string) ([]string, [][]string) {
	t.Helper()
	rs, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rs.Next() {
		raw := make([]sql.RawBytes, len(cols))
		ptr := make([]any, len(cols))
		for i := range raw {
			ptr[i] = &raw[i]
		}
		if err := rs.Scan(ptr...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, b := range raw {
			if b == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(b)
			}
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return cols, out
}

// column returns column name of every row.
func column(t testing.TB, cols []string, rs [][]string, name string) []string {
	t.Helper()
	i := slices.IndexFunc(cols, func(c string) bool { return strings.EqualFold(c, name) })
	if i < 0 {
		t.Fatalf("no column %q in %v", name, cols)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r[i])
	}
	return out
}

// byKey indexes rows by the value of column key.
func byKey(t testing.TB, cols []string, rs [][]string, key string) map[string]map[string]string {
	t.Helper()
	k := slices.IndexFunc(cols, func(c string) bool { return strings.EqualFold(c, key) })
	if k < 0 {
		t.Fatalf("no column %q in %v", key, cols)
	}
	m := map[string]map[string]string{}
	for _, r := range rs {
		row := map[string]string{}
		for i, c := range cols {
			row[c] = r[i]
		}
		m[r[k]] = row
	}
	return m
}

func TestVersionAndConnectionID(t *testing.T) {
	for _, tc := range []struct{ version, comment string }{
		{"", "Doris version doris-2.1.7-rc03-443e87e203"},
		{Version20, "Doris version doris-2.0.12-2971efd194"},
		{Version21, "Doris version doris-2.1.7-rc03-443e87e203"},
		{Version30, "Doris version doris-3.0.4-rc02-39f9074cec"},
	} {
		s := startWith(t, Options{Version: tc.version})
		_, rs := rows(t, open(t, s, ""), "SELECT @@version_comment, VERSION(), @@version, CONNECTION_ID()")
		if diff := cmp.Diff([]string{tc.comment, "5.7.99", "5.7.99", "1"}, rs[0]); diff != "" {
			t.Errorf("version %q: server identity (-want +got):\n%s", tc.version, diff)
		}
	}
	for _, bad := range []Options{{Version: "1.2"}, {Backends: -1}, {Backends: maxBackends + 1}, {Users: map[string]string{"": "x"}}} {
		if s, err := Start(bad); err == nil {
			s.Close()
			t.Errorf("Start accepted %+v", bad)
		}
	}
	s := start(t)
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("Addr() = %q", s.Addr())
	}
	want := "root@tcp(" + s.Addr() + ")/sample?parseTime=false"
	if got := s.DSN("sample"); got != want {
		t.Errorf("DSN = %q, want %q", got, want)
	}
}

func TestMetadata(t *testing.T) {
	s := start(t)
	db := open(t, s, "")

	_, rs := rows(t, db, "SHOW DATABASES")
	if !slices.ContainsFunc(rs, func(r []string) bool { return r[0] == SampleDB }) {
		t.Errorf("SHOW DATABASES = %v, no %s", rs, SampleDB)
	}

	_, rs = rows(t, db, "SHOW FULL TABLES FROM sample")
	want := [][]string{
		{"customer_order_totals", "VIEW"},
		{"customers", "BASE TABLE"},
		{"events", "BASE TABLE"},
		{"order_items", "BASE TABLE"},
		{"orders", "BASE TABLE"},
		{"products", "BASE TABLE"},
	}
	if diff := cmp.Diff(want, rs); diff != "" {
		t.Errorf("SHOW FULL TABLES (-want +got):\n%s", diff)
	}

	cols, rs := rows(t, db, "SHOW FULL COLUMNS FROM sample.customers")
	byField := byKey(t, cols, rs, "Field")
	if got := column(t, cols, rs, "Field"); !slices.Equal(got, []string{"id", "name", "email", "phone", "city", "birth_date", "vip_level", "created_at"}) {
		t.Errorf("fields = %v", got)
	}
	for _, c := range []struct{ field, typ, null, key, def, comment string }{
		{"id", "int", "NO", "PRI", "NULL", "Customer ID"},
		{"email", "varchar(128) COLLATE utf8mb4_bin", "NO", "UNI", "NULL", "Contact email address"},
		{"phone", "varchar(20) COLLATE utf8mb4_bin", "YES", "", "NULL", "Mobile phone number"},
		{"city", "varchar(64) COLLATE utf8mb4_bin", "NO", "MUL", "NULL", "City of residence"},
		{"vip_level", "tinyint", "NO", "", "0", "Loyalty tier, 0 = none"},
		{"created_at", "datetime", "NO", "", "NULL", "Registration time"},
	} {
		r := byField[c.field]
		got := []string{r["Type"], r["Null"], r["Key"], r["Comment"]}
		if diff := cmp.Diff([]string{c.typ, c.null, c.key, c.comment}, got); diff != "" {
			t.Errorf("column %s (-want +got):\n%s", c.field, diff)
		}
		// The engine reports DEFAULT NULL of a nullable column as the
		// string 'NULL' where MariaDB sends SQL NULL; both read as "NULL" here.
		if r["Default"] != c.def {
			t.Errorf("column %s default = %q, want %q", c.field, r["Default"], c.def)
		}
	}

	// Doris lists secondary indexes only (inverted, bitmap, ngram bloom
	// filter), one row each (fidelity ledger: show-index); the sample's
	// MySQL-style keys are not Doris indexes.
	cols, rs = rows(t, db, "SHOW INDEX FROM sample.orders")
	if len(cols) != 12 || cols[4] != "Column_name" || len(rs) != 0 {
		t.Errorf("SHOW INDEX: columns %q, rows %v", cols, rs)
	}

	_, rs = rows(t, db, "SHOW CREATE TABLE sample.orders")
	ddl := rs[0][1]
	for _, frag := range []string{
		"`status` varchar(16) NOT NULL DEFAULT \"pending\" COMMENT",
		") ENGINE=OLAP\nUNIQUE KEY(`id`, `customer_id`, `order_date`)\nCOMMENT 'Customer orders'\nPARTITION BY RANGE(`order_date`)\n",
		"PARTITION p202301 VALUES [('2023-01-01'), ('2023-02-01')),\n",
		"DISTRIBUTED BY HASH(`id`) BUCKETS 8\nPROPERTIES (\n\"replication_allocation\" = \"tag.location.default: 1\",\n",
	} {
		if !strings.Contains(ddl, frag) {
			t.Errorf("SHOW CREATE TABLE lacks %q:\n%s", frag, ddl)
		}
	}

	// Sorted here: the engine orders information_schema names with '_'
	// after letters ("customers" before "customer_order_totals").
	_, rs = rows(t, db, "SELECT table_name, table_comment, table_rows FROM information_schema.tables WHERE table_schema='sample'")
	slices.SortFunc(rs, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	wantTables := [][]string{
		{"customer_order_totals", "VIEW", "NULL"},
		{"customers", "Registered customers of the online shop", "2000"},
		{"events", "Website click-stream events", "1000"},
		{"order_items", "Order lines", strconv.Itoa(SampleTableRows()["order_items"])},
		{"orders", "Customer orders", "5000"},
		{"products", "Product catalogue", "200"},
	}
	if diff := cmp.Diff(wantTables, rs); diff != "" {
		t.Errorf("information_schema.tables (-want +got):\n%s", diff)
	}

	_, rs = rows(t, db, "SELECT column_name, column_comment, column_type FROM information_schema.columns WHERE table_schema='sample' AND table_name='products' ORDER BY ordinal_position")
	wantCols := [][]string{
		{"id", "Product ID", "int"},
		{"sku", "Stock keeping unit", "varchar(32)"},
		{"name", "Display name", "varchar(128)"},
		{"category", "Catalogue category", "varchar(32)"},
		{"price", "List price", "decimal(10,2)"},
		{"stock", "Units in stock", "int"},
		{"attributes", "Free-form attributes", "json"},
		{"is_active", "1 if the product is for sale", "tinyint(1)"},
	}
	if diff := cmp.Diff(wantCols, rs); diff != "" {
		t.Errorf("information_schema.columns (-want +got):\n%s", diff)
	}

	cols, rs = rows(t, db, "SHOW PROCESSLIST")
	if diff := cmp.Diff([]string{"CurrentConnected", "Id", "User", "Host", "LoginTime", "Catalog", "Db", "Command", "Time", "State", "QueryId", "Info"}, cols); diff != "" {
		t.Errorf("SHOW PROCESSLIST columns (-want +got):\n%s", diff)
	}
	if len(rs) != 1 || rs[0][0] != "Yes" || rs[0][2] != "root" || !strings.HasPrefix(rs[0][3], "127.0.0.1:") || rs[0][5] != "internal" || rs[0][7] != "Query" || rs[0][11] != "SHOW PROCESSLIST" {
		t.Errorf("SHOW PROCESSLIST = %q", rs)
	}
}

func TestUseJoinLimit(t *testing.T) {
	s := start(t)
	c := conn(t, open(t, s, ""))
	ctx := context.Background()
	if _, err := c.ExecContext(ctx, "USE sample"); err != nil {
		t.Fatal(err)
	}
	_, rs := rows(t, c, "SELECT DATABASE(), COUNT(*) FROM customers")
	if diff := cmp.Diff([][]string{{"sample", "2000"}}, rs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Orders, items and revenue per customer city, from the generated data.
	d := sampleData()
	type agg struct{ orders, qty, cents int64 }
	want := map[string]*agg{}
	items := map[int][]orderItem{}
	for _, it := range d.items {
		items[it.orderID] = append(items[it.orderID], it)
	}
	for _, o := range d.orders {
		city := d.customers[o.customerID-1].city
		a := want[city]
		if a == nil {
			a = &agg{}
			want[city] = a
		}
		a.orders++
		a.cents += o.totalCents
		for _, it := range items[o.id] {
			a.qty += int64(it.qty)
		}
	}
	var wantRows [][]string
	for city, a := range want {
		wantRows = append(wantRows, []string{city, fmt.Sprint(a.orders), fmt.Sprint(a.qty), dec(a.cents).s})
	}
	sort.Slice(wantRows, func(i, j int) bool { return wantRows[i][0] < wantRows[j][0] })
	_, rs = rows(t, c, `
		SELECT c.city, COUNT(DISTINCT o.id), SUM(oi.qty), CAST(SUM(oi.qty * oi.unit_price) AS DECIMAL(14,2))
		FROM orders o
		JOIN customers c ON c.id = o.customer_id
		JOIN order_items oi ON oi.order_id = o.id
		GROUP BY c.city
		ORDER BY c.city`)
	if diff := cmp.Diff(wantRows, rs); diff != "" {
		t.Errorf("join per city (-want +got):\n%s", diff)
	}

	_, rs = rows(t, c, "SELECT id, name FROM customers ORDER BY id LIMIT 3")
	if len(rs) != 3 || rs[0][0] != "1" || rs[2][0] != "3" || rs[0][1] != d.customers[0].name {
		t.Errorf("LIMIT 3 = %v", rs)
	}
	_, rs = rows(t, c, "SELECT id FROM orders ORDER BY id LIMIT 2 OFFSET 10")
	if diff := cmp.Diff([][]string{{"100011"}, {"100012"}}, rs); diff != "" {
		t.Errorf("LIMIT OFFSET (-want +got):\n%s", diff)
	}
}

// TestIndexedQueries checks queries whose plans use the sample tables'
// indexes (point and range lookups, lookup joins, reverse scans) against
// answers computed from the generated data.
func TestIndexedQueries(t *testing.T) {
	s := start(t)
	db := open(t, s, "sample")
	d := sampleData()

	ordersOf := map[int][]order{}
	for _, o := range d.orders {
		ordersOf[o.customerID] = append(ordersOf[o.customerID], o)
	}
	busiest := 1
	for id, os := range ordersOf {
		if len(os) > len(ordersOf[busiest]) || len(os) == len(ordersOf[busiest]) && id < busiest {
			busiest = id
		}
	}
	bo := slices.Clone(ordersOf[busiest])
	sort.Slice(bo, func(i, j int) bool {
		if bo[i].orderDate != bo[j].orderDate {
			return bo[i].orderDate < bo[j].orderDate
		}
		return bo[i].id < bo[j].id
	})
	cutoff := bo[len(bo)/2].orderDate

	ids := func(pred func(c customer) bool) []string {
		var out []string
		for _, c := range d.customers {
			if pred(c) {
				out = append(out, strconv.Itoa(c.id))
			}
		}
		return out
	}
	count := func(n int) []string { return []string{strconv.Itoa(n)} }
	countIf := func(pred func(e event) bool) []string {
		n := 0
		for _, e := range d.events {
			if pred(e) {
				n++
			}
		}
		return count(n)
	}
	var afterCutoff, lastThree []string
	for _, o := range bo {
		if o.orderDate >= cutoff {
			afterCutoff = append(afterCutoff, strconv.Itoa(o.id))
		}
	}
	for i := len(bo) - 1; i >= 0 && len(lastThree) < 3; i-- {
		lastThree = append(lastThree, strconv.Itoa(bo[i].id))
	}
	var lines []string
	for _, it := range d.items {
		if it.orderID == 100123 {
			lines = append(lines, fmt.Sprintf("%d/%d", it.lineNo, it.productID))
		}
	}
	neverOrdered := ids(func(c customer) bool { return len(ordersOf[c.id]) == 0 })[:5]
	var refunded []string
	for _, o := range d.orders {
		if o.status == "refunded" && o.customerID < 50 {
			refunded = append(refunded, strconv.Itoa(o.id))
		}
	}
	bigID := strconv.FormatInt(d.events[500].eventID, 10)

	cases := []struct {
		query string
		want  []string // first column of every row
	}{
		{"SELECT id FROM customers WHERE id = 17", []string{"17"}},
		{"SELECT id FROM customers WHERE id BETWEEN 10 AND 15 ORDER BY id", []string{"10", "11", "12", "13", "14", "15"}},
		{"SELECT id FROM customers WHERE id IN (3, 1999, 5000) ORDER BY id", []string{"3", "1999"}},
		{"SELECT id FROM customers WHERE email = '" + d.customers[41].email + "'", []string{"42"}},
		{"SELECT id FROM customers WHERE id = 5 OR id = 1500 OR email = '" + d.customers[6].email + "' ORDER BY id", []string{"5", "7", "1500"}},
		{"SELECT id FROM customers WHERE city = 'Xi''an' ORDER BY id", ids(func(c customer) bool { return c.city == "Xi'an" })},
		{"SELECT id FROM customers WHERE city = 'xi''an'", nil},
		{"SELECT id FROM customers WHERE city > 'Tianjin' ORDER BY id", ids(func(c customer) bool { return c.city > "Tianjin" })},
		{"SELECT id FROM customers ORDER BY id DESC LIMIT 5", []string{"2000", "1999", "1998", "1997", "1996"}},
		{"SELECT COUNT(*) FROM customers WHERE phone IS NULL", count(len(ids(func(c customer) bool { return c.phone == nil })))},
		{fmt.Sprintf("SELECT id FROM orders WHERE customer_id = %d AND order_date >= '%s' ORDER BY order_date, id", busiest, cutoff), afterCutoff},
		{fmt.Sprintf("SELECT id FROM orders WHERE customer_id = %d ORDER BY order_date DESC, id DESC LIMIT 3", busiest), lastThree},
		{"SELECT id FROM orders WHERE status = 'refunded' AND customer_id < 50 ORDER BY id", refunded},
		{"SELECT CONCAT(line_no, '/', product_id) FROM order_items WHERE order_id = 100123 ORDER BY line_no", lines},
		{"SELECT id FROM products WHERE sku IN ('EL-10007', 'BK-10014', 'XX-00000') ORDER BY id", []string{"1", "2"}},
		{"SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id IN (100001, 100500, 105000) AND c.id > 0 ORDER BY o.id", []string{"100001", "100500", "105000"}},
		{"SELECT c.id FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) ORDER BY c.id LIMIT 5", neverOrdered},
		{"SELECT COUNT(*) FROM events WHERE customer_id IS NULL", countIf(func(e event) bool { return e.customerID == nil })},
		{"SELECT COUNT(*) FROM events WHERE customer_id >= 1500 AND customer_id < 1600", countIf(func(e event) bool { return e.customerID != nil && *e.customerID >= 1500 && *e.customerID < 1600 })},
		{"SELECT event_id FROM events WHERE event_id = " + bigID, []string{bigID}},
		{"SELECT COUNT(*) FROM events WHERE event_id > 9007199254740993", count(len(d.events))},
	}
	for _, c := range cases {
		cols, rs := rows(t, db, c.query)
		got := column(t, cols, rs, cols[0])
		if diff := cmp.Diff(c.want, got); diff != "" {
			_, plan := rows(t, db, "EXPLAIN "+c.query)
			t.Errorf("%s (-want +got):\n%s\nplan: %v", c.query, diff, plan)
		}
	}
}

// TestServedRowsMatchScript checks that every value the simulator serves
// reads back, as text, exactly as written in SampleStatements.
func TestServedRowsMatchScript(t *testing.T) {
	s := start(t)
	db := open(t, s, "sample")
	pk := map[string]string{
		"customers": "id", "products": "id", "orders": "id",
		"order_items": "order_id, line_no", "events": "event_id",
	}
	for _, td := range sampleTables() {
		cols, rs := rows(t, db, fmt.Sprintf("SELECT `%s` FROM `%s` ORDER BY %s", strings.Join(td.cols, "`, `"), td.name, pk[td.name]))
		if !slices.Equal(cols, td.cols) {
			t.Fatalf("%s: columns %v, want %v", td.name, cols, td.cols)
		}
		if len(rs) != len(td.rows) {
			t.Fatalf("%s: %d rows, want %d", td.name, len(rs), len(td.rows))
		}
		bad := 0
		for i, want := range td.rows {
			for k, v := range want {
				w := v.s
				if v.kind == kindNull {
					w = "NULL"
				}
				if rs[i][k] != w && bad < 5 {
					bad++
					t.Errorf("%s row %d %s = %q, want %q", td.name, i, td.cols[k], rs[i][k], w)
				}
			}
		}
	}
	// JSON and big integers read back unchanged.
	_, rs := rows(t, db, "SELECT attributes FROM products WHERE id = 1")
	if rs[0][0] != *sampleData().products[0].attributes {
		t.Errorf("attributes = %q", rs[0][0])
	}
	_, rs = rows(t, db, "SELECT MAX(trace_id) > 9223372036854775807, MIN(event_id) > 9007199254740992 FROM events")
	if diff := cmp.Diff([][]string{{"1", "1"}}, rs); diff != "" {
		t.Errorf("big integers (-want +got):\n%s", diff)
	}
}

func TestSampleStatements(t *testing.T) {
	a, b := SampleStatements(), SampleStatements()
	if !slices.Equal(a, b) {
		t.Fatal("SampleStatements is not deterministic")
	}
	a[0] = "changed"
	if SampleStatements()[0] == "changed" {
		t.Fatal("SampleStatements returned shared storage")
	}
	inserted := map[string]int{}
	for _, st := range b {
		up := strings.ToUpper(st)
		if strings.HasPrefix(up, "USE ") {
			t.Errorf("statement uses USE: %.60s", st)
		}
		if strings.HasSuffix(strings.TrimSpace(st), ";") {
			t.Errorf("statement ends with ';': %.60s", st)
		}
		if strings.HasPrefix(up, "INSERT INTO `SAMPLE`.`") {
			name := st[len("INSERT INTO `sample`.`"):]
			name = name[:strings.IndexByte(name, '`')]
			n := strings.Count(st, "),\n(") + 1
			if n > sampleInsertRows {
				t.Errorf("INSERT into %s has %d rows", name, n)
			}
			inserted[name] += n
		} else if !strings.Contains(st, "`sample`") {
			t.Errorf("statement does not name the database: %.60s", st)
		}
	}
	if diff := cmp.Diff(SampleTableRows(), inserted); diff != "" {
		t.Errorf("rows inserted by the script (-SampleTableRows +script):\n%s", diff)
	}
	rows := SampleTableRows()
	total := 0
	for _, n := range rows {
		total += n
	}
	t.Logf("sample tables: %v (%d rows); script: %d statements, %d bytes", rows, total, len(b), len(strings.Join(b, ";\n")))
	if rows["customers"] != 2000 || rows["products"] != 200 || rows["orders"] != 5000 || rows["events"] != 1000 {
		t.Errorf("unexpected table sizes %v", rows)
	}
	if n := rows["order_items"]; n < 10000 || n > 15000 {
		t.Errorf("order_items has %d rows", n)
	}
}

func TestSequenceTables(t *testing.T) {
	t.Parallel()
	s := start(t)
	db := open(t, s, "sample")
	for q, want := range map[string][]string{
		"SELECT seq FROM seq_1_to_5":                                                 {"1", "2", "3", "4", "5"},
		"SELECT seq FROM seq_10_to_2_step_3":                                         {"8", "5", "2"},
		"SELECT seq FROM seq_10_to_1_step_3":                                         {"10", "7", "4", "1"},
		"SELECT seq FROM seq_1_to_10_step_4":                                         {"1", "5", "9"},
		"SELECT seq FROM seq_5_to_5":                                                 {"5"},
		"SELECT seq FROM seq_0_to_2":                                                 {"0", "1", "2"},
		"SELECT seq FROM sample.seq_3_to_1":                                          {"3", "2", "1"},
		"SELECT COUNT(*) FROM seq_1_to_1000000":                                      {"1000000"},
		"SELECT seq FROM seq_18446744073709551614_to_18446744073709551615":           {"18446744073709551614", "18446744073709551615"},
		"SELECT s.seq FROM seq_1_to_3 s JOIN customers c ON c.id = s.seq ORDER BY 1": {"1", "2", "3"},
	} {
		cols, rs := rows(t, db, q)
		if diff := cmp.Diff(want, column(t, cols, rs, cols[0])); diff != "" {
			t.Errorf("%s (-want +got):\n%s", q, diff)
		}
	}
	cols, rs := rows(t, db, "SHOW COLUMNS FROM seq_1_to_3")
	if diff := cmp.Diff([]string{"seq", "bigint unsigned", "NO", "PRI"}, rs[0][:4]); diff != "" {
		t.Errorf("SHOW COLUMNS %v (-want +got):\n%s", cols, diff)
	}
	if _, err := db.Exec("SELECT * FROM seq_1_to_3_step_0"); err == nil {
		t.Error("a zero step should fail, as in MariaDB")
	}
	// Not listed as tables.
	_, rs = rows(t, db, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name LIKE 'seq%'")
	if rs[0][0] != "0" {
		t.Errorf("sequence tables listed in information_schema: %v", rs)
	}
	// Available in every database, including new ones.
	if _, err := db.Exec("CREATE DATABASE other"); err != nil {
		t.Fatal(err)
	}
	_, rs = rows(t, db, "SELECT SUM(seq) FROM other.seq_1_to_100")
	if rs[0][0] != "5050" {
		t.Errorf("other.seq_1_to_100 sum = %v", rs)
	}

	// A full scan of a million rows streams through the driver.
	st := time.Now()
	rs2, err := db.Query("SELECT * FROM seq_1_to_1000000")
	if err != nil {
		t.Fatal(err)
	}
	var n, last uint64
	for rs2.Next() {
		if err := rs2.Scan(&last); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := rs2.Err(); err != nil {
		t.Fatal(err)
	}
	rs2.Close()
	if n != 1000000 || last != 1000000 {
		t.Errorf("scan returned %d rows, last %d", n, last)
	}
	t.Logf("1M-row scan through the driver: %v", time.Since(st))
}

// waitRunning waits until connection id is running q according to the
// process list seen from c.
func waitRunning(t *testing.T, c *sql.Conn, id int64, q string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if running(t, c, id) == q {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("connection %d never showed %q in the process list", id, q)
}

// waitListed waits until some connection is running q according to the
// process list seen from c.
func waitListed(t *testing.T, c *sql.Conn, q string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rs, err := c.QueryContext(context.Background(), "SELECT info FROM information_schema.processlist")
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var info sql.NullString
			if rs.Scan(&info) == nil && info.String == q {
				rs.Close()
				return
			}
		}
		rs.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%q never showed in the process list", q)
}

// running returns the query connection id is running ("" if idle or gone).
func running(t *testing.T, c *sql.Conn, id int64) string {
	t.Helper()
	cols, rs := rows(t, c, "SHOW PROCESSLIST")
	ids, cmds, infos := column(t, cols, rs, "Id"), column(t, cols, rs, "Command"), column(t, cols, rs, "Info")
	for i := range rs {
		if ids[i] == strconv.FormatInt(id, 10) && cmds[i] == "Query" {
			return infos[i]
		}
	}
	return ""
}

// connRemote returns the client address of c as the server sees it.
func connRemote(t *testing.T, c *sql.Conn) string {
	t.Helper()
	cols, rs := rows(t, c, "SHOW PROCESSLIST")
	cur, host := column(t, cols, rs, "CurrentConnected"), column(t, cols, rs, "Host")
	for i := range rs {
		if cur[i] == "Yes" {
			return host[i]
		}
	}
	t.Fatal("SHOW PROCESSLIST marks no row as the current connection")
	return ""
}

func connID(t *testing.T, c *sql.Conn) int64 {
	t.Helper()
	var id int64
	if err := c.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestKillQuery(t *testing.T) {
	s := start(t)
	db := open(t, s, "sample")
	a, b := conn(t, db), conn(t, db)
	ctx := context.Background()
	aid := connID(t, a)

	done := make(chan error, 1)
	go func() {
		var n int64
		done <- a.QueryRowContext(ctx, longQuery).Scan(&n)
	}()
	waitRunning(t, b, aid, longQuery)
	killed := time.Now()
	if _, err := b.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", aid)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		took := time.Since(killed)
		t.Logf("killed query returned after %v: %v", took, err)
		// Doris names the connection that killed the query.
		var me *mysql.MySQLError
		want := "errCode = 2, detailMessage = cancel query by user from " + connRemote(t, b)
		if !errors.As(err, &me) || me.Number != 1105 || me.Message != want {
			t.Errorf("error = %v, want MySQL error 1105 %q", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("query still running 5s after KILL QUERY")
	}
	if q := running(t, b, aid); q != "" {
		t.Errorf("process list still shows connection %d running %q", aid, q)
	}
	// KILL QUERY leaves the connection usable.
	if id := connID(t, a); id != aid {
		t.Errorf("connection id changed from %d to %d", aid, id)
	}

	// KILL <id> ends the connection as well.
	c := conn(t, db)
	cid := connID(t, c)
	go func() {
		var n int64
		done <- c.QueryRowContext(ctx, longQuery).Scan(&n)
	}()
	waitRunning(t, b, cid, longQuery)
	if _, err := b.ExecContext(ctx, fmt.Sprintf("KILL %d", cid)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("query survived KILL")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("query still running 5s after KILL")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		// SHOW PROCESSLIST shows Doris's connection ids.
		_, rs := rows(t, b, "SHOW PROCESSLIST")
		if !slices.ContainsFunc(rs, func(r []string) bool { return r[1] == strconv.FormatInt(cid, 10) }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d still listed after KILL", cid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClientCancel records what happens when go-sql-driver cancels a
// query: the driver closes the socket, and the server notices only for
// queries that stream rows (the engine polls the socket state every 5 s,
// 250 ms in these tests: see TestMain);
// a query that returns a single row, like the COUNT(*) cross join, runs on
// until it ends or is killed.
func TestClientCancel(t *testing.T) {
	t.Parallel()
	s := start(t)
	db := open(t, s, "sample")
	ctx := context.Background()

	// try runs q, cancels it once b sees it run, and waits up to wait for
	// the server to stop it.
	try := func(t *testing.T, b *sql.Conn, q string, wait time.Duration) (stopped time.Duration, ok bool, id int64) {
		a := conn(t, db)
		id = connID(t, a)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			rs, err := a.QueryContext(cctx, q)
			if err == nil {
				for rs.Next() {
				}
				err = rs.Err()
				rs.Close()
			}
			errc <- err
		}()
		waitRunning(t, b, id, q)
		cancel()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("client error = %v, want context.Canceled", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("driver did not return after cancel")
		}
		cancelled := time.Now()
		for time.Since(cancelled) < wait {
			if running(t, b, id) == "" {
				return time.Since(cancelled), true, id
			}
			time.Sleep(50 * time.Millisecond)
		}
		return 0, false, id
	}

	t.Run("streaming", func(t *testing.T) {
		t.Parallel()
		streaming := "SELECT seq FROM seq_1_to_20000_wait_600000ms"
		if took, ok, id := try(t, conn(t, db), streaming, 12*time.Second); ok {
			t.Logf("streaming query stopped by the server %v after the client closed its socket", took)
		} else {
			t.Errorf("streaming query (connection %d) still running 12s after the client closed its socket", id)
		}
	})

	t.Run("single row", func(t *testing.T) {
		t.Parallel()
		b := conn(t, db)
		took, ok, id := try(t, b, longQuery, time.Second)
		if ok {
			t.Logf("single-row query stopped by the server %v after the client closed its socket", took)
			return
		}
		t.Logf("single-row query still running 1s after the client closed its socket; KILL QUERY ends it")
		if _, err := b.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", id)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Second)
		for running(t, b, id) != "" {
			if time.Now().After(deadline) {
				t.Fatalf("connection %d still running after KILL QUERY", id)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestSessionVariables records which statement-limiting settings the
// engine accepts and which it honours (see the package documentation).
func TestSessionVariables(t *testing.T) {
	s := start(t)
	c := conn(t, open(t, s, "sample"))
	ctx := context.Background()
	exec := func(q string) error {
		_, err := c.ExecContext(ctx, q)
		return err
	}
	count := func(q string) int {
		_, rs := rows(t, c, q)
		return len(rs)
	}
	const medium = "SELECT COUNT(*) FROM seq_1_to_700 a, seq_1_to_700 b" // well over 1 ms

	// sql_select_limit: accepted and honoured.
	if err := exec("SET SESSION sql_select_limit = 5"); err != nil {
		t.Fatal(err)
	}
	if n := count("SELECT id FROM customers"); n != 5 {
		t.Errorf("sql_select_limit=5: %d rows", n)
	}
	if n := count("SELECT id FROM customers LIMIT 10"); n != 10 {
		t.Errorf("sql_select_limit=5 with LIMIT 10: %d rows", n)
	}
	if err := exec("SET SESSION sql_select_limit = DEFAULT"); err != nil {
		t.Fatal(err)
	}
	if n := count("SELECT id FROM customers"); n != 2000 {
		t.Errorf("sql_select_limit=DEFAULT: %d rows", n)
	}

	// max_execution_time: accepted, not enforced.
	if err := exec("SET SESSION max_execution_time = 1"); err != nil {
		t.Fatal(err)
	}
	if _, rs := rows(t, c, medium); rs[0][0] != "490000" {
		t.Errorf("with max_execution_time=1: %v", rs)
	}
	if err := exec("SET SESSION max_execution_time = 0"); err != nil {
		t.Fatal(err)
	}

	// max_statement_time (MariaDB): unknown.
	if err := exec("SET SESSION max_statement_time = 1"); err == nil || !strings.Contains(err.Error(), "Unknown system variable") {
		t.Errorf("SET max_statement_time: %v", err)
	}
	// SET STATEMENT ... FOR (MariaDB): a syntax error, in Doris's words.
	if err := exec("SET STATEMENT max_statement_time=1 FOR " + medium); err == nil || !strings.Contains(err.Error(), "mismatched input") {
		t.Errorf("SET STATEMENT: %v", err)
	}
	// MySQL's optimizer hints: accepted, not honoured.
	if _, rs := rows(t, c, "SELECT /*+ MAX_EXECUTION_TIME(1) */ COUNT(*) FROM seq_1_to_700 a, seq_1_to_700 b"); rs[0][0] != "490000" {
		t.Errorf("MAX_EXECUTION_TIME hint: %v", rs)
	}
	// Doris's SET_VAR: honoured for the one statement.
	if n := count("SELECT /*+ SET_VAR(sql_select_limit=5) */ id FROM customers"); n != 5 {
		t.Errorf("SET_VAR(sql_select_limit=5) hint: %d rows", n)
	}
	if n := count("SELECT id FROM customers"); n != 2000 {
		t.Errorf("after a SET_VAR(sql_select_limit=5) hint: %d rows", n)
	}
	// The comma between assignments is optional (fidelity ledger:
	// set-var-grammar): both variables are set.
	if n := count("SELECT /*+ SET_VAR(enable_profile=true sql_select_limit=4) */ id FROM customers"); n != 4 {
		t.Errorf("SET_VAR without commas: %d rows", n)
	}
}

func TestReadOnlySampleTables(t *testing.T) {
	s := start(t)
	db := open(t, s, "sample")
	for _, q := range []string{
		"INSERT INTO customers (id, name, email, city, created_at) VALUES (5000, 'x', 'x@example.com', 'x', '2024-01-01 00:00:00')",
		"UPDATE orders SET status = 'paid' WHERE id = 100001",
		"DELETE FROM order_items WHERE order_id = 100001",
		"RENAME TABLE customers TO clients",
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
	// Tables created by clients are ordinary, writable tables.
	for _, q := range []string{
		"CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(100)) COMMENT='scratch'",
		"INSERT INTO notes VALUES (1, 'a'), (2, 'b')",
		"UPDATE notes SET body = 'c' WHERE id = 2",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, rs := rows(t, db, "SELECT id, body FROM notes ORDER BY id")
	if diff := cmp.Diff([][]string{{"1", "a"}, {"2", "c"}}, rs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, rs = rows(t, db, "SELECT table_comment FROM information_schema.tables WHERE table_schema = 'sample' AND table_name = 'notes'")
	if rs[0][0] != "scratch" {
		t.Errorf("comment of a table with a primary key = %q", rs[0][0])
	}
	// A sample table can be dropped, and its name reused.
	for _, q := range []string{"DROP VIEW customer_order_totals", "DROP TABLE events", "CREATE TABLE events (id INT PRIMARY KEY)", "INSERT INTO events VALUES (7)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, rs = rows(t, db, "SELECT * FROM events")
	if diff := cmp.Diff([][]string{{"7"}}, rs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The wrapper must not offer the engine's IndexedTableCreator path, which
// drops the comment of a table with a primary key.
func TestDatabaseWrapperInterfaces(t *testing.T) {
	var db gms.Database = &seqDatabase{memDatabase: memory.NewDatabase("x")}
	if _, ok := db.(gms.IndexedTableCreator); ok {
		t.Error("seqDatabase implements IndexedTableCreator")
	}
	if _, ok := db.(gms.ViewDatabase); !ok {
		t.Error("seqDatabase does not implement ViewDatabase")
	}
}

// TestCloseLeavesNothingRunning: after Close no goroutine of the server
// remains, even with idle connections and a query in flight.
func TestCloseLeavesNothingRunning(t *testing.T) {
	defer goleak.VerifyNone(t)
	before := logrus.StandardLogger().Out

	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if logrus.StandardLogger().Out != io.Discard {
		t.Error("engine log output not silenced while serving")
	}
	db, err := sql.Open("mysql", s.DSN("sample"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxIdleConns(5)
	var wg sync.WaitGroup
	for range 3 { // idle connections in the pool
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int
			_ = db.QueryRow("SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id").Scan(&n)
		}()
	}
	wg.Wait()
	errc := make(chan error, 1)
	go func() {
		var n int64
		errc <- db.QueryRow(longQuery).Scan(&n)
	}()
	// Close must end a query that is running, not one still on its way.
	obs, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waitListed(t, obs, longQuery)
	obs.Close()

	st := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(st))
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("query in flight survived Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("query in flight did not end after Close")
	}
	if err := db.Ping(); err == nil {
		t.Error("server still answers after Close")
	}
	db.Close()
	if logrus.StandardLogger().Out != before {
		t.Error("engine log output not restored after Close")
	}
}

func TestTwoServers(t *testing.T) {
	s1, s2 := start(t), start(t)
	if s1.Addr() == s2.Addr() {
		t.Fatal("both servers on", s1.Addr())
	}
	if s3, err := Start(Options{Addr: s1.Addr()}); err == nil {
		s3.Close()
		t.Errorf("second server on %s started", s1.Addr())
	}
	d1, d2 := open(t, s1, "sample"), open(t, s2, "sample")
	if _, err := d1.Exec("CREATE TABLE only_here (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.Exec("SELECT * FROM only_here"); err == nil {
		t.Error("table created on server 1 visible on server 2")
	}
	if _, err := d1.Exec("DROP TABLE customers"); err != nil {
		t.Fatal(err)
	}
	_, rs := rows(t, d2, "SELECT COUNT(*) FROM customers")
	if rs[0][0] != "2000" {
		t.Errorf("server 2 customers = %v", rs)
	}

	// Both number connections from 1: KILL on one server must not touch
	// the other's connection with the same id.
	c2 := conn(t, d2)
	id := connID(t, c2)
	errc := make(chan error, 1)
	go func() {
		var n int64
		errc <- c2.QueryRowContext(context.Background(), longQuery).Scan(&n)
	}()
	obs := conn(t, d2)
	waitRunning(t, obs, id, longQuery)
	// KILL QUERY returns once its server has acted on it.
	if _, err := d1.Exec(fmt.Sprintf("KILL QUERY %d", id)); err != nil {
		t.Fatal(err)
	}
	if running(t, obs, id) != longQuery {
		t.Error("KILL QUERY on server 1 stopped a query on server 2")
	}
	if _, err := obs.ExecContext(context.Background(), fmt.Sprintf("KILL QUERY %d", id)); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Error("query not killed")
	}
}

// BenchmarkStartCold is Start as the first in a process: the sample rows
// converted afresh.
func BenchmarkStartCold(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		rowCache.Lock()
		rowCache.rows, rowCache.size = nil, nil
		rowCache.Unlock()
		b.StartTimer()
		s, err := Start(Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkStart is Start with the sample rows already converted.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		s, err := Start(Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// TestNoOutput runs a busy session in a child process and checks that the
// simulator wrote nothing to stdout or stderr.
func TestNoOutput(t *testing.T) {
	t.Parallel()
	if os.Getenv("DORISSIM_TEST_CHILD") == "1" {
		s, err := Start(Options{})
		if err != nil {
			t.Fatal(err)
		}
		db, _ := sql.Open("mysql", s.DSN("sample"))
		c := conn(t, db)
		ctx := context.Background()
		for _, q := range []string{"SELECT * FROM customers LIMIT 5", "SELEC nonsense", "SELECT * FROM missing", "USE nowhere", "KILL QUERY 999"} {
			_, _ = c.ExecContext(ctx, q)
		}
		id := connID(t, c)
		b := conn(t, db)
		go func() { _, _ = c.ExecContext(ctx, longQuery) }()
		waitRunning(t, b, id, longQuery)
		_, _ = b.ExecContext(ctx, fmt.Sprintf("KILL %d", id))
		_ = s.Close()
		db.Close()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoOutput$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DORISSIM_TEST_CHILD=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if stdout.String() != "PASS\n" || stderr.Len() != 0 {
		t.Errorf("unexpected output\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

// TestMariaDBEquivalence compares the simulator with a MariaDB server
// loaded with SampleStatements (go run ./internal/dorissim/cmd/sample-sql |
// mariadb). It runs only when DORISSIM_MARIADB_DSN names that server, e.g.
// "root@unix(/tmp/m/s.sock)/sample".
func TestMariaDBEquivalence(t *testing.T) {
	dsn := os.Getenv("DORISSIM_MARIADB_DSN")
	if dsn == "" {
		t.Skip("DORISSIM_MARIADB_DSN not set")
	}
	maria, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer maria.Close()
	sim := open(t, start(t), "sample")
	queries := []string{
		"SELECT * FROM sample.customers ORDER BY id",
		"SELECT * FROM sample.products ORDER BY id",
		"SELECT * FROM sample.orders ORDER BY id",
		"SELECT * FROM sample.order_items ORDER BY order_id, line_no",
		"SELECT * FROM sample.events ORDER BY event_id",
		"SELECT * FROM sample.customer_order_totals ORDER BY customer_id",
		"SELECT status, COUNT(*), CAST(SUM(total) AS DECIMAL(14,2)), MIN(order_date), MAX(order_date) FROM sample.orders GROUP BY status ORDER BY status",
		"SELECT c.city, COUNT(*), CAST(SUM(oi.qty * oi.unit_price) AS DECIMAL(14,2)) FROM sample.orders o JOIN sample.customers c ON c.id = o.customer_id JOIN sample.order_items oi ON oi.order_id = o.id GROUP BY c.city ORDER BY c.city",
		"SELECT COUNT(*) FROM sample.customers WHERE city = 'beijing'",
		"SELECT name FROM sample.customers ORDER BY name, id LIMIT 50",
		"SELECT COUNT(*) FROM sample.seq_1_to_1000000",
		"SELECT seq FROM sample.seq_10_to_2_step_3",
	}
	// Metadata the two order differently; compared after sorting.
	sorted := []string{
		"SELECT table_name, table_type, table_comment FROM information_schema.tables WHERE table_schema = 'sample'",
		// column_key left out: the simulator marks every column of a
		// composite index MUL, MariaDB only the first.
		"SELECT table_name, column_name, ordinal_position, is_nullable, column_comment FROM information_schema.columns WHERE table_schema = 'sample' AND table_name <> 'customer_order_totals'",
		"SELECT table_name, index_name, seq_in_index, column_name, non_unique FROM information_schema.statistics WHERE table_schema = 'sample'",
	}
	for _, q := range append(queries, sorted...) {
		_, want := rows(t, maria, q)
		_, got := rows(t, sim, q)
		if slices.Contains(sorted, q) {
			for _, rs := range [][][]string{want, got} {
				slices.SortFunc(rs, func(a, b []string) int { return slices.Compare(a, b) })
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-mariadb +simulator):\n%.3000s", q, diff)
		}
	}
}
