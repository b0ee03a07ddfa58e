// Package sqlguard decides whether a SQL statement sent by a remote caller may
// run against Apache Doris (or MySQL) on behalf of that caller.
//
// Every statement an MCP client submits passes [Check] before it reaches the
// database. Check accepts exactly one SELECT, WITH ... SELECT, SHOW, DESCRIBE
// or EXPLAIN statement. It rejects anything that writes data, changes the
// schema, privileges, session or server state, takes locks, stalls a
// connection on purpose, reads files through the server, or hides a second
// statement behind the first.
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
// # Where the servers disagree
//
// MySQL and Apache Doris do not always split the same text into the same
// tokens. Doris reads '--x' as a comment and MySQL reads it as two minus
// signs. Doris nests /* */ comments, has raw strings R'...', continues a '--'
// comment after a trailing backslash, ends line comments at a bare carriage
// return and has no '#' comments. It also lexes the inside of an optimizer
// hint as tokens. Check does not guess which server is on the other end.
// Where such a difference could move the end of a string or comment, it
// rejects the construct with a message that says how to rewrite it. Then no
// reading of an accepted statement can reveal code that the guard did not
// inspect.
//
// # Assumptions
//
// The connection character set is utf8 or utf8mb4, and the session sql_mode
// has neither NO_BACKSLASH_ESCAPES nor ANSI_QUOTES. These are the defaults of
// both servers, and Check's view of where a string literal ends depends on
// them. Check is one layer of defence. It cannot see inside stored
// functions or user-defined functions, which may write when a query calls
// them. The account that runs agent queries should still hold read-only
// privileges, and the driver should keep multi-statement support switched
// off.
package sqlguard
