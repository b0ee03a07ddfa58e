package doris

import (
	"context"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/pool"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/telemetry"
)

// newPool starts the connection layer (internal/pool) on the Server's
// configuration: kills are counted by the Server's telemetry, connections
// shared between its principals, and a kill finds its query through the
// FE HTTP API when there is one.
func newPool(cfg *config, fe *dorishttp.Client, tel *telemetry.Telemetry) *pool.Pool {
	pc := pool.Config{
		DSN:             cfg.dsn,
		DB:              cfg.db,
		Frontends:       cfg.frontends,
		MaxOpen:         cfg.pool.MaxOpen,
		MaxIdle:         cfg.pool.MaxIdle,
		ConnMaxLifetime: cfg.pool.MaxLifetime,
		ConnMaxIdleTime: cfg.pool.MaxIdleTime,
		IdleTimeout:     cfg.poolIdleTimeout,
		Wait:            cfg.pool.Wait,
		QueryTimeout:    cfg.query.DefaultTimeout,
		HealthInterval:  cfg.pool.HealthCheckInterval,
		Functions:       query.FunctionPolicy{Allowed: cfg.allowedFuncs, External: cfg.allowExternal},
		Logger:          cfg.logger,
		Closed:          ErrServerClosed,
		Killed:          func(cause error) { tel.Killed(killReason(cause)) },
		Principal: func(ctx context.Context) string {
			if pr, ok := PrincipalFromContext(ctx); ok {
				return principalID(&pr)
			}
			return ""
		},
	}
	if fe != nil {
		pc.QueryIDByTrace = fe.QueryIDByTraceID
	}
	return pool.New(pc)
}

// poolStats converts the pool's statistics to the exported types.
func poolStats(p *pool.Pool) []PoolStats {
	st := p.Stats()
	out := make([]PoolStats, len(st))
	for i, s := range st {
		out[i] = PoolStats(s)
	}
	return out
}

// poolHealth converts the pool's health checks to the exported types.
func poolHealth(p *pool.Pool) []HealthStats {
	h := p.Health()
	out := make([]HealthStats, len(h))
	for i, s := range h {
		out[i] = HealthStats(s)
	}
	return out
}
