package pool

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
	"github.com/go-sql-driver/mysql"
)

// lostConn reports a connection of m that broke under a statement as
// Doris being unavailable, the way a failure to connect is.
func lostConn(m *member, err error) error {
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) {
		return &query.UnavailableError{Addr: m.addr, Cause: err}
	}
	return err
}

// sessionOf reads, in one look, conn's server connection id and, for a
// tracked connection, the trace id its session already carries ("" if
// none). An untracked connection is asked for its id.
func sessionOf(ctx context.Context, conn *sql.Conn, tracked bool) (id uint64, trace string, err error) {
	if tracked {
		err = conn.Raw(func(dc any) error {
			sc := dc.(*sessionConn)
			id, trace = sc.id, sc.trace
			return nil
		})
		return id, trace, err
	}
	err = conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id)
	if err != nil {
		return 0, "", fmt.Errorf("reading connection id: %w", err)
	}
	return id, "", nil
}

// connector wraps the driver's connector so every new connection learns
// its server connection id once, at connect time, instead of per query.
type connector struct {
	inner     driver.Connector
	defaultDB string
	// wait bounds connecting, whoever asks: a caller that found a free
	// slot, or database/sql's own opener.
	wait time.Duration
}

// errConnectWait ends a connection attempt that took longer than the pool
// wait.
var errConnectWait = errors.New("connecting took longer than the pool wait")

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.wait, errConnectWait)
		defer cancel()
	}
	dc, err := c.inner.Connect(ctx)
	if err != nil {
		if context.Cause(ctx) == errConnectWait {
			return nil, fmt.Errorf("connecting took longer than %v: %w", c.wait, err)
		}
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
