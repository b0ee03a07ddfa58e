// Package dorishttp is a small client for the HTTP APIs of Apache Doris: the
// FE's REST API (default port 8030) and the BE webserver (default port 8040).
//
// Some things a Doris operator asks for have no SQL form, or none that works
// on every version: the text profile of a finished query, the query id behind
// a trace id, the data size of each table in bytes, the FE build, and the
// Prometheus metrics of each node. This package fetches those and nothing
// else; it never writes.
//
//	c, err := dorishttp.New(dorishttp.Config{
//		FEURL: "http://fe1:8030", User: "admin", Password: pw,
//	})
//	// after SHOW BACKENDS:
//	addr, _ := dorishttp.BackendAddr(host, httpPort)
//	_ = c.SetDiscoveredBackends([]string{addr})
//	m, err := c.BEMetrics(ctx, addr)
//	text, err := c.ProfileText(ctx, "e133f2641e0a411c-b73f1f6c67bedcf9")
//
// # Why a separate client
//
// These endpoints are reached with the same credentials as the SQL port, on
// behalf of remote callers whose arguments end up in URLs. So every request
// is bounded in time (the caller's context and a per-request limit, covering
// the whole body) and in size (a body over the limit is refused with
// [ErrTooLarge], not truncated into something that looks complete). Ids are
// checked before they reach a path: the FE copies a trace id unescaped into
// the URLs it sends to the other FEs, so escaping on this side alone is not
// enough. Credentials travel only in an Authorization header, never in a
// URL, only to the configured FE and to BEs the Client was told about, and
// never across a redirect to another host. No error carries the password,
// even when a server echoes it back.
//
// # What it assumes
//
// The FE answers with one JSON envelope, {"msg","code","data","count"}, and
// HTTP 200 even on failure; the real status is code (0 success, 1 error, 401
// unauthorized, 403 bad request, 404 not found, 500 internal). The client
// therefore reads both: an HTTP status other than 2xx is a [StatusError], a
// non-zero code an [APIError]; [ErrNotFound] and [ErrUnauthorized] are seen
// through either with errors.Is. Most of these endpoints need the ADMIN
// privilege; /api/show_table_data checks credentials only when the FE runs
// with enable_all_http_auth. /metrics on FE and BE is the classic Prometheus
// text format and is parsed with the Prometheus parser, never by hand.
//
// # Where versions differ
//
//   - /rest/v2/manager/query/trace_id/{id} exists from 2.1 (trace ids are set
//     with session_context). On 2.0 the FE answers HTTP 404, which
//     QueryIDByTraceID reports as [errors.ErrUnsupported].
//   - /rest/v2/manager/query/profile/text/{id} asks every FE and answers an
//     unknown id with success and empty data. When it is missing (HTTP 404),
//     ProfileText asks the older /api/profile/text?query_id=, which answers
//     plain text, only from the FE it reaches, and 404 for an unknown id.
//   - /api/show_table_data reads single_replica as a boolean where it knows
//     it; an FE that does not ignores it and reports all replicas. Newer FEs
//     refuse a request with neither db nor table, and the docs of older ones
//     promise every table of every database, so the client always sends db.
//   - Some FE endpoints redirect a follower's request to the master. The
//     client refuses redirects to another host: point FEURL at the master,
//     or at a proxy that forwards under the same host name.
//   - Metric names and label sets grow between versions (BE labels are not
//     stable); callers look families up by name and tolerate absence.
package dorishttp
