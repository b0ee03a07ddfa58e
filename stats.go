package doris

import (
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
	type named struct {
		account string
		m       *member
	}
	p.mu.Lock()
	members := make([]named, 0, 1+len(p.secondary))
	for user, m := range p.secondary {
		members = append(members, named{user, m})
	}
	p.mu.Unlock()
	slices.SortFunc(members, func(a, b named) int { return strings.Compare(a.account, b.account) })
	def := named{m: p.def}
	if p.base != nil {
		def.account = p.base.User
	}
	members = slices.Insert(members, 0, def)
	out := make([]PoolStats, len(members))
	for i, n := range members {
		st := n.m.db.Stats()
		out[i] = PoolStats{
			Account: n.account,
			Open:    st.OpenConnections, InUse: st.InUse, Idle: st.Idle,
			WaitCount: st.WaitCount, WaitDuration: st.WaitDuration,
		}
		if p.base != nil {
			out[i].Address = p.base.Addr
		}
	}
	return out
}

// health reads the last health check. The Server checks the FE of its DSN.
func (p *pool) health() []HealthStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := HealthStats{Healthy: p.checked && p.healthy, Checked: p.lastCheck}
	if p.base != nil {
		h.Address = p.base.Addr
	}
	return []HealthStats{h}
}
