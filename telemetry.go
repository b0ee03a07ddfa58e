package doris

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/telemetry"
)

// newTelemetry builds the Server's telemetry from its options (no-op
// without providers) into cfg.
func newTelemetry(cfg *config) error {
	ns := ""
	if cfg.dsn != nil {
		ns = cfg.dsn.DBName
	}
	tel, err := telemetry.New(telemetry.Options{Meters: cfg.meters, Tracers: cfg.tracers, Logger: cfg.logger, Namespace: ns})
	if err != nil {
		return err
	}
	cfg.tel = tel
	return nil
}

// observe registers the instruments read at each collection, and has
// Shutdown unregister them.
func (s *Server) observe() error {
	err := s.cfg.tel.Observe(telemetry.Source{
		InFlight: func() int64 { return int64(s.gate.active()) },
		Pools: func() []telemetry.PoolState {
			ps := s.pool.stats()
			out := make([]telemetry.PoolState, len(ps))
			for i, p := range ps {
				out[i] = telemetry.PoolState{Name: poolName(p), Idle: int64(p.Idle), InUse: int64(p.InUse)}
			}
			return out
		},
		Health: func() []telemetry.HealthState {
			hs := s.pool.health()
			out := make([]telemetry.HealthState, len(hs))
			for i, h := range hs {
				host, port := splitAddress(h.Address)
				out[i] = telemetry.HealthState{Address: host, Port: port, Healthy: h.Healthy}
			}
			return out
		},
	})
	if err != nil {
		return err
	}
	s.closers = append(s.closers, component{"telemetry", s.cfg.tel.Close})
	return nil
}

// poolName is a pool's db.client.connection.pool.name: user@host:port, or
// "host" for the pool a host passed with WithDB, of which nothing is known.
func poolName(p PoolStats) string {
	if p.Account == "" && p.Address == "" {
		return "host"
	}
	return p.Account + "@" + p.Address
}

func splitAddress(addr string) (string, int) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			port, err := strconv.Atoi(addr[i+1:])
			if err != nil {
				return addr, 0
			}
			return addr[:i], port
		}
	}
	return addr, 0
}

// protocolVersionHeader carries the negotiated MCP version on HTTP requests.
const protocolVersionHeader = "Mcp-Protocol-Version"

// startCall starts the telemetry of one MCP request: its server span, its
// duration, its log line. Once a stateful session is initialized, its
// duration is recorded when it ends.
func (s *Server) startCall(ctx context.Context, method string, req mcp.Request) (context.Context, *telemetry.Call) {
	r := telemetry.Request{Method: method, Transport: telemetry.TransportFrom(ctx)}
	// A request without params (tools/list, say) has a typed nil.
	if params := req.GetParams(); params != nil && !reflect.ValueOf(params).IsNil() {
		r.Meta = params.GetMeta()
		if p, ok := params.(*mcp.CallToolParamsRaw); ok {
			r.Tool = p.Name
		}
	}
	// The version each request carries (2026-07-28 on), else the one its
	// session negotiated.
	if pv, ok := req.(interface{ ProtocolVersion() string }); ok {
		r.Protocol = pv.ProtocolVersion()
	}
	if extra := req.GetExtra(); extra != nil && extra.Header != nil {
		r.Header = extra.Header
		if r.Protocol == "" {
			r.Protocol = extra.Header.Get(protocolVersionHeader)
		}
	}
	if p := principalOf(ctx, req); p != nil {
		r.Principal = p.Name
	}
	if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss != nil {
		r.Session = ss.ID()
		if method == "notifications/initialized" && r.Transport == telemetry.TransportTCP {
			// A stateful HTTP session; ServeTransport records its own.
			go func(start time.Time) { s.sessionEnded(ss, start, r.Transport, ss.Wait()) }(time.Now())
		}
	}
	return s.cfg.tel.StartRequest(ctx, r)
}

// sessionEnded records the duration of a session that ended with err;
// Shutdown closes every session, so none outlives the Server.
func (s *Server) sessionEnded(ss *mcp.ServerSession, start time.Time, transport string, err error) {
	if errors.Is(err, mcp.ErrConnectionClosed) || errors.Is(err, io.EOF) || s.gate.isClosed() {
		err = nil
	}
	protocol := ""
	if ip := ss.InitializeParams(); ip != nil {
		protocol = ip.ProtocolVersion
	}
	s.cfg.tel.RecordSession(time.Since(start), transport, protocol, err)
}

// killReason is why a statement whose context ended with cause is killed.
func killReason(cause error) string {
	var te *query.TimeoutError
	switch {
	case errors.Is(cause, errShuttingDown):
		return telemetry.KillShutdown
	case errors.As(cause, &te):
		return telemetry.KillTimeout
	case query.LimitStop(cause):
		return telemetry.KillLimit
	}
	return telemetry.KillCancel
}

// phaseTimer records the phase that has just ended, timed from start, and
// returns a func that records each next phase from the end of the last.
func (s *Server) phaseTimer(first string, start time.Time) func(phase string) {
	last := start
	record := func(phase string) {
		now := time.Now()
		s.cfg.tel.ShutdownPhase(phase, now.Sub(last))
		last = now
	}
	record(first)
	return record
}
