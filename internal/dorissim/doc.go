// Package dorissim is an in-process stand-in for an Apache Doris cluster:
// one FE (its MySQL-protocol query port and its HTTP port) and a few BEs
// (their HTTP ports), all on loopback. The project's tests talk to it
// through github.com/go-sql-driver/mysql and net/http, and the demo server
// uses it when no Doris is configured. Queries run on the go-mysql-server
// engine ("the engine" below); what Doris answers differently is answered
// by the simulator in front of it.
//
//	s, err := dorissim.Start(dorissim.Options{Version: dorissim.Version21})
//	...
//	defer s.Close()
//	db, err := sql.Open("mysql", s.DSN(dorissim.SampleDB))
//	resp, err := http.Get("http://" + s.FEHTTPAddr() + "/metrics")
//
// The MySQL port accepts any user name with any password. The HTTP APIs
// check Basic auth against Options.Users; root with an empty password is
// accepted unless Users gives root a password.
//
// # Doris releases
//
// Options.Version picks the release line: "2.0" (2.0.12), "2.1" (2.1.7,
// the default) or "3.0" (3.0.4). Everything that differs between them in
// the reference the project keeps follows the choice:
//
//   - @@version_comment is the release's own string, e.g. "Doris version
//     doris-2.1.7-rc03-443e87e203"; VERSION(), @@version and the handshake
//     say 5.7.99, as every Doris does.
//   - SHOW FRONTENDS (17 columns in 2.0, 19 later), SHOW BACKENDS (24 in
//     2.0 with its TrashUsedCapcacity misspelling, 25 in 2.1, CpuCores and
//     Memory added in 3.0), SHOW CATALOGS (4 columns in 2.0, 7 later),
//     SHOW DATA (RemoteSize from 2.1), SHOW PARTITIONS (SyncWithBaseTables
//     and UnsyncTables from 2.1), SHOW PROC '/current_queries' (the 2.0 or
//     the 2.1 column set) and SHOW [FULL] PROCESSLIST (12 columns, FE and
//     CloudCluster added in 3.0).
//   - Syntax errors: the legacy parser's "Syntax error in line 1" in 2.0,
//     Nereids' "mismatched input ... (line 1, pos N)" later. A statement
//     stopped by query_timeout fails with "query timeout, query id = ..."
//     in 2.0 and "Timeout" later.
//   - __internal_schema.audit_log exists from 2.1, with the 2.1.7 or the
//     3.0 column set.
//
// Errors take Doris's form: MySQL error 1105 with "errCode = 2,
// detailMessage = ...", e.g. "Table [t] does not exist in database [db]."
// and "Database [db] does not exist."; USE of a missing database is error
// 1049. A statement stopped by KILL QUERY fails with "cancel query by user
// from <ip:port>" naming the killer's connection; one stopped by Close
// fails with error 1317 "Query execution was interrupted".
//
// # Session variables and hints
//
// Doris's commonly set session variables are accepted by SET, SET GLOBAL
// and SET_VAR and readable as @@name, with Doris's defaults:
// query_timeout (900 s), insert_timeout, exec_mem_limit, enable_profile,
// session_context, parallel_pipeline_task_num,
// parallel_fragment_exec_instance_num, show_all_fe_connection,
// enable_nereids_planner, enable_sql_cache, batch_size, workload_group,
// enable_audit_plugin and a few more (see dorisVariables). These act:
//
//   - query_timeout: a statement that runs longer is stopped with error
//     1105 and the release's timeout text (above); the connection stays
//     usable.
//   - sql_select_limit: a SELECT without LIMIT returns at most that many
//     rows (the engine's own behaviour).
//   - SELECT /*+ SET_VAR(k=v, ...) */: the variables are set for that
//     statement only and restored after it; unknown names are ignored, as
//     in Doris. Only a hint right after a SELECT is read; other hints in
//     the same comment are dropped.
//   - enable_profile with session_context = 'trace_id:<id>': the statement
//     leaves a profile that the FE HTTP server returns (below).
//
// These work for statements sent as COM_QUERY, one at a time, which is
// how go-sql-driver sends a statement without arguments, or with
// arguments under interpolateParams=true, unless multiStatements is on. Prepared statements and
// multi-statement packets go to the engine unchanged: no timeout, hints
// or Doris error texts. max_execution_time is accepted and readable but,
// unlike in Doris, does not set query_timeout.
//
// NDV(x) and APPROX_COUNT_DISTINCT(x), Doris's distinct-count estimates,
// answer the exact COUNT(DISTINCT x).
//
// # Catalogs and Doris statements
//
// Sessions start in catalog internal. SWITCH internal, USE internal.db,
// SHOW DATABASES FROM internal, SHOW TABLES FROM internal.db and
// three-part names internal.db.table work (names are rewritten in the
// text, so a string literal that contains such a name is rewritten too).
// SHOW CATALOGS also lists hive_lake, an external catalog that is not
// simulated: SWITCH to it or a name in it fails with a clear error.
//
// KILL QUERY "<query_id>" stops the statement with that id on any
// connection; the ids are Doris-shaped (two 16-digit hex halves) and
// shown by SHOW PROCESSLIST (QueryId) and SHOW PROC '/current_queries'.
// KILL QUERY <connection id> and KILL <connection id> work as in Doris.
// SELECT LAST_QUERY_ID() (2.1 and later) returns the id of the session's
// previous statement, or "Not Available".
//
// SHOW CREATE TABLE prints Doris DDL for the sample tables (ENGINE=OLAP,
// UNIQUE KEY or DUPLICATE KEY, orders partitioned by month of order_date,
// DISTRIBUTED BY HASH(...) BUCKETS n, PROPERTIES); tables that clients
// create get the engine's MySQL DDL. SHOW PARTITIONS and SHOW DATA report
// that layout with the sizes of the stored rows.
//
// # Cluster and HTTP
//
// The cluster has one FE and Options.Backends BEs (default 3). Start opens
// an HTTP server for the FE and one per BE, on free loopback ports that
// FEHTTPAddr, BEHTTPAddrs and the HttpPort columns of SHOW FRONTENDS and
// SHOW BACKENDS report, so a client can discover the BEs from SQL. FE REST
// answers use Doris's envelope {"msg","code","data","count"} and HTTP
// status 200, also for errors (code 401 for bad credentials, 403 for an
// unknown trace id, 404 for an unknown profile).
//
// FE: GET /metrics (Prometheus text with doris_fe_query_total,
// doris_fe_query_err, doris_fe_query_latency_ms and friends, jvm_* and
// node_info, from the statements this server ran; no auth, as in Doris),
// /api/health, /api/fe_version_info, /api/show_table_data?db=&table=,
// /rest/v2/manager/query/trace_id/{trace_id},
// /rest/v2/manager/query/profile/text/{query_id} and
// /api/profile/text?query_id= (plain text). Profiles are kept for the last
// 100 profiled statements and carry a real summary (times, state, user,
// database, statement, returned rows) but no fragments.
//
// BE: GET /metrics (doris_be_memory_allocated_bytes, the jemalloc gauges,
// doris_be_mem_consumption{type=...} memory trackers, its TYPE line printed
// twice as the BE can, doris_be_cpu, disk capacities, doris_be_query_ctx_cnt
// declared a counter, ...; not doris_be_version, which the BE serves only
// on its brpc port) and /api/health. BE figures other than the disk sizes
// are plausible constants.
//
// # Audit log
//
// From 2.1, __internal_schema.audit_log is a real, read-only table with
// 3,000 generated records spread over the 30 days before the server's
// start day: users root, admin, analyst_li, bi_reader, etl_job and
// shop_app with client ip:port, states EOF, OK and ERR (missing tables,
// timeouts), query_time, scan and return counters, SQL hashes, slow
// statements with a sql_digest, and the ETL job's INSERT INTO
// sample_mart.* SELECT ... FROM sample.* statements for lineage. The same
// day gives the same records. Statements run on the simulator are not
// added.
//
// # Not simulated
//
// Tablets, replicas, loads, transactions, materialized views, workload
// groups, external catalogs, users and privileges over MySQL, several FEs,
// the JSON form of /metrics and the other REST APIs. SHOW VARIABLES has
// the engine's two columns, and @@global.version_comment still reads the
// engine's own 'Dolt' (the session value is Doris's).
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
// The engine numbers connections from 1; the simulator shows them as Doris
// does, from 0 on each FE: SELECT CONNECTION_ID(), SHOW PROCESSLIST and
// KILL use Doris's numbers (information_schema.PROCESSLIST and
// CONNECTION_ID() inside other expressions show the engine's). KILL QUERY <id> stops the
// query of connection <id> within a millisecond; the connection stays
// usable. KILL <id> also closes the connection.
//
// When go-sql-driver/mysql cancels a query through its context, it closes
// the socket. The engine then stops a query that streams rows at its next
// socket check, which comes every 5 s (about 5 s after the close, Linux
// only). A query that returns a single row, such as a COUNT(*), is not
// checked and runs until it ends or is killed. KILL QUERY works in both
// cases.
//
// Statement limits beyond Doris's (see above):
//   - SET SESSION max_statement_time = N (MariaDB): error 1105, unknown
//     system variable.
//   - SET STATEMENT max_statement_time=N FOR SELECT ... (MariaDB): syntax
//     error.
//   - SELECT /*+ MAX_EXECUTION_TIME(N) */ ...: accepted, not enforced.
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
//   - information_schema.processlist is the engine's: Host has no port
//     and State of a running query is a multi-line progress tree.
//
// # Process-wide state
//
// The engine logs through the logrus standard logger. While at least one
// simulator runs, that logger's output is io.Discard and its hooks are
// removed; the last Close restores both. The engine's per-session logging
// goes to Options.Logger instead; a statement that fails (a typo, a
// missing table) is logged there as one Debug line without the engine's
// Go stack.
//
// System and status variables are process-wide in the engine: SET GLOBAL on
// one server is seen by every server in the process, and status counters
// such as Threads_connected are shared. The Doris session variables are
// added to the engine's registry by the first Start in a process. The
// identity variables (version, version_comment) are set per session, so
// servers of different versions can run side by side. Everything else
// (databases, sessions, process list, connection ids, profiles, HTTP
// servers) belongs to one server.
//
// The converted sample rows are built once per process and shared,
// read-only, by all servers: the first Start in a process takes about
// 0.1 s, later ones about 25 ms (most of it the audit log).
//
// Neither the engine nor the HTTP servers leave goroutines behind: after
// Close, goleak finds none.
package dorissim
