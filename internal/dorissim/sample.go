package dorissim

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SampleDB is the name of the database that Start loads and that
// SampleStatements builds.
const SampleDB = "sample"

// Sizes of the generated tables (order_items follows from the orders; see
// SampleTableRows for every table).
const (
	sampleCustomers  = 2000
	sampleProducts   = 200
	sampleOrders     = 5000
	sampleEvents     = 1000
	sampleInsertRows = 500 // rows per INSERT statement
)

// SampleStatements returns the statements that build database `sample`:
// CREATE DATABASE IF NOT EXISTS, DROP and CREATE of every table and of the
// view, and batched INSERTs. Every name is qualified with the database, so
// the script needs no USE. The result is the same on every call and every
// machine, and loads unchanged into MariaDB 10.11 and later.
//
// The returned slice is a fresh copy and may be modified by the caller.
func SampleStatements() []string {
	src := sampleScript()
	out := make([]string, len(src))
	copy(out, src)
	return out
}

// SampleTableRows returns the number of rows of each sample base table,
// keyed by table name.
func SampleTableRows() map[string]int {
	m := map[string]int{}
	for _, t := range sampleTables() {
		m[t.name] = len(t.rows)
	}
	return m
}

// value is one generated column value: a NULL, a number (written bare in
// SQL) or a string (written quoted).
type value struct {
	s    string
	kind byte
}

const (
	kindNull byte = iota
	kindNum
	kindStr
)

func num[T int | int64 | uint64](v T) value { return value{s: fmt.Sprint(v), kind: kindNum} }
func str(s string) value                    { return value{s: s, kind: kindStr} }
func dec(cents int64) value {
	return value{s: fmt.Sprintf("%d.%02d", cents/100, cents%100), kind: kindNum}
}
func optStr(s *string) value {
	if s == nil {
		return value{}
	}
	return str(*s)
}

// literal renders v as SQL. A quote inside a string is escaped by
// doubling it, never with a backslash, so the text means the same with and
// without NO_BACKSLASH_ESCAPES.
func (v value) literal() string {
	switch v.kind {
	case kindNull:
		return "NULL"
	case kindNum:
		return v.s
	default:
		return "'" + strings.ReplaceAll(v.s, "'", "''") + "'"
	}
}

// tableData is the content of one sample table, rows in primary-key order.
type tableData struct {
	name string
	cols []string
	rows [][]value
	// key names the data in rowCache when it is not the only table of
	// its name (the audit log, one per release and day); empty: name.
	key string
}

var sampleTables = sync.OnceValue(func() []tableData {
	d := sampleData()
	var ts []tableData

	t := tableData{name: "customers", cols: []string{"id", "name", "email", "phone", "city", "birth_date", "vip_level", "created_at"}}
	for _, c := range d.customers {
		t.rows = append(t.rows, []value{num(c.id), str(c.name), str(c.email), optStr(c.phone),
			str(c.city), optStr(c.birthDate), num(c.vipLevel), str(c.createdAt)})
	}
	ts = append(ts, t)

	t = tableData{name: "products", cols: []string{"id", "sku", "name", "category", "price", "stock", "attributes", "is_active"}}
	for _, p := range d.products {
		t.rows = append(t.rows, []value{num(p.id), str(p.sku), str(p.name), str(p.category),
			dec(p.priceCents), num(p.stock), optStr(p.attributes), num(p.active)})
	}
	ts = append(ts, t)

	t = tableData{name: "orders", cols: []string{"id", "customer_id", "order_date", "status", "total", "shipping_city", "note"}}
	for _, o := range d.orders {
		t.rows = append(t.rows, []value{num(o.id), num(o.customerID), str(o.orderDate), str(o.status),
			dec(o.totalCents), optStr(o.shippingCity), optStr(o.note)})
	}
	ts = append(ts, t)

	t = tableData{name: "order_items", cols: []string{"order_id", "line_no", "product_id", "qty", "unit_price"}}
	for _, it := range d.items {
		t.rows = append(t.rows, []value{num(it.orderID), num(it.lineNo), num(it.productID), num(it.qty), dec(it.unitCents)})
	}
	ts = append(ts, t)

	t = tableData{name: "events", cols: []string{"event_id", "trace_id", "customer_id", "event_type", "occurred_at"}}
	for _, e := range d.events {
		cust := value{}
		if e.customerID != nil {
			cust = num(*e.customerID)
		}
		t.rows = append(t.rows, []value{num(e.eventID), num(e.traceID), cust, str(e.eventType), str(e.occurredAt)})
	}
	ts = append(ts, t)
	return ts
})

var sampleScript = sync.OnceValue(func() []string {
	st := append([]string(nil), sampleSchema...)
	for _, t := range sampleTables() {
		st = appendInserts(st, t)
	}
	return append(st, sampleView)
})

// sampleSchema creates the database and the tables. Types, comments and
// index definitions are restricted to what both the simulator and MariaDB
// accept unchanged.
var sampleSchema = []string{
	"CREATE DATABASE IF NOT EXISTS `sample`",
	"DROP VIEW IF EXISTS `sample`.`customer_order_totals`",
	"DROP TABLE IF EXISTS `sample`.`events`, `sample`.`order_items`, `sample`.`orders`, `sample`.`products`, `sample`.`customers`",

	"CREATE TABLE `sample`.`customers` (\n" +
		"  `id` INT NOT NULL COMMENT 'Customer ID',\n" +
		"  `name` VARCHAR(64) NOT NULL COMMENT 'Full name',\n" +
		"  `email` VARCHAR(128) NOT NULL COMMENT 'Contact email address',\n" +
		"  `phone` VARCHAR(20) NULL DEFAULT NULL COMMENT 'Mobile phone number',\n" +
		"  `city` VARCHAR(64) NOT NULL COMMENT 'City of residence',\n" +
		"  `birth_date` DATE NULL DEFAULT NULL COMMENT 'Date of birth, if given',\n" +
		"  `vip_level` TINYINT NOT NULL DEFAULT 0 COMMENT 'Loyalty tier, 0 = none',\n" +
		"  `created_at` DATETIME NOT NULL COMMENT 'Registration time',\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  UNIQUE KEY `uk_customers_email` (`email`),\n" +
		"  KEY `idx_customers_city` (`city`)\n" +
		") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='Registered customers of the online shop'",

	"CREATE TABLE `sample`.`products` (\n" +
		"  `id` INT NOT NULL COMMENT 'Product ID',\n" +
		"  `sku` VARCHAR(32) NOT NULL COMMENT 'Stock keeping unit',\n" +
		"  `name` VARCHAR(128) NOT NULL COMMENT 'Display name',\n" +
		"  `category` VARCHAR(32) NOT NULL COMMENT 'Catalogue category',\n" +
		"  `price` DECIMAL(10,2) NOT NULL COMMENT 'List price',\n" +
		"  `stock` INT NOT NULL DEFAULT 0 COMMENT 'Units in stock',\n" +
		"  `attributes` JSON NULL COMMENT 'Free-form attributes',\n" +
		"  `is_active` TINYINT(1) NOT NULL DEFAULT 1 COMMENT '1 if the product is for sale',\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  UNIQUE KEY `uk_products_sku` (`sku`),\n" +
		"  KEY `idx_products_category` (`category`)\n" +
		") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='Product catalogue'",

	"CREATE TABLE `sample`.`orders` (\n" +
		"  `id` BIGINT NOT NULL COMMENT 'Order ID',\n" +
		"  `customer_id` INT NOT NULL COMMENT 'Customer who placed the order',\n" +
		"  `order_date` DATE NOT NULL COMMENT 'Date the order was placed',\n" +
		"  `status` VARCHAR(16) NOT NULL DEFAULT 'pending' COMMENT 'pending, paid, shipped, completed, cancelled or refunded',\n" +
		"  `total` DECIMAL(12,2) NOT NULL COMMENT 'Order total, sum of its items',\n" +
		"  `shipping_city` VARCHAR(64) NULL DEFAULT NULL COMMENT 'Delivery city; NULL means the customer city',\n" +
		"  `note` VARCHAR(255) NULL DEFAULT NULL COMMENT 'Customer note',\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  KEY `idx_orders_customer_date` (`customer_id`, `order_date`),\n" +
		"  KEY `idx_orders_status` (`status`)\n" +
		") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='Customer orders'",

	"CREATE TABLE `sample`.`order_items` (\n" +
		"  `order_id` BIGINT NOT NULL COMMENT 'Order ID',\n" +
		"  `line_no` INT NOT NULL COMMENT 'Line number within the order',\n" +
		"  `product_id` INT NOT NULL COMMENT 'Product ID',\n" +
		"  `qty` INT NOT NULL COMMENT 'Quantity ordered',\n" +
		"  `unit_price` DECIMAL(10,2) NOT NULL COMMENT 'Price per unit at order time',\n" +
		"  PRIMARY KEY (`order_id`, `line_no`),\n" +
		"  KEY `idx_order_items_product` (`product_id`)\n" +
		") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='Order lines'",

	"CREATE TABLE `sample`.`events` (\n" +
		"  `event_id` BIGINT NOT NULL COMMENT 'Snowflake event ID, above 2^53',\n" +
		"  `trace_id` BIGINT UNSIGNED NOT NULL COMMENT 'Trace ID, often above 2^63',\n" +
		"  `customer_id` INT NULL DEFAULT NULL COMMENT 'Customer, NULL for anonymous visitors',\n" +
		"  `event_type` VARCHAR(32) NOT NULL COMMENT 'Kind of event',\n" +
		"  `occurred_at` DATETIME NOT NULL COMMENT 'Time of the event',\n" +
		"  PRIMARY KEY (`event_id`),\n" +
		"  KEY `idx_events_customer` (`customer_id`)\n" +
		") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='Website click-stream events'",
}

// sampleView's CAST makes total_spent read the same on both backends: the
// simulator's SUM of a DECIMAL column is a DOUBLE.
const sampleView = "CREATE VIEW `sample`.`customer_order_totals` AS " +
	"SELECT `c`.`id` AS `customer_id`, `c`.`name` AS `name`, " +
	"COUNT(`o`.`id`) AS `order_count`, CAST(COALESCE(SUM(`o`.`total`), 0) AS DECIMAL(14,2)) AS `total_spent` " +
	"FROM `sample`.`customers` `c` LEFT JOIN `sample`.`orders` `o` ON `o`.`customer_id` = `c`.`id` " +
	"GROUP BY `c`.`id`, `c`.`name`"

func appendInserts(st []string, t tableData) []string {
	head := "INSERT INTO `sample`.`" + t.name + "` (`" + strings.Join(t.cols, "`, `") + "`) VALUES "
	for start := 0; start < len(t.rows); start += sampleInsertRows {
		end := min(start+sampleInsertRows, len(t.rows))
		var b strings.Builder
		b.WriteString(head)
		for i, row := range t.rows[start:end] {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteByte('(')
			for k, v := range row {
				if k > 0 {
					b.WriteString(", ")
				}
				b.WriteString(v.literal())
			}
			b.WriteByte(')')
		}
		st = append(st, b.String())
	}
	return st
}

// rng is a small deterministic generator (SplitMix64), so the sample data
// never depends on the Go release or on math/rand internals.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// intn returns a value in [0, n).
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// chance reports true with probability pct/100.
func (r *rng) chance(pct int) bool { return r.intn(100) < pct }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

type customer struct {
	id                int
	name, email, city string
	phone, birthDate  *string
	vipLevel          int
	createdAt         string
}

type product struct {
	id                  int
	sku, name, category string
	priceCents          int64
	stock, active       int
	attributes          *string
}

type order struct {
	id, customerID     int
	orderDate, status  string
	totalCents         int64
	shippingCity, note *string
}

type orderItem struct {
	orderID, lineNo, productID, qty int
	unitCents                       int64
}

type event struct {
	eventID    int64
	traceID    uint64
	customerID *int
	eventType  string
	occurredAt string
}

type dataset struct {
	customers []customer
	products  []product
	orders    []order
	items     []orderItem
	events    []event
}

var (
	firstNames = []string{
		"Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Iris", "Jack",
		"Karen", "Leo", "Mia", "Nathan", "Olivia", "Peter", "Quinn", "Rachel", "Sam", "Tina",
		"Wei", "Fang", "Jing", "Lei", "Min", "Hui", "Yan", "Jun", "Xin", "Hao",
		"Li", "Na", "Qiang", "Yu", "Tao", "Ying", "Bo", "Lin", "Chen", "Ming",
	}
	lastNames = []string{
		"Wong", "Smith", "Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Huang", "Zhao",
		"Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin",
		"Johnson", "Brown", "Miller", "Davis", "Garcia", "Lee", "Walker", "Hall", "Young", "King",
		"O'Brien", "Tan", "Ng", "Lam", "Cheung",
	}
	emailDomains = []string{"example.com", "example.com", "example.com", "example.org", "example.net", "mail.example.cn"}
	cities       = []string{
		"Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan", "Nanjing",
		"Xi'an", "Chongqing", "Tianjin", "Suzhou", "Qingdao", "Xiamen", "Changsha", "Harbin",
	}
	phonePrefixes = []string{"138", "139", "136", "137", "150", "151", "158", "186", "188", "130", "131", "177"}
	categories    = []struct{ name, prefix string }{
		{"Electronics", "EL"}, {"Books", "BK"}, {"Home", "HM"}, {"Toys", "TY"},
		{"Sports", "SP"}, {"Beauty", "BT"}, {"Grocery", "GR"}, {"Clothing", "CL"},
	}
	adjectives = []string{"Classic", "Smart", "Compact", "Deluxe", "Eco", "Ultra", "Mini", "Pro", "Soft", "Travel"}
	nouns      = map[string][]string{
		"Electronics": {"Headphones", "Charger", "Speaker", "Keyboard", "Mouse", "Power Bank"},
		"Books":       {"Cookbook", "Novel", "Atlas", "Dictionary", "Notebook", "Comic"},
		"Home":        {"Lamp", "Kettle", "Pillow", "Mug", "Blanket", "Vase"},
		"Toys":        {"Puzzle", "Robot", "Kite", "Blocks", "Doll", "Yo-Yo"},
		"Sports":      {"Yoga Mat", "Football", "Racket", "Water Bottle", "Dumbbell", "Cap"},
		"Beauty":      {"Lotion", "Shampoo", "Lip Balm", "Perfume", "Face Mask", "Brush"},
		"Grocery":     {"Green Tea", "Coffee Beans", "Honey", "Rice", "Olive Oil", "Noodles"},
		"Clothing":    {"T-Shirt", "Jacket", "Scarf", "Socks", "Sneakers", "Hoodie"},
	}
	colors       = []string{"black", "white", "red", "blue", "green", "grey"}
	statuses     = []string{"completed", "completed", "completed", "completed", "shipped", "shipped", "paid", "pending", "cancelled", "refunded"}
	notes        = []string{"Please leave at the front door", "Gift wrap, please", "Call before delivery", "Deliver after 6 pm", "No plastic bags"}
	eventTypes   = []string{"page_view", "page_view", "page_view", "search", "add_to_cart", "checkout", "login", "logout"}
	epochUTC     = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	snowflakeEpo = int64(1288834974657) // milliseconds; the classic snowflake epoch
)

const (
	dateFmt     = "2006-01-02"
	datetimeFmt = "2006-01-02 15:04:05"
)

var sampleData = sync.OnceValue(func() *dataset {
	r := &rng{s: 20240601}
	d := &dataset{}

	// customers
	seen := map[string]bool{}
	for i := 1; i <= sampleCustomers; i++ {
		first, last := pick(r, firstNames), pick(r, lastNames)
		local := strings.ToLower(first + "." + strings.ReplaceAll(last, "'", ""))
		domain := pick(r, emailDomains)
		email := local + "@" + domain
		for n := 2; seen[email]; n++ {
			email = local + strconv.Itoa(n) + "@" + domain
		}
		seen[email] = true
		c := customer{
			id:        i,
			name:      first + " " + last,
			email:     email,
			city:      pick(r, cities),
			vipLevel:  []int{0, 0, 0, 0, 0, 1, 1, 2, 2, 3}[r.intn(10)],
			createdAt: epochUTC.Add(time.Duration(r.intn(2*365*86400)) * time.Second).Format(datetimeFmt),
		}
		if !r.chance(8) {
			p := pick(r, phonePrefixes) + fmt.Sprintf("%08d", r.intn(100000000))
			c.phone = &p
		}
		if !r.chance(30) {
			b := time.Date(1960+r.intn(45), time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.intn(365)).Format(dateFmt)
			c.birthDate = &b
		}
		d.customers = append(d.customers, c)
	}

	// products
	for i := 1; i <= sampleProducts; i++ {
		cat := categories[(i-1)%len(categories)]
		noun := pick(r, nouns[cat.name])
		p := product{
			id:         i,
			sku:        fmt.Sprintf("%s-%05d", cat.prefix, 10000+i*7),
			name:       pick(r, adjectives) + " " + noun,
			category:   cat.name,
			priceCents: int64(199 + r.intn(99800)),
			stock:      r.intn(500),
			active:     1,
		}
		if r.chance(7) {
			p.active = 0
		}
		switch {
		case cat.name == "Electronics" || cat.name == "Clothing":
			// Written in the normalised form the simulator prints, so both
			// backends return identical text.
			a := fmt.Sprintf(`{"color": "%s", "warranty_months": %d}`, pick(r, colors), 6*(1+r.intn(4)))
			p.attributes = &a
		case r.chance(50):
			a := fmt.Sprintf(`{"tags": ["%s", "new"]}`, strings.ToLower(cat.name))
			p.attributes = &a
		}
		d.products = append(d.products, p)
	}

	// orders and their items
	for i := 1; i <= sampleOrders; i++ {
		cust := 1 + r.intn(sampleCustomers*9/10) // the last tenth of customers never order
		o := order{
			id:         100000 + i,
			customerID: cust,
			orderDate:  epochUTC.AddDate(1, 0, r.intn(730)).Format(dateFmt),
			status:     pick(r, statuses),
		}
		if r.chance(15) {
			c := pick(r, cities)
			o.shippingCity = &c
		}
		if r.chance(10) {
			n := pick(r, notes)
			o.note = &n
		}
		lines := 1 + r.intn(4)
		if r.chance(5) {
			lines = 5 + r.intn(3)
		}
		for ln := 1; ln <= lines; ln++ {
			p := d.products[r.intn(sampleProducts)]
			it := orderItem{orderID: o.id, lineNo: ln, productID: p.id, qty: 1 + r.intn(3), unitCents: p.priceCents}
			if r.chance(20) { // discounted line
				it.unitCents = p.priceCents * 90 / 100
			}
			o.totalCents += int64(it.qty) * it.unitCents
			d.items = append(d.items, it)
		}
		d.orders = append(d.orders, o)
	}

	// events: snowflake-style IDs (timestamp<<22 | worker<<12 | sequence)
	ms := epochUTC.AddDate(2, 6, 0).UnixMilli()
	for i := 0; i < sampleEvents; i++ {
		ms += int64(1 + r.intn(60000))
		e := event{
			eventID:    (ms-snowflakeEpo)<<22 | int64(r.intn(32))<<12 | int64(i%4096),
			traceID:    r.next(),
			eventType:  pick(r, eventTypes),
			occurredAt: time.UnixMilli(ms).UTC().Format(datetimeFmt),
		}
		if !r.chance(25) {
			c := 1 + r.intn(sampleCustomers)
			e.customerID = &c
		}
		d.events = append(d.events, e)
	}
	return d
})
