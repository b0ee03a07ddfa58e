// Package dorissim is an in-process stand-in for the MySQL-protocol query
// port of an Apache Doris frontend. The project's tests talk to it through
// github.com/go-sql-driver/mysql, and the demo server uses it when no Doris
// is configured. It runs the go-mysql-server engine ("the engine" below)
// on a loopback port:
//
//	s, err := dorissim.Start(dorissim.Options{})
//	...
//	defer s.Close()
//	db, err := sql.Open("mysql", s.DSN(dorissim.SampleDB))
//
// User root with an empty password is accepted (any user name is).
//
// # Sample database
//
// Start loads database `sample` (SampleDB): tables customers, products,
// orders, order_items and events with table and column comments, primary
// keys and secondary indexes, about 21,000 generated rows, and the view
// customer_order_totals. SampleStatements returns the same content as SQL
// for loading into MariaDB (see cmd/sample-sql), so one integration suite
// can run against both backends; TestMariaDBEquivalence compares the two.
//
// The sample base tables are read-only in the simulator: INSERT, UPDATE,
// DELETE, ALTER and RENAME on them fail, while DROP works. Tables that
// clients create are ordinary in-memory tables and accept writes.
//
// # Sequence tables
//
// As with MariaDB's Sequence engine, every database resolves the names
// seq_<from>_to_<to> and seq_<from>_to_<to>_step_<step> to a virtual table
// with one column, seq BIGINT UNSIGNED (the primary key). The values run
// from <from> to <to>; when <from> is larger, the ascending progression that
// starts at <to> is returned in reverse (seq_10_to_2_step_3 is 8, 5, 2). A
// step of 0 is an error. Rows are generated lazily and the iterators check
// for cancellation every 1024 rows. The tables are not listed by SHOW
// TABLES or information_schema. Here
// SELECT COUNT(*) FROM seq_1_to_20000 a, seq_1_to_20000 b runs for about a
// minute and SELECT * FROM seq_1_to_1000000 streams in about half a second.
//
// # Observed behaviour of the engine (go-mysql-server v0.20.0)
//
// Identity: @@version_comment is 'Dolt', VERSION() is '8.0.31', the
// handshake announces 8.0.33, and CONNECTION_ID() counts from 1 on each
// server.
//
// KILL QUERY <id> stops the query of connection <id> within a millisecond;
// the simulator reports it to the client as error 1317 (SQLSTATE 70100)
// "Query execution was interrupted", as MySQL and MariaDB do (the engine
// alone sends 1105 "context canceled"). The connection stays usable.
// KILL <id> also closes the connection.
//
// When go-sql-driver/mysql cancels a query through its context, it closes
// the socket. The engine then stops a query that streams rows at its next
// socket check, which comes every 5 s (about 5 s after the close, Linux
// only). A query that returns a single row, such as a COUNT(*), is not
// checked and runs until it ends or is killed. KILL QUERY works in both
// cases.
//
// Statement limits:
//   - SET SESSION sql_select_limit = N: accepted and honoured (a SELECT
//     without LIMIT returns at most N rows; an explicit LIMIT wins).
//   - SET SESSION max_execution_time = N: accepted and readable, not
//     enforced.
//   - SET SESSION max_statement_time = N (MariaDB): error 1105, unknown
//     system variable.
//   - SET STATEMENT max_statement_time=N FOR SELECT ... (MariaDB): syntax
//     error.
//   - SELECT /*+ MAX_EXECUTION_TIME(N) */ ...: accepted, not enforced.
//   - SELECT /*+ SET_VAR(sql_select_limit=N) */ ...: accepted, not honoured.
//
// Differences from MariaDB seen with the sample data:
//   - SUM and AVG return DOUBLE, also over DECIMAL columns, so large sums
//     print in exponent form (1.36875695e+07 where MariaDB prints
//     13687569.50); CAST(SUM(x) AS DECIMAL(14,2)) reads the same on both.
//   - information_schema sorts '_' after letters ("customers" before
//     "customer_order_totals").
//   - COLUMN_KEY (and the Key of SHOW COLUMNS) is MUL for every column of a
//     composite index, not just the first.
//   - SHOW FULL COLUMNS: Type carries "COLLATE utf8mb4_bin" while Collation
//     says utf8mb4_0900_bin; Default is the string 'NULL' for a nullable
//     column where MariaDB sends SQL NULL; integer types have no display
//     width (int, not int(11)).
//   - A JSON column is type json (MariaDB: longtext); its values are
//     printed normalised, and the sample literals are written in that form.
//   - SHOW PROCESSLIST has eight columns (no Progress), Host has no port,
//     and State of a running query is a multi-line progress tree.
//
// # Process-wide state
//
// The engine logs through the logrus standard logger. While at least one
// simulator runs, that logger's output is io.Discard and its hooks are
// removed; the last Close restores both. The engine's per-session logging
// goes to Options.Logger instead.
//
// System and status variables are process-wide in the engine: SET GLOBAL on
// one server is seen by every server in the process, and status counters
// such as Threads_connected are shared. Everything else (databases,
// sessions, process list, connection ids) belongs to one server.
//
// The converted sample rows are built once per process and shared,
// read-only, by all servers: the first Start in a process takes about
// 0.1 s, later ones a few milliseconds.
//
// The engine starts no background goroutines that outlive a server: after
// Close, goleak finds none.
package dorissim
