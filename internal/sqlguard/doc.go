// Package sqlguard decides whether a SQL statement sent by a remote caller may
// run against Apache Doris (or MySQL) on behalf of that caller.
//
// Every statement an MCP client submits passes [Check] before it reaches the
// database, and what reaches the database is the text Check returns, not
// the caller's. Check accepts exactly one SELECT, WITH ... SELECT, VALUES,
// TABLE, SHOW, DESCRIBE or EXPLAIN statement. It rejects anything that writes data,
// changes the schema, privileges, session or server state, takes locks,
// stalls a connection on purpose, reads files through the server, makes the
// server fetch a URL, or hides a second statement behind the first. Calls
// that send data to an outside service, such as the Apache Doris AI
// functions, are refused unless the caller allows them with [CheckWith].
//
// # Why a lexer
//
// The dangerous parts of SQL hide where a regular expression cannot see them.
// A ';' inside a string literal is data, but the same ';' after a comment ends
// separates statements. MySQL executes the text of a /*! ... */ comment. A
// column named `delete` in backticks is harmless, while a bare DELETE is a
// statement, and update_time is just an identifier. So Check tokenises the
// text the way the server does: both quote styles with backslash and
// doubled-quote escapes, backtick identifiers, and all three comment styles.
// Its rules look only at tokens and never at raw text.
//
// # One reading
//
// MySQL, MariaDB and Apache Doris do not always split the same text into
// the same tokens: MySQL and MariaDB read \N as NULL and "@a." as one user
// variable, Doris reads '--x' as a comment and nests /* */ comments, and
// each release may find another difference. A guard that must mirror
// every server's lexer byte for byte keeps losing that race. So the text
// the server receives is not the caller's: [Statement.SQL] is written anew
// from the tokens Check accepted, in a canonical form that every
// supported server splits into exactly those tokens (see canon.go).
// Comments are dropped; tokens are separated by spaces except where a
// space would change the meaning and the servers agree (f(x), a.b, <=,
// @@v); strings are single-quoted with only the backslash, the quote and
// NUL escaped; a name after '.' is backtick-quoted so that no server can
// read it as a keyword; an optimizer hint after SELECT is written again
// from its parsed content. A token Check cannot classify exactly as every
// server does is refused with a message that says how to write it: '\'
// outside a string, user variables, hex literals with other than hex
// digits, character set introducers whose multi-byte characters may
// contain a backslash.
//
// Where the caller's text would mean something else to Doris than to this
// reading ('--x', nested comments, R'...' with a backslash), Check still
// refuses it, so that a statement written for Doris does not silently
// change its meaning.
//
// # Functions
//
// A function call is accepted by allowlist. Check refuses the built-ins
// that wait, lock, advance sequences, read server files, read what the
// previous statement on the connection left (FOUND_ROWS, ROW_COUNT,
// LAST_INSERT_ID, LAST_QUERY_ID) or call outside services, with a reason,
// whatever the engine. Which other names are built-ins depends on the
// engine, so the runtime then checks every call with
// [Statement.CheckCalls] against the engine's [Functions]: for MariaDB and
// MySQL the functions of the server's own list judged free of side effects
// (funcs/mariadb.txt), for Apache Doris those of the function registries
// of its frontend source (funcs/doris.tsv), plus what the deployment
// allows by name. A stored function or UDF reached by an unqualified name
// is therefore refused, and so is a call qualified with a database name.
// Expressions the engines cannot interrupt once they run are bounded:
// REPEAT, SPACE, LPAD and RPAD take a literal length of at most 10,000 and
// may not feed one another or REPLACE, INSERT or REGEXP_* functions.
//
// # Other sessions
//
// Unless [Options.Own] marks the library's own statement, Check refuses
// reads of what other sessions run (the process list, current queries,
// the audit log, statement history) and of what this connection's
// previous statements left (warnings, errors, session status, user
// variables): a pooled connection serves many callers one after another.
//
// # Assumptions
//
// Check reads a statement the way the server does only when the connection
// character set is UTF-8 and the session sql_mode has neither
// NO_BACKSLASH_ESCAPES nor ANSI_QUOTES. These are the defaults of both
// servers, and they are enforced, not hoped for: the query runtime reads
// the session's sql_mode and character sets before its first statement and
// refuses to run on any other (see [SafeCharset] for what goes wrong under
// gbk or latin1). Optimizer hints may set session variables for one
// statement; Check reports them, with their values, in
// [Statement.SetVars] and leaves it to the runtime, which sets the limits,
// to accept only planner variables and values within the call's limits.
//
// Check is one layer of defence. The account that runs agent queries
// should still hold read-only privileges, and the driver should keep
// multi-statement support switched off.
package sqlguard
