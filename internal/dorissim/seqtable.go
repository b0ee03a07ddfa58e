package dorissim

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// seqNameRE matches the names of MariaDB's Sequence-engine tables:
// seq_<from>_to_<to> and seq_<from>_to_<to>_step_<step>, and the
// simulator's own seq_<from>_to_<to>_wait_<n>ms, which waits n milliseconds
// before its first row: a guard-legal query that stays in flight without
// using CPU, so lifecycle tests do not depend on the machine's speed.
var seqNameRE = regexp.MustCompile(`(?i)^seq_([0-9]+)_to_([0-9]+)(?:_step_([0-9]+))?(?:_wait_([0-9]+)ms)?$`)

// seqCancelCheckEvery is how many rows a sequence iterator produces between
// two checks of its query context.
const seqCancelCheckEvery = 1024

// seqTable is a virtual, read-only table with a single BIGINT UNSIGNED
// column `seq`, generated on the fly like MariaDB's Sequence engine: the
// values are low, low+step, ... up to high, in descending order when the
// name lists the larger bound first. Nothing is stored.
type seqTable struct {
	name       string
	db         string
	low, high  uint64 // inclusive bounds of the arithmetic progression
	step       uint64
	descending bool
	wait       time.Duration // before the first row
	schema     sql.Schema
}

var _ sql.Table = (*seqTable)(nil)

// parseSeqTable returns the sequence table for name, or ok=false if name is
// not a sequence table name. err is set for a name of the right shape with
// values MariaDB also rejects (a zero step, numbers out of range).
func parseSeqTable(db, name string) (t *seqTable, ok bool, err error) {
	m := seqNameRE.FindStringSubmatch(name)
	if m == nil {
		return nil, false, nil
	}
	from, err1 := strconv.ParseUint(m[1], 10, 64)
	to, err2 := strconv.ParseUint(m[2], 10, 64)
	step := uint64(1)
	var err3 error
	if m[3] != "" {
		step, err3 = strconv.ParseUint(m[3], 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || step == 0 {
		return nil, true, fmt.Errorf("invalid sequence table %q: bounds must fit in BIGINT UNSIGNED and the step must be positive", name)
	}
	var wait uint64
	if m[4] != "" {
		if wait, err = strconv.ParseUint(m[4], 10, 32); err != nil {
			return nil, true, fmt.Errorf("invalid sequence table %q: wait out of range", name)
		}
	}
	t = &seqTable{name: name, db: db, low: from, high: to, step: step, wait: time.Duration(wait) * time.Millisecond}
	if from > to {
		t.low, t.high, t.descending = to, from, true
	}
	// Like MariaDB, a descending sequence yields the ascending progression
	// that starts at the lower bound, reversed: seq_10_to_2_step_3 is 8, 5, 2.
	t.high = t.low + (t.high-t.low)/t.step*t.step
	t.schema = sql.Schema{{
		Name:           "seq",
		Type:           types.Uint64,
		Nullable:       false,
		PrimaryKey:     true,
		Source:         name,
		DatabaseSource: db,
	}}
	return t, true, nil
}

// lastIndex is the index of the final value: the sequence has
// lastIndex+1 values (always at least one).
func (t *seqTable) lastIndex() uint64 { return (t.high - t.low) / t.step }

func (t *seqTable) Name() string               { return t.name }
func (t *seqTable) String() string             { return t.name }
func (t *seqTable) Schema() sql.Schema         { return t.schema }
func (t *seqTable) Collation() sql.CollationID { return sql.Collation_Default }
func (t *seqTable) IsReadOnly() bool           { return true }
func (t *seqTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(seqPartition{}), nil
}

func (t *seqTable) PartitionRows(*sql.Context, sql.Partition) (sql.RowIter, error) {
	return &seqIter{t: t, last: t.lastIndex()}, nil
}

type seqPartition struct{}

func (seqPartition) Key() []byte { return []byte("seq") }

// seqIter produces the values lazily. It checks the query context every
// seqCancelCheckEvery rows so that KILL QUERY, a server shutdown or a
// client-side cancellation ends a long scan promptly.
type seqIter struct {
	t        *seqTable
	next     uint64 // index of the next value
	last     uint64 // index of the final value
	finished bool
	check    int
}

func (it *seqIter) Next(ctx *sql.Context) (sql.Row, error) {
	if it.finished {
		return nil, io.EOF
	}
	if it.t.wait > 0 && it.next == 0 && it.check == 0 {
		timer := time.NewTimer(it.t.wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
	}
	if it.check++; it.check >= seqCancelCheckEvery {
		it.check = 0
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	var v uint64
	if it.t.descending {
		v = it.t.high - it.next*it.t.step
	} else {
		v = it.t.low + it.next*it.t.step
	}
	if it.next == it.last {
		it.finished = true
	} else {
		it.next++
	}
	return sql.Row{v}, nil
}

func (it *seqIter) Close(*sql.Context) error { return nil }
