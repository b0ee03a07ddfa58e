// Package query runs one SQL statement with bounded rows, bytes and time and
// turns its rows into the JSON result every tool returns:
//
//	{"columns":[{"name":…,"type":…}],"rows":[[…]],"row_count":N,
//	 "truncated":bool,"truncation_reason":"row_limit|byte_limit","elapsed_ms":N}
//
// Rows are encoded as they are read, and the byte budget counts the encoded
// JSON. At the first limit reached the statement is cancelled instead of
// drained; the Executor kills it in the engine.
package query

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dorismcp/doris/internal/sqlguard"
	"github.com/go-sql-driver/mysql"
)

// Limits bound one statement. All three must be positive.
type Limits struct {
	MaxRows  int
	MaxBytes int
	Timeout  time.Duration
}

// An Executor runs fn on a connection reserved for it, in the session s
// asks for. When ctx ends while fn runs, the Executor has the statement
// killed in the engine and does not reuse the connection. It undoes s before
// the connection serves anyone else, or discards the connection.
type Executor interface {
	Backend(ctx context.Context) (Backend, error)
	Do(ctx context.Context, s Session, fn func(ctx context.Context, conn *sql.Conn) error) error
}

// Request is one statement to run.
type Request struct {
	Stmt   *sqlguard.Statement // checked by sqlguard, also for the library's own SQL
	DB     string              // current database; the connection's default when empty
	Limits Limits
	Mask   *Masker // nil: no masking
	// Columns, when set, are the result columns to return, by name, in
	// the statement's order; the others are dropped. Empty: all.
	Columns []string
	// Memory, when set, is charged for the result as its rows are
	// encoded; the result ends early when it has no more room.
	Memory Memory
	// Tracer, when set, observes the statement.
	Tracer Tracer
}

// A Tracer observes the statements Run sends, as pgx's tracers do.
type Tracer interface {
	// StartStatement is called before the statement sql is sent to the
	// engine named system, in database db ("" for the connection's
	// default). The context it returns is the statement's; end is called
	// once with the rows returned and the statement's error.type: "" when
	// it succeeded (a result cut at a limit did), the engine's error
	// number, "timeout", "cancelled" or "_OTHER".
	StartStatement(ctx context.Context, system, db, sql string) (_ context.Context, end func(rows int, errorType string))
}

// Memory is the room a call's results may take in the process's memory
// budget.
type Memory interface {
	// Grow makes room for n more bytes of encoded result, waiting briefly
	// for it; false when none came in time: the result ends there.
	Grow(ctx context.Context, n int) bool
}

// UnavailableError reports that Doris could not be reached or would not
// let the server in. Its message, for any caller, names the FE and the
// class of the failure, never an account or a password; Cause, which may
// name them, is for the operator's log.
type UnavailableError struct {
	Addr  string // the FE's host:port; "" when unknown (a host-owned pool)
	Cause error
}

func (e *UnavailableError) Error() string {
	where := "Doris"
	if e.Addr != "" {
		where = "Doris at " + e.Addr
	}
	return where + " could not be reached: " + FailureClass(e.Cause) + "; the server's log has the details"
}

// FailureClass names what kind of failure err is, in words that carry
// nothing of err's own text: the host name does not resolve, the
// connection is refused, times out or is lost, TLS fails, or Doris
// refuses the account.
func FailureClass(err error) string {
	var dns *net.DNSError
	var me *mysql.MySQLError
	var ne net.Error
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	switch {
	case errors.As(err, &dns):
		return "its host name does not resolve (DNS)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused (nothing listens on that port)"
	case errors.As(err, &me) && (me.Number == 1045 || me.Number == 1698 || me.Number == 1044):
		return "the account was refused (authentication: check the user and password)"
	case errors.As(err, &me):
		return fmt.Sprintf("Doris refused the connection (error %d)", me.Number)
	case errors.As(err, &rh), errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn),
		err != nil && strings.Contains(err.Error(), "tls:"):
		return "the TLS handshake failed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "connecting timed out"
	case errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return "the connection was lost"
	}
	return "the network failed"
}

func (e *UnavailableError) Unwrap() error { return e.Cause }

// Column describes one result column.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Truncation reasons.
const (
	RowLimit  = "row_limit"
	ByteLimit = "byte_limit"
	// MemoryLimit: the server's memory for results in flight was full; a
	// smaller max_bytes, or a retry shortly, gets more.
	MemoryLimit = "server_memory"
)

// Result is the outcome of a statement. Rows holds each row as an encoded
// JSON array, so a result is encoded once, as it is read.
type Result struct {
	Columns          []Column          `json:"columns"`
	Rows             []json.RawMessage `json:"rows"`
	RowCount         int               `json:"row_count"`
	Truncated        bool              `json:"truncated"`
	TruncationReason string            `json:"truncation_reason,omitempty"`
	ElapsedMS        int64             `json:"elapsed_ms"`
}

// AppendJSON appends r encoded as JSON, the rows as they were encoded
// when read: they are neither decoded nor validated again.
func (r *Result) AppendJSON(dst []byte) []byte {
	dst = slices.Grow(dst, r.Size())
	cols, _ := json.Marshal(r.Columns) // names and types: strings only
	dst = append(dst, `{"columns":`...)
	dst = append(dst, cols...)
	dst = append(dst, `,"rows":[`...)
	for i, row := range r.Rows {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, row...)
	}
	dst = append(dst, `],"row_count":`...)
	dst = strconv.AppendInt(dst, int64(r.RowCount), 10)
	dst = append(dst, `,"truncated":`...)
	dst = strconv.AppendBool(dst, r.Truncated)
	if r.TruncationReason != "" {
		dst = append(dst, `,"truncation_reason":`...)
		dst = strconv.AppendQuote(dst, r.TruncationReason)
	}
	dst = append(dst, `,"elapsed_ms":`...)
	dst = strconv.AppendInt(dst, r.ElapsedMS, 10)
	return append(dst, '}')
}

// Size is about the bytes r takes encoded: its rows and its columns.
func (r *Result) Size() int {
	n := 128
	for _, row := range r.Rows {
		n += len(row) + 1
	}
	for _, c := range r.Columns {
		n += len(c.Name) + len(c.Type) + 24
	}
	return n
}

// TimeoutError reports a statement stopped by its time limit.
type TimeoutError struct{ Limit time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("query exceeded its time limit of %v and was cancelled", e.Limit)
}

// rowBuffer is the size of the buffers rows are encoded into.
const rowBuffer = 4 << 10

// rowBufferSize is the capacity of a new buffer for rows when the next
// needs need bytes: rowBuffer, or need for a larger row; the first (first)
// is sized for a few rows like it, within the same bound.
func rowBufferSize(first bool, need, maxRows int) int {
	n := max(rowBuffer, need)
	if first {
		n = min(n, need*min(maxRows, 16))
	}
	return n
}

// errStop cancels a statement whose result is complete.
var errStop = errors.New("result limit reached")

// Run executes req through ex and returns at most req.Limits.MaxRows rows
// and about req.Limits.MaxBytes bytes of encoded rows, within
// req.Limits.Timeout. The limits are also set in the engine where the
// server supports it, so a large scan stops there, not only here.
func Run(ctx context.Context, ex Executor, req Request) (*Result, error) {
	lim := req.Limits
	if lim.MaxRows <= 0 || lim.MaxBytes <= 0 || lim.Timeout <= 0 {
		return nil, fmt.Errorf("query: invalid limits %+v", lim)
	}
	start := time.Now()
	// One context for the statement, ended by its time limit or by stop,
	// once its result is complete. The time limit covers finding out what
	// the server is, on first use, and the engine gets a moment to enforce
	// the limit itself first.
	rctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	timeout := time.AfterFunc(lim.Timeout+clientGrace, func() { stop(&TimeoutError{lim.Timeout}) })
	defer timeout.Stop()
	be, err := ex.Backend(rctx)
	if err != nil {
		return nil, explain(rctx, err)
	}
	if err := req.Stmt.CheckCalls(be.functions()); err != nil {
		return nil, err
	}
	if err := checkHints(req.Stmt, lim, be); err != nil {
		return nil, err
	}
	b := be.bound(req.Stmt, lim, req.DB)
	if !b.timeCap {
		// Nothing in the engine stops it: the client's deadline does.
		timeout.Reset(time.Until(start.Add(lim.Timeout)))
	}

	res := &Result{Columns: []Column{}, Rows: []json.RawMessage{}}
	sctx, end := rctx, func(int, string) {}
	if req.Tracer != nil {
		sctx, end = req.Tracer.StartStatement(rctx, be.Engine.String(), req.DB, req.Stmt.SQL)
	}
	err = ex.Do(sctx, b.session, func(ctx context.Context, conn *sql.Conn) error {
		rows, err := conn.QueryContext(ctx, b.sql)
		if err != nil {
			return err
		}
		defer rows.Close()
		grow := func(n int) bool { return req.Memory == nil || req.Memory.Grow(ctx, n) }
		return scan(rows, res, lim, req.Mask, req.Columns, b.rowCap, grow, func() { stop(errStop) })
	})
	res.ElapsedMS = time.Since(start).Milliseconds()
	end(res.RowCount, statementErrorType(rctx, be.Engine, res, err))
	if res.Truncated && context.Cause(rctx) == errStop {
		// The error, if any, comes from the cancellation we asked for.
		return res, nil
	}
	if err != nil {
		if engineTimeout(be.Engine, err) {
			return nil, &TimeoutError{lim.Timeout}
		}
		return nil, explain(rctx, err)
	}
	return res, nil
}

// explain turns a failure into the error a caller should see: the reason the
// context ended when it did, the database's message otherwise.
func explain(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	cause := context.Cause(ctx)
	var te *TimeoutError
	if errors.As(cause, &te) || cause == context.Canceled || cause == context.DeadlineExceeded {
		return cause
	}
	return fmt.Errorf("query cancelled: %w", cause)
}

// scan reads and encodes rows until the end or the first limit, growing
// the result's room in the memory budget as it goes. When the
// engine caps the rows (rowCap), the row past the limit is the last one
// sent and nothing needs cancelling; otherwise, and at the byte limit, stop
// cancels the statement instead of draining what is left.
func scan(rows *sql.Rows, res *Result, lim Limits, mask *Masker, keep []string, rowCap bool, grow func(int) bool, stop func()) error {
	types, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	res.Columns = make([]Column, 0, len(types))
	res.Rows = make([]json.RawMessage, 0, min(lim.MaxRows, 16))
	encs := make([]encoder, 0, len(types))
	pick := make([]int, 0, len(types)) // the columns returned, by index
	for i, t := range types {
		if len(keep) > 0 && !slices.ContainsFunc(keep, func(k string) bool { return strings.EqualFold(k, t.Name()) }) {
			continue
		}
		name := t.DatabaseTypeName()
		res.Columns = append(res.Columns, Column{Name: t.Name(), Type: name})
		encs = append(encs, mask.encoder(t.Name(), encoderFor(name)))
		pick = append(pick, i)
	}
	raws := make([]sql.RawBytes, len(types)+len(pick))
	raw, vals := raws[:len(types)], raws[len(types):]
	dest := make([]any, len(types))
	for i := range raw {
		dest[i] = &raw[i]
	}
	size := 1 // the bytes of the encoded rows array: '[', rows and commas, ']'
	var buf []byte
	for rows.Next() {
		if len(res.Rows) == lim.MaxRows {
			res.Truncated, res.TruncationReason = true, RowLimit
			// With the engine's cap that row was the last one; if another
			// comes, the engine ignored the cap and the rest is cancelled.
			if !rowCap || rows.Next() {
				stop()
				return nil
			}
			return rows.Err()
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		for i, c := range pick {
			vals[i] = raw[c]
		}
		// Rows are encoded one after another into a shared buffer, a new
		// one when it is full; each row is its own slice of it.
		if need := rowSize(vals); cap(buf)-len(buf) < need {
			buf = make([]byte, 0, rowBufferSize(buf == nil, need, lim.MaxRows))
		}
		start := len(buf)
		buf = appendRow(buf, vals, encs)
		row := json.RawMessage(buf[start:len(buf):len(buf)])
		if size+len(row)+1 > lim.MaxBytes {
			res.Truncated, res.TruncationReason = true, ByteLimit
			stop()
			return nil
		}
		if !grow(len(row) + 1) {
			res.Truncated, res.TruncationReason = true, MemoryLimit
			stop()
			return nil
		}
		size += len(row) + 1
		res.Rows = append(res.Rows, row)
		res.RowCount++
	}
	return rows.Err()
}
