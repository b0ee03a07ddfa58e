package pool

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/dorismcp/doris/internal/sqlguard"
	"github.com/go-sql-driver/mysql"
)

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
//
// Its statements share one connection of m's control pool, taken before
// the kill counts as issued (issued is then called): a kill under way goes
// on to its end even when the pool closes in the meantime.
func (p *Pool) kill(m *member, id uint64, trace string, issued func()) (queryID string, killed bool) {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	ctl, err := m.ctl.Conn(ctx)
	issued()
	if err != nil {
		p.log.Warn("kill query failed: no control connection", "connection_id", id, "err", err)
		return "", false
	}
	defer ctl.Close()
	if trace != "" && !p.noTraceKill.Load() {
		err := killBy(ctx, ctl, sqlguard.QuoteString(trace))
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
			err = killBy(ctx, ctl, sqlguard.QuoteString(qid))
		}
		if err == nil {
			p.log.Info("killed query", "query_id", qid, "trace_id", trace)
			return qid, true
		}
		p.log.Warn("kill by query id failed", "trace_id", trace, "err", err)
		return "", false
	}
	err = killBy(ctx, ctl, strconv.FormatUint(id, 10))
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

func killBy(ctx context.Context, ctl *sql.Conn, target string) error {
	_, err := ctl.ExecContext(ctx, "KILL QUERY "+target)
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

// killTimeout bounds a kill's statements, its control connection's
// dial included.
const killTimeout = 5 * time.Second

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
	case p.doris.Load():
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

// sessionTrace gives a call's session on Doris a trace id of its own (in
// session_context), by which the call is killed and its query found
// (fidelity ledger: session-context-trace-id); trace is the one the
// session already has, if any. A connection of the pool keeps its trace
// id for life, so the SET is sent once per connection; a host-owned
// connection gets a new one per call. It returns "" elsewhere.
func (p *Pool) sessionTrace(ctx context.Context, conn *sql.Conn, m *member, trace string) (string, error) {
	if trace != "" || !p.doris.Load() {
		return trace, nil
	}
	var b [12]byte
	rand.Read(b[:])
	trace = "dorismcp-" + hex.EncodeToString(b[:])
	// The trace id is ours (hex), so it is safe inside the literal.
	if _, err := conn.ExecContext(ctx, "SET session_context = "+sqlguard.QuoteString("trace_id:"+trace)); err != nil {
		return "", err
	}
	if m.tracked {
		conn.Raw(func(dc any) error {
			dc.(*sessionConn).trace = trace
			return nil
		})
	}
	return trace, nil
}
