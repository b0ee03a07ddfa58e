package admit

import (
	"context"
	"sync"
	"time"
)

// Budget bounds the memory results hold at once, over every call, shared
// fairly between principals. A result byte costs Cost bytes of memory at
// the peak of its call: its rows, their encoding, the text copy for older
// clients and the protocol's encoding of the message.
type Budget struct {
	share *Share
	cost  int64
	wait  time.Duration
}

// Room a result takes from the budget: a first slice, then chunks that
// double with the result, up to maxChunk at a time.
const (
	firstSlice = 16 << 10
	maxChunk   = 1 << 20
)

// NewBudget returns a budget of size bytes of memory, charging cost bytes
// per result byte; a result that finds no room waits at most wait.
func NewBudget(size int64, cost int, wait time.Duration) *Budget {
	return &Budget{share: NewShare(size), cost: int64(cost), wait: wait}
}

// Used is the memory charged now, in bytes.
func (b *Budget) Used() int64 { return b.share.Used() }

// Held is the memory charged to who now, in bytes.
func (b *Budget) Held(who string) int64 { return b.share.Held(who) }

// Charge opens an account for the results of one request of who, holding
// one reference: see [Charge.Release].
func (b *Budget) Charge(who string) *Charge { return &Charge{b: b, who: who, refs: 1} }

// A Charge is what the results of one request hold of a Budget. It is
// released when the last of its references is: the handler that ran a
// call, and the HTTP request that delivers its response.
type Charge struct {
	b   *Budget
	who string

	mu   sync.Mutex
	refs int
	room int64 // result bytes paid for
	used int64 // result bytes grown into
}

// Hold adds a reference.
func (c *Charge) Hold() {
	c.mu.Lock()
	c.refs++
	c.mu.Unlock()
}

// Release drops a reference; the last gives back everything charged.
func (c *Charge) Release() {
	c.mu.Lock()
	c.refs--
	var n int64
	if c.refs == 0 {
		n = c.room * c.b.cost
		c.room, c.used = 0, 0
	}
	c.mu.Unlock()
	c.b.share.Release(c.who, n)
}

// Grow makes room for n more result bytes, taking a chunk from the budget
// when what was paid for is used up, and waiting for one at most the
// budget's wait (or until ctx ends). It reports false, taking nothing,
// when no room came: the result should end there.
func (c *Charge) Grow(ctx context.Context, n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used+int64(n) <= c.room {
		c.used += int64(n)
		return true
	}
	need := c.used + int64(n) - c.room
	chunk := max(need, min(max(c.room, firstSlice), maxChunk))
	if c.b.share.TryAcquire(c.who, chunk*c.b.cost) {
		c.room += chunk
		c.used += int64(n)
		return true
	}
	wctx, cancel := context.WithTimeout(ctx, c.b.wait)
	defer cancel()
	if err := c.b.share.Acquire(wctx, c.who, chunk*c.b.cost); err != nil {
		if chunk == need {
			return false
		}
		// What was asked for may still fit where a whole chunk does not.
		if c.b.share.Acquire(wctx, c.who, need*c.b.cost) != nil {
			return false
		}
		chunk = need
	}
	c.room += chunk
	c.used += int64(n)
	return true
}
