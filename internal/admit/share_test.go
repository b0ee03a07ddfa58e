package admit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// acquireAsync starts an Acquire and returns its result channel once the
// request waits in the queue.
func acquireAsync(t *testing.T, ctx context.Context, s *Share, who string, n int64) <-chan error {
	t.Helper()
	before := waiting(s)
	done := make(chan error, 1)
	go func() { done <- s.Acquire(ctx, who, n) }()
	for waiting(s) == before {
		select {
		case err := <-done:
			t.Fatalf("%s's Acquire(%d) returned %v without waiting", who, n, err)
		default:
		}
		time.Sleep(time.Millisecond)
	}
	return done
}

func waiting(s *Share) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}

func granted(t *testing.T, ch <-chan error) bool {
	t.Helper()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		return true
	case <-time.After(10 * time.Millisecond):
		return false
	}
}

// One principal cannot take the reserve: another finds room at once.
func TestShareReserve(t *testing.T) {
	s := NewShare(16)
	if got := s.Limit("a"); got != 14 {
		t.Fatalf("limit of a named principal: %d, want 14", got)
	}
	for range 14 {
		if !s.TryAcquire("a", 1) {
			t.Fatal("a refused within its limit")
		}
	}
	if s.TryAcquire("a", 1) {
		t.Error("a took part of the reserve")
	}
	if !s.TryAcquire("b", 1) || !s.TryAcquire("c", 1) {
		t.Error("others refused while the reserve was free")
	}
	if s.TryAcquire("d", 1) {
		t.Error("granted past the size")
	}
	// The anonymous principal is alone by definition: it may take all.
	anon := NewShare(16)
	if !anon.TryAcquire("", 16) {
		t.Error("the anonymous principal was refused the whole share")
	}
}

// Released units go first to the principal that holds least, whatever the
// order of arrival.
func TestShareLeastHeldFirst(t *testing.T) {
	ctx := context.Background()
	s := NewShare(8)
	if err := s.Acquire(ctx, "greedy", 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Acquire(ctx, "other", 1); err != nil {
		t.Fatal(err)
	}
	g := acquireAsync(t, ctx, s, "greedy", 1)
	o := acquireAsync(t, ctx, s, "other", 1)
	s.Release("greedy", 1)
	if !granted(t, o) {
		t.Fatal("the principal holding less was not served first")
	}
	if granted(t, g) {
		t.Fatal("greedy was served from the same unit")
	}
	s.Release("other", 1)
	if !granted(t, g) {
		t.Fatal("greedy not served once nobody holding less waited")
	}
	// A new request queues behind a waiter holding no more than it does.
	if s.TryAcquire("greedy", 1) {
		t.Fatal("granted past the limit")
	}
}

// A waiter whose context ends leaves the queue, and those behind it move
// up; a request larger than a principal may ever hold fails at once.
func TestShareCancel(t *testing.T) {
	s := NewShare(4)
	if err := s.Acquire(context.Background(), "a", 3); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	big := acquireAsync(t, ctx, s, "b", 2) // blocks the queue: only 1 free
	small := acquireAsync(t, context.Background(), s, "c", 1)
	if granted(t, small) {
		t.Fatal("a smaller request overtook a waiting one")
	}
	cancel()
	if err := <-big; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Acquire: %v", err)
	}
	if !granted(t, small) {
		t.Fatal("the request behind a cancelled one was not served")
	}
	if waiting(s) != 0 || s.Used() != 4 {
		t.Fatalf("after: %d waiting, %d used", waiting(s), s.Used())
	}
	if err := s.Acquire(context.Background(), "d", 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a request beyond the limit: %v", err)
	}
}
