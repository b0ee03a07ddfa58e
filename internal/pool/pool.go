// Package pool is the connection layer: one database/sql pool per FE and
// Doris account, each connection knowing its server connection id (and on
// Doris its trace id), so that a call whose context ends has its statement
// killed in the engine; calls are spread fairly between principals, FEs
// are health-checked and tried in turn, and idle per-account pools are
// closed. It knows nothing of the Server that uses it: everything comes
// through Config.
package pool

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/singleflight"

	"github.com/dorismcp/doris/internal/authn"
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
	db := sql.OpenDB(&connector{inner: inner, defaultDB: dsn.DBName})
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

// maxUserPools bounds the per-user pools open at once.
const maxUserPools = 64

// accountKey is the context key of the Doris account a call runs as, set
// for the principals that have their own.
type accountKey struct{}

// WithAccount makes the calls of ctx run as Doris account a.
func WithAccount(ctx context.Context, a *authn.Account) context.Context {
	return context.WithValue(ctx, accountKey{}, *a)
}

func accountFrom(ctx context.Context) (authn.Account, bool) {
	a, ok := ctx.Value(accountKey{}).(authn.Account)
	return a, ok
}

// forUser returns the pool for a Doris account on fe, creating it on first
// use. An empty user means fe's default pool. The account's connections
// use its own default database, or none: never the DSN's, on which it may
// have no rights. Pools are keyed by user, password and database, so a
// caller with a wrong password never borrows the connections another
// caller opened with the right one. Secondary pools idle for longer than
// the pool idle timeout are closed by the cleanup loop; at most
// maxUserPools are open at once.
func (p *Pool) forUser(fe *frontend, acct authn.Account) (*member, error) {
	if acct.User == "" {
		return fe.m, nil
	}
	if p.base == nil {
		return nil, errors.New("per-user Doris accounts need a DSN-configured server, not WithDB")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return nil, p.cfg.Closed
	}
	key := userPoolKey(fe.addr, acct)
	m := p.secondary[key]
	if m == nil {
		if len(p.secondary) >= maxUserPools {
			return nil, fmt.Errorf("too many Doris accounts in use at once (%d); try again later", maxUserPools)
		}
		dsn := p.base.Clone()
		dsn.Addr, dsn.User, dsn.Passwd, dsn.DBName = fe.addr, acct.User, acct.Password, acct.Database
		m = p.open(dsn)
		p.secondary[key] = m
	}
	m.lastUsed = time.Now()
	return m, nil
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
	id, err := connectionID(ctx, conn, m.tracked)
	if err != nil {
		return err
	}
	trace, err := p.sessionTrace(ctx, conn, m)
	if err != nil {
		return lostConn(err)
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
				return lostConn(err)
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
		if p.cfg.Killed != nil {
			p.cfg.Killed(context.Cause(ctx)) // counted as issued: a slow KILL is still one
		}
		qid, killed := p.kill(m, id, trace)
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
	return lostConn(fn(ctx, conn))
}

// lostConn reports a connection that broke under a statement as Doris
// being unavailable, the way a failure to connect is.
func lostConn(err error) error {
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) {
		return &query.UnavailableError{Cause: err}
	}
	return err
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

// userPoolKey is the key of an account's pool on an FE among the
// secondary pools.
func userPoolKey(fe string, acct authn.Account) string {
	sum := sha256.Sum256([]byte(acct.Password))
	return fe + "\x00" + acct.User + "\x00" + acct.Database + "\x00" + string(sum[:])
}

// accountError explains why a call on a per-token Doris account could not
// get a connection. A refusal is said plainly, with what was refused: the
// caller's account is misconfigured, not the FE down, and no other
// account is tried in its place.
func accountError(acct authn.Account, err error) error {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return err
	}
	const instead = "no other account is used in its place"
	switch me.Number {
	case 1045, 1698: // access denied for the user, or for its authentication
		return fmt.Errorf("the Doris account %q of this caller cannot log in (access denied); %s", acct.User, instead)
	case 1044: // access denied to the database the connection names
		if acct.Database == "" {
			return fmt.Errorf("the Doris account %q of this caller was refused: %s; %s", acct.User, me.Message, instead)
		}
		return fmt.Errorf("the Doris account %q of this caller may not use database %q, its token's default database (access denied); %s", acct.User, acct.Database, instead)
	case 1049: // unknown database
		return fmt.Errorf("database %q, the default database of this caller's Doris account %q, does not exist; %s", acct.Database, acct.User, instead)
	}
	return err
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
	wctx, cancel := context.WithTimeoutCause(ctx, p.cfg.Wait, errPoolWait)
	defer cancel()
	release := func() {}
	if m.slots != nil {
		var who string
		if p.cfg.Principal != nil {
			who = p.cfg.Principal(ctx)
		}
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
		return nil, nil, &query.UnavailableError{Cause: fmt.Errorf("connecting took longer than %v: %w", p.cfg.Wait, err)}
	}
	return nil, nil, &query.UnavailableError{Cause: err}
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

// kill stops the statement a call runs on server connection id of m. It
// reports whether the server took the kill, with the Doris query id when
// the kill went by one.
//
// Doris numbers connections per FE, from 0 on each, and KILL QUERY <id>
// acts only on the FE that receives it: behind a load balancer it can
// reach another FE, which answers 1094 or stops another session with the
// same id (fidelity ledger: connection-id-numbering, kill-locality-summary).
// So on Doris a call is killed by its session's trace id, which KILL QUERY
// finds on every FE (2.1.11, 3.0.7 and later: kill-query-trace-id); on
// older releases by the query id the FE HTTP API gives for the trace id
// (KILL QUERY "<query id>" reaches the query's BEs from any FE:
// kill-query-string-id); only without either by connection id.
func (p *Pool) kill(m *member, id uint64, trace string) (queryID string, killed bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if trace != "" && !p.noTraceKill.Load() {
		err := p.killBy(ctx, m, sqlguard.QuoteString(trace))
		switch code := mysqlCode(err); {
		case err == nil:
			p.log.Info("killed query", "trace_id", trace)
			return "", true
		case code == 1097: // no FE has a session with this trace id
			p.log.Debug("kill found no query", "trace_id", trace)
			return "", false
		case code == 1095:
			p.log.Warn("kill query refused", "trace_id", trace, "err", err)
			return "", false
		default:
			p.noTraceKill.Store(true)
			p.log.Info("this Doris cannot kill a query by trace id (2.1.11 and 3.0.7 can); kills go by query id, or by connection id without the FE HTTP API", "err", err)
		}
	}
	if trace != "" && p.cfg.QueryIDByTrace != nil {
		qid, err := p.cfg.QueryIDByTrace(ctx, trace)
		if err == nil {
			err = p.killBy(ctx, m, sqlguard.QuoteString(qid))
		}
		if err == nil {
			p.log.Info("killed query", "query_id", qid, "trace_id", trace)
			return qid, true
		}
		p.log.Warn("kill by query id failed", "trace_id", trace, "err", err)
		return "", false
	}
	err := p.killBy(ctx, m, strconv.FormatUint(id, 10))
	switch {
	case err == nil:
		p.log.Info("killed query", "connection_id", id)
		return "", true
	case mysqlCode(err) == 1094 && trace != "":
		// Not proof that the query is over: behind a load balancer the
		// KILL may have reached another FE.
		p.log.Warn("kill query: the FE that answered has no such connection; the statement may run on to its query_timeout (behind a load balancer, give the FE HTTP address so kills go by query id)", "connection_id", id)
	default:
		p.log.Warn("kill query failed", "connection_id", id, "err", err)
	}
	return "", false
}

func (p *Pool) killBy(ctx context.Context, m *member, target string) error {
	_, err := m.ctl.ExecContext(ctx, "KILL QUERY "+target)
	return err
}

// mysqlCode is the server error number of err, 0 when it is none.
func mysqlCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// killWait bounds how long a killed call's connection is held waiting for
// the server to report its statement gone.
const killWait = time.Minute

// awaitGone waits until the killed statement has left the server's
// process list (by query id on Doris when the kill went by one, else by
// connection id), for at most killWait or until the pool closes. The
// statement of a killed connection may run on for a while: MariaDB and
// MySQL look for a kill between rows, not inside one expression. On
// Doris only a kill by query id is looked for: its process list spans
// every FE, where connection ids repeat (fidelity ledger: is-processlist).
func (p *Pool) awaitGone(m *member, id uint64, queryID string) {
	where := "ID = " + strconv.FormatUint(id, 10)
	switch {
	case queryID != "":
		where = "QUERY_ID = " + sqlguard.QuoteString(queryID)
	case p.isDoris():
		return
	}
	wait := 20 * time.Millisecond
	deadline := time.Now().Add(killWait)
	for time.Now().Before(deadline) {
		var n int
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		err := m.ctl.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE "+where).Scan(&n)
		cancel()
		switch {
		case err == nil && n == 0:
			return
		case err != nil && p.ctx.Err() == nil:
			// A server without the table: the kill's answer is all
			// there is.
			p.log.Debug("cannot read the process list after a kill", "connection_id", id, "err", err)
			return
		}
		select {
		case <-p.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
	p.log.Warn("a killed statement was still running after the wait", "connection_id", id, "query_id", queryID, "waited", killWait)
}

// isDoris reports whether the detected server is Doris.
func (p *Pool) isDoris() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.backend != nil && p.backend.Engine == query.Doris
}

// sessionTrace gives a call's session on Doris a trace id of its own (in
// session_context), by which the call is killed and its query found
// (fidelity ledger: session-context-trace-id). A connection of the pool
// keeps its trace id for life, so the SET is sent once per connection; a
// host-owned connection gets a new one per call. It returns "" elsewhere.
func (p *Pool) sessionTrace(ctx context.Context, conn *sql.Conn, m *member) (string, error) {
	if !p.isDoris() {
		return "", nil
	}
	var sc *sessionConn
	if m.tracked {
		conn.Raw(func(dc any) error {
			sc = dc.(*sessionConn)
			return nil
		})
		if sc.trace != "" {
			return sc.trace, nil
		}
	}
	var b [12]byte
	rand.Read(b[:])
	trace := "dorismcp-" + hex.EncodeToString(b[:])
	// The trace id is ours (hex), so it is safe inside the literal.
	if _, err := conn.ExecContext(ctx, "SET session_context = "+sqlguard.QuoteString("trace_id:"+trace)); err != nil {
		return "", err
	}
	if sc != nil {
		sc.trace = trace
	}
	return trace, nil
}

func connectionID(ctx context.Context, conn *sql.Conn, tracked bool) (id uint64, err error) {
	if tracked {
		err = conn.Raw(func(dc any) error {
			id = dc.(*sessionConn).id
			return nil
		})
		return id, err
	}
	err = conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("reading connection id: %w", err)
	}
	return id, nil
}

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

// connector wraps the driver's connector so every new connection learns
// its server connection id once, at connect time, instead of per query.
type connector struct {
	inner     driver.Connector
	defaultDB string
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(sessionInner)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("driver connection %T lacks context methods", dc)
	}
	rows, err := sc.QueryContext(ctx, "SELECT CONNECTION_ID()", nil)
	if err != nil {
		dc.Close()
		return nil, fmt.Errorf("reading connection id: %w", err)
	}
	vals := make([]driver.Value, 1)
	err = rows.Next(vals)
	rows.Close()
	if err != nil {
		dc.Close()
		return nil, fmt.Errorf("reading connection id: %w", err)
	}
	id, err := parseID(vals[0])
	if err != nil {
		dc.Close()
		return nil, err
	}
	return &sessionConn{sessionInner: sc, id: id, defaultDB: c.defaultDB}, nil
}

func (c *connector) Driver() driver.Driver { return c.inner.Driver() }

func parseID(v driver.Value) (uint64, error) {
	switch v := v.(type) {
	case int64:
		return uint64(v), nil
	case uint64:
		return v, nil
	case []byte:
		return strconv.ParseUint(string(v), 10, 64)
	case string:
		return strconv.ParseUint(v, 10, 64)
	}
	return 0, fmt.Errorf("unexpected connection id %T", v)
}

// driverLogger sends go-sql-driver's messages (a dropped connection, say)
// to the Server's logger instead of the driver's default of stderr.
type driverLogger struct{ log *slog.Logger }

func (l driverLogger) Print(v ...any) { l.log.Warn("mysql driver: " + fmt.Sprint(v...)) }

// sessionInner is what database/sql uses of a go-sql-driver connection.
type sessionInner interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// sessionConn is a driver connection that knows its server connection id
// and restores its session before database/sql hands it to someone else.
type sessionConn struct {
	sessionInner
	id        uint64
	trace     string // the session's trace id on Doris (see sessionTrace)
	defaultDB string
	// What a call changed, undone by ResetSession.
	dbChanged bool
	resets    []string
	discard   bool // changed in a way that cannot be undone
}

// changed records a session change about to be made.
func (s *sessionConn) changed(db bool, qs query.Session) {
	s.dbChanged = s.dbChanged || db
	switch {
	case qs.Set == "":
	case qs.Reset == "":
		s.discard = true
	default:
		s.resets = append(s.resets, qs.Reset)
	}
}

// ResetSession undoes what calls changed, or has database/sql reconnect
// when that is impossible: no limit or database of one call reaches the
// next.
func (s *sessionConn) ResetSession(ctx context.Context) error {
	if err := s.sessionInner.ResetSession(ctx); err != nil {
		return err
	}
	if s.discard || (s.dbChanged && s.defaultDB == "") {
		return driver.ErrBadConn // no way back (to "no database", say): reconnect
	}
	if s.dbChanged {
		q, err := sqlguard.QuoteIdent(s.defaultDB)
		if err != nil {
			return driver.ErrBadConn
		}
		s.resets = append(s.resets, "USE "+q)
	}
	for _, stmt := range s.resets {
		if _, err := s.ExecContext(ctx, stmt, nil); err != nil {
			return driver.ErrBadConn
		}
	}
	s.dbChanged, s.resets = false, s.resets[:0]
	return nil
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
