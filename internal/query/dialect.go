package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dorismcp/doris/internal/sqlguard"
)

// Engine is the kind of server behind the connection, detected once.
type Engine int

const (
	// Generic is any other MySQL-protocol server: limits are set as session
	// variables where it honours them, and time is bounded by the client.
	Generic Engine = iota
	Doris
	MariaDB
	MySQL
)

func (e Engine) String() string {
	switch e {
	case Doris:
		return "doris"
	case MariaDB:
		return "mariadb"
	case MySQL:
		return "mysql"
	}
	return "generic"
}

// Backend describes the server: its engine and version strings.
type Backend struct {
	Engine         Engine
	Version        string // @@version
	VersionComment string // @@version_comment
}

// Detect asks the server what it is. Doris answers VERSION() like MySQL
// 5.7, so @@version_comment is what tells them apart. It refuses a session
// whose sql_mode changes how quotes and backslashes are read: the
// read-only guard reads SQL as the default mode does, and under another
// mode a statement it checked could mean something else.
func Detect(ctx context.Context, conn *sql.Conn) (Backend, error) {
	var b Backend
	var comment, mode sql.NullString
	err := conn.QueryRowContext(ctx, "SELECT @@version, @@version_comment, @@sql_mode").Scan(&b.Version, &comment, &mode)
	if err != nil {
		return b, fmt.Errorf("detecting the server: %w", err)
	}
	if err := checkSQLMode(mode.String); err != nil {
		return b, err
	}
	b.VersionComment = comment.String
	b.Engine = classify(b.Version, b.VersionComment)
	return b, nil
}

// checkSQLMode refuses the modes under which the guard would misread text.
func checkSQLMode(mode string) error {
	for _, m := range strings.Split(strings.ToUpper(mode), ",") {
		switch strings.TrimSpace(m) {
		case "ANSI_QUOTES", "ANSI", "NO_BACKSLASH_ESCAPES":
			return fmt.Errorf("unavailable: the connection's sql_mode includes %s, which changes how the read-only guard must read quotes; "+
				"remove it from the server's or the DSN's sql_mode", strings.TrimSpace(m))
		}
	}
	return nil
}

func classify(version, comment string) Engine {
	v, c := strings.ToLower(version), strings.ToLower(comment)
	switch {
	case strings.Contains(c, "doris") || strings.Contains(c, "selectdb"):
		return Doris
	case strings.Contains(v, "mariadb") || strings.Contains(c, "mariadb"):
		return MariaDB
	case strings.Contains(c, "mysql"):
		return MySQL
	}
	return Generic
}

// Session is the connection state a statement needs: its database and
// session variables to set before it, with the statement that undoes them.
// An empty Reset with a non-empty Set means the connection cannot be put
// back and must be discarded after use.
type Session struct {
	DB    string
	Set   string
	Reset string
}

// bounded is a statement rewritten to carry its limits into the engine.
type bounded struct {
	sql     string
	session Session
	// rowCap is true when the engine returns at most MaxRows+1 rows, so a
	// truncated result needs no cancellation.
	rowCap bool
	// timeCap is true when the engine stops the statement at the time limit.
	timeCap bool
}

// bound rewrites st so the engine itself enforces lim: at most
// lim.MaxRows+1 rows of a query (one more than asked, to tell that the
// result was truncated) and lim.Timeout of execution. What a server cannot
// enforce is left to the stream and to the client-side deadline.
func (e Engine) bound(st *sqlguard.Statement, lim Limits, db string) bounded {
	b := bounded{sql: st.SQL, session: Session{DB: db}}
	if st.Kind != sqlguard.Select {
		return b
	}
	rows := strconv.Itoa(lim.MaxRows + 1)
	// A session-wide row cap, undone before the connection is reused.
	sessionCap := Session{DB: db, Set: "SET SESSION sql_select_limit=" + rows, Reset: "SET SESSION sql_select_limit=DEFAULT"}
	hint := func(h string) bool {
		if st.SelectOffset < 0 || st.HasHint {
			return false
		}
		at := st.SelectOffset + len("SELECT")
		b.sql = st.SQL[:at] + " /*+ " + h + " */" + st.SQL[at:]
		return true
	}
	switch e {
	case Doris:
		secs := strconv.Itoa(max(1, int(math.Ceil(lim.Timeout.Seconds()))))
		vars := "query_timeout=" + secs + ", sql_select_limit=" + rows
		if !hint("SET_VAR(" + vars + ")") {
			// A WITH query, or one with its own hint: session variables,
			// and a fresh connection afterwards.
			b.session.Set = "SET " + vars
		}
		b.rowCap, b.timeCap = true, true
	case MariaDB:
		// Statement-scoped: nothing outlives the statement.
		b.sql = fmt.Sprintf("SET STATEMENT max_statement_time=%s, sql_select_limit=%s FOR %s",
			strconv.FormatFloat(lim.Timeout.Seconds(), 'f', 3, 64), rows, st.SQL)
		b.rowCap, b.timeCap = true, true
	case MySQL:
		ms := strconv.FormatInt(lim.Timeout.Milliseconds(), 10)
		if hint("MAX_EXECUTION_TIME(" + ms + ") SET_VAR(sql_select_limit=" + rows + ")") {
			b.timeCap = true
		} else {
			b.session = sessionCap
		}
		b.rowCap = true
	default:
		b.session = sessionCap
		b.rowCap = true
	}
	return b
}

// limitVars are the session variables that bound a statement. A caller's
// optimizer hint setting one of them would override the limits the runtime
// sets (a SET_VAR hint beats a session variable).
var limitVars = regexp.MustCompile(`(?i)\b(query_timeout|sql_select_limit|max_execution_time|max_statement_time|exec_mem_limit|insert_timeout|max_scan_key_num|parallel_fragment_exec_instance_num)\b`)

// checkHints refuses a statement whose own hints touch the limits.
func checkHints(st *sqlguard.Statement) error {
	if st.HasHint && limitVars.MatchString(st.SQL) {
		return fmt.Errorf("optimizer hints may not set %s: the server sets the limits", limitVars.FindString(st.SQL))
	}
	return nil
}

// engineTimeout reports whether err is the engine stopping a statement at
// its time limit.
func engineTimeout(e Engine, err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch e {
	case MariaDB:
		return me.Number == 1969 // max_statement_time exceeded
	case MySQL:
		return me.Number == 3024 // maximum statement execution time exceeded
	case Doris:
		return me.Number == 1105 && strings.Contains(strings.ToLower(me.Message), "timeout")
	}
	return false
}

// clientGrace is how much longer than the engine's own limit the client
// waits before it cancels and kills, so that a server which enforces the
// limit is the one to stop the statement.
const clientGrace = 500 * time.Millisecond
