// Package sqlguard decides whether a SQL statement sent by a remote caller may
// run against Apache Doris (or MySQL) on behalf of that caller.
//
// Every statement an MCP client submits passes [Check] before it reaches the
// database. Check accepts exactly one SELECT, WITH ... SELECT, VALUES, TABLE,
// SHOW, DESCRIBE or EXPLAIN statement. It rejects anything that writes data,
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
// # Where the servers disagree
//
// MySQL and Apache Doris do not always split the same text into the same
// tokens. Doris reads '--x' as a comment and MySQL reads it as two minus
// signs. Doris nests /* */ comments, has raw strings R'...', continues a '--'
// comment after a trailing backslash, ends line comments at a bare carriage
// return and has no '#' comments. It also lexes the inside of an optimizer
// hint as tokens, and its older parser (Doris 2.0, and the fallback of 2.1)
// reads "/* +" as a hint too. Check does not guess which server is on the
// other end. Where such a difference could move the end of a string or
// comment, it rejects the construct with a message that says how to rewrite
// it. Then no reading of an accepted statement can reveal code that the
// guard did not inspect.
//
// # Functions
//
// A function call is judged by its name, bare or backtick-quoted, since
// both servers resolve `f`(x) to the built-in f. The names refused were
// chosen by going through the function lists of MariaDB 10.11, MySQL 8 and
// Apache Doris 2.1 to 4.0 for everything that waits, locks, advances a
// sequence, sets connection state (LAST_INSERT_ID(x)), reads server files or
// administers the server; a test asks a live MariaDB for every function it
// knows and fails on any that is neither refused nor on the list of
// functions judged safe. A call qualified with a database name, db.f(x) or
// sys.format_bytes(x), is refused: built-in functions cannot be qualified,
// so it runs a stored or loadable function whose body Check cannot read.
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
// statement; Check reports the variables of SET_VAR hints in
// [Statement.SetVars] and leaves it to the runtime, which sets the limits,
// to accept only planner variables.
//
// Check is one layer of defence. An unqualified call can still reach a
// stored function of the current database, and Check cannot see inside it.
// The account that runs agent queries should still hold read-only
// privileges, and the driver should keep multi-statement support switched
// off.
package sqlguard
