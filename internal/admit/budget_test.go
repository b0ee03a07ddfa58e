package admit

import (
	"context"
	"testing"
	"time"
)

// A charge takes room as its result grows, in chunks, and gives it all
// back with its last reference.
func TestChargeGrows(t *testing.T) {
	ctx := context.Background()
	b := NewBudget(64<<20, 8, time.Second)
	c := b.Charge("a")
	if b.Used() != 0 {
		t.Fatalf("an empty charge holds %d", b.Used())
	}
	if !c.Grow(ctx, 100) {
		t.Fatal("first row refused")
	}
	if got := b.Used(); got != 8*firstSlice {
		t.Fatalf("after 100 bytes: %d charged, want the first slice %d", got, 8*firstSlice)
	}
	for range 1000 {
		if !c.Grow(ctx, 1000) {
			t.Fatal("refused within the budget")
		}
	}
	if got, want := b.Used(), int64(8*1000*1000+8*100); got < want || got > 2*want {
		t.Errorf("after about 1 MB: %d charged, want between %d and twice that", got, want)
	}
	c.Hold()
	c.Release()
	if b.Used() == 0 {
		t.Fatal("released with a reference left")
	}
	c.Release()
	if b.Used() != 0 {
		t.Fatalf("after the last release: %d charged", b.Used())
	}
}

// A charge that finds no room waits briefly, then reports false without
// taking anything; others still fit in the reserve.
func TestChargeFull(t *testing.T) {
	ctx := context.Background()
	b := NewBudget(8<<20, 8, 20*time.Millisecond)
	greedy := b.Charge("greedy")
	for greedy.Grow(ctx, 64<<10) {
	}
	held := b.Used()
	if held > b.share.Limit("greedy") {
		t.Fatalf("greedy holds %d, more than its limit", held)
	}
	other := b.Charge("other")
	if !other.Grow(ctx, 1000) {
		t.Fatal("another principal found no room in the reserve")
	}
	before := b.Used()
	if greedy.Grow(ctx, 1<<20) {
		t.Fatal("grew past the limit")
	}
	if b.Used() != before {
		t.Error("a refused Grow took room")
	}
	greedy.Release()
	other.Release()
	if b.Used() != 0 {
		t.Fatalf("%d left charged", b.Used())
	}
}
