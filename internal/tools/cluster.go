package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/query"
)

// nodeColumns are the columns of get_cluster_nodes. A value the node's
// release does not report (LastStartTime before 2.1, CpuCores and Memory
// before 3.0) is null.
var nodeColumns = cols(
	"role", "VARCHAR", // FE_FOLLOWER, FE_OBSERVER or BE
	"name", "VARCHAR", // FE name or BE id
	"host", "VARCHAR",
	"http_port", "VARCHAR",
	"alive", "BOOLEAN",
	"is_master", "BOOLEAN",
	"version", "VARCHAR",
	"last_start_time", "DATETIME",
	"last_heartbeat", "DATETIME",
	"data_used", "VARCHAR",
	"total_capacity", "VARCHAR",
	"used_pct", "VARCHAR",
	"tablets", "BIGINT",
	"cpu_cores", "BIGINT",
	"memory", "VARCHAR",
	"error", "VARCHAR",
)

func (c *catalog) clusterNodes(ctx context.Context, _ struct{}) (*query.Result, error) {
	start := time.Now()
	if _, err := c.require(ctx, "get_cluster_nodes", need{}); err != nil {
		return nil, err
	}
	fe, err := c.run(ctx, "", "SHOW FRONTENDS", c.metaLimits(), nil)
	if err != nil {
		return nil, fmt.Errorf("SHOW FRONTENDS: %w", err)
	}
	be, err := c.run(ctx, "", "SHOW BACKENDS", c.metaLimits(), nil)
	if err != nil {
		return nil, fmt.Errorf("SHOW BACKENDS: %w", err)
	}
	var rows [][]any
	f := namedRows(fe)
	for _, r := range f.rows {
		role, _ := f.get(r, "Role")
		rows = append(rows, []any{
			"FE_" + role,
			opt(f.get(r, "Name")),
			opt(f.get(r, "Host", "IP")),
			opt(f.get(r, "HttpPort")),
			boolOpt(f.get(r, "Alive")),
			boolOpt(f.get(r, "IsMaster")),
			opt(f.get(r, "Version")),
			opt(f.get(r, "LastStartTime")),
			opt(f.get(r, "LastHeartbeat")),
			nil, nil, nil, nil, nil, nil,
			opt(f.get(r, "ErrMsg")),
		})
	}
	b := namedRows(be)
	for _, r := range b.rows {
		rows = append(rows, []any{
			"BE",
			opt(b.get(r, "BackendId")),
			opt(b.get(r, "Host", "IP")),
			opt(b.get(r, "HttpPort")),
			boolOpt(b.get(r, "Alive")),
			nil,
			opt(b.get(r, "Version")),
			opt(b.get(r, "LastStartTime")),
			opt(b.get(r, "LastHeartbeat")),
			opt(b.get(r, "DataUsedCapacity")),
			opt(b.get(r, "TotalCapacity")),
			opt(b.get(r, "UsedPct")),
			intOpt(b.get(r, "TabletNum")),
			intOpt(b.get(r, "CpuCores")),
			opt(b.get(r, "Memory")),
			opt(b.get(r, "ErrMsg")),
		})
	}
	return c.result(ctx, start, c.metaLimits(), nodeColumns, rows)
}

// opt is a column value that may be absent: null then.
func opt(s string, ok bool) any {
	if !ok {
		return nil
	}
	return s
}

func boolOpt(s string, ok bool) any {
	if !ok {
		return nil
	}
	return s == "true" || s == "Yes" || s == "1"
}

func intOpt(s string, ok bool) any {
	if !ok {
		return nil
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		return nil
	}
	return n
}

// beNode is a BE the metrics tools read.
type beNode struct {
	Addr  string // host:http_port
	Alive bool
}

// backends returns the BE webservers to read: the configured ones, or
// else those SHOW BACKENDS reports, which the HTTP client is then allowed
// to send the credentials to.
func (c *catalog) backends(ctx context.Context) ([]beNode, error) {
	if c.cfg.BEConfigured {
		var out []beNode
		for _, a := range c.cfg.FEHTTP.Backends() {
			out = append(out, beNode{Addr: a, Alive: true})
		}
		return out, nil
	}
	res, err := c.run(ctx, "", "SHOW BACKENDS", c.metaLimits(), nil)
	if err != nil {
		return nil, fmt.Errorf("finding the BEs with SHOW BACKENDS: %w", err)
	}
	b := namedRows(res)
	var out []beNode
	var addrs []string
	for _, r := range b.rows {
		host, _ := b.get(r, "Host", "IP")
		port, _ := b.get(r, "HttpPort")
		addr, err := dorishttp.BackendAddr(host, port)
		if err != nil {
			return nil, fmt.Errorf("SHOW BACKENDS reports an unusable BE address: %w", err)
		}
		alive, _ := b.get(r, "Alive")
		out = append(out, beNode{Addr: addr, Alive: alive == "true"})
		addrs = append(addrs, addr)
	}
	if err := c.cfg.FEHTTP.SetDiscoveredBackends(addrs); err != nil {
		return nil, err
	}
	return out, nil
}
