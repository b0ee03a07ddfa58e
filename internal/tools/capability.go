package tools

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/query"
)

// defaultCapabilityTTL is how long a detection is trusted: long enough
// that a busy server detects rarely, short enough that an upgrade or an
// audit log switched on is noticed within minutes.
const defaultCapabilityTTL = time.Minute

// capabilities is what the backend can serve, as last detected.
type capabilities struct {
	Engine  query.Engine
	Comment string // @@version_comment
	// Version is the Doris release; zero when the engine is not Doris or
	// the comment names a vendor release whose Doris base is unknown.
	Version dorisVersion
	// Audit reports that __internal_schema.audit_log exists (Doris 2.1+).
	Audit bool
	// FEHTTP is nil when the FE HTTP API answered, errFEHTTPUnset when
	// none is configured, and why it could not be reached otherwise.
	FEHTTP error
}

// dorisVersion is a Doris release number.
type dorisVersion struct{ Major, Minor, Patch int }

func (v dorisVersion) known() bool { return v != dorisVersion{} }

func (v dorisVersion) atLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

func (v dorisVersion) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// dorisRelease finds "doris-2.1.7" in a version comment, as Apache builds
// ("Doris version doris-2.1.7-rc03-443e87e203", "... (Cloud Mode)") and
// vendor builds on a Doris base ("selectdb-doris-2.1.8-5-398fdbcc0c")
// write it.
var dorisRelease = regexp.MustCompile(`(?i)doris-(\d+)\.(\d+)\.(\d+)`)

// parseDorisVersion returns the Doris release a version comment names, or
// the zero version when it names none (a vendor's own numbering such as
// "selectdb-4.0.4.5", or a dev build "doris-0.0.0").
func parseDorisVersion(comment string) dorisVersion {
	m := dorisRelease.FindStringSubmatch(comment)
	if m == nil {
		return dorisVersion{}
	}
	var v dorisVersion
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	v.Patch, _ = strconv.Atoi(m[3])
	return v
}

// errFEHTTPUnset is the FE HTTP state of a deployment that configured no
// FE HTTP address.
var errFEHTTPUnset = errors.New("no FE HTTP address is configured")

// capabilityCache holds the last detection and serialises new ones: one
// caller detects while the others wait, each within its own context.
type capabilityCache struct {
	ttl  time.Duration
	sem  chan struct{} // held while detecting or reading the fields below
	caps *capabilities
	at   time.Time
}

func newCapabilityCache(ttl time.Duration) *capabilityCache {
	if ttl <= 0 {
		ttl = defaultCapabilityTTL
	}
	return &capabilityCache{ttl: ttl, sem: make(chan struct{}, 1)}
}

// capabilities returns what the backend can serve, detecting it when the
// last detection is older than the TTL. An FE HTTP API that could not be
// reached is probed again on the next call: it may have come back.
func (c *catalog) capabilities(ctx context.Context) (capabilities, error) {
	cc := c.caps
	select {
	case cc.sem <- struct{}{}:
	case <-ctx.Done():
		return capabilities{}, context.Cause(ctx)
	}
	defer func() { <-cc.sem }()
	if cc.caps != nil && time.Since(cc.at) < cc.ttl {
		if cc.caps.FEHTTP != nil && cc.caps.FEHTTP != errFEHTTPUnset && cc.caps.Engine == query.Doris {
			cc.caps.FEHTTP = c.probeFEHTTP(ctx)
		}
		return *cc.caps, nil
	}
	caps, err := c.detect(ctx)
	if err != nil {
		return capabilities{}, err
	}
	cc.caps, cc.at = &caps, time.Now()
	return caps, nil
}

// detect asks the backend what it is: the engine and its version comment,
// whether the audit log table exists, and whether the FE HTTP API answers.
func (c *catalog) detect(ctx context.Context) (capabilities, error) {
	be, err := c.cfg.Exec.Backend(ctx)
	if err != nil {
		return capabilities{}, err
	}
	caps := capabilities{Engine: be.Engine, Comment: be.VersionComment, FEHTTP: errFEHTTPUnset}
	if be.Engine != query.Doris {
		return caps, nil
	}
	// Asked again rather than taken from the connection pool's first
	// detection, which is never refreshed: an upgrade changes it.
	res, err := c.run(ctx, "", "SELECT @@version_comment", c.metaLimits(), nil)
	if err != nil {
		return capabilities{}, fmt.Errorf("detecting the Doris version: %w", err)
	}
	if rows := decodeRows(res); len(rows) == 1 && len(rows[0]) == 1 {
		if s, ok := rows[0][0].(string); ok {
			caps.Comment = s
		}
	}
	caps.Version = parseDorisVersion(caps.Comment)
	// Before 2.1 there is no __internal_schema at all, and the statement
	// fails; either way the table is absent.
	if res, err := c.run(ctx, "", "SHOW TABLES FROM `__internal_schema` LIKE 'audit_log'", c.metaLimits(), nil); err == nil {
		caps.Audit = res.RowCount > 0
	} else if ctx.Err() != nil {
		return capabilities{}, context.Cause(ctx)
	}
	if c.cfg.FEHTTP != nil {
		caps.FEHTTP = c.probeFEHTTP(ctx)
	}
	return caps, nil
}

// probeFEHTTP reports whether the FE HTTP API answers. An answer that
// refuses the account still proves the address right: the endpoints that
// need no privilege (/metrics) work, and the others say what is wrong.
func (c *catalog) probeFEHTTP(ctx context.Context) error {
	_, err := c.cfg.FEHTTP.FEVersion(ctx)
	var api *dorishttp.APIError
	if err == nil || errors.Is(err, dorishttp.ErrUnauthorized) || errors.As(err, &api) {
		return nil
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// need is what a tool needs of the backend beyond the MySQL protocol.
type need struct {
	// Major, Minor is the oldest Doris release that serves the tool.
	Major, Minor int
	// Why names what that release brought, for the error.
	Why string
	// FEHTTP: the tool reads the FE HTTP API (and through it the BEs).
	FEHTTP bool
	// Audit: the tool reads __internal_schema.audit_log.
	Audit bool
}

// require returns the backend's capabilities when it can serve tool, and
// otherwise an error that says what is missing and how to get it.
func (c *catalog) require(ctx context.Context, tool string, n need) (capabilities, error) {
	caps, err := c.capabilities(ctx)
	if err != nil {
		return caps, err
	}
	return caps, caps.check(tool, n)
}

// check is require's judgement, apart from the detection.
func (caps capabilities) check(tool string, n need) error {
	if caps.Engine != query.Doris {
		return fmt.Errorf("unavailable: %s needs Apache Doris (or a build based on it, such as SelectDB); this server is %s (version_comment %q). "+
			"exec_query, get_sql_explain, get_db_list, get_db_table_list and get_table_schema work on it", tool, caps.Engine, caps.Comment)
	}
	// A vendor numbering says nothing about the Doris base: let the tool
	// try rather than refuse a build that may well serve it.
	if (n.Major > 0 || n.Minor > 0) && caps.Version.known() && !caps.Version.atLeast(n.Major, n.Minor) {
		return fmt.Errorf("unavailable: %s needs Apache Doris ≥ %d.%d (%s); this server is Doris %s: upgrade the cluster to use it",
			tool, n.Major, n.Minor, n.Why, caps.Version)
	}
	if n.Audit && !caps.Audit {
		return fmt.Errorf("unavailable: %s needs Apache Doris ≥ 2.1 with the audit log enabled: SET GLOBAL enable_audit_plugin = true "+
			"(the table __internal_schema.audit_log is missing)", tool)
	}
	if n.FEHTTP {
		switch {
		case caps.FEHTTP == errFEHTTPUnset:
			return fmt.Errorf("unavailable: %s needs the FE HTTP port (the FE's http_port, 8030 by default), which this server was not given: "+
				"configure it with doris.WithFEHTTP(\"fe-host:8030\"), or DORIS_FE_HTTP_PORT for the doris-mcp command", tool)
		case caps.FEHTTP != nil:
			return fmt.Errorf("unavailable: %s needs the FE HTTP API, which did not answer: %v; check the FE HTTP address this server was given "+
				"(doris.WithFEHTTP or DORIS_FE_HTTP_PORT) and that the FE is up", tool, caps.FEHTTP)
		}
	}
	return nil
}

// requireCatalog refuses catalog_name on a backend without catalogs.
func (c *catalog) requireCatalog(ctx context.Context, tool, catalogName string) error {
	if catalogName == "" {
		return nil
	}
	caps, err := c.capabilities(ctx)
	if err != nil {
		return err
	}
	if caps.Engine != query.Doris {
		return fmt.Errorf("catalog_name needs Apache Doris, whose catalogs reach external data; this server is %s and has none: leave catalog_name out", caps.Engine)
	}
	// Looked up first so that a wrong name gets an answer that says so,
	// not whatever the parser makes of a SWITCH to it.
	res, err := c.run(ctx, "", "SHOW CATALOGS", c.metaLimits(), nil)
	if err != nil {
		return fmt.Errorf("looking up catalog_name: %w", err)
	}
	b := namedRows(res)
	var known []string
	for _, r := range b.rows {
		if name, ok := b.get(r, "CatalogName"); ok {
			if name == catalogName {
				return nil
			}
			known = append(known, name)
		}
	}
	return fmt.Errorf("catalog %q does not exist (or is not visible to this account); the catalogs are: %s", catalogName, names(known))
}

// feError turns a failure of the FE or BE HTTP API into a tool error that
// says where it happened and what to do. Messages from package dorishttp
// never carry the password.
func feError(what string, err error) error {
	switch {
	case errors.Is(err, dorishttp.ErrUnauthorized):
		return fmt.Errorf("%s: the Doris HTTP API refused the account (it needs the ADMIN privilege, or set the HTTP credentials): %w", what, err)
	case errors.Is(err, dorishttp.ErrTooLarge):
		return fmt.Errorf("%s: the Doris HTTP API sent more than this server reads in one answer: %w", what, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: the Doris HTTP API did not answer in time: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// names lists names for an error message.
func names(list []string) string {
	return strings.Join(list, ", ")
}
