package doris

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/telemetry"
)

// feHTTPConfig is where the Doris HTTP APIs are and how to log in.
type feHTTPConfig struct {
	addr         string   // FE base URL, "http://host:8030"; empty: not configured
	backends     []string // BE webservers, host:port; empty: discovered
	user, passwd string
	credsSet     bool
}

// WithFEHTTP gives the address of the Doris FE's HTTP port (http_port in
// fe.conf, 8030 by default), as "host:port" or as a URL such as
// "https://fe-host:8030" or "http://proxy/doris" (a path is kept, for a
// reverse proxy). The tools that read what Doris offers only over HTTP
// need it: get_sql_profile, get_table_data_size, get_monitoring_metrics
// and get_memory_stats; without it they answer with an error saying so.
// The HTTP API is reached with the DSN's user and password unless
// [WithFEHTTPCredentials] says otherwise; most of its endpoints need the
// ADMIN privilege. Point it at the master FE: the client follows no
// redirect to another host.
func WithFEHTTP(addr string) Option {
	return func(c *config) error {
		addr = strings.TrimSpace(addr)
		if addr == "" {
			return errors.New("WithFEHTTP: empty address")
		}
		if !strings.Contains(addr, "://") {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return fmt.Errorf("WithFEHTTP: %q is neither host:port nor a URL", addr)
			}
			addr = "http://" + addr
		}
		// The client validates the rest (scheme, no credentials in the
		// URL); checked here so a bad address fails New.
		if _, err := dorishttp.New(dorishttp.Config{FEURL: addr}); err != nil {
			return fmt.Errorf("WithFEHTTP: %w", err)
		}
		c.feHTTP.addr = addr
		return nil
	}
}

// WithFEHTTPCredentials sets the account the Doris HTTP APIs are reached
// with, when it is not the DSN's, and always with [WithDB], whose pool's
// account the Server cannot see.
func WithFEHTTPCredentials(user, password string) Option {
	return func(c *config) error {
		if user == "" {
			return errors.New("WithFEHTTPCredentials: empty user")
		}
		c.feHTTP.user, c.feHTTP.passwd, c.feHTTP.credsSet = user, password, true
		return nil
	}
}

// WithBEHTTP gives the BE webserver addresses (webserver_port in be.conf,
// 8040 by default) as "host:port", for get_monitoring_metrics and
// get_memory_stats. Without it the BEs are found on each call from SHOW
// BACKENDS (Host and HttpPort), which is right unless the addresses the
// BEs registered with are not reachable from here (NAT, containers). It
// needs [WithFEHTTP]: the BEs are reached with its scheme and credentials.
func WithBEHTTP(addrs ...string) Option {
	return func(c *config) error {
		if len(addrs) == 0 {
			return errors.New("WithBEHTTP: no address")
		}
		for _, a := range addrs {
			if _, err := dorishttp.BackendAddr(splitHostPort(a)); err != nil {
				return fmt.Errorf("WithBEHTTP: %q is not host:port", a)
			}
		}
		c.feHTTP.backends = slices.Clone(addrs)
		return nil
	}
}

func splitHostPort(addr string) (host, port string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", ""
	}
	return host, port
}

// newFEHTTP builds the HTTP client of the configuration, or nil when no FE
// HTTP address was given.
func newFEHTTP(c *config) (*dorishttp.Client, error) {
	h := c.feHTTP
	if h.addr == "" {
		if len(h.backends) > 0 {
			return nil, errors.New("WithBEHTTP needs WithFEHTTP: the BEs are reached with its scheme and credentials")
		}
		return nil, nil
	}
	user, passwd := h.user, h.passwd
	if !h.credsSet {
		if c.dsn == nil {
			return nil, errors.New("WithFEHTTP with WithDB needs WithFEHTTPCredentials: the Server cannot see the account of a pool it did not open")
		}
		user, passwd = c.dsn.User, c.dsn.Passwd
	}
	return dorishttp.New(dorishttp.Config{
		FEURL:    h.addr,
		Backends: h.backends,
		User:     user,
		Password: passwd,
		// A call's HTTP requests are bounded like its statements.
		Timeout: c.queryTimeout,
		// Each request made for a call is a client span of the call.
		WrapTransport: telemetry.Transport,
	})
}
