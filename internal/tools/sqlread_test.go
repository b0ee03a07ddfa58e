package tools

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dorismcp/doris/internal/sqlguard"
)

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		sql     string
		sources []string
		items   map[string][]string // output column: table.column it reads
	}{
		{
			sql:     "SELECT `c`.`id` AS `customer_id`, `c`.`name` AS `name`, COUNT(`o`.`id`) AS `order_count`, CAST(COALESCE(SUM(`o`.`total`), 0) AS DECIMAL(14,2)) AS `total_spent` FROM `sample`.`customers` `c` LEFT JOIN `sample`.`orders` `o` ON `o`.`customer_id` = `c`.`id` GROUP BY `c`.`id`, `c`.`name`",
			sources: []string{"sample.customers", "sample.orders"},
			items: map[string][]string{"customer_id": {"sample.customers.id"}, "name": {"sample.customers.name"},
				"order_count": {"sample.orders.id"}, "total_spent": {"sample.orders.total"}},
		},
		{
			sql:     "SELECT order_date, COUNT(*), SUM(total) FROM sample.orders WHERE note <> 'FROM hidden JOIN x' GROUP BY order_date",
			sources: []string{"sample.orders"},
			items:   map[string][]string{"order_date": {"sample.orders.order_date"}, "#2": nil, "#3": {"sample.orders.total"}},
		},
		{
			sql:     "WITH big AS (SELECT customer_id FROM db.orders) SELECT b.customer_id cid FROM big b, db.customers /* JOIN secret */ c",
			sources: []string{"db.orders", "db.customers"},
			items:   map[string][]string{"cid": nil},
		},
		{
			// MariaDB's stored form of the sample view: joins in parentheses.
			sql:     "select `c`.`id` AS `customer_id`,`c`.`name` AS `name`,count(`o`.`id`) AS `order_count`,cast(coalesce(sum(`o`.`total`),0) as decimal(14,2)) AS `total_spent` from (`sample`.`customers` `c` left join `sample`.`orders` `o` on(`o`.`customer_id` = `c`.`id`)) group by `c`.`id`,`c`.`name`",
			sources: []string{"sample.customers", "sample.orders"},
			items: map[string][]string{"customer_id": {"sample.customers.id"}, "name": {"sample.customers.name"},
				"order_count": {"sample.orders.id"}, "total_spent": {"sample.orders.total"}},
		},
		{
			sql:     "select `a`.`x` AS `x` from ((`d`.`a` `a` join `d`.`b` `b` on(`a`.`id` = `b`.`id`)) join `c` on(`c`.`id` = `a`.`id`)), d.e e where (a.x > 0)",
			sources: []string{"d.a", "d.b", "sample.c", "d.e"},
			items:   map[string][]string{"x": {"d.a.x"}},
		},
		{
			// An index hint is no alias.
			sql:     "SELECT orders.id FROM d.orders FORCE INDEX (i) JOIN d.customers c ON c.id = orders.cid",
			sources: []string{"d.orders", "d.customers"},
			items:   map[string][]string{"id": {"d.orders.id"}},
		},
		{
			sql:     "SELECT t.x FROM (SELECT x FROM d.a) t JOIN (d.b b) ON b.x = t.x",
			sources: []string{"d.a", "d.b"},
			items:   map[string][]string{"x": nil},
		},
	} {
		toks, err := sqlguard.Tokenize(tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		q := parseQuery(toks, "sample")
		var got []string
		for _, s := range q.sources {
			got = append(got, s.ref.String())
		}
		if diff := cmp.Diff(tc.sources, got); diff != "" {
			t.Errorf("%s: sources (-want +got):\n%s", tc.sql, diff)
		}
		items := map[string][]string{}
		for i, it := range q.items {
			name := it.name
			if name == "" {
				name = "#" + string(rune('1'+i))
			}
			var cols []string
			for _, r := range it.refs {
				if ref, ok := q.resolve(r); ok {
					cols = append(cols, ref.String()+"."+r.col)
				}
			}
			items[name] = cols
		}
		if diff := cmp.Diff(tc.items, items); diff != "" {
			t.Errorf("%s: items (-want +got):\n%s", tc.sql, diff)
		}
	}
}

func TestInsertTarget(t *testing.T) {
	for sql, want := range map[string]string{
		"INSERT INTO sample_mart.daily_sales SELECT 1":                                  "sample_mart.daily_sales []",
		"INSERT INTO t (a, `b`) SELECT x, y FROM s":                                     "db.t [a b]",
		"INSERT OVERWRITE TABLE m.t PARTITION(p1) WITH c AS (SELECT 1) SELECT * FROM c": "m.t []",
	} {
		toks, err := sqlguard.Tokenize(sql)
		if err != nil {
			t.Fatal(err)
		}
		ref, cols, _, ok := insertTarget(toks, "db")
		if got := ref.String() + " " + fmt.Sprint(cols); !ok || got != want {
			t.Errorf("%s: %q ok=%v, want %q", sql, got, ok, want)
		}
	}
}
