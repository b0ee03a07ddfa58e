package dorissim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/sirupsen/logrus"
)

// Options configures Start.
type Options struct {
	// Addr is the TCP listen address. Default "127.0.0.1:0" (a free port on
	// loopback).
	Addr string
	// Logger receives the simulator's own log records and the engine's
	// per-session messages. nil discards them. The simulator never writes
	// to stdout or stderr.
	Logger *slog.Logger
	// Version is the Doris release line to impersonate: "2.0", "2.1" or
	// "3.0", optionally with a patch number ("2.1.11": the line's build
	// with that patch, which decides whether KILL QUERY takes trace ids
	// and looks on every FE). Default "2.1". It decides @@version_comment, the column sets
	// of SHOW FRONTENDS, SHOW BACKENDS, SHOW CATALOGS, SHOW DATA and SHOW
	// PROCESSLIST, error texts, and whether __internal_schema.audit_log
	// exists (2.1 and later).
	Version string
	// Backends is the number of BEs of the simulated cluster, each with
	// its own HTTP server. Default 3, at most 16.
	Backends int
	// Users are the accounts, name to password, that the FE and BE HTTP
	// servers accept with Basic auth. User root with an empty password is
	// accepted unless Users gives root a password. The MySQL port accepts
	// any user name with any password.
	Users map[string]string
	// TraceIDsEndWithConnection forgets a connection's trace ids when it
	// closes, as the FE does from the releases whose ConnectPoolMgr
	// unregisters them (fidelity ledger: trace-id-cleanup-on-close); the
	// releases impersonated keep them until the profile is evicted.
	TraceIDsEndWithConnection bool
}

// defaultBackends is the BE count when Options.Backends is zero.
const defaultBackends = 3

const maxBackends = 16

// Server is a running simulator. It is safe for concurrent use.
type Server struct {
	rel    release
	users  map[string]string
	pro    *provider
	log    *slog.Logger
	engine *sqle.Engine
	srv    *server.Server
	ln     *trackingListener
	addr   string

	acceptDone chan struct{} // closed when the accept loop has returned

	closeOnce sync.Once
	closeErr  error

	started  time.Time
	cluster  *cluster
	profiles *profileStore
	// pruneTraces is Options.TraceIDsEndWithConnection.
	pruneTraces bool
	http        *httpServers
	stats       queryStats

	mu       sync.Mutex
	sessions map[uint32]sql.Session
	conns    map[uint32]*connState
	peers    []*Server // the other FEs of the cluster (Link)
}

// Link makes servers the FEs of one cluster: each keeps its own
// connections, numbered from its own counter (fidelity ledger:
// connection-id-numbering), and its own profiles, but KILL QUERY
// "<id>" and the trace-id lookup of the FE HTTP API reach the others, as
// they reach other FEs in Doris. Each FE keeps its own copy of the sample
// data. Link is called before clients connect.
func Link(fes ...*Server) {
	for _, s := range fes {
		s.mu.Lock()
		for _, o := range fes {
			if o != s && !slices.Contains(s.peers, o) {
				s.peers = append(s.peers, o)
			}
		}
		s.mu.Unlock()
	}
}

// others returns the peers Link gave s.
func (s *Server) others() []*Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.peers)
}

// closeTimeout bounds how long Close waits for connections to finish after
// their queries have been cancelled and their sockets closed.
const closeTimeout = 10 * time.Second

// engineInit serializes the engine constructor (see Start).
var engineInit sync.Mutex

// Start listens on opts.Addr, loads the sample database (see
// SampleStatements) and serves the MySQL protocol until Close. User root
// with an empty password is accepted (so is any other user name).
func Start(opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	rel, err := releaseFor(opts.Version)
	if err != nil {
		return nil, err
	}
	nbe := opts.Backends
	if nbe == 0 {
		nbe = defaultBackends
	}
	if nbe < 0 || nbe > maxBackends {
		return nil, fmt.Errorf("dorissim: Backends = %d, want 1 to %d", nbe, maxBackends)
	}
	users := map[string]string{"root": ""}
	for u, p := range opts.Users {
		if u == "" {
			return nil, errors.New("dorissim: Users has an empty user name")
		}
		users[u] = p
	}
	begin := time.Now()
	registerDorisVariables()

	silenceGlobalLogrus()
	ok := false
	defer func() {
		if !ok {
			restoreGlobalLogrus()
		}
	}()

	pro := newProvider()
	// The engine's constructor writes process-wide status variables:
	// servers started at once take turns.
	engineInit.Lock()
	engine := sqle.NewDefault(pro)
	engineInit.Unlock()
	sessLog := logrus.NewEntry(newSessionLogger(log))

	if err := loadSample(engine, pro, sessLog, rel, begin); err != nil {
		_ = engine.Close()
		return nil, fmt.Errorf("dorissim: loading sample database: %w", err)
	}
	loaded := time.Now()

	nl, err := net.Listen("tcp", addr)
	if err != nil {
		_ = engine.Close()
		return nil, fmt.Errorf("dorissim: %w", err)
	}
	tl := newTrackingListener(nl)

	s := &Server{
		rel:         rel,
		users:       users,
		pro:         pro,
		started:     begin,
		profiles:    newProfileStore(),
		pruneTraces: opts.TraceIDsEndWithConnection,
		sessions:    map[uint32]sql.Session{},
		conns:       map[uint32]*connState{},
		log:         log,
		engine:      engine,
		ln:          tl,
		addr:        nl.Addr().String(),
		acceptDone:  make(chan struct{}),
	}

	cfg := server.Config{
		Protocol: "tcp",
		Address:  s.addr,
		Listener: tl,
		Version:  dorisServerVersion,
	}
	sb := func(ctx context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
		host, user := "", ""
		if u, ok := conn.UserData.(sql.MysqlConnectionUser); ok {
			host, user = u.Host, u.User
		}
		client := sql.Client{Address: host, User: user, Capabilities: conn.Capabilities}
		base := sql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID)
		base.SetLogger(sessLog)
		sctx := sql.NewContext(ctx, sql.WithSession(base))
		for name, v := range map[string]string{"version": dorisServerVersion, "version_comment": s.rel.comment()} {
			if err := base.InitSessionVariable(sctx, name, v); err != nil {
				return nil, fmt.Errorf("dorissim: setting %s: %w", name, err)
			}
		}
		// The session commits into the plain memory provider: its commit
		// step only knows memory database types, not the wrapper.
		sess := memory.NewSession(base, pro.mem)
		s.addSession(conn, user, sess)
		return sess, nil
	}
	wrap := func(h mysql.Handler) (mysql.Handler, error) {
		return &simHandler{Handler: h, ln: tl, s: s}, nil
	}
	srv, err := server.NewServerWithHandler(cfg, engine, sql.NewContext, sb, nil, wrap)
	if err != nil {
		nl.Close()
		_ = engine.Close()
		return nil, fmt.Errorf("dorissim: %w", err)
	}
	s.srv = srv
	_, port, _ := net.SplitHostPort(s.addr)
	qport, _ := strconv.Atoi(port)
	var dataBytes uint64
	tablets := 0
	for _, t := range sampleTables() {
		if tb, err := s.table(SampleDB, t.name); err == nil {
			_, n := tableStats(tb)
			dataBytes += n
			tablets += layoutOf(tb).tablets(tb.Name())
		}
	}
	s.cluster = newCluster(nbe, qport, dataBytes, tablets)
	if err := s.startHTTP(); err != nil {
		_ = s.http.close()
		_ = srv.Close()
		_ = engine.Close()
		return nil, fmt.Errorf("dorissim: %w", err)
	}
	go func() {
		defer close(s.acceptDone)
		_ = srv.Start()
	}()

	ok = true
	log.Info("dorissim: serving",
		slog.String("addr", s.addr),
		slog.String("version", rel.comment()),
		slog.String("fe_http", s.FEHTTPAddr()),
		slog.Duration("load", loaded.Sub(begin)),
		slog.Duration("start", time.Since(begin)))
	return s, nil
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// DSN returns a go-sql-driver/mysql DSN for user root (no password) and
// database db ("" for none).
func (s *Server) DSN(db string) string {
	return "root@tcp(" + s.addr + ")/" + db + "?parseTime=false"
}

// Close stops accepting connections, cancels every running query, closes
// every client connection and waits for all of the server's goroutines to
// end. It may be called more than once; later calls return the first
// call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	defer restoreGlobalLogrus()
	_ = s.srv.Close() // closes the listener; the accept loop returns
	<-s.acceptDone

	// Cancel running queries, then cut the sockets so that idle
	// connections leave their read loops.
	for _, p := range s.engine.ProcessList.Processes() {
		s.engine.ProcessList.Kill(p.Connection)
	}
	s.ln.closeConns()

	var errs []error
	if err := s.http.close(); err != nil {
		errs = append(errs, fmt.Errorf("dorissim: closing HTTP servers: %w", err))
	}
	select {
	case <-s.ln.idle():
	case <-time.After(closeTimeout):
		errs = append(errs, fmt.Errorf("dorissim: %d connection(s) still open %v after Close", s.ln.open(), closeTimeout))
	}
	// The engine reports its background-task context, which it has just
	// cancelled, as the error of a clean shutdown.
	if err := s.engine.Close(); err != nil && !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("dorissim: closing engine: %w", err))
	}
	s.log.Info("dorissim: closed", slog.String("addr", s.addr))
	return errors.Join(errs...)
}

// loadSample builds database `sample`: the DDL of SampleStatements runs
// through the engine, and the rows of its INSERTs become frozen tables
// (see frozenTable).
func loadSample(e *sqle.Engine, pro *provider, logger *logrus.Entry, rel release, now time.Time) error {
	base := sql.NewBaseSession()
	base.SetLogger(logger)
	sess := memory.NewSession(base, pro.mem)
	ctx := sql.NewContext(context.Background(), sql.WithSession(sess))
	exec := func(q string) error {
		_, iter, _, err := e.Query(ctx, q)
		if err == nil {
			_, err = sql.RowIterToRows(ctx, iter)
		}
		if err != nil {
			return fmt.Errorf("%.60s: %w", q, err)
		}
		return nil
	}
	for _, q := range sampleSchema {
		if err := exec(q); err != nil {
			return err
		}
	}
	db, err := pro.Database(ctx, SampleDB)
	if err != nil {
		return err
	}
	sdb, ok := db.(*seqDatabase)
	if !ok {
		return fmt.Errorf("database %s has unexpected type %T", SampleDB, db)
	}
	for _, t := range sampleTables() {
		if err := sdb.freeze(ctx, t); err != nil {
			return err
		}
	}
	if err := exec(sampleView); err != nil {
		return err
	}
	if !rel.atLeast(Version21) {
		return nil // 2.0 has no built-in audit table
	}
	for _, q := range auditDDL(rel) {
		if err := exec(q); err != nil {
			return err
		}
	}
	adb, err := pro.Database(ctx, AuditDB)
	if err != nil {
		return err
	}
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	return adb.(*seqDatabase).freeze(ctx, auditData(rel, day))
}

// trackingListener remembers every accepted connection until the protocol
// handler reports it closed, so Close can cut them all and wait for their
// goroutines. Accepted connections are returned unwrapped: the engine
// inspects *net.TCPConn to notice clients that went away.
type trackingListener struct {
	net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	zero   chan struct{} // closed while no connection is open; replaced when one opens
}

func newTrackingListener(l net.Listener) *trackingListener {
	z := make(chan struct{})
	close(z)
	return &trackingListener{Listener: l, conns: map[net.Conn]struct{}{}, zero: z}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	if len(l.conns) == 0 {
		l.zero = make(chan struct{})
	}
	l.conns[c] = struct{}{}
	return c, nil
}

func (l *trackingListener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.Listener.Close()
}

// done is called when the handler has finished with c.
func (l *trackingListener) done(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.conns[c]; !ok {
		return
	}
	delete(l.conns, c)
	if len(l.conns) == 0 {
		close(l.zero)
	}
}

func (l *trackingListener) closeConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		_ = c.Close()
	}
}

func (l *trackingListener) idle() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.zero
}

func (l *trackingListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// simHandler wraps the engine's protocol handler:
//
//   - it tells the listener when a connection is finished;
//   - it reports a query stopped by KILL QUERY, KILL or Close as MySQL and
//     MariaDB do, error 1317 (SQLSTATE 70100) "Query execution was
//     interrupted", where the engine sends error 1105 "context canceled";
//   - it registers a connection opened without a default database with
//     the process list before its first command. The engine does that only
//     when a database is selected at connect time or by COM_INIT_DB, so
//     SHOW PROCESSLIST would otherwise show such a connection as
//     "unauthenticated user" with no database.
type simHandler struct {
	mysql.Handler
	ln *trackingListener
	s  *Server

	mu    sync.Mutex
	ready map[uint32]bool // connections registered with the process list
}

// ConnectionClosed is the protocol layer's last call for a connection.
func (h *simHandler) ConnectionClosed(c *mysql.Conn) {
	// The simulator sets no connection timeouts, so c.Conn is the
	// net.Conn that Accept returned.
	defer h.ln.done(c.Conn)
	h.mu.Lock()
	delete(h.ready, c.ConnectionID)
	h.mu.Unlock()
	h.s.removeConn(c.ConnectionID)
	h.Handler.ConnectionClosed(c)
}

func (h *simHandler) ComInitDB(c *mysql.Conn, db string) error {
	h.markReady(c)
	if err := h.Handler.ComInitDB(c, db); err != nil {
		return h.s.asDoris(err, "USE "+db, "")
	}
	return nil
}

func (h *simHandler) markReady(c *mysql.Conn) (was bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ready == nil {
		h.ready = map[uint32]bool{}
	}
	was = h.ready[c.ConnectionID]
	h.ready[c.ConnectionID] = true
	return was
}

func (h *simHandler) ensureReady(c *mysql.Conn) {
	if !h.markReady(c) {
		// Selecting no database marks the connection ready in the
		// process list with its user and host.
		_ = h.Handler.ComInitDB(c, "")
	}
}

func (h *simHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, cb mysql.ResultSpoolFn) error {
	h.ensureReady(c)
	return h.s.run(ctx, c, query, cb, func(ctx context.Context, q string, cb mysql.ResultSpoolFn) error {
		return h.Handler.ComQuery(ctx, c, q, cb)
	})
}

// explainHeader is the single column of Doris's EXPLAIN output.
const explainHeader = "Explain String(Nereids Planner)"

// dorisExplain finds the query of a Doris-style EXPLAIN [VERBOSE], to be
// run as the engine's tree form (explainTree), which is, like Doris's, one
// text line per row. The engine's own tabular EXPLAIN cannot be sent (it
// encodes NULL in an integer column as text).
func dorisExplain(query string) (string, bool) {
	rest, ok := cutWord(strings.TrimSpace(query), "EXPLAIN")
	if !ok {
		return "", false
	}
	if r, ok := cutWord(rest, "VERBOSE"); ok {
		rest = r
	}
	if _, ok := cutWord(rest, "SELECT"); !ok {
		if _, ok := cutWord(rest, "WITH"); !ok && !strings.HasPrefix(rest, "(") {
			return "", false
		}
	}
	return rest, true
}

// explainTree is the engine's EXPLAIN of a query. A plan of a unique-key
// point lookup goes through the engine's one-row result path, which refuses
// the plan's several lines ("max1Row iterator returned more than one row");
// asDerived plans the query as a derived table instead, which takes the
// ordinary path.
func explainTree(q string, asDerived bool) string {
	if asDerived {
		return "EXPLAIN FORMAT=TREE SELECT * FROM (" + q + ") AS explained"
	}
	return "EXPLAIN FORMAT=TREE " + q
}

// cutWord removes a leading keyword (any case) followed by space or '('.
func cutWord(s, word string) (string, bool) {
	if len(s) <= len(word) || !strings.EqualFold(s[:len(word)], word) {
		return s, false
	}
	switch s[len(word)] {
	case ' ', '\t', '\n', '\r', '(':
		return strings.TrimSpace(s[len(word):]), true
	}
	return s, false
}

// explainColumn names the plan column as Doris does.
func explainColumn(cb mysql.ResultSpoolFn) mysql.ResultSpoolFn {
	return func(res *sqltypes.Result, more bool) error {
		if len(res.Fields) == 1 {
			res.Fields[0].Name = explainHeader
		}
		return cb(res, more)
	}
}

func (h *simHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, cb mysql.ResultSpoolFn) (string, error) {
	h.ensureReady(c)
	rest, err := h.Handler.ComMultiQuery(ctx, c, query, cb)
	return rest, interrupted(err)
}

func (h *simHandler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, p *mysql.PrepareData) ([]*querypb.Field, error) {
	h.ensureReady(c)
	return h.Handler.ComPrepare(ctx, c, query, p)
}

func (h *simHandler) ComStmtExecute(ctx context.Context, c *mysql.Conn, p *mysql.PrepareData, cb func(*sqltypes.Result) error) error {
	h.ensureReady(c)
	return interrupted(h.Handler.ComStmtExecute(ctx, c, p, cb))
}

func interrupted(err error) error {
	if err == nil {
		return nil
	}
	var se *mysql.SQLError
	if errors.Is(err, context.Canceled) ||
		(errors.As(err, &se) && se.Num == mysql.ERUnknownError && strings.Contains(se.Message, context.Canceled.Error())) {
		return mysql.NewSQLError(mysql.ERQueryInterrupted, "70100", "Query execution was interrupted")
	}
	return err
}

var _ io.Closer = (*Server)(nil)
