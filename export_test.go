package doris

import (
	"context"
	"net/http"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/pool"
)

// Hooks into a Server's inner workings for the external tests.

var (
	ErrInputClosed = errInputClosed
	PoolStatsOf    = poolStats
	PrincipalOf    = principalOf
	SplitAddress   = splitAddress
)

const (
	DefaultByteLimit = defaultByteLimit
	MaxNesting       = maxNesting
	ResultCost       = resultCost
)

// WithFilePoll makes the token file checked every d.
func WithFilePoll(d time.Duration) Option {
	return func(c *config) error { c.auth.FilePoll = d; return nil }
}

// InFlight is the number of calls admitted and not yet answered.
func (s *Server) InFlight() int { return s.gate.Active() }

// Draining reports whether Shutdown has closed the admission gate.
func (s *Server) Draining() bool { return s.gate.IsClosed() }

// OpenStreams is the number of long-lived HTTP requests open.
func (s *Server) OpenStreams() int { return s.streams.Active() }

// ResultMemoryHeld is what the result budget holds.
func (s *Server) ResultMemoryHeld() int64 { return s.budget.Used() }

// Sessions is the number of MCP sessions open.
func (s *Server) Sessions() int { return s.sessionCount() }

// SetGrace sets how long past its deadline Shutdown waits.
func (s *Server) SetGrace(d time.Duration) { s.grace = d }

// Pool is the Server's connection pool.
func (s *Server) Pool() *pool.Pool { return s.pool }

// DSN is the default account's DSN.
func (s *Server) DSN() *mysql.Config { return s.cfg.dsn }

// WithPrincipal is the receiving middleware of authenticated calls.
func (s *Server) WithPrincipal(next mcp.MethodHandler) mcp.MethodHandler {
	return s.withPrincipal(next)
}

// VerifyToken runs the bearer check of r carrying token.
func (s *Server) VerifyToken(r *http.Request, token string) error {
	_, err := s.auth.verify(r.Context(), token, r)
	return err
}

// WrapClose replaces the close of the component named name by wrap of it,
// and reports whether there is such a component.
func (s *Server) WrapClose(name string, wrap func(close func(context.Context) error) func(context.Context) error) bool {
	for i := range s.closers {
		if s.closers[i].name == name {
			s.closers[i].close = wrap(s.closers[i].close)
			return true
		}
	}
	return false
}
