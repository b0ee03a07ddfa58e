package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Ready reports whether the last health check passed and no call was
// refused for a saturated pool within the last health interval, with the
// reason when not.
func (p *Pool) Ready() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.checked {
		return false, errors.New("no health check has completed yet")
	}
	if !p.healthy {
		return false, p.lastErr
	}
	if !p.lastBusy.IsZero() && time.Since(p.lastBusy) < p.cfg.HealthInterval {
		return false, ErrSaturated
	}
	return true, nil
}

// ErrSaturated is why Ready reports a Pool not ready whose calls found
// every connection busy within the last health interval.
var ErrSaturated = errors.New("connection pool saturated")

func (p *Pool) healthLoop() {
	defer p.loops.Done()
	t := time.NewTicker(p.cfg.HealthInterval)
	defer t.Stop()
	for {
		p.check()
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Pool) check() {
	ctx, cancel := context.WithTimeout(p.ctx, min(p.cfg.HealthInterval, 5*time.Second))
	defer cancel()
	// Over the control pools: a query pool busy with long queries is not an
	// unreachable Doris. Every FE is probed, concurrently.
	errs := make([]error, len(p.fes))
	var wg sync.WaitGroup
	for i, fe := range p.fes {
		wg.Go(func() { errs[i] = fe.m.ctl.PingContext(ctx) })
	}
	wg.Wait()
	if p.ctx.Err() != nil {
		return // closing: keep the last real result
	}
	var up int
	var failed []error
	p.mu.Lock()
	for i, fe := range p.fes {
		if errs[i] == nil {
			up++
			if fe.down && len(p.fes) > 1 {
				p.log.Info("doris FE back", "fe", fe.addr)
			}
		} else {
			failed = append(failed, fmt.Errorf("FE %s: %w", fe.addr, errs[i]))
		}
		fe.down, fe.err = errs[i] != nil, errs[i]
	}
	err := errors.Join(failed...)
	if up > 0 {
		err = nil // ready while at least one FE answers
	}
	was, wasChecked := p.healthy, p.checked
	p.healthy, p.checked, p.lastErr, p.lastCheck = up > 0, true, err, time.Now()
	p.mu.Unlock()
	switch {
	case up == 0 && (was || !wasChecked):
		p.log.Warn("doris unreachable", "err", err)
	case up > 0 && up < len(p.fes):
		p.log.Debug("some doris FEs unreachable", "up", up, "of", len(p.fes), "err", errors.Join(failed...))
	case up > 0 && !was:
		p.log.Info("doris reachable")
	}
}

func (p *Pool) cleanupLoop() {
	defer p.loops.Done()
	t := time.NewTicker(max(p.cfg.IdleTimeout/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-t.C:
			p.prune(now)
		}
	}
}

// prune closes secondary pools unused since before now minus the idle
// timeout. database/sql itself closes idle connections of every pool.
func (p *Pool) prune(now time.Time) {
	var idle []*member
	p.mu.Lock()
	for user, m := range p.secondary {
		if now.Sub(m.lastUsed) > p.cfg.IdleTimeout {
			delete(p.secondary, user)
			idle = append(idle, m)
		}
	}
	p.mu.Unlock()
	for _, m := range idle {
		if err := m.close(); err != nil {
			p.log.Warn("closing idle pool", "err", err)
		}
	}
}

// Stats reads the statistics of every pool, the default one first, then
// the per-user ones by account.
func (p *Pool) Stats() []Stats {
	p.mu.Lock()
	members := make([]*member, 0, len(p.fes)+len(p.secondary))
	for _, fe := range p.fes {
		members = append(members, fe.m)
	}
	var others []*member
	for _, m := range p.secondary {
		others = append(others, m)
	}
	p.mu.Unlock()
	slices.SortFunc(others, func(a, b *member) int {
		return cmp.Or(strings.Compare(a.user, b.user), strings.Compare(a.addr, b.addr))
	})
	members = append(members, others...)
	out := make([]Stats, len(members))
	for i, m := range members {
		st := m.db.Stats()
		out[i] = Stats{
			Account: m.user, Address: m.addr,
			Open: st.OpenConnections, InUse: st.InUse, Idle: st.Idle,
			WaitCount: st.WaitCount, WaitDuration: st.WaitDuration,
		}
	}
	return out
}

// Stats describes one connection pool.
type Stats struct {
	Account      string // the Doris user; "" for a host-owned pool
	Address      string // the FE's host:port; "" for a host-owned pool
	Open         int
	InUse        int
	Idle         int
	WaitCount    int64
	WaitDuration time.Duration
}

// Health is the last health check of one FE.
type Health struct {
	Address string
	Healthy bool
	Checked time.Time
}

// LastCheck is when the last health check completed; zero before it.
func (p *Pool) LastCheck() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastCheck
}

// Health reads the last health check of each FE.
func (p *Pool) Health() []Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Health, len(p.fes))
	for i, fe := range p.fes {
		out[i] = Health{Address: fe.m.addr, Healthy: p.checked && !fe.down, Checked: p.lastCheck}
	}
	return out
}
