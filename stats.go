package doris

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Stats is a snapshot of what the Server is doing, for hosts that watch it
// without OpenTelemetry (a status page, a test, a log line). It is cheap:
// it reads counters and database/sql's pool statistics, takes no lock that
// a call holds while it runs, and sends nothing to Doris.
type Stats struct {
	// InFlight counts the calls admitted and not yet answered, over every
	// transport: the work Shutdown drains.
	InFlight int
	// Sessions counts the MCP sessions open: stateful HTTP sessions, stdio
	// and other ServeTransport sessions, and the one-request sessions of
	// stateless HTTP calls in progress.
	Sessions int
	// Pools has one entry per connection pool: the default account first,
	// then one per Doris account that per-user connections opened.
	Pools []PoolStats
	// Health has the last health check of each FE the Server checks.
	Health []HealthStats
	// Killed counts the queries killed in Doris since New, by reason: the
	// KILL statements issued, each for a statement still running when its
	// call ended.
	Killed KilledStats
	// Draining is true from the moment Shutdown starts.
	Draining bool
}

// PoolStats describes one connection pool.
type PoolStats struct {
	// Account is the Doris user the pool connects as; empty for a pool the
	// host passed with [WithDB].
	Account string
	// Address is the FE's host:port the pool connects to; empty with WithDB.
	Address string
	// Open is the number of connections open, in use or idle.
	Open int
	// InUse is the number of connections running a statement.
	InUse int
	// Idle is the number of open connections waiting for work.
	Idle int
	// WaitCount is the number of times a call waited for a free
	// connection, in all.
	WaitCount int64
	// WaitDuration is the total time calls waited for a free connection.
	WaitDuration time.Duration
}

// HealthStats is the last health check of one FE.
type HealthStats struct {
	// Address is the FE's host:port; empty with WithDB.
	Address string
	// Healthy is true when the last check reached Doris. It is false
	// before the first check completes.
	Healthy bool
	// Checked is when the last check completed; zero before the first.
	Checked time.Time
}

// KilledStats counts queries killed in Doris, by why they were.
type KilledStats struct {
	// Cancel: the caller cancelled the call, closed its request or pipe,
	// or its session was deleted.
	Cancel int64
	// Timeout: the call's time limit ran out before the engine stopped
	// the statement itself.
	Timeout int64
	// Shutdown: Shutdown's deadline cancelled the call.
	Shutdown int64
	// Limit: the result reached its row or byte limit and the rest of the
	// statement was not wanted.
	Limit int64
}

// Stats returns a snapshot of the Server's activity. It is safe to call
// often and concurrently, also during and after Shutdown.
func (s *Server) Stats() Stats {
	k := s.cfg.tel.KilledSoFar()
	return Stats{
		InFlight: s.gate.active(),
		Sessions: s.sessionCount(),
		Pools:    s.pool.stats(),
		Health:   s.pool.health(),
		Killed:   KilledStats{Cancel: k.Cancel, Timeout: k.Timeout, Shutdown: k.Shutdown, Limit: k.Limit},
		Draining: s.gate.isClosed(),
	}
}

// stats reads the statistics of every pool, the default one first, then
// the per-user ones by account.
func (p *pool) stats() []PoolStats {
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
	out := make([]PoolStats, len(members))
	for i, m := range members {
		st := m.db.Stats()
		out[i] = PoolStats{
			Account: m.user, Address: m.addr,
			Open: st.OpenConnections, InUse: st.InUse, Idle: st.Idle,
			WaitCount: st.WaitCount, WaitDuration: st.WaitDuration,
		}
	}
	return out
}

// health reads the last health check of each FE.
func (p *pool) health() []HealthStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]HealthStats, len(p.fes))
	for i, fe := range p.fes {
		out[i] = HealthStats{Address: fe.m.addr, Healthy: p.checked && !fe.down, Checked: p.lastCheck}
	}
	return out
}
