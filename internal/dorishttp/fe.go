package dorishttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
)

const acceptJSON = "application/json"

// envelope is the FE REST answer: {"msg":"success","code":0,"data":…,"count":0}.
type envelope struct {
	Msg  string          `json:"msg"`
	Code *int            `json:"code"`
	Data json.RawMessage `json:"data"`
}

// getEnvelope GETs an FE endpoint and returns the envelope's data, or an
// error for a non-2xx status, a body that is not an envelope, or code != 0.
func (c *Client) getEnvelope(ctx context.Context, u *url.URL) (json.RawMessage, error) {
	endpoint := "GET " + u.Redacted()
	resp, err := c.get(ctx, u, acceptJSON, c.maxBody)
	if err != nil {
		return nil, err
	}
	if resp.status < 200 || resp.status > 299 {
		return nil, &StatusError{Endpoint: endpoint, StatusCode: resp.status, Body: c.red.snippet(resp.body)}
	}
	var env envelope
	if err := json.Unmarshal(resp.body, &env); err != nil || env.Code == nil {
		return nil, fmt.Errorf("dorishttp: %s: not a Doris JSON response (HTTP %d, %s): %q",
			endpoint, resp.status, orNone(resp.contentType), c.red.snippet(resp.body))
	}
	if *env.Code != 0 {
		return nil, &APIError{Endpoint: endpoint, Code: *env.Code, Msg: c.red.snippet([]byte(env.Msg)), Detail: c.red.snippet(dataText(env.Data))}
	}
	return env.Data, nil
}

func orNone(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}

// dataText renders an error envelope's data: usually a JSON string holding
// the reason, sometimes null or an object.
func dataText(data json.RawMessage) []byte {
	var s string
	if json.Unmarshal(data, &s) == nil {
		return []byte(s)
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	return data
}

// FEVersion is the FE build as /api/fe_version_info reports it.
type FEVersion struct {
	Prefix              string // "doris", or a vendor's
	Major, Minor, Patch int
	RCVersion           string
	Version             string // e.g. "doris-2.1.7-rc03"
	Hash                string
	ShortHash           string
	BuildTime           string
	BuildInfo           string
	JavaCompileVersion  string
}

// UnmarshalJSON reads the feVersionInfo object. Version numbers may be JSON
// numbers or numbers in strings: builds differ, and a version number should
// not fail the whole answer.
func (v *FEVersion) UnmarshalJSON(b []byte) error {
	var w struct {
		Prefix             string  `json:"dorisBuildVersionPrefix"`
		Major              flexInt `json:"dorisBuildVersionMajor"`
		Minor              flexInt `json:"dorisBuildVersionMinor"`
		Patch              flexInt `json:"dorisBuildVersionPatch"`
		RCVersion          string  `json:"dorisBuildVersionRcVersion"`
		Version            string  `json:"dorisBuildVersion"`
		Hash               string  `json:"dorisBuildHash"`
		ShortHash          string  `json:"dorisBuildShortHash"`
		BuildTime          string  `json:"dorisBuildTime"`
		BuildInfo          string  `json:"dorisBuildInfo"`
		JavaCompileVersion string  `json:"dorisJavaCompileVersion"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*v = FEVersion{
		Prefix: w.Prefix, Major: int(w.Major), Minor: int(w.Minor), Patch: int(w.Patch),
		RCVersion: w.RCVersion, Version: w.Version, Hash: w.Hash, ShortHash: w.ShortHash,
		BuildTime: w.BuildTime, BuildInfo: w.BuildInfo, JavaCompileVersion: w.JavaCompileVersion,
	}
	return nil
}

type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("version number %s: %w", b, err)
	}
	*n = flexInt(v)
	return nil
}

// FEVersion asks the FE for its build (GET /api/fe_version_info). The
// account needs the ADMIN privilege.
func (c *Client) FEVersion(ctx context.Context) (FEVersion, error) {
	u := c.feURL("/api/fe_version_info", "", nil)
	data, err := c.getEnvelope(ctx, u)
	if err != nil {
		return FEVersion{}, c.red.wrap(err)
	}
	var payload struct {
		Info *FEVersion `json:"feVersionInfo"`
	}
	if err := json.Unmarshal(data, &payload); err != nil || payload.Info == nil {
		return FEVersion{}, c.red.wrap(fmt.Errorf("dorishttp: GET %s: data has no feVersionInfo object: %q", u.Redacted(), c.red.snippet(data)))
	}
	return *payload.Info, nil
}

// TableDataSize returns the data size in bytes of each table of db (GET
// /api/show_table_data?db=&table=&single_replica=). With table set, only
// that table is reported; a table that does not exist yields an empty map,
// as Doris answers. With singleReplica, the size of one replica instead of
// all replicas. Views and ODBC tables report 0. An unknown db is an
// [APIError] with code 1.
func (c *Client) TableDataSize(ctx context.Context, db, table string, singleReplica bool) (map[string]int64, error) {
	if err := checkName("database", db); err != nil {
		return nil, c.red.wrap(err)
	}
	q := url.Values{"db": {db}}
	if table != "" {
		if err := checkName("table", table); err != nil {
			return nil, c.red.wrap(err)
		}
		q.Set("table", table)
	}
	if singleReplica {
		q.Set("single_replica", "true")
	}
	u := c.feURL("/api/show_table_data", "", q)
	data, err := c.getEnvelope(ctx, u)
	if err != nil {
		return nil, c.red.wrap(err)
	}
	var byDB map[string]map[string]int64
	if err := json.Unmarshal(data, &byDB); err != nil {
		return nil, c.red.wrap(fmt.Errorf("dorishttp: GET %s: data is not {db: {table: bytes}}: %q", u.Redacted(), c.red.snippet(data)))
	}
	// Doris keys the answer by the database name without a cluster prefix;
	// when it is the only key, take it whatever its spelling.
	tables, ok := byDB[db]
	if !ok && len(byDB) == 1 {
		for _, t := range byDB {
			tables = t
		}
	}
	if tables == nil {
		tables = map[string]int64{}
	}
	return tables, nil
}

// QueryIDByTraceID returns the id of the query run with
// session_context = "trace_id:<traceID>" (GET
// /rest/v2/manager/query/trace_id/{trace_id}, 2.1+). The FE asks every FE.
// An unknown trace id, or one run by another user, is [ErrNotFound]; an FE
// without the endpoint is [errors.ErrUnsupported].
func (c *Client) QueryIDByTraceID(ctx context.Context, traceID string) (string, error) {
	if err := checkTraceID(traceID); err != nil {
		return "", c.red.wrap(err)
	}
	u := c.feURL("/rest/v2/manager/query/trace_id/", traceID, nil)
	data, err := c.getEnvelope(ctx, u)
	if err != nil {
		return "", c.red.wrap(traceNotFound(err, traceID))
	}
	var id string
	if err := json.Unmarshal(data, &id); err != nil {
		return "", c.red.wrap(fmt.Errorf("dorishttp: GET %s: data is not a query id string: %q", u.Redacted(), c.red.snippet(data)))
	}
	if err := checkQueryID(id); err != nil {
		return "", c.red.wrap(fmt.Errorf("dorishttp: GET %s: answer is not a query id: %v", u.Redacted(), err))
	}
	return id, nil
}

// traceNotFound turns the FE's answer for an unknown trace id (code 403
// "Bad Request" with data "Not found" or "not found query id") into
// ErrNotFound, keeping the original for errors.As, and a missing endpoint
// into errors.ErrUnsupported: on 2.0 a 404 says nothing about the trace id.
func traceNotFound(err error, traceID string) error {
	if se, ok := err.(*StatusError); ok && se.StatusCode == 404 {
		return fmt.Errorf("dorishttp: this FE has no trace id endpoint (Doris before 2.1): %w: %v", errors.ErrUnsupported, se)
	}
	if ae, ok := err.(*APIError); ok && ae.Code == 403 && strings.Contains(strings.ToLower(ae.Detail), "not found") {
		return fmt.Errorf("dorishttp: no query with trace id %q (not run, not yet registered, or run by another user): %w: %w", traceID, ErrNotFound, err)
	}
	return err
}

// ProfileText returns the text profile of a query (GET
// /rest/v2/manager/query/profile/text/{query_id}, which asks every FE).
// An FE without that endpoint (HTTP 404: an old or trimmed build) is asked at the
// older /api/profile/text?query_id=, which answers plain text from that FE
// only. A query without a stored profile (enable_profile was off, or it has
// been evicted) is [ErrNotFound].
func (c *Client) ProfileText(ctx context.Context, queryID string) (string, error) {
	if err := checkQueryID(queryID); err != nil {
		return "", c.red.wrap(err)
	}
	text, err := c.profileV2(ctx, queryID)
	if se, ok := err.(*StatusError); ok && se.StatusCode == 404 {
		text, err = c.profileLegacy(ctx, queryID)
	}
	if err != nil {
		return "", c.red.wrap(err)
	}
	return text, nil
}

func (c *Client) profileV2(ctx context.Context, queryID string) (string, error) {
	u := c.feURL("/rest/v2/manager/query/profile/text/", queryID, nil)
	data, err := c.getEnvelope(ctx, u)
	if err != nil {
		return "", err
	}
	var payload struct {
		Profile *string `json:"profile"`
	}
	if err := json.Unmarshal(data, &payload); err != nil {
		return "", fmt.Errorf("dorishttp: GET %s: data is not {\"profile\": text}: %q", u.Redacted(), c.red.snippet(data))
	}
	// An unknown id is a success with empty data: {}.
	if payload.Profile == nil || *payload.Profile == "" {
		return "", fmt.Errorf("dorishttp: no profile for query %s on any FE (is enable_profile on?): %w", queryID, ErrNotFound)
	}
	return *payload.Profile, nil
}

func (c *Client) profileLegacy(ctx context.Context, queryID string) (string, error) {
	u := c.feURL("/api/profile/text", "", url.Values{"query_id": {queryID}})
	endpoint := "GET " + u.Redacted()
	resp, err := c.get(ctx, u, "text/plain", c.maxBody)
	if err != nil {
		return "", err
	}
	if resp.status == 404 {
		return "", fmt.Errorf("dorishttp: no profile for query %s on this FE (is enable_profile on?): %w",
			queryID, &StatusError{Endpoint: endpoint, StatusCode: 404, Body: c.red.snippet(resp.body)})
	}
	if resp.status < 200 || resp.status > 299 {
		return "", &StatusError{Endpoint: endpoint, StatusCode: resp.status, Body: c.red.snippet(resp.body)}
	}
	// This endpoint writes the profile as plain text; a JSON answer is an
	// error envelope (e.g. code 401 from the auth check).
	if mt, _, _ := mime.ParseMediaType(resp.contentType); mt == "application/json" {
		var env envelope
		if json.Unmarshal(resp.body, &env) == nil && env.Code != nil && *env.Code != 0 {
			return "", &APIError{Endpoint: endpoint, Code: *env.Code, Msg: c.red.snippet([]byte(env.Msg)), Detail: c.red.snippet(dataText(env.Data))}
		}
		return "", fmt.Errorf("dorishttp: %s: want a plain-text profile, got JSON: %q", endpoint, c.red.snippet(resp.body))
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		return "", fmt.Errorf("dorishttp: %s: empty profile for query %s: %w", endpoint, queryID, ErrNotFound)
	}
	return string(resp.body), nil
}
