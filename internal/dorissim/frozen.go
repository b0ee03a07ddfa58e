package dorissim

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
)

// frozenTable serves the rows of one sample table.
//
// The engine's in-memory tables keep their rows in plain slices and check
// keys by scanning, so loading tens of thousands of rows through INSERT
// costs seconds. Instead, the sample tables are created by their CREATE
// TABLE statements as usual (so schema, comments and index definitions
// come from the same DDL that MariaDB runs), and their rows, generated in
// Go, are held here in primary-key order and served read-only. Index
// lookups are answered by binary search over per-index sorted orders, so
// join plans that use an index stay fast.
//
// The sample tables do not accept INSERT, UPDATE, DELETE, TRUNCATE or
// ALTER; tables created by clients are ordinary in-memory tables.
type frozenTable struct {
	meta  *memory.Table // schema, comment and indexes; holds no rows
	rows  []sql.Row     // in primary-key order
	bytes uint64        // rough data size: string lengths, 8 per other value

	mu      sync.Mutex
	indexes map[string]*frozenIndex // by index name, built on first use
}

var (
	_ sql.Table                 = (*frozenTable)(nil)
	_ sql.CommentedTable        = (*frozenTable)(nil)
	_ sql.PrimaryKeyTable       = (*frozenTable)(nil)
	_ sql.IndexAddressableTable = (*frozenTable)(nil)
	_ sql.StatisticsTable       = (*frozenTable)(nil)
	_ sql.IndexedTable          = (*frozenIndexedTable)(nil)
)

// newFrozenTable returns a frozen table with the rows of data and the
// schema of meta.
func newFrozenTable(ctx *sql.Context, meta *memory.Table, data tableData) (*frozenTable, error) {
	rows, size, err := convertedRows(ctx, meta.Schema(), meta.PrimaryKeySchema().PkOrdinals, data)
	if err != nil {
		return nil, err
	}
	return &frozenTable{meta: meta, rows: rows, bytes: size, indexes: map[string]*frozenIndex{}}, nil
}

// Converting the generated text to engine values (dates and decimals are
// parsed) is most of the cost of Start, so it is done once per process.
// Servers share the resulting rows: a frozen table never modifies them, and
// the engine treats rows from storage as read-only (its own in-memory
// tables hand out their stored rows the same way).
var rowCache struct {
	sync.Mutex
	rows map[string][]sql.Row
	size map[string]uint64
}

// convertedRows converts the values of data to the column types of sch and
// sorts the rows by primary key.
func convertedRows(ctx *sql.Context, sch sql.Schema, pk []int, data tableData) ([]sql.Row, uint64, error) {
	key := data.key
	if key == "" {
		key = data.name
	}
	rowCache.Lock()
	defer rowCache.Unlock()
	if rows, ok := rowCache.rows[key]; ok {
		return rows, rowCache.size[key], nil
	}
	rows, size, err := convertRows(ctx, sch, pk, data)
	if err != nil {
		return nil, 0, err
	}
	if rowCache.rows == nil {
		rowCache.rows, rowCache.size = map[string][]sql.Row{}, map[string]uint64{}
	}
	rowCache.rows[key], rowCache.size[key] = rows, size
	return rows, size, nil
}

func convertRows(ctx *sql.Context, sch sql.Schema, pk []int, data tableData) ([]sql.Row, uint64, error) {
	ord := make([]int, len(data.cols))
	for i, name := range data.cols {
		ord[i] = sch.IndexOfColName(name)
		if ord[i] < 0 {
			return nil, 0, fmt.Errorf("table %s has no column %s", data.name, name)
		}
	}
	rows := make([]sql.Row, len(data.rows))
	var size uint64
	for r, vals := range data.rows {
		row := make(sql.Row, len(sch))
		for i, v := range vals {
			if v.kind == kindNull {
				continue
			}
			if v.kind == kindStr {
				size += uint64(len(v.s))
			} else {
				size += 8
			}
			col := sch[ord[i]]
			cv, _, err := col.Type.Convert(ctx, v.s)
			if err != nil {
				return nil, 0, fmt.Errorf("%s.%s = %q: %w", data.name, col.Name, v.s, err)
			}
			row[ord[i]] = cv
		}
		rows[r] = row
	}
	var sortErr error
	sort.SliceStable(rows, func(i, j int) bool {
		c, err := compareRows(ctx, sch, pk, rows[i], rows[j])
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return c < 0
	})
	if sortErr != nil {
		return nil, 0, sortErr
	}
	return rows, size, nil
}

func (t *frozenTable) Name() string                           { return t.meta.Name() }
func (t *frozenTable) String() string                         { return t.meta.Name() }
func (t *frozenTable) Schema() sql.Schema                     { return t.meta.Schema() }
func (t *frozenTable) Collation() sql.CollationID             { return t.meta.Collation() }
func (t *frozenTable) Comment() string                        { return t.meta.Comment() }
func (t *frozenTable) PrimaryKeySchema() sql.PrimaryKeySchema { return t.meta.PrimaryKeySchema() }
func (t *frozenTable) PreciseMatch() bool                     { return true }

func (t *frozenTable) GetIndexes(ctx *sql.Context) ([]sql.Index, error) {
	return t.meta.GetIndexes(ctx)
}

func (t *frozenTable) RowCount(*sql.Context) (uint64, bool, error) {
	return uint64(len(t.rows)), true, nil
}

func (t *frozenTable) DataLength(*sql.Context) (uint64, error) {
	return t.bytes, nil
}

func (t *frozenTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(frozenPartition{}), nil
}

func (t *frozenTable) PartitionRows(_ *sql.Context, p sql.Partition) (sql.RowIter, error) {
	if lp, ok := p.(*lookupPartition); ok {
		return &frozenIter{rows: t.rows, pick: lp.rows}, nil
	}
	return &frozenIter{rows: t.rows}, nil
}

func (t *frozenTable) IndexedAccess(_ *sql.Context, lookup sql.IndexLookup) sql.IndexedTable {
	return &frozenIndexedTable{frozenTable: t, lookup: lookup}
}

type frozenIndexedTable struct {
	*frozenTable
	lookup sql.IndexLookup
}

func (t *frozenIndexedTable) LookupPartitions(ctx *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	rows, err := t.find(ctx, lookup)
	if err != nil {
		return nil, err
	}
	return sql.PartitionsToPartitionIter(&lookupPartition{rows: rows}), nil
}

type frozenPartition struct{}

func (frozenPartition) Key() []byte { return []byte("all") }

// lookupPartition carries the result of one index lookup: row numbers in
// the order the rows must be returned.
type lookupPartition struct{ rows []int }

func (*lookupPartition) Key() []byte { return []byte("lookup") }

// frozenIter returns rows (all of them, or the ones listed in pick),
// checking the query context now and then so a cancelled query stops.
type frozenIter struct {
	rows []sql.Row
	pick []int
	pos  int
}

func (it *frozenIter) Next(ctx *sql.Context) (sql.Row, error) {
	n := len(it.rows)
	if it.pick != nil {
		n = len(it.pick)
	}
	if it.pos >= n {
		return nil, io.EOF
	}
	if it.pos%seqCancelCheckEvery == seqCancelCheckEvery-1 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	i := it.pos
	it.pos++
	if it.pick != nil {
		return it.rows[it.pick[i]], nil
	}
	return it.rows[i], nil
}

func (it *frozenIter) Close(*sql.Context) error { return nil }

// frozenIndex is one index of a frozen table: the row numbers sorted by
// the index's extended key (its columns followed by the primary-key
// columns it lacks), NULL first, as the engine orders index entries.
type frozenIndex struct {
	ords  []int      // schema ordinals of the extended key
	types []sql.Type // their types
	order []int      // row numbers in key order
}

func (t *frozenTable) index(ctx *sql.Context, idx sql.Index) (*frozenIndex, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fi, ok := t.indexes[idx.ID()]; ok {
		return fi, nil
	}
	mi, ok := idx.(*memory.Index)
	if !ok {
		return nil, fmt.Errorf("table %s: unexpected index type %T", t.Name(), idx)
	}
	sch := t.Schema()
	fi := &frozenIndex{}
	for _, e := range mi.ExtendedExprs() {
		gf, ok := e.(*expression.GetField)
		if !ok || gf.Index() < 0 || gf.Index() >= len(sch) {
			return nil, fmt.Errorf("table %s: unsupported expression %s in index %s", t.Name(), e, idx.ID())
		}
		fi.ords = append(fi.ords, gf.Index())
		fi.types = append(fi.types, sch[gf.Index()].Type)
	}
	fi.order = make([]int, len(t.rows))
	for i := range fi.order {
		fi.order[i] = i
	}
	var sortErr error
	sort.SliceStable(fi.order, func(a, b int) bool {
		c, err := compareRows(ctx, sch, fi.ords, t.rows[fi.order[a]], t.rows[fi.order[b]])
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return c < 0
	})
	if sortErr != nil {
		return nil, sortErr
	}
	t.indexes[idx.ID()] = fi
	return fi, nil
}

// find returns the row numbers matching lookup, in index order (reversed
// for a reverse lookup).
func (t *frozenTable) find(ctx *sql.Context, lookup sql.IndexLookup) ([]int, error) {
	if lookup.IsEmptyRange {
		return []int{}, nil
	}
	ranges, ok := lookup.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("table %s: unsupported range type %T", t.Name(), lookup.Ranges)
	}
	fi, err := t.index(ctx, lookup.Index)
	if err != nil {
		return nil, err
	}
	var hits []int // positions in fi.order
	var seen map[int]bool
	if len(ranges) > 1 {
		seen = map[int]bool{}
	}
	for _, r := range ranges {
		if len(r) > len(fi.ords) {
			return nil, fmt.Errorf("table %s: range over %d columns for a %d-column index", t.Name(), len(r), len(fi.ords))
		}
		lo, hi := 0, len(fi.order)
		// Narrow by the first column with binary search when the range
		// compares values the same way the index is sorted.
		if len(r) > 0 && r[0].Typ != nil && r[0].Typ.Equals(fi.types[0]) {
			first := r[0]
			var searchErr error
			value := func(p int) any { return t.rows[fi.order[p]][fi.ords[0]] }
			lo = sort.Search(len(fi.order), func(p int) bool {
				ok, err := aboveLower(first, value(p))
				if err != nil && searchErr == nil {
					searchErr = err
				}
				return ok
			})
			hi = sort.Search(len(fi.order), func(p int) bool {
				ok, err := belowUpper(first, value(p))
				if err != nil && searchErr == nil {
					searchErr = err
				}
				return !ok
			})
			if searchErr != nil {
				return nil, searchErr
			}
		}
		for p := lo; p < hi; p++ {
			row := t.rows[fi.order[p]]
			match := true
			for k, rce := range r {
				in, err := inRange(rce, row[fi.ords[k]])
				if err != nil {
					return nil, err
				}
				if !in {
					match = false
					break
				}
			}
			if !match {
				continue
			}
			if seen != nil {
				if seen[p] {
					continue
				}
				seen[p] = true
			}
			hits = append(hits, p)
		}
	}
	if len(ranges) > 1 {
		slices.Sort(hits)
	}
	if lookup.IsReverse {
		slices.Reverse(hits)
	}
	out := make([]int, len(hits))
	for i, p := range hits {
		out[i] = fi.order[p]
	}
	return out, nil
}

// aboveLower reports whether v lies above the lower bound of rce. NULL sits
// between the BelowNull and AboveNull cuts; any other value v between
// Below{v} and Above{v}.
func aboveLower(rce sql.MySQLRangeColumnExpr, v any) (bool, error) {
	var pos sql.MySQLRangeCut = sql.BelowNull{}
	if v != nil {
		pos = sql.Below{Key: v}
	}
	c, err := rce.LowerBound.Compare(pos, rce.Typ)
	return c <= 0, err
}

// belowUpper reports whether v lies below the upper bound of rce.
func belowUpper(rce sql.MySQLRangeColumnExpr, v any) (bool, error) {
	var pos sql.MySQLRangeCut = sql.AboveNull{}
	if v != nil {
		pos = sql.Above{Key: v}
	}
	c, err := rce.UpperBound.Compare(pos, rce.Typ)
	return c >= 0, err
}

func inRange(rce sql.MySQLRangeColumnExpr, v any) (bool, error) {
	ok, err := aboveLower(rce, v)
	if !ok || err != nil {
		return false, err
	}
	return belowUpper(rce, v)
}

// compareRows orders a and b by the columns ords, NULL first.
func compareRows(ctx *sql.Context, sch sql.Schema, ords []int, a, b sql.Row) (int, error) {
	for _, o := range ords {
		x, y := a[o], b[o]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			return -1, nil
		case y == nil:
			return 1, nil
		}
		c, err := sch[o].Type.Compare(ctx, x, y)
		if err != nil || c != 0 {
			return c, err
		}
	}
	return 0, nil
}
