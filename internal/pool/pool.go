// Package pool is the connection layer: one database/sql pool per FE and
// Doris account, each connection knowing its server connection id (and on
// Doris its trace id), so that a call whose context ends has its statement
// killed in the engine; calls are spread fairly between principals, FEs
// are health-checked and tried in turn, and idle per-account pools are
// closed. It knows nothing of the Server that uses it: everything comes
// through Config.
package pool

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/singleflight"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"

	"github.com/dorismcp/doris/internal/admit"
)

// Pool is the connection manager: the default *sql.DB, secondary pools keyed
// by Doris user (pruned when idle), a health-check loop and a cleanup loop.
// It knows which server-side connection runs each caller query, so a query
// whose context ends is killed in the engine (KILL QUERY on another
// connection), not merely abandoned by the client.
type Pool struct {
	log  *slog.Logger
	base *mysql.Config // nil for a host-owned pool
	cfg  Config
	// fes are the FEs, in the order configured: the DSN's first. A call
	// goes to the first that is up. Each has its own pools, so a KILL goes
	// to the FE that runs the query (connection ids are per FE).
	fes      []*frontend
	def      *member // the first FE's pool of the default account
	ownsDef  bool
	ctx      context.Context // ends when Close starts
	cancel   context.CancelFunc
	loops    sync.WaitGroup
	calls    admit.Gate // calls in Do and the kills they fired
	closeErr error
	closed   sync.Once

	detecting singleflight.Group

	// noTraceKill is set once Doris has refused KILL QUERY "<trace id>"
	// (releases before 2.1.11 and 3.0.7).
	noTraceKill atomic.Bool
	// doris is set once the detected server is Doris: read per call
	// without the lock.
	doris atomic.Bool

	mu        sync.Mutex
	backend   *query.Backend     // detected on first use
	secondary map[string]*member // by Doris user
	healthy   bool
	checked   bool
	busy      int64     // calls refused because every connection was busy
	lastBusy  time.Time // the last such refusal
	lastErr   error
	lastCheck time.Time
}

// frontend is one FE's query address and the default account's pool on it.
type frontend struct {
	addr string
	m    *member
	down bool // guarded by pool.mu: its last health check or connection failed
	err  error
}

// member is one *sql.DB and what is needed to kill its queries.
type member struct {
	db *sql.DB
	// ctl is a small pool on the same account used only for KILL, so a kill
	// never waits behind the queries it is meant to stop. It is db itself for
	// a host-owned pool.
	ctl *sql.DB
	// tracked is true when db's connections are sessionConns that carry their
	// server connection id and can restore their session; otherwise the id is
	// asked for per query and a changed session is discarded.
	tracked bool
	// slots shares db's connections between principals (nil: db's
	// connections are not bounded), so one principal's slow calls cannot
	// hold every connection while another waits.
	slots     *admit.Share
	defaultDB string
	user      string    // the Doris account, for Stats
	addr      string    // the FE, for Stats
	lastUsed  time.Time // guarded by pool.mu
}

func (m *member) close() error {
	if m.ctl == m.db {
		return m.db.Close()
	}
	return errors.Join(m.db.Close(), m.ctl.Close())
}

// Config is what a Pool needs: where Doris is, how many connections to
// keep and for how long, and the hooks through which it reports and asks.
type Config struct {
	// DSN is the default account's DSN; its Addr is the first FE. Nil when
	// DB is set.
	DSN *mysql.Config
	// DB is a host-owned pool, used as it is (no per-account pools, no
	// restoring of sessions: a changed one is discarded). Nil with DSN.
	DB *sql.DB
	// Frontends are more FE query addresses, tried in turn after DSN's.
	Frontends []string
	// MaxOpen and MaxIdle bound each pool's connections.
	MaxOpen, MaxIdle int
	// ConnMaxLifetime and ConnMaxIdleTime bound a connection's life.
	ConnMaxLifetime, ConnMaxIdleTime time.Duration
	// IdleTimeout closes a per-account pool unused for that long.
	IdleTimeout time.Duration
	// Wait is how long a call waits for a free connection.
	Wait time.Duration
	// QueryTimeout bounds detecting the server.
	QueryTimeout time.Duration
	// HealthInterval is the period of the health check.
	HealthInterval time.Duration
	// Functions are the functions statements may call, for detection.
	Functions query.FunctionPolicy
	// Logger receives the pool's records; it must not be nil.
	Logger *slog.Logger
	// Closed is the error of work given to a closed Pool.
	Closed error
	// QueryIDByTrace maps a trace id to the id of the query running under
	// it, through the FE HTTP API (nil without one): how a kill finds a
	// query on any FE where Doris cannot kill by trace id.
	QueryIDByTrace func(ctx context.Context, traceID string) (string, error)
	// Killed, when set, is told of each kill as it is issued, with the
	// cause of the call's end.
	Killed func(cause error)
	// Principal, when set, names the caller of ctx: connections are
	// shared fairly between the names it gives.
	Principal func(ctx context.Context) string
}

// New starts a Pool: its health-check and cleanup loops run until Close.
// It does not touch the network.
func New(cfg Config) *Pool {
	p := &Pool{
		log:       cfg.Logger,
		cfg:       cfg,
		secondary: make(map[string]*member),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if cfg.DB != nil {
		p.def = &member{db: cfg.DB, ctl: cfg.DB}
		if n := cfg.DB.Stats().MaxOpenConnections; n > 0 {
			p.def.slots = admit.NewShare(int64(n))
		}
		p.fes = []*frontend{{addr: "host pool", m: p.def}}
	} else {
		p.base = cfg.DSN
		p.ownsDef = true
		for _, addr := range append([]string{cfg.DSN.Addr}, cfg.Frontends...) {
			dsn := cfg.DSN.Clone()
			dsn.Addr = addr
			p.fes = append(p.fes, &frontend{addr: addr, m: p.open(dsn)})
		}
		p.def = p.fes[0].m
	}
	p.loops.Add(2)
	go p.healthLoop()
	go p.cleanupLoop()
	return p
}

// open builds a pool over the driver whose connections record their server
// connection id at connect time. It does not touch the network.
func (p *Pool) open(dsn *mysql.Config) *member {
	dsn = dsn.Clone()
	dsn.Logger = driverLogger{p.log}
	inner, _ := mysql.NewConnector(dsn) // dsn was validated by ParseDSN/normalize
	db := sql.OpenDB(&connector{inner: inner, defaultDB: dsn.DBName, wait: p.cfg.Wait})
	db.SetMaxOpenConns(p.cfg.MaxOpen)
	slots := admit.NewShare(int64(p.cfg.MaxOpen))
	db.SetMaxIdleConns(p.cfg.MaxIdle)
	db.SetConnMaxLifetime(p.cfg.ConnMaxLifetime)
	db.SetConnMaxIdleTime(p.cfg.ConnMaxIdleTime)
	ctl := sql.OpenDB(inner)
	ctl.SetMaxOpenConns(2)
	ctl.SetMaxIdleConns(1)
	ctl.SetConnMaxIdleTime(p.cfg.ConnMaxIdleTime)
	return &member{db: db, ctl: ctl, tracked: true, slots: slots, defaultDB: dsn.DBName, user: dsn.User, addr: dsn.Addr}
}

// Backend reports what the server is, asking it once: concurrent first
// callers share one detection, each waiting within its own ctx.
func (p *Pool) Backend(ctx context.Context) (query.Backend, error) {
	p.mu.Lock()
	b := p.backend
	p.mu.Unlock()
	if b != nil {
		return *b, nil
	}
	ch := p.detecting.DoChan("", func() (any, error) {
		// Not bound to the first caller alone: the others wait for it.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.QueryTimeout)
		defer cancel()
		defer context.AfterFunc(p.ctx, cancel)() // nor outliving the pool
		_, conn, release, err := p.connect(dctx)
		if err != nil {
			return query.Backend{}, err
		}
		defer release()
		defer conn.Close()
		detected, err := query.Detect(dctx, conn, p.cfg.Functions)
		if err != nil {
			return detected, err
		}
		p.mu.Lock()
		p.backend = &detected
		p.doris.Store(detected.Engine == query.Doris)
		p.mu.Unlock()
		p.log.Info("doris backend detected", "engine", detected.Engine, "version", detected.Version, "version_comment", detected.VersionComment)
		return detected, nil
	})
	select {
	case r := <-ch:
		return r.Val.(query.Backend), r.Err
	case <-ctx.Done():
		return query.Backend{}, context.Cause(ctx)
	}
}

// Do runs fn on a connection reserved for it, in the session s asks for.
// If ctx ends while fn runs, the statement running on that connection is
// killed in the engine, from another connection, and the connection is
// discarded: its id is never used again, so the kill cannot reach another
// caller. A connection whose session was changed is restored or discarded
// before anyone else uses it.
func (p *Pool) Do(ctx context.Context, s query.Session, fn func(ctx context.Context, conn *sql.Conn) error) error {
	// Every call counts until it is over and its kill, if any, is done:
	// Close waits for them.
	if !p.calls.Enter() {
		return p.cfg.Closed
	}
	m, conn, release, err := p.connect(ctx)
	if err != nil {
		p.calls.Leave()
		return err
	}
	discard := false
	handedOff := false // the kill owns the connection now
	defer func() {
		if handedOff {
			return
		}
		if discard {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
		release()
	}()
	armed := false
	defer func() {
		if !armed {
			p.calls.Leave()
		}
	}()
	id, trace, err := sessionOf(ctx, conn, m.tracked)
	if err != nil {
		return err
	}
	trace, err = p.sessionTrace(ctx, conn, m, trace)
	if err != nil {
		return lostConn(m, err)
	}
	if trace != "" {
		ctx = query.WithTraceID(ctx, trace)
	}
	var setup []string
	if s.DB != "" && s.DB != m.defaultDB {
		q, err := sqlguard.QuoteIdent(s.DB)
		if err != nil {
			return fmt.Errorf("database name: %w", err)
		}
		setup = append(setup, "USE "+q)
	}
	if s.Set != "" {
		setup = append(setup, s.Set)
	}
	if len(setup) > 0 {
		// Arrange the undoing before the change: a change that fails
		// halfway must not leave an unknown session behind either.
		discard = !m.tracked
		if m.tracked {
			conn.Raw(func(dc any) error {
				dc.(*sessionConn).changed(s.DB != "" && s.DB != m.defaultDB, s)
				return nil
			})
		}
		for _, stmt := range setup {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return lostConn(m, err)
			}
		}
	}
	armed = true
	// The kill, once fired, runs on its own. It keeps the connection, so
	// that it still counts against the pool, until the server reports
	// the statement gone: a statement that ignores the kill for a while
	// (a long string function, say) cannot make the pool open one more
	// connection per call. The connection is then discarded, never
	// reused, so its id cannot reach another caller.
	returned := make(chan struct{})
	kill := func() {
		defer p.calls.Leave()
		qid, killed := p.kill(m, id, trace, func() {
			if p.cfg.Killed != nil {
				p.cfg.Killed(context.Cause(ctx)) // counted as issued: a slow KILL is still one
			}
		})
		<-returned
		if killed {
			p.awaitGone(m, id, qid)
		}
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
		release()
	}
	stop := context.AfterFunc(ctx, kill)
	defer func() {
		switch {
		case !stop():
			handedOff = true // the kill is under way
		case ctx.Err() != nil:
			// The driver saw the cancellation first and fn returned before
			// the kill started; the server may still be running the
			// statement, so the kill goes ahead all the same.
			handedOff = true
			go kill()
		default:
			p.calls.Leave()
		}
		close(returned)
	}()
	return lostConn(m, fn(ctx, conn))
}

// connect reserves a connection for a call on the first FE that is up, in
// the caller's account. An FE that cannot be reached is marked down, until
// the health loop sees it back, and the next one is tried: a call fails
// for an unreachable Doris only when no FE answers.
func (p *Pool) connect(ctx context.Context) (*member, *sql.Conn, func(), error) {
	acct, perUser := accountFrom(ctx)
	var err error
	for _, fe := range p.order() {
		var m *member
		if m, err = p.forUser(fe, acct); err != nil {
			return nil, nil, nil, err
		}
		var conn *sql.Conn
		var release func()
		if conn, release, err = p.acquire(ctx, m); err == nil {
			return m, conn, release, nil
		}
		var ue *query.UnavailableError
		if !errors.As(err, &ue) || ctx.Err() != nil || (perUser && accountError(acct, err) != err) {
			break // not the FE's fault: busy, cancelled, or the account refused
		}
		p.markDown(fe, ue.Cause)
	}
	if perUser {
		return nil, nil, nil, accountError(acct, err)
	}
	return nil, nil, nil, err
}

// order lists the FEs to try: those up first, in the configured order,
// then those marked down, in case they are back.
func (p *Pool) order() []*frontend {
	if len(p.fes) == 1 {
		return p.fes
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	up := make([]*frontend, 0, len(p.fes))
	var down []*frontend
	for _, fe := range p.fes {
		if fe.down {
			down = append(down, fe)
		} else {
			up = append(up, fe)
		}
	}
	return append(up, down...)
}

// markDown records that fe could not be reached.
func (p *Pool) markDown(fe *frontend, err error) {
	p.mu.Lock()
	was := fe.down
	fe.down, fe.err = true, err
	p.mu.Unlock()
	if !was && len(p.fes) > 1 {
		p.log.Warn("doris FE unreachable: calls go to the next FE", "fe", fe.addr, "err", err)
	}
}

// BusyError reports a call that found every connection of the pool busy
// for as long as it may wait for one.
type BusyError struct{ Conns int }

func (e *BusyError) Error() string {
	return fmt.Sprintf("all %d connections to Doris are busy; try again shortly", e.Conns)
}

// acquire reserves a connection of m, waiting at most the pool wait for
// one to be free, and returns it with the release of its slot, to be
// called once the connection is closed. Connections are shared between
// principals (see admit.Share): while one principal holds many, another's
// call is served first. A failure to connect is an UnavailableError.
func (p *Pool) acquire(ctx context.Context, m *member) (*sql.Conn, func(), error) {
	var who string
	if m.slots != nil && p.cfg.Principal != nil {
		who = p.cfg.Principal(ctx)
	}
	if m.tracked && m.slots.TryAcquire(who, 1) {
		// The pool is the Server's own, and its slots are its
		// connections: with one, a connection is idle or may be opened,
		// which its connector bounds by the pool wait.
		conn, err := m.db.Conn(ctx)
		if err != nil {
			m.slots.Release(who, 1)
			if ctx.Err() != nil {
				return nil, nil, err
			}
			return nil, nil, &query.UnavailableError{Addr: m.addr, Cause: err}
		}
		return conn, func() { m.slots.Release(who, 1) }, nil
	}
	wctx, cancel := context.WithTimeoutCause(ctx, p.cfg.Wait, errPoolWait)
	defer cancel()
	release := func() {}
	if m.slots != nil {
		if err := m.slots.Acquire(wctx, who, 1); err != nil {
			if ctx.Err() != nil {
				return nil, nil, err // the call's own end: its caller explains it
			}
			return nil, nil, p.saturated(m)
		}
		release = func() { m.slots.Release(who, 1) }
	}
	conn, err := m.db.Conn(wctx)
	if err != nil {
		release()
	}
	switch {
	case err == nil:
		return conn, release, nil
	case ctx.Err() != nil:
		return nil, nil, err // the call's own end: its caller explains it
	case context.Cause(wctx) == errPoolWait:
		if st := m.db.Stats(); st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections {
			return nil, nil, p.saturated(m)
		}
		return nil, nil, &query.UnavailableError{Addr: m.addr, Cause: fmt.Errorf("connecting took longer than %v: %w", p.cfg.Wait, err)}
	}
	return nil, nil, &query.UnavailableError{Addr: m.addr, Cause: err}
}

// saturated records and reports a call that found every connection of m
// busy for the whole pool wait.
func (p *Pool) saturated(m *member) error {
	n := m.db.Stats().MaxOpenConnections
	p.mu.Lock()
	p.busy++
	p.lastBusy = time.Now()
	p.mu.Unlock()
	p.log.Warn("connection pool saturated", "conns", n, "waited", p.cfg.Wait)
	return &BusyError{Conns: n}
}

var errPoolWait = errors.New("waited too long for a connection")

// Close stops both loops, waits within ctx for calls and their kills to
// finish, and closes every pool the Server owns. The host's pool (WithDB)
// is left open.
func (p *Pool) Close(ctx context.Context) error {
	p.closed.Do(func() {
		p.cancel()
		p.calls.Close()
		p.loops.Wait() // the loops end at once: their context is done
		var errs []error
		if err := p.calls.Wait(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%d calls or kills still running: %w", p.calls.Active(), err))
		}
		p.mu.Lock()
		ms := make([]*member, 0, len(p.secondary)+1)
		for _, m := range p.secondary {
			ms = append(ms, m)
		}
		p.secondary = nil
		p.mu.Unlock()
		if p.ownsDef {
			for _, fe := range p.fes {
				ms = append(ms, fe.m)
			}
		}
		for _, m := range ms {
			errs = append(errs, m.close())
		}
		if err := errors.Join(errs...); err != nil {
			p.closeErr = fmt.Errorf("pool: %w", err)
		}
	})
	return p.closeErr
}
