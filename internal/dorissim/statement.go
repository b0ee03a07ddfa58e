package dorissim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dorismcp/doris/internal/sqlguard"
)

// connState is what the simulator knows of one client connection beyond
// the engine's session: what Doris shows in SHOW PROCESSLIST and needs for
// KILL QUERY "<query_id>", profiles and the audit log.
type connState struct {
	id      uint32
	user    string
	remote  string // ip:port
	login   time.Time
	catalog string

	queryID  string // of the running or the last statement
	running  bool
	state    string          // OK, EOF or ERR: how the last statement ended
	killedBy string          // ip:port of the connection whose KILL stopped the running statement
	trace    string          // the session's trace id at its last statement
	traces   map[string]bool // the trace ids its statements ran under
}

// hintRE finds an optimizer hint comment right after SELECT; Doris reads
// SET_VAR only there.
var hintRE = regexp.MustCompile(`(?is)\bSELECT(\s*/\*\+(.*?)\*/)`)

// setVarRE finds the start of a SET_VAR( inside a hint.
var setVarRE = regexp.MustCompile(`(?i)\bSET_VAR\s*\(`)

// stripHints removes the first hint comment after SELECT and returns the
// variables its SET_VAR items set (lower-case names, values unquoted).
// Other hints are dropped: the engine would ignore them anyway. SET_VAR is
// read as Doris's grammar has it (fidelity ledger: set-var-grammar):
// key = value assignments, the comma between them optional, each value
// one constant or identifier; anything else is a syntax error.
func stripHints(query string) (string, map[string]string, error) {
	m := hintRE.FindStringSubmatchIndex(query)
	if m == nil {
		return query, nil, nil
	}
	body := query[m[4]:m[5]]
	vars := map[string]string{}
	for _, loc := range setVarRE.FindAllStringIndex(body, -1) {
		if err := setVarArgs(body[loc[1]:], vars); err != nil {
			return "", nil, err
		}
	}
	return query[:m[2]] + " " + query[m[3]:], vars, nil
}

// setVarArgs reads the assignments of one SET_VAR, s starting after its
// opening parenthesis, into vars.
func setVarArgs(s string, vars map[string]string) error {
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	word := func() string {
		start := i
		for i < len(s) && (isWordByte(s[i])) {
			i++
		}
		return s[start:i]
	}
	bad := func() error {
		return dorisError("Syntax error in line 1:\nno viable alternative at input 'SET_VAR(%s'", s[:i])
	}
	for first := true; ; first = false {
		skip()
		if i < len(s) && s[i] == ')' {
			if first {
				return bad()
			}
			return nil
		}
		if !first && i < len(s) && s[i] == ',' {
			i++
			skip()
		}
		k := word()
		skip()
		if k == "" || i >= len(s) || s[i] != '=' {
			return bad()
		}
		i++
		skip()
		var v string
		if i < len(s) && (s[i] == '\'' || s[i] == '"') {
			q := s[i]
			end := strings.IndexByte(s[i+1:], q)
			if end < 0 {
				return bad()
			}
			v, i = s[i+1:i+1+end], i+2+end
		} else if v = word(); v == "" {
			return bad()
		}
		vars[strings.ToLower(k)] = v
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == '+' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// hintValue converts a SET_VAR value to what the engine's variable types
// accept: integers as int64, everything else as text.
func hintValue(v string) any {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	return v
}

// dorisError is the form most Doris FE errors take on the wire: MySQL error
// 1105 with the message prefixed by errCode = 2.
func dorisError(format string, args ...any) error {
	return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "%s", "errCode = 2, detailMessage = "+fmt.Sprintf(format, args...))
}

var (
	syntaxErrRE     = regexp.MustCompile(`^syntax error at position (\d+)(?: near '(.*)')?`)
	tableNotFoundRE = regexp.MustCompile(`^table not found: (.+)$`)
	dbNotFoundRE    = regexp.MustCompile(`^database not found: (.+)$`)
)

// asDoris rewrites the engine's errors for missing tables and databases
// and for bad syntax into the texts Doris sends (see doris-reference).
func (s *Server) asDoris(err error, query, db string) error {
	var se *mysql.SQLError
	if !errors.As(err, &se) {
		return err
	}
	msg := se.Message
	switch {
	case tableNotFoundRE.MatchString(msg):
		t := tableNotFoundRE.FindStringSubmatch(msg)[1]
		if q := regexp.MustCompile("(?i)`?([A-Za-z0-9_]+)`?\\s*\\.\\s*`?" + regexp.QuoteMeta(t) + "`?\\b").FindStringSubmatch(query); q != nil {
			db = q[1]
		}
		return dorisError("Table [%s] does not exist in database [%s].", t, db)
	case dbNotFoundRE.MatchString(msg):
		d := dbNotFoundRE.FindStringSubmatch(msg)[1]
		if _, ok := cutWord(strings.TrimSpace(query), "USE"); ok {
			return mysql.NewSQLError(mysql.ERBadDb, "42000", "%s", "errCode = 2, detailMessage = Unknown database '"+d+"'")
		}
		return dorisError("Database [%s] does not exist.", d)
	case syntaxErrRE.MatchString(msg):
		m := syntaxErrRE.FindStringSubmatch(msg)
		pos, _ := strconv.Atoi(m[1])
		near := m[2]
		start := max(0, min(pos-len(near)-1, len(query)))
		if !s.rel.atLeast(Version21) {
			// The legacy parser quotes the line and points at the token.
			line := strings.ReplaceAll(query, "\n", " ")
			return dorisError("Syntax error in line 1:\n%s\n%s^\nEncountered: IDENTIFIER\nExpected: ALTER, SELECT, SET, SHOW, USE, WITH", line, strings.Repeat(" ", start))
		}
		tok := near
		if tok == "" {
			tok = "<EOF>"
		}
		return dorisError("\nmismatched input '%s' expecting {<EOF>, ';'}(line 1, pos %d)", tok, start)
	}
	return err
}

// timeoutError is how each release line reports a statement stopped by
// query_timeout.
func (s *Server) timeoutError(queryID string) error {
	if s.rel.atLeast(Version21) {
		return dorisError("Timeout")
	}
	return dorisError("query timeout, query id = %s", queryID)
}

// newQueryID returns an id in Doris's form: two 16-digit hex halves.
func newQueryID() string {
	return fmt.Sprintf("%016x-%016x", rand.Uint64(), rand.Uint64())
}

// sessionInt reads an integer session variable, def if it is unset or not
// a number.
func sessionInt(ctx *sql.Context, sess sql.Session, name string, def int64) int64 {
	v, err := sess.GetSessionVariable(ctx, name)
	if err != nil {
		return def
	}
	switch n := v.(type) {
	case int64:
		return n
	case int8:
		return int64(n)
	case int32:
		return int64(n)
	case int:
		return int64(n)
	case uint64:
		return int64(n)
	}
	return def
}

func sessionString(ctx *sql.Context, sess sql.Session, name string) string {
	v, err := sess.GetSessionVariable(ctx, name)
	if err != nil {
		return ""
	}
	return fmt.Sprint(v)
}

// traceID extracts the id of session_context = 'trace_id:<id>'.
func traceID(sessionContext string) string {
	id, ok := strings.CutPrefix(strings.TrimSpace(sessionContext), "trace_id:")
	if !ok {
		return ""
	}
	return strings.TrimSpace(id)
}

// dorisConnID is the connection id Doris would show for the engine's
// connection id: each FE counts from 0 (fidelity ledger:
// connection-id-numbering), the engine from 1.
func dorisConnID(engineID uint32) string { return strconv.FormatUint(uint64(engineID)-1, 10) }

// killByNumber turns KILL [QUERY|CONNECTION] <id>, an id as Doris shows it,
// into the engine's statement for the same connection. The id is looked
// up on this FE only (fidelity ledger: kill-query-connection-id); an
// unknown one is error 1094. Other statements are returned unchanged.
func (s *Server) killByNumber(by *connState, query string) (string, error) {
	m := killNumRE.FindStringSubmatch(normalise(query))
	if m == nil {
		return query, nil
	}
	id, err := strconv.ParseUint(m[2], 10, 32)
	if err != nil || id+1 > 1<<32-1 {
		return "", mysql.NewSQLError(1094, mysql.SSUnknownSQLState, "Unknown thread id: %s", m[2])
	}
	eng := uint32(id + 1)
	s.mu.Lock()
	t := s.conns[eng]
	if t != nil && t.running {
		t.killedBy = by.remote // for the victim's error
	}
	s.mu.Unlock()
	if t == nil {
		return "", mysql.NewSQLError(1094, mysql.SSUnknownSQLState, "Unknown thread id: %d", id)
	}
	return "KILL " + m[1] + strconv.FormatUint(uint64(eng), 10), nil
}

// execFn runs one statement through the engine's handler.
type execFn func(ctx context.Context, query string, cb mysql.ResultSpoolFn) error

// run executes one COM_QUERY statement as Doris would: Doris-only
// statements are answered here, SET_VAR hints are applied for the
// statement, query_timeout is enforced, and errors take Doris's form.
func (s *Server) run(ctx context.Context, c *mysql.Conn, query string, cb mysql.ResultSpoolFn, exec execFn) error {
	st := s.conn(c)
	query, hints, err := stripHints(query)
	if err != nil {
		return err
	}
	if query, err = s.killByNumber(st, query); err != nil {
		return err
	}
	if res, err, ok := s.dorisStatement(c, st, query); ok {
		if err != nil {
			return err
		}
		return cb(res, false)
	}
	query = s.rewrite(query)
	explained, isExplain := dorisExplain(query)
	if isExplain {
		query, cb = explainTree(explained, false), explainColumn(cb)
	}

	sess := s.session(c.ConnectionID)
	if sess == nil {
		return interrupted(exec(ctx, query, cb))
	}
	sctx := sql.NewContext(ctx, sql.WithSession(sess))
	for k, v := range hints {
		// An unknown variable or a value it refuses fails the statement
		// (fidelity ledger: set-var-unknown-variable).
		old, err := sess.GetSessionVariable(sctx, k)
		if err == nil {
			err = sess.SetSessionVariable(sctx, k, hintValue(v))
		}
		if err != nil {
			return dorisError("Can not set session variable '%s' = '%s'", k, v)
		}
		defer sess.SetSessionVariable(sctx, k, old)
	}
	timeout := time.Duration(sessionInt(sctx, sess, "query_timeout", 900)) * time.Second
	profile := sessionInt(sctx, sess, "enable_profile", 0) != 0
	trace := traceID(sessionString(sctx, sess, "session_context"))
	db := sess.GetCurrentDatabase()

	qid := newQueryID()
	s.mu.Lock()
	st.queryID, st.running, st.killedBy, st.trace = qid, true, "", trace
	if trace != "" {
		if st.traces == nil {
			st.traces = make(map[string]bool)
		}
		st.traces[trace] = true
	}
	s.mu.Unlock()
	if trace != "" {
		// Every statement's query id is filed under the session's trace
		// id as it starts (fidelity ledger: session-context-trace-id).
		s.profiles.mapTrace(trace, qid)
	}

	var returned int
	counting := func(res *sqltypes.Result, more bool) error {
		returned += len(res.Rows)
		return cb(res, more)
	}
	begin := time.Now()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	err = exec(tctx, query, counting)
	if isExplain && err != nil && strings.Contains(err.Error(), "max1Row iterator") {
		// Nothing was sent: the one-row path fails before its callback.
		query = explainTree(explained, true)
		err = exec(tctx, query, counting)
	}
	timedOut := err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	end := time.Now()
	s.stats.record(end.Sub(begin), err != nil)

	s.mu.Lock()
	killedBy := st.killedBy
	st.running = false
	switch {
	case err != nil:
		st.state = "ERR"
	case returned > 0 || isQuery(query):
		st.state = "EOF"
	default:
		st.state = "OK"
	}
	state := st.state
	s.mu.Unlock()

	switch {
	case timedOut:
		err = s.timeoutError(qid)
	case err != nil && killedBy != "" && interrupted(err) != err:
		err = dorisError("cancel query by user from %s", killedBy)
	case err != nil:
		err = s.asDoris(interrupted(err), query, db)
	}
	if profile {
		s.profiles.add(queryProfile{
			id: qid, trace: trace, user: st.user, db: db, sql: query,
			start: begin, end: end, state: state, rows: returned, err: err,
		})
	}
	return err
}

// isQuery reports whether a statement returns rows in Doris's sense
// (its audit state is EOF rather than OK).
func isQuery(q string) bool {
	q = strings.TrimLeft(q, " \t\r\n(")
	for _, w := range []string{"SELECT", "WITH", "SHOW", "EXPLAIN", "DESC"} {
		if _, ok := cutWord(q+" ", w); ok {
			return true
		}
	}
	return false
}

// internalNameRE finds three-part names in the internal catalog,
// internal.db.table (each part optionally back-quoted), and two-part
// internal.db in USE.
var internalNameRE = regexp.MustCompile("(?i)(^|[\\s(,=])`?internal`?\\s*\\.\\s*(`?[A-Za-z0-9_]+`?\\s*\\.\\s*`?[A-Za-z0-9_$]+`?)")

// rewrite turns the Doris naming the engine does not know into its own:
// internal.db.table becomes db.table. String literals are not parsed, so a
// literal that contains such a name is rewritten too.
func (s *Server) rewrite(query string) string {
	lower := strings.ToLower(query)
	if strings.Contains(lower, "ndv") || strings.Contains(lower, "approx_count_distinct") {
		query = rewriteDistinctEstimates(query)
	}
	if !strings.Contains(lower, "internal") {
		return query
	}
	for _, r := range internalRewrites {
		query = r.re.ReplaceAllString(query, r.with)
	}
	return internalNameRE.ReplaceAllString(query, "$1$2")
}

// rewriteDistinctEstimates turns Doris's distinct-count estimates, NDV(x)
// and APPROX_COUNT_DISTINCT(x) (HyperLogLog in Doris), which the engine
// lacks, into COUNT(DISTINCT x), an estimate with no error. Only function
// calls are rewritten, never text in strings or a column of that name.
func rewriteDistinctEstimates(query string) string {
	toks, err := sqlguard.Tokenize(query)
	if err != nil {
		return query
	}
	var b strings.Builder
	last := 0
	for i, t := range toks {
		if t.Kind != sqlguard.Word || i+1 == len(toks) || toks[i+1].Text != "(" ||
			(i > 0 && toks[i-1].Text == ".") ||
			!(strings.EqualFold(t.Text, "ndv") || strings.EqualFold(t.Text, "approx_count_distinct")) {
			continue
		}
		b.WriteString(query[last:t.Pos])
		b.WriteString("COUNT(DISTINCT ")
		last = toks[i+1].Pos + 1
	}
	b.WriteString(query[last:])
	return b.String()
}

// internalRewrites drop the internal catalog from USE internal.db, SHOW
// DATABASES FROM internal and SHOW TABLES FROM internal.db.
var internalRewrites = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile("(?is)^(\\s*USE\\s+)`?internal`?\\s*\\.\\s*"), "$1"},
	{regexp.MustCompile("(?is)^(\\s*SHOW\\s+DATABASES)\\s+FROM\\s+`?internal`?\\s*;?\\s*$"), "$1"},
	{regexp.MustCompile("(?is)^(\\s*SHOW\\s+(?:FULL\\s+)?TABLES\\s+(?:FROM|IN)\\s+)`?internal`?\\s*\\.\\s*"), "$1"},
}

func (s *Server) addSession(c *mysql.Conn, user string, sess sql.Session) {
	remote := ""
	if a := c.RemoteAddr(); a != nil {
		remote = a.String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[c.ConnectionID] = sess
	if st := s.conns[c.ConnectionID]; st != nil {
		// A statement got here first (see conn): keep its state, which
		// it holds a pointer to.
		st.user, st.remote = user, remote
		return
	}
	s.conns[c.ConnectionID] = &connState{
		id: c.ConnectionID, user: user, remote: remote, login: time.Now(),
		catalog: internalCatalog, state: "OK",
	}
}

func (s *Server) removeConn(id uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.conns[id]; st != nil && s.pruneTraces {
		for t := range st.traces {
			s.profiles.dropTrace(t)
		}
	}
	delete(s.sessions, id)
	delete(s.conns, id)
}

func (s *Server) session(id uint32) sql.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// conn returns the state of c, creating it for a connection whose session
// the engine has not built yet.
func (s *Server) conn(c *mysql.Conn) *connState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.conns[c.ConnectionID]
	if st == nil {
		st = &connState{id: c.ConnectionID, user: c.User, login: time.Now(), catalog: internalCatalog, state: "OK"}
		if a := c.RemoteAddr(); a != nil {
			st.remote = a.String()
		}
		s.conns[c.ConnectionID] = st
	}
	return st
}
