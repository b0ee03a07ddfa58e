package admit

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Share is a weighted semaphore of a fixed size whose units are held on
// behalf of principals, shared fairly between them (see the package doc).
// The zero value is not usable; see [NewShare].
type Share struct {
	mu      sync.Mutex
	size    int64
	used    int64
	held    map[string]int64
	waiters []*waiter // in arrival order
}

type waiter struct {
	who     string
	n       int64
	ready   chan struct{} // closed once granted
	granted bool
}

// NewShare returns a Share of size units (at least 1).
func NewShare(size int64) *Share {
	return &Share{size: max(size, 1), held: make(map[string]int64)}
}

// ErrTooLarge reports a request for more units than its principal may ever
// hold at once.
var ErrTooLarge = errors.New("admit: request exceeds what one principal may hold")

// Limit is the most who may hold at once: everything for the anonymous
// principal, all but a reserve for the others.
func (s *Share) Limit(who string) int64 {
	if who == "" || s.size <= 1 {
		return s.size
	}
	return s.size - max(1, s.size/8)
}

// Held is what who holds now.
func (s *Share) Held(who string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[who]
}

// Used is what every principal holds together.
func (s *Share) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// TryAcquire takes n units for who if they are free now and nobody with a
// prior claim waits for them.
func (s *Share) TryAcquire(who string, n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.fits(who, n) || s.ahead(who) {
		return false
	}
	s.take(who, n)
	return true
}

// Acquire takes n units for who, waiting within ctx while they are held by
// others or owed to principals that hold less. It returns ctx's cause when
// ctx ends first, and [ErrTooLarge] at once for a request that can never
// be granted.
func (s *Share) Acquire(ctx context.Context, who string, n int64) error {
	s.mu.Lock()
	if n > s.Limit(who) {
		s.mu.Unlock()
		return fmt.Errorf("%w (%d units of %d)", ErrTooLarge, n, s.Limit(who))
	}
	if s.fits(who, n) && !s.ahead(who) {
		s.take(who, n)
		s.mu.Unlock()
		return nil
	}
	w := &waiter{who: who, n: n, ready: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		// Granted as ctx ended: give it back.
		s.give(who, n)
	} else {
		for i, o := range s.waiters {
			if o == w {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				break
			}
		}
	}
	// A waiter gone can unblock those behind it.
	s.dispatch()
	return context.Cause(ctx)
}

// Release gives back n units held by who.
func (s *Share) Release(who string, n int64) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.give(who, n)
	s.dispatch()
}

func (s *Share) give(who string, n int64) {
	h := s.held[who] - n
	if h < 0 || s.used < n {
		panic("admit: released more than held")
	}
	if h == 0 {
		delete(s.held, who)
	} else {
		s.held[who] = h
	}
	s.used -= n
}

func (s *Share) fits(who string, n int64) bool {
	return s.used+n <= s.size && s.held[who]+n <= s.Limit(who)
}

func (s *Share) take(who string, n int64) {
	s.held[who] += n
	s.used += n
}

// ahead reports whether a waiter would be served before a new request of
// who: one whose principal holds no more than who does.
func (s *Share) ahead(who string) bool {
	mine := s.held[who]
	for _, w := range s.waiters {
		if s.held[w.who] <= mine && s.held[w.who]+w.n <= s.Limit(w.who) {
			return true
		}
	}
	return false
}

// dispatch grants what it can: first to the principal that holds least
// (in arrival order among equals), skipping waiters at their own limit,
// who wait for their own releases. A waiter that does not fit yet blocks
// those behind it, so small requests cannot starve a larger one.
func (s *Share) dispatch() {
	for {
		best := -1
		for i, w := range s.waiters {
			if s.held[w.who]+w.n > s.Limit(w.who) {
				continue
			}
			if best < 0 || s.held[w.who] < s.held[s.waiters[best].who] {
				best = i
			}
		}
		if best < 0 {
			return
		}
		w := s.waiters[best]
		if s.used+w.n > s.size {
			return
		}
		s.take(w.who, w.n)
		w.granted = true
		close(w.ready)
		s.waiters = append(s.waiters[:best], s.waiters[best+1:]...)
	}
}
