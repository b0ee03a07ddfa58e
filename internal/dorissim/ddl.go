package dorissim

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// layout is how a sample table would be laid out in Doris: its data model,
// key and distribution columns, bucket count and range partitions. The
// engine's tables have none of this; SHOW CREATE TABLE, SHOW PARTITIONS
// and SHOW DATA report it.
type layout struct {
	model      string // DUPLICATE or UNIQUE
	keys       []string
	dist       []string
	buckets    int
	partCol    string // "" when the table has a single partition
	partitions []partition
}

type partition struct {
	name         string
	lower, upper string // [lower, upper) of partCol
	share        float64
}

// partitionIDBase numbers partitions the way Doris ids look.
const partitionIDBase = 11002

// sampleLayouts returns the layouts of the sample tables. orders is
// partitioned by month of order_date, with each partition's share of the
// rows taken from the data.
var sampleLayouts = sync.OnceValue(func() map[string]layout {
	m := map[string]layout{
		"customers":   {model: "UNIQUE", keys: []string{"id"}, dist: []string{"id"}, buckets: 4},
		"products":    {model: "UNIQUE", keys: []string{"id"}, dist: []string{"id"}, buckets: 1},
		"order_items": {model: "UNIQUE", keys: []string{"order_id", "line_no"}, dist: []string{"order_id"}, buckets: 8},
		"events":      {model: "DUPLICATE", keys: []string{"event_id"}, dist: []string{"event_id"}, buckets: 4},
	}
	perMonth := map[string]int{}
	d := sampleData()
	for _, o := range d.orders {
		perMonth[o.orderDate[:7]]++
	}
	orders := layout{model: "UNIQUE", keys: []string{"id", "customer_id", "order_date"}, dist: []string{"id"}, buckets: 8, partCol: "order_date"}
	for t := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC); t.Year() < 2025; t = t.AddDate(0, 1, 0) {
		orders.partitions = append(orders.partitions, partition{
			name:  "p" + t.Format("200601"),
			lower: t.Format(dateFmt), upper: t.AddDate(0, 1, 0).Format(dateFmt),
			share: float64(perMonth[t.Format("2006-01")]) / float64(len(d.orders)),
		})
	}
	m["orders"] = orders
	return m
})

// layoutOf returns the layout of a table: the sample layout, or for any
// other table a single-partition DUPLICATE KEY table on its first column.
func layoutOf(t sql.Table) layout {
	if l, ok := sampleLayouts()[strings.ToLower(t.Name())]; ok {
		return l
	}
	first := t.Schema()[0].Name
	return layout{model: "DUPLICATE", keys: []string{first}, dist: []string{first}, buckets: 1}
}

func (l layout) parts(table string) []partition {
	if len(l.partitions) > 0 {
		return l.partitions
	}
	return []partition{{name: table, share: 1}}
}

// tablets is the number of tablets of one replica.
func (l layout) tablets(table string) int { return len(l.parts(table)) * l.buckets }

// bytesWithUnit prints a size as Doris's SHOW DATA does.
func bytesWithUnit(b uint64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	f, u := float64(b), 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	return fmt.Sprintf("%.3f %s", f, units[u])
}

// dorisQuota is the database data quota Doris reports by default (1024 TB
// shown in GB is what a fresh database prints as its Quota row).
const dorisQuota = uint64(1) << 50

// showData is SHOW DATA [FROM db[.table]].
func (s *Server) showData(cur, a, b string) (*sqltypes.Result, error, bool) {
	remote := s.rel.atLeast(Version21)
	if b != "" || (a != "" && cur != "" && !s.isDatabase(a)) {
		// FROM [db.]table
		db, name := cur, a
		if b != "" {
			db, name = a, b
		}
		t, err := s.table(db, name)
		if err != nil {
			return nil, err, true
		}
		rows, size := tableStats(t)
		cols := []string{"TableName", "IndexName", "Size", "ReplicaCount", "RowCount"}
		r1 := []any{t.Name(), t.Name(), bytesWithUnit(size), itoa(layoutOf(t).tablets(t.Name())), fmt.Sprint(rows)}
		r2 := []any{"", "Total", bytesWithUnit(size), itoa(layoutOf(t).tablets(t.Name())), ""}
		if remote {
			cols = append(cols, "RemoteSize")
			r1 = append(r1, "0.000 ")
			r2 = append(r2, "0.000 ")
		}
		return textResult(cols, [][]any{r1, r2}), nil, true
	}
	db := cur
	if a != "" {
		db = a
	}
	if db == "" {
		return nil, dorisError("No database selected"), true
	}
	ctx := sql.NewContext(context.Background())
	d, err := s.pro.Database(ctx, db)
	if err != nil {
		return nil, dorisError("Unknown database '%s'", db), true
	}
	names, err := d.GetTableNames(ctx)
	if err != nil {
		return nil, dorisError("%v", err), true
	}
	cols := []string{"TableName", "Size", "ReplicaCount"}
	if remote {
		cols = append(cols, "RemoteSize")
	}
	var out [][]any
	var total uint64
	var replicas int
	for _, n := range names {
		t, ok, err := d.GetTableInsensitive(ctx, n)
		if err != nil || !ok {
			continue
		}
		_, size := tableStats(t)
		total += size
		rc := layoutOf(t).tablets(t.Name())
		replicas += rc
		row := []any{t.Name(), bytesWithUnit(size), itoa(rc)}
		if remote {
			row = append(row, "0.000 ")
		}
		out = append(out, row)
	}
	tail := [][]any{
		{"Total", bytesWithUnit(total), itoa(replicas)},
		{"Quota", bytesWithUnit(dorisQuota), "1073741824"},
		{"Left", bytesWithUnit(dorisQuota - total), fmt.Sprint(1073741824 - replicas)},
	}
	for _, r := range tail {
		if remote {
			r = append(r, "")
			if r[0] == "Total" {
				r[3] = "0.000 "
			}
		}
		out = append(out, r)
	}
	return textResult(cols, out), nil, true
}

func (s *Server) isDatabase(name string) bool {
	return s.pro.HasDatabase(sql.NewContext(context.Background()), name)
}

// showPartitions is SHOW PARTITIONS FROM [db.]table.
func (s *Server) showPartitions(db, name string) (*sqltypes.Result, error, bool) {
	t, err := s.table(db, name)
	if err != nil {
		return nil, err, true
	}
	l := layoutOf(t)
	_, size := tableStats(t)
	cols := []string{"PartitionId", "PartitionName", "VisibleVersion", "VisibleVersionTime", "State", "PartitionKey", "Range",
		"DistributionKey", "Buckets", "ReplicationNum", "StorageMedium", "CooldownTime", "RemoteStoragePolicy",
		"LastConsistencyCheckTime", "DataSize", "IsInMemory", "ReplicaAllocation", "IsMutable"}
	if s.rel.atLeast(Version21) {
		cols = append(cols, "SyncWithBaseTables", "UnsyncTables")
	}
	loaded := s.started.Add(-time.Hour).Format(datetimeFmt)
	var rows [][]any
	for i, p := range l.parts(t.Name()) {
		rng := ""
		if l.partCol != "" {
			rng = fmt.Sprintf("[types: [DATEV2]; keys: [%s]; ..types: [DATEV2]; keys: [%s]; )", p.lower, p.upper)
		}
		row := []any{itoa(partitionIDBase + i), p.name, "2", loaded, "NORMAL", l.partCol, rng,
			strings.Join(l.dist, ", "), itoa(l.buckets), "1", "HDD", "9999-12-31 23:59:59", "", nil,
			bytesWithUnit(uint64(float64(size) * p.share)), "false", "tag.location.default: 1", "true"}
		if s.rel.atLeast(Version21) {
			row = append(row, "true", nil)
		}
		rows = append(rows, row)
	}
	return textResult(cols, rows), nil, true
}

// showCreateTable prints Doris DDL for the sample tables; other tables
// and views are left to the engine.
func (s *Server) showCreateTable(db, name string) (*sqltypes.Result, error, bool) {
	t, err := s.table(db, name)
	if err != nil {
		return nil, err, true
	}
	l, ok := sampleLayouts()[strings.ToLower(t.Name())]
	if !ok {
		return nil, nil, false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE `%s` (\n", t.Name())
	for i, c := range t.Schema() {
		fmt.Fprintf(&b, "  `%s` %s", c.Name, dorisType(c.Type))
		if c.Nullable {
			b.WriteString(" NULL")
		} else {
			b.WriteString(" NOT NULL")
		}
		if c.Default != nil {
			if v := strings.Trim(c.Default.String(), "()'\""); v != "NULL" {
				fmt.Fprintf(&b, " DEFAULT \"%s\"", v)
			}
		}
		if c.Comment != "" {
			fmt.Fprintf(&b, " COMMENT '%s'", strings.ReplaceAll(c.Comment, "'", "\\'"))
		}
		if i < len(t.Schema())-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, ") ENGINE=OLAP\n%s KEY(%s)\n", l.model, quoteList(l.keys))
	if ct, ok := t.(sql.CommentedTable); ok && ct.Comment() != "" {
		fmt.Fprintf(&b, "COMMENT '%s'\n", strings.ReplaceAll(ct.Comment(), "'", "\\'"))
	}
	if l.partCol != "" {
		fmt.Fprintf(&b, "PARTITION BY RANGE(`%s`)\n(", l.partCol)
		for i, p := range l.partitions {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, "PARTITION %s VALUES [('%s'), ('%s'))", p.name, p.lower, p.upper)
		}
		b.WriteString(")\n")
	}
	fmt.Fprintf(&b, "DISTRIBUTED BY HASH(%s) BUCKETS %d\nPROPERTIES (\n", quoteList(l.dist), l.buckets)
	props := [][2]string{
		{"replication_allocation", "tag.location.default: 1"},
		{"min_load_replica_num", "-1"},
		{"is_being_synced", "false"},
		{"storage_medium", "hdd"},
		{"storage_format", "V2"},
		{"inverted_index_storage_format", "V1"},
	}
	if l.model == "UNIQUE" {
		props = append(props, [2]string{"enable_unique_key_merge_on_write", "true"})
	}
	props = append(props, [2]string{"light_schema_change", "true"}, [2]string{"disable_auto_compaction", "false"},
		[2]string{"enable_single_replica_compaction", "false"})
	for i, p := range props {
		sep := ","
		if i == len(props)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "%q = %q%s\n", p[0], p[1], sep)
	}
	b.WriteString(");")
	return textResult([]string{"Table", "Create Table"}, [][]any{{t.Name(), b.String()}}), nil, true
}

func quoteList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = "`" + c + "`"
	}
	return strings.Join(q, ", ")
}

// dorisType prints an engine column type with Doris's type names.
func dorisType(t sql.Type) string {
	s := strings.ToLower(t.String())
	if i := strings.Index(s, " character set"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, " collate"); i >= 0 {
		s = s[:i]
	}
	switch {
	case s == "bigint unsigned":
		return "largeint"
	case s == "tinyint(1)":
		return "boolean"
	case strings.HasPrefix(s, "datetime"):
		return "datetime"
	}
	return s
}

// sqlHash is the 32-hex MD5 of a statement, as Doris's SqlHash columns.
func sqlHash(q string) string {
	h := md5.Sum([]byte(q))
	return hex.EncodeToString(h[:])
}
