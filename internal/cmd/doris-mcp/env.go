package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dorismcp/doris"
	"github.com/go-sql-driver/mysql"
)

// maxRows is the library's hard cap on QueryLimits.MaxRows.
const maxRows = 100_000

// cluster is the Doris cluster the reference server's environment
// variables name.
type cluster struct {
	dsn       string   // the first FE's MySQL protocol, with the account
	frontends []string // more FEs for failover, host:port
	feHTTP    string   // the first FE's HTTP API, host:port
	backends  []string // BE webservers, host:port; empty: found by the library
	maxConns  int
	timeout   time.Duration
	maxRows   int
}

// options are the library options for c.
func (c *cluster) options() []doris.Option {
	opts := []doris.Option{doris.WithDSN(c.dsn), doris.WithFEHTTP(c.feHTTP),
		doris.WithPoolLimits(doris.PoolLimits{MaxOpen: c.maxConns}),
		doris.WithQueryLimits(doris.QueryLimits{DefaultTimeout: c.timeout, MaxRows: c.maxRows})}
	if len(c.frontends) > 0 {
		opts = append(opts, doris.WithFrontends(c.frontends...))
	}
	if len(c.backends) > 0 {
		opts = append(opts, doris.WithBEHTTP(c.backends...))
	}
	return opts
}

// readCluster reads the cluster from the reference server's variables:
// DORIS_HOST, DORIS_HOSTS (more FEs for failover, comma-separated, host or
// host:port; its first stands for DORIS_HOST when that is unset),
// DORIS_PORT (default 9030), DORIS_USER (default root), DORIS_PASSWORD,
// DORIS_DATABASE, DORIS_MAX_CONNECTIONS, DORIS_QUERY_TIMEOUT and
// DORIS_MAX_ROWS, and for the HTTP APIs DORIS_FE_HTTP_PORT (default 8030),
// DORIS_BE_HOSTS (comma-separated hosts or host:port; default: found with
// SHOW BACKENDS) and DORIS_BE_WEBSERVER_PORT (default 8040). With none of
// them set it returns nil, for the sample database; account or database
// variables without DORIS_HOST are an error, since they show a cluster was
// meant. A malformed value is an error naming the variable, never its
// value, which may be secret.
func readCluster(lookup func(string) (string, bool)) (*cluster, error) {
	get := func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	host := get("DORIS_HOST")
	others := hostList(get("DORIS_HOSTS"))
	if host == "" && len(others) > 0 {
		host, others = others[0], others[1:]
	}
	if host == "" {
		for _, k := range []string{"DORIS_PORT", "DORIS_USER", "DORIS_PASSWORD", "DORIS_DATABASE"} {
			if v, ok := lookup(k); ok && v != "" {
				return nil, fmt.Errorf("%s is set but DORIS_HOST is not: set DORIS_HOST to the Doris FE to connect to", k)
			}
		}
		return nil, nil
	}
	if strings.ContainsAny(host, "/()@ ") {
		return nil, errors.New("DORIS_HOST: not a host name or address")
	}
	if strings.Count(host, ":") == 1 {
		return nil, errors.New("DORIS_HOST: give the port in DORIS_PORT")
	}
	port, err := portVar(get, "DORIS_PORT", "9030")
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User = get("DORIS_USER")
	if cfg.User == "" {
		cfg.User = "root"
	}
	cfg.Passwd, _ = lookup("DORIS_PASSWORD")
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = get("DORIS_DATABASE")
	c := &cluster{dsn: cfg.FormatDSN()}
	if c.frontends, err = withPorts(others, port, "DORIS_HOSTS"); err != nil {
		return nil, err
	}

	positive := func(k, what string, hi int) (int, error) {
		v := get(k)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > hi {
			return 0, fmt.Errorf("%s: not %s", k, what)
		}
		return n, nil
	}
	if c.maxConns, err = positive("DORIS_MAX_CONNECTIONS", "a positive integer", 1<<20); err != nil {
		return nil, err
	}
	secs, err := positive("DORIS_QUERY_TIMEOUT", "a positive number of seconds", 1<<30)
	if err != nil {
		return nil, err
	}
	c.timeout = time.Duration(secs) * time.Second
	if c.maxRows, err = positive("DORIS_MAX_ROWS", fmt.Sprintf("an integer between 1 and %d", maxRows), maxRows); err != nil {
		return nil, err
	}

	fePort, err := portVar(get, "DORIS_FE_HTTP_PORT", "8030")
	if err != nil {
		return nil, err
	}
	c.feHTTP = net.JoinHostPort(host, fePort)
	bePort, err := portVar(get, "DORIS_BE_WEBSERVER_PORT", "8040")
	if err != nil {
		return nil, err
	}
	if c.backends, err = withPorts(hostList(get("DORIS_BE_HOSTS")), bePort, "DORIS_BE_HOSTS"); err != nil {
		return nil, err
	}
	return c, nil
}

// hostList splits a comma-separated list, dropping empty entries.
func hostList(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// withPorts gives each host of the variable k the port when it has none.
func withPorts(hosts []string, port, k string) ([]string, error) {
	var out []string
	for _, h := range hosts {
		if strings.ContainsAny(h, "/()@ ") {
			return nil, fmt.Errorf("%s: not a comma-separated list of host names or addresses", k)
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), port)
		}
		out = append(out, h)
	}
	return out, nil
}

// portVar reads the port number in the variable k, def when unset.
func portVar(get func(string) string, k, def string) (string, error) {
	v := get(k)
	if v == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(v); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("%s: not a port number", k)
	}
	return v, nil
}
