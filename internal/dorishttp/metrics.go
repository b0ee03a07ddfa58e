package dorishttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// acceptMetrics asks for the classic text format, which both FE and BE
// write; neither speaks protobuf or OpenMetrics.
const acceptMetrics = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// Metrics is one node's /metrics, parsed.
type Metrics struct {
	// Node is the URL that was read, without credentials.
	Node string
	// Families maps a metric family name (doris_be_memory_allocated_bytes,
	// jvm_heap_size_bytes, ...) to its samples.
	Families map[string]*dto.MetricFamily
	// Bytes is the size of the body read.
	Bytes int64
}

// FEMetrics reads and parses the FE's /metrics.
func (c *Client) FEMetrics(ctx context.Context) (*Metrics, error) {
	m, err := c.metrics(ctx, c.feURL("/metrics", "", nil))
	return m, c.red.wrap(err)
}

// BEMetrics reads and parses the /metrics of the BE at addr ("host:port",
// see [BackendAddr]). addr must be configured or discovered: the request
// carries the credentials, and they go only to nodes the Client was told
// belong to the cluster. Otherwise the error is [ErrUnknownBackend].
func (c *Client) BEMetrics(ctx context.Context, addr string) (*Metrics, error) {
	norm, err := normaliseBackend(addr)
	if err != nil {
		return nil, c.red.wrap(err)
	}
	if !c.knownBackend(norm) {
		return nil, c.red.wrap(fmt.Errorf("dorishttp: BE %s is neither configured nor discovered: %w", norm, ErrUnknownBackend))
	}
	m, err := c.metrics(ctx, c.beURL(norm, "/metrics"))
	return m, c.red.wrap(err)
}

// metrics streams the body into the parser, so memory holds the parsed
// families but never the text; the size cap still applies and surfaces as
// ErrTooLarge from the parser's read.
func (c *Client) metrics(ctx context.Context, u *url.URL) (*Metrics, error) {
	endpoint := "GET " + u.Redacted()
	out := &Metrics{Node: u.Redacted()}
	err := c.stream(ctx, u, acceptMetrics, c.maxMetrics, func(resp *http.Response, body io.Reader) error {
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			head, _ := io.ReadAll(io.LimitReader(body, 4*maxSnippet))
			return &StatusError{Endpoint: endpoint, StatusCode: resp.StatusCode, Body: c.red.snippet(head)}
		}
		// A JSON or HTML answer would fail to parse anyway, but the message
		// is clearer this way; JSON may be an FE error envelope (an auth
		// failure under enable_all_http_auth), which becomes an APIError.
		if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil &&
			(mt == "application/json" || mt == "text/html") {
			head, err := io.ReadAll(io.LimitReader(body, envelopeProbe))
			if err != nil {
				return err
			}
			var env envelope
			if mt == "application/json" && json.Unmarshal(head, &env) == nil && env.Code != nil && *env.Code != 0 {
				return &APIError{Endpoint: endpoint, Code: *env.Code, Msg: c.red.snippet([]byte(env.Msg)), Detail: c.red.snippet(dataText(env.Data))}
			}
			return fmt.Errorf("want Prometheus text, got %s: %q", mt, c.red.snippet(head))
		}
		cr := &countReader{r: body}
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(&onceDeclared{r: bufio.NewReader(cr), seen: map[string]bool{}})
		out.Bytes = cr.n
		if err != nil {
			return fmt.Errorf("not Prometheus text after %d bytes: %w", cr.n, err)
		}
		if len(fams) == 0 {
			return fmt.Errorf("no metrics in %d bytes", cr.n)
		}
		out.Families = fams
		return nil
	})
	if se, ok := unwrapResponseError(err); ok {
		return nil, se
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// onceDeclared passes Prometheus text on, dropping a # TYPE or # HELP line
// for a family already declared: the BE can print a family's TYPE line
// twice (it groups samples in an unordered map; fidelity ledger:
// be-metrics-duplicate-type), which the strict text parser refuses, losing
// the whole scrape over a repeated declaration.
type onceDeclared struct {
	r    *bufio.Reader
	seen map[string]bool // "TYPE name", "HELP name"
	buf  []byte          // the rest of the current line
}

func (o *onceDeclared) Read(p []byte) (int, error) {
	for len(o.buf) == 0 {
		line, err := o.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long sample line: not a declaration, pass it on as is.
			o.buf = line
			break
		}
		if len(line) == 0 && err != nil {
			return 0, err
		}
		if f := bytes.Fields(line); len(f) >= 3 && string(f[0]) == "#" && (string(f[1]) == "TYPE" || string(f[1]) == "HELP") {
			key := string(f[1]) + " " + string(f[2])
			if o.seen[key] {
				continue
			}
			o.seen[key] = true
		}
		o.buf = line
	}
	n := copy(p, o.buf)
	o.buf = o.buf[n:]
	return n, nil
}

// envelopeProbe is how much of a JSON answer to /metrics is read to look
// for an error envelope; an error envelope is small.
const envelopeProbe = 64 << 10

// unwrapResponseError returns a StatusError or APIError as is: stream
// prefixes the endpoint to errors from the body reader, and these already
// name it.
func unwrapResponseError(err error) (error, bool) {
	var se *StatusError
	if errors.As(err, &se) {
		return se, true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae, true
	}
	return nil, false
}

type countReader struct {
	r io.Reader
	n int64
}

func (r *countReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}
