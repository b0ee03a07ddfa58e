package admit

import (
	"context"
	"sync"
)

// Gate admits work until it is closed and counts the work admitted and not
// yet finished, so that a shutdown can wait for it.
type Gate struct {
	mu     sync.Mutex
	closed bool
	n      int
	idle   chan struct{} // closed when n drops to zero; nil while nobody waits
}

// What [Gate.EnterN] made of a request to enter.
type Admission int

const (
	Admitted Admission = iota
	Closed             // refused: the gate is closed
	Full               // refused: the limit is reached
)

// Enter admits one unit of work, or reports false once the gate is closed.
func (g *Gate) Enter() bool { return g.EnterN(1, 0) == Admitted }

// EnterN admits n units of work at once, unless the gate is closed or they
// would take it past limit (0: no limit).
func (g *Gate) EnterN(n, limit int) Admission {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return Closed
	}
	if limit > 0 && g.n+n > limit {
		return Full
	}
	g.n += n
	return Admitted
}

// Leave ends one unit of work.
func (g *Gate) Leave() { g.LeaveN(1) }

// LeaveN ends n units of work.
func (g *Gate) LeaveN(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n -= n
	if g.n < 0 {
		panic("admit: gate left more often than entered")
	}
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// Close refuses new work from now on; work admitted goes on.
func (g *Gate) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// IsClosed reports whether Close was called.
func (g *Gate) IsClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// Active is the work admitted and not finished.
func (g *Gate) Active() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// Wait returns nil once no work is admitted, or ctx's cause.
func (g *Gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
