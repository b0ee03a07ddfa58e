package dorishttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero values of Config.
const (
	defaultTimeout          = 10 * time.Second
	defaultMaxResponseBytes = 8 << 20
	defaultMaxMetricsBytes  = 4 << 20
	maxRedirects            = 5
)

// Config says where the nodes are and how to reach them. The zero value of
// each limit means its default.
type Config struct {
	// FEURL is the FE's HTTP base URL: scheme, host and http_port, e.g.
	// "http://fe1:8030". A path prefix is kept (for a reverse proxy); a query,
	// a fragment or credentials in the URL are refused.
	FEURL string

	// Backends are BE webserver addresses, "host:port" (port is the BE's
	// HttpPort, 8040 by default). More can be added at run time with
	// [Client.SetDiscoveredBackends]. BEs are reached with FEURL's scheme.
	Backends []string

	// User and Password are sent with HTTP Basic auth to every node. The
	// password never appears in an error.
	User     string
	Password string

	// HTTPClient sends the requests. Nil means a client with dial and TLS
	// handshake timeouts of 5 s and no proxy: the nodes are inside the
	// cluster, and a proxy taken from the environment would see the
	// credentials. The Client uses a copy whose redirect policy is
	// replaced: see [Client].
	HTTPClient *http.Client

	// WrapTransport, when set, wraps the client's transport: to trace
	// each request, say.
	WrapTransport func(http.RoundTripper) http.RoundTripper

	// Timeout bounds each request, from dial to the last byte of the body.
	// Default 10 s.
	Timeout time.Duration

	// MaxResponseBytes bounds a JSON or profile body. Default 8 MiB, which
	// holds the profile of a query with hundreds of fragments.
	MaxResponseBytes int64

	// MaxMetricsBytes bounds a /metrics body. Default 4 MiB, ten times a
	// large BE's. The body is parsed as it streams and never held, but the
	// parsed families take several times the text's size (about 7 times
	// for a BE's body, see BenchmarkBEMetrics; about 20 times for the
	// shortest labelled lines), so this limit is what bounds memory.
	MaxMetricsBytes int64
}

// Client talks to the FE and BE HTTP APIs of one Doris cluster. It is safe
// for concurrent use.
//
// Every request is bounded by the caller's context and [Config.Timeout], and
// its body by a size limit; a body over the limit is an [ErrTooLarge] error,
// never silently truncated. Redirects are followed only to the same scheme and
// host, so the credentials never travel to another host.
type Client struct {
	fe         *url.URL
	user       string
	password   string
	http       *http.Client
	timeout    time.Duration
	maxBody    int64
	maxMetrics int64
	red        redactor

	mu         sync.RWMutex
	configured []string // BE addresses from Config, normalised
	discovered []string // BE addresses from SetDiscoveredBackends
}

// New validates cfg and returns a Client. It does not touch the network.
func New(cfg Config) (*Client, error) {
	fe, err := parseFEURL(cfg.FEURL)
	if err != nil {
		return nil, err
	}
	bes, err := normaliseBackends(cfg.Backends)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(cfg.User, ":\r\n") {
		return nil, fmt.Errorf("dorishttp: HTTP user must not contain ':' or line breaks: %w", ErrInvalidArgument)
	}
	if cfg.Timeout < 0 || cfg.MaxResponseBytes < 0 || cfg.MaxMetricsBytes < 0 {
		return nil, fmt.Errorf("dorishttp: negative timeout or size limit: %w", ErrInvalidArgument)
	}
	c := &Client{
		fe:         fe,
		user:       cfg.User,
		password:   cfg.Password,
		timeout:    or(cfg.Timeout, defaultTimeout),
		maxBody:    or(cfg.MaxResponseBytes, defaultMaxResponseBytes),
		maxMetrics: or(cfg.MaxMetricsBytes, defaultMaxMetricsBytes),
		red:        newRedactor(cfg.User, cfg.Password),
		configured: bes,
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc = http.Client{Transport: newTransport()}
	}
	hc.CheckRedirect = sameHostRedirects
	if cfg.WrapTransport != nil {
		hc.Transport = cfg.WrapTransport(hc.Transport)
	}
	c.http = &hc
	return c, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func newTransport() *http.Transport {
	return &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
}

// sameHostRedirects refuses a redirect to another scheme or host. Doris FE
// followers redirect some requests to the master; following that with the
// Authorization header would hand the password to whatever host a response
// names, and following it without would fail with a less clear error.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("refusing redirect to %s://%s: the credentials are only sent to %s; configure that node's address instead",
			req.URL.Scheme, req.URL.Host, first.Host)
	}
	return nil
}

func parseFEURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("dorishttp: FE URL is empty: %w", ErrInvalidArgument)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the input, which may hold a password.
		return nil, fmt.Errorf("dorishttp: FE URL does not parse: %w", ErrInvalidArgument)
	}
	if u.User != nil {
		return nil, fmt.Errorf("dorishttp: FE URL must not carry credentials; set User and Password: %w", ErrInvalidArgument)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("dorishttp: FE URL %q: scheme must be http or https: %w", raw, ErrInvalidArgument)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("dorishttp: FE URL %q has no host: %w", raw, ErrInvalidArgument)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("dorishttp: FE URL %q must not have a query or fragment: %w", raw, ErrInvalidArgument)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// BackendAddr joins a host and HTTP port as reported by SHOW BACKENDS (Host,
// HttpPort) into the address form the Client takes; it brackets IPv6 hosts.
func BackendAddr(host, httpPort string) (string, error) {
	return normaliseBackend(net.JoinHostPort(host, httpPort))
}

func normaliseBackend(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("dorishttp: BE address %q: want host:port: %w", addr, ErrInvalidArgument)
	}
	if host == "" || strings.ContainsAny(host, "/@?#% \t\r\n") {
		return "", fmt.Errorf("dorishttp: BE address %q: bad host: %w", addr, ErrInvalidArgument)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("dorishttp: BE address %q: bad port: %w", addr, ErrInvalidArgument)
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.Itoa(n)), nil
}

func normaliseBackends(addrs []string) ([]string, error) {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		n, err := normaliseBackend(a)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// SetDiscoveredBackends replaces the BE addresses found at run time, e.g.
// from SHOW BACKENDS (see [BackendAddr]). The configured ones stay. On error
// the set is unchanged.
func (c *Client) SetDiscoveredBackends(addrs []string) error {
	bes, err := normaliseBackends(addrs)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.discovered = bes
	c.mu.Unlock()
	return nil
}

// Backends returns the known BE addresses, configured and discovered,
// sorted and without duplicates.
func (c *Client) Backends() []string {
	c.mu.RLock()
	all := slices.Concat(c.configured, c.discovered)
	c.mu.RUnlock()
	slices.Sort(all)
	return slices.Compact(all)
}

func (c *Client) knownBackend(addr string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Contains(c.configured, addr) || slices.Contains(c.discovered, addr)
}

// Close releases idle connections. The Client stays usable.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
}

// feURL builds an FE URL from a constant path, one caller-supplied path
// segment (escaped here; may be empty) and a query.
func (c *Client) feURL(path, segment string, q url.Values) *url.URL {
	u := *c.fe
	u.Path = c.fe.Path + path + segment
	u.RawPath = c.fe.EscapedPath() + path + url.PathEscape(segment)
	u.RawQuery = q.Encode()
	return &u
}

func (c *Client) beURL(addr, path string) *url.URL {
	return &url.URL{Scheme: c.fe.Scheme, Host: addr, Path: path}
}

// response is a fully read body.
type response struct {
	status      int
	contentType string
	body        []byte
}

// get sends a GET and reads the whole body, up to limit bytes. Non-2xx
// statuses are returned as responses, not errors: callers decide what a 404
// means.
func (c *Client) get(ctx context.Context, u *url.URL, accept string, limit int64) (*response, error) {
	var out *response
	err := c.stream(ctx, u, accept, limit, func(resp *http.Response, body io.Reader) error {
		buf := bytes.NewBuffer(make([]byte, 0, initialCap(resp.ContentLength, limit)))
		if _, err := buf.ReadFrom(body); err != nil {
			return err
		}
		out = &response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: buf.Bytes()}
		return nil
	})
	return out, err
}

func initialCap(contentLength, limit int64) int64 {
	switch {
	case contentLength < 0:
		return 4 << 10
	case contentLength > limit:
		return 0 // will fail at the limit; do not allocate for it
	default:
		return contentLength + 1 // +1 so ReadFrom sees EOF without growing
	}
}

// stream sends a GET and hands the body, capped at limit bytes, to read.
// The time limit covers read.
func (c *Client) stream(ctx context.Context, u *url.URL, accept string, limit int64, read func(*http.Response, io.Reader) error) error {
	endpoint := "GET " + u.Redacted()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("dorishttp: %s: %w", endpoint, err)
	}
	if c.user != "" || c.password != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	req.Header.Set("Accept", accept)
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(parent, ctx, endpoint, err)
	}
	defer resp.Body.Close()
	body := &capReader{r: resp.Body, limit: limit}
	// read consumes the body to EOF when it succeeds, so the connection
	// goes back to the pool; on failure it is closed instead of draining a
	// body that may be endless.
	err = read(resp, body)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("dorishttp: %s: response exceeds %d bytes: %w", endpoint, limit, ErrTooLarge)
	}
	return c.transportError(parent, ctx, endpoint, err)
}

// transportError names the endpoint and, when the Client's own time limit
// fired, says so rather than reporting a bare "context deadline exceeded".
func (c *Client) transportError(parent, ctx context.Context, endpoint string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // url.Error repeats the method and URL
	}
	if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("dorishttp: %s: no complete response within %v: %w", endpoint, c.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("dorishttp: %s: %w", endpoint, err)
}

// capReader reads at most limit bytes and fails with ErrTooLarge as soon as
// the body proves longer, without reading the rest.
type capReader struct {
	r     io.Reader
	limit int64
	n     int64
}

func (r *capReader) Read(p []byte) (int, error) {
	if r.n > r.limit {
		return 0, ErrTooLarge
	}
	if room := r.limit + 1 - r.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.n > r.limit {
		return n - int(r.n-r.limit), ErrTooLarge
	}
	return n, err
}
