package sqlguard

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type acceptCase struct {
	in   string
	want Statement // an empty want.SQL stands for in itself
}

// sel, show, desc and explain build expected statements.
func sel(sql string, selectOffset int) Statement {
	return Statement{Kind: Select, SQL: sql, SelectOffset: selectOffset}
}

func hinted(st Statement) Statement { st.HasHint = true; return st }

// setVars adds the variables "name=value" that the statement's hints set.
func setVars(st Statement, vars ...string) Statement {
	for _, v := range vars {
		name, value, _ := strings.Cut(v, "=")
		quoted := strings.HasPrefix(value, "'")
		st.SetVars = append(st.SetVars, SetVar{Name: name, Value: strings.Trim(value, "'"), Quoted: quoted})
	}
	return st
}

func show(sql string) Statement { return Statement{Kind: Show, SQL: sql, SelectOffset: -1} }

func desc(sql string) Statement { return Statement{Kind: Describe, SQL: sql, SelectOffset: -1} }

func explain(sql string, target Statement) Statement {
	return Statement{Kind: Explain, SQL: sql, SelectOffset: -1, Target: &target}
}

var acceptCases = []acceptCase{
	// Plain selects and statement boundaries.
	{"SELECT 1", sel("", 0)},
	{"select 1", sel("", 0)},
	{"  SELECT 1  ", sel("SELECT 1", 0)},
	{"SELECT 1;", sel("SELECT 1", 0)},
	{"SELECT 1 ;  -- done\n", sel("SELECT 1", 0)},
	{"SELECT 1; /* trailing */ # note\n", sel("SELECT 1", 0)},
	{"SELECT 1;\n\n", sel("SELECT 1", 0)},
	{"/* lead */ SELECT 1", sel("SELECT 1", 0)},
	{"-- note\nSELECT 1", sel("SELECT 1", 0)},
	{"# note\nSELECT 1", sel("SELECT 1", 0)},
	// Comments never reach the server, so what is in them no longer matters.
	{"SELECT 1 # owner's note; /* x\n", sel("SELECT 1", 0)},
	{"SELECT 1 -- +1 for this\n", sel("SELECT 1", 0)},
	{"SELECT /* + a='x */ 1", sel("SELECT 1", 0)},
	{"SELECT a FROM t WHERE x = 1 -- trailing", sel("SELECT a FROM t WHERE x = 1", 0)},
	{"SELECT a FROM t WHERE a = 'x' /* note; with semicolon */", sel("SELECT a FROM t WHERE a = 'x'", 0)},
	{"SELECT COUNT(*) FROM t LIMIT 10 OFFSET 5", sel("", 0)},
	{"SELECT a FROM t ORDER BY a DESC, b ASC", sel("", 0)},
	{"SELECT a FROM t WHERE b BETWEEN 1 AND 10", sel("", 0)},
	{"SELECT\ta\nFROM\r\nt", sel("", 0)},

	// Strings, quoted identifiers and comments hide keywords and ';'.
	{"SELECT 'DROP TABLE t' AS s", sel("", 0)},
	{`SELECT 'a;b', "c;d"`, sel("", 0)},
	{`SELECT 'it''s'`, sel("", 0)},
	{`SELECT 'a\'b;DROP'`, sel("", 0)},
	{`SELECT "say \"hi\"; DROP TABLE t"`, sel("", 0)},
	{`SELECT "a""b; DELETE"`, sel("", 0)},
	{`SELECT 'x\\', 'y; DROP'`, sel("", 0)},
	{`SELECT * FROM t WHERE a = 'x' AND b = "y\"; DROP TABLE t; --"`, sel("", 0)},
	{"SELECT `a;b`, `DROP TABLE t`, `x``y` FROM `t;1`", sel("", 0)},
	{"SELECT `it's` FROM t", sel("", 0)},
	{"SELECT '--x', '/*!', '#', '*/', ':='", sel("", 0)},
	{"SELECT 'a' 'b'", sel("", 0)},
	{"SELECT a -- note\nFROM t", sel("", 0)},
	{"SELECT a # note\nFROM t", sel("", 0)},
	{"SELECT a /* c */ FROM t", sel("", 0)},
	{"SELECT a /* multi\nline; DROP TABLE t */ FROM t", sel("", 0)},
	{"SELECT x FROM t -- don't worry; it's fine\nWHERE y = 1", sel("", 0)},
	{"SELECT 1 -- \r\nFROM dual", sel("", 0)},
	{"SELECT 1 FROM dual --\n", sel("SELECT 1 FROM dual", 0)},
	{"SELECT 1 --", sel("SELECT 1", 0)},
	{"SELECT 1 --\tx", sel("SELECT 1", 0)},
	{"SELECT 1 - -1, 2 - - 2", sel("", 0)},
	{"SELECT R'abc', r\"x\"", sel("", 0)},
	// A '/*' inside a comment is harmless when no '*/' follows: Apache
	// Doris, which nests comments, then fails on an unterminated comment.
	{"SELECT 1 /* see http://x/*y */", sel("SELECT 1", 0)},
	{"SELECT a FROM t /* a /* b */", sel("SELECT a FROM t", 0)},
	{"SELECT 1 /* a/*/", sel("SELECT 1", 0)},
	{"SELECT 名前 FROM テーブル WHERE 列 = 'é'", sel("", 0)},

	// Write keywords used as names and as functions.
	{"SELECT REPLACE(a, 'x', 'y'), INSERT(s, 1, 2, 'ab'), LEFT(s, 3), TRUNCATE(1.5, 0) FROM t", sel("", 0)},
	{"SELECT replace (a, 'x', 'y'), insert /* c */ (s, 1, 2, 'ab') FROM t", sel("", 0)},
	{"SELECT update_time, delete_flag, drop_count, created_by, set_id FROM t", sel("", 0)},
	{"SELECT `delete`, `update`, t.drop, t.`set`, db.t.insert FROM t", sel("", 0)},
	{"SELECT a FROM db.update WHERE db.update.x = 1", sel("", 0)},
	{"SELECT start, begin, `end`, status, admin, sync, backup, handler, reset FROM events", sel("", 0)},
	{"SELECT 1 AS `select`", sel("", 0)},
	{"SELECT t.1e5, t.5col FROM t", sel("", 0)},
	{"SELECT CAST(x AS CHAR CHARACTER SET utf8mb4), CONVERT(y USING utf8) FROM t", sel("", 0)},
	{"SELECT CAST(x AS CHAR(10) CHAR SET latin1)", sel("", 0)},
	{"SELECT * FROM t USE INDEX (i_a) WHERE a = 1", sel("", 0)},
	{"SELECT * FROM t USE KEY (i) FORCE INDEX (j) IGNORE INDEX (k)", sel("", 0)},
	{"SELECT * FROM t GROUP BY a WITH ROLLUP", sel("", 0)},
	{"SELECT * FROM t FOR VERSION AS OF 123", sel("", 0)},
	{"SELECT * FROM t FOR TIME AS OF '2024-01-01 00:00:00'", sel("", 0)},
	{"SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01'", sel("", 0)},

	// Expressions and literals.
	{"SELECT @@sql_mode, @@session.sql_mode, @@GLOBAL.time_zone FROM t", sel("", 0)},
	{"SELECT * FROM t WHERE a = ? AND b = ?", sel("", 0)},
	{"SELECT 1.5e3, .5, 0x1F, 0b101, 1e-3, 1.e2, x'41', b'01', N'abc', _utf8mb4'x'", sel("", 0)},
	{"SELECT a->'$.b', a->>'$.c' FROM t", sel("", 0)},
	{`SELECT * FROM t WHERE a LIKE 'x\_%' ESCAPE '\\'`, sel("", 0)},

	{"SELECT NAME_CONST('a', 1), UUID_SHORT(), LASTVAL(s)", sel("", 0)},
	{"SELECT sleep, `sleep`, t.sleep FROM t", sel("", 0)},
	{"SELECT 2 * 3 / 4, 5 % 2, 1 << 2, 3 & 1, 1 | 2, ~0, 1 ^ 1, !0", sel("", 0)},
	{"SELECT a FROM t PARTITION (p1) TABLESAMPLE(10 PERCENT)", sel("", 0)},
	{"SELECT a FROM t1 JOIN [shuffle] t2 ON t1.a = t2.a", sel("", 0)},

	// Subqueries, unions and common table expressions.
	{"SELECT * FROM (SELECT a FROM t) AS s WHERE a IN (SELECT a FROM u) AND EXISTS (SELECT 1)", sel("", 0)},
	{"SELECT 1 UNION SELECT 2 UNION ALL SELECT 3 EXCEPT SELECT 4 INTERSECT SELECT 5", sel("", 0)},
	{"(SELECT a FROM t) UNION (SELECT a FROM u) ORDER BY a LIMIT 10", sel("", -1)},
	{"((SELECT 1))", sel("", -1)},
	{"WITH x AS (SELECT 1 AS n) SELECT n FROM x", sel("", -1)},
	{"with x as (select 1) select * from x;", sel("with x as (select 1) select * from x", -1)},
	{"WITH RECURSIVE cte (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM cte WHERE n < 5) SELECT * FROM cte", sel("", -1)},
	{"WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b", sel("", -1)},
	{"WITH `q` AS ((SELECT 1)) (SELECT * FROM q)", sel("", -1)},
	{"WITH a AS (WITH b AS (SELECT 1) SELECT * FROM b) SELECT * FROM a", sel("", -1)},
	{"(WITH a AS (SELECT 1) SELECT * FROM a)", sel("", -1)},
	{"SELECT * FROM (WITH a AS (SELECT 1) SELECT * FROM a) s", sel("", 0)},

	// Queries without SELECT: MariaDB's table value constructor, MySQL 8's
	// VALUES ROW() and TABLE.
	{"VALUES (1, 'a'), (2, 'b')", sel("", -1)},
	{"VALUES ROW(1), ROW(2) ORDER BY column_0 LIMIT 1;", sel("VALUES ROW(1), ROW(2) ORDER BY column_0 LIMIT 1", -1)},
	{"(VALUES (1))", sel("", -1)},
	{"TABLE t", sel("", -1)},
	{"table db.t ORDER BY a LIMIT 10", sel("", -1)},
	{"WITH x AS (VALUES (1),(2)) SELECT * FROM x", sel("", -1)},
	{"WITH x AS (TABLE t) TABLE x", sel("", -1)},
	{"WITH x AS (SELECT 1) VALUES (2)", sel("", -1)},
	{"SELECT * FROM (VALUES (1), (2)) AS v UNION TABLE t", sel("", 0)},

	// Optimizer hints.
	{"SELECT /*+ SET_VAR(query_timeout=1) */ 1", setVars(hinted(sel("", 0)), "query_timeout=1")},
	{"SELECT /*+ SET_VAR(sql_mode='') */ 1", setVars(hinted(sel("", 0)), "sql_mode=''")},
	{"SELECT /*+ SET_VAR(time_zone=\"+00:00\") */ 1", setVars(hinted(sel("", 0)), "time_zone='+00:00'")},
	{"SELECT /*+ LEADING(t1 t2) */ * FROM t1 JOIN t2 ON t1.a = t2.a", hinted(sel("", 0))},
	{"SELECT /*+ SET_VAR(Query_Timeout = 1, `b`='x,)' c=on) set_var(d=-1) LEADING(t) */ 1", setVars(hinted(sel("", 0)), "query_timeout=1", "b='x,)'", "c=on", "d=-1")},
	{"SELECT /*+ SET_VAR(a=1) */ 1 UNION SELECT /*+ SET_VAR(b=2) */ 2", setVars(hinted(sel("", 0)), "a=1", "b=2")},
	{"SELECT /*+ NO_SET_VAR_HERE */ query_timeout FROM t", hinted(sel("", 0))},
	// Only "/*+" opens a hint; "/* +" is a comment, whose SET_VAR the old
	// Doris parser still reads.
	{"SELECT /* + a note */ 1", sel("", 0)},
	{"SELECT /* + SET_VAR(a=1) */ 1", sel("SELECT 1", 0)},
	{"/*+ lead */ SELECT 1", sel("SELECT 1", 0)},
	{"SELECT 1 /*+ trailing */", sel("SELECT 1", 0)},
	{"SELECT 1; /*+ after */", sel("SELECT 1", 0)},

	// SHOW.
	{"SHOW TABLES", show("SHOW TABLES")},
	{"SHOW FULL COLUMNS FROM `t`", show("SHOW FULL COLUMNS FROM `t`")},
	{"SHOW CREATE TABLE db.t;", show("SHOW CREATE TABLE db.t")},
	{"show databases like 'x%'", show("show databases like 'x%'")},
	{"SHOW GRANTS", show("SHOW GRANTS")},
	{"SHOW LOAD WHERE LABEL = 'x'", show("SHOW LOAD WHERE LABEL = 'x'")},
	{"SHOW ALTER TABLE COLUMN", show("SHOW ALTER TABLE COLUMN")},
	{"SHOW DELETE FROM db", show("SHOW DELETE FROM db")},
	{"SHOW CHARACTER SET", show("SHOW CHARACTER SET")},
	{"SHOW VARIABLES LIKE 'sql_mode';", show("SHOW VARIABLES LIKE 'sql_mode'")},
	{"SHOW PROC '/backends'", show("SHOW PROC '/backends'")},
	{"/* c */ SHOW TABLES -- x", show("/* c */ SHOW TABLES")},

	// DESCRIBE and EXPLAIN of a table.
	{"DESC t", desc("DESC t")},
	{"DESCRIBE db.t", desc("DESCRIBE db.t")},
	{"desc `db`.`t` col", desc("desc `db`.`t` col")},
	{"DESC t ALL", desc("DESC t ALL")},
	{"DESC plan", desc("DESC plan")},
	{"DESCRIBE FUNCTION numbers('number' = '10')", desc("DESCRIBE FUNCTION numbers('number' = '10')")},
	{"EXPLAIN t", desc("EXPLAIN t")},
	{"EXPLAIN start", desc("EXPLAIN start")},

	// EXPLAIN of a query.
	{"EXPLAIN SELECT 1", explain("EXPLAIN SELECT 1", sel("SELECT 1", 0))},
	{"EXPLAIN VERBOSE SELECT a FROM t;", explain("EXPLAIN VERBOSE SELECT a FROM t", sel("SELECT a FROM t", 0))},
	{"explain shape plan select 1", explain("explain shape plan select 1", sel("select 1", 0))},
	{"EXPLAIN PARSED PLAN PROCESS SELECT 1", explain("EXPLAIN PARSED PLAN PROCESS SELECT 1", sel("SELECT 1", 0))},
	{"EXPLAIN FORMAT=JSON SELECT 1", explain("EXPLAIN FORMAT=JSON SELECT 1", sel("SELECT 1", 0))},
	{"EXPLAIN FORMAT = 'tree' ANALYZE SELECT 1", explain("EXPLAIN FORMAT = 'tree' ANALYZE SELECT 1", sel("SELECT 1", 0))},
	{"EXPLAIN ANALYZE SELECT 1", explain("EXPLAIN ANALYZE SELECT 1", sel("SELECT 1", 0))},
	{"DESC SELECT 1", explain("DESC SELECT 1", sel("SELECT 1", 0))},
	{"EXPLAIN WITH x AS (SELECT 1) SELECT * FROM x", explain("EXPLAIN WITH x AS (SELECT 1) SELECT * FROM x", sel("WITH x AS (SELECT 1) SELECT * FROM x", -1))},
	{"EXPLAIN (SELECT 1)", explain("EXPLAIN (SELECT 1)", sel("(SELECT 1)", -1))},
	{"EXPLAIN /* c */ SELECT 1 -- x", explain("EXPLAIN /* c */ SELECT 1", sel("SELECT 1", 0))},
	{"EXPLAIN SELECT /*+ SET_VAR(a=1) */ 1", setVars(hinted(explain("EXPLAIN SELECT /*+ SET_VAR(a=1) */ 1", setVars(hinted(sel("SELECT /*+ SET_VAR(a=1) */ 1", 0)), "a=1"))), "a=1")},
	{"EXPLAIN TABLE t", explain("EXPLAIN TABLE t", sel("TABLE t", -1))},
	{"EXPLAIN VALUES (1)", explain("EXPLAIN VALUES (1)", sel("VALUES (1)", -1))},
	{"EXPLAIN /*+ x */ SELECT 1", explain("EXPLAIN SELECT 1", sel("SELECT 1", 0))},
}

type rejectCase struct {
	in     string
	reason string // a substring of Error.Reason
	at     string // the error points at the first occurrence of at; "" means offset -1
	atLast bool   // use the last occurrence of at instead
}

var rejectCases = []rejectCase{
	// What the server reads differently: \N is NULL and one token with the
	// letters after it, "@a." is one user variable.
	{"SELECT 'x', \\NINTO OUTFILE '/some/path.txt'", "'\\' outside a string literal is not allowed; write NULL", "\\", false},
	{"SELECT 'x', \\NINTO @v, @w", "write NULL instead of \\N", "\\", false},
	{"SELECT a FROM t WHERE a = \\NLOCK IN SHARE MODE", "'\\' outside a string", "\\", false},
	{"SELECT 'x', @a. INTO DUMPFILE '/some/path.bin'", "user variables (@name) are not allowed", "@", false},
	{"SELECT 'x', @a. INTO @b", "user variables", "@", false},
	{"SELECT @x. LOCK IN SHARE MODE", "user variables", "@", false},
	{"SELECT @leak", "user variables", "@", false},
	{"SELECT @'x', @`y`", "user variables", "@", false},
	{"SELECT @ @version", "user variables", "@", false},
	{"SELECT @@sys.x", "a system variable is @@name or @@session.name", "@", false},
	{"SHOW GRANTS FOR 'u' @ 'h'", "write an account as 'user'@'host'", "@", false},
	// State the previous statement on the connection left.
	{"SHOW WARNINGS", "SHOW WARNINGS is not allowed: it shows what the connection's previous statements did", "WARNINGS", false},
	{"SHOW ERRORS LIMIT 1", "SHOW ERRORS is not allowed", "ERRORS", false},
	{"SHOW COUNT(*) WARNINGS", "SHOW WARNINGS is not allowed", "COUNT", false},
	{"SELECT @@warning_count", "@@warning_count is not allowed", "warning_count", false},
	{"SELECT @@session.error_count", "@@error_count is not allowed", "error_count", false},
	{"SHOW STATUS", "SHOW SESSION STATUS is not allowed", "STATUS", false},
	{"SHOW SESSION STATUS LIKE 'Last%'", "SHOW SESSION STATUS is not allowed", "SESSION", false},
	{"SHOW PROFILES", "SHOW PROFILES is not allowed", "PROFILES", false},
	{"SELECT * FROM information_schema.SESSION_STATUS", "session_status may not be read", "SESSION_STATUS", false},
	{"SELECT LAST_QUERY_ID()", "left behind", "LAST_QUERY_ID", false},
	// Other sessions' statements.
	{"SHOW FULL PROCESSLIST", "SHOW PROCESSLIST is not allowed: it shows the statements of other sessions", "FULL", false},
	{"SHOW PROCESSLIST", "SHOW PROCESSLIST is not allowed", "PROCESSLIST", false},
	{"SELECT info FROM information_schema.PROCESSLIST", "processlist may not be read: it shows the statements of other sessions", "PROCESSLIST", false},
	{"SELECT * FROM `information_schema`.`processlist`", "processlist may not be read", "`processlist`", false},
	{"SELECT * FROM information_schema.active_queries", "active_queries may not be read", "active_queries", false},
	{"SELECT stmt FROM __internal_schema.audit_log", "audit_log may not be read", "audit_log", false},
	{"SELECT sql_text FROM performance_schema.events_statements_history", "may not be read", "events_statements_history", false},
	{"SELECT * FROM performance_schema.threads", "threads may not be read", "threads", false},
	{"SELECT * FROM sys.session", "session may not be read", "session", true},
	{"SHOW PROC '/current_queries'", "SHOW PROC of the current queries is not allowed", "'/current", false},
	{"SHOW QUERY PROFILE '/'", "SHOW QUERY is not allowed", "QUERY", false},
	{"SHOW ENGINE INNODB STATUS", "SHOW ENGINE is not allowed", "ENGINE", false},
	{"SHOW EXPLAIN FOR 12", "SHOW EXPLAIN is not allowed", "EXPLAIN", false},
	// Expressions the engine cannot stop once they run.
	{"SELECT LENGTH(REPLACE(REPEAT('a', 300000), 'a', 'bb'))", "REPEAT() inside REPLACE() is not allowed", "REPEAT", false},
	{"SELECT REPEAT('a', 300000)", "REPEAT() must be given its length as a whole number of at most 10000", "REPEAT", false},
	{"SELECT REPEAT('a', n) FROM t", "REPEAT() must be given its length", "REPEAT", false},
	{"SELECT LPAD('a', 1e9, 'b')", "LPAD() must be given its length", "LPAD", false},
	{"SELECT SPACE(20000)", "SPACE() must be given its length", "SPACE", false},
	{"SELECT REPEAT(REPEAT('ab', 10000), 10000)", "REPEAT() inside REPEAT() is not allowed", "REPEAT", true},
	{"SELECT REGEXP_REPLACE(RPAD('', 9000, 'a'), 'a', 'b')", "RPAD() inside REGEXP_REPLACE() is not allowed", "RPAD", false},
	// SET_VAR as Apache Doris reads it: one token a value.
	{"SELECT /*+ SET_VAR(runtime_filter_mode=(1, query_timeout=7777, sql_select_limit=100000)) */ @@query_timeout", "a value is one number, word or string", "(1", false},
	{"SELECT /*+ SET_VAR(a=f(1)) */ 1", "cannot read the SET_VAR hint", "(1", false},
	{"SELECT /*+ SET_VAR(a=1,) */ 1", "a ',' must be followed by another variable", ")", true},
	{"SELECT /*+ SET_VAR() */ 1", "expected a variable name", ")", false},
	{"SELECT /*+ a */ /*+ b */ 1", "only one optimizer hint comment may follow SELECT", "/*+ b", false},
	// Literals other servers read with other rules.
	{"SELECT X'4g'", "a hex literal X'...' may hold only hex digits", "X", false},
	{"SELECT b'012'", "a bit literal", "b", false},
	{"SELECT _gbk'x'", "the character set introducer _gbk is not allowed", "_gbk", false},
	// Statements that are not on the allow-list.
	{"INSERT INTO t VALUES (1)", "got INSERT (INSERT is a write statement)", "INSERT", false},
	{"insert into t values (1)", "got INSERT", "insert", false},
	{"UPDATE t SET a = 1", "got UPDATE", "UPDATE", false},
	{"DELETE FROM t", "got DELETE", "DELETE", false},
	{"REPLACE INTO t VALUES (1)", "got REPLACE", "REPLACE", false},
	{"DROP TABLE t", "got DROP (DROP is a schema change", "DROP", false},
	{"CREATE TABLE t (a INT)", "got CREATE", "CREATE", false},
	{"ALTER TABLE t ADD COLUMN b INT", "got ALTER", "ALTER", false},
	{"TRUNCATE TABLE t", "got TRUNCATE", "TRUNCATE", false},
	{"RENAME TABLE a TO b", "got RENAME", "RENAME", false},
	{"GRANT SELECT ON *.* TO u", "got GRANT (GRANT changes privileges)", "GRANT", false},
	{"REVOKE ALL ON *.* FROM u", "got REVOKE", "REVOKE", false},
	{"SET GLOBAL read_only = 0", "got SET", "SET", false},
	{"SET @a = 1", "got SET", "SET", false},
	{"USE db", "got USE", "USE", false},
	{"KILL 42", "got KILL", "KILL", false},
	{"CALL p()", "got CALL", "CALL", false},
	{"LOAD DATA INFILE '/etc/passwd' INTO TABLE t", "got LOAD", "LOAD", false},
	{"MERGE INTO t USING s ON t.a = s.a", "got MERGE", "MERGE", false},
	{"DO SLEEP(1)", "got DO", "DO", false},
	{"DO (SELECT 1)", "got DO", "DO", false},
	{"UPDATE (t1 JOIN t2 ON t1.a = t2.a) SET t1.b = 1", "got UPDATE", "UPDATE", false},
	{"WITH x AS (SELECT 1) UPDATE (t) SET a = 1", "WITH ... must be followed by SELECT; got UPDATE", "UPDATE", false},
	{"(DO (1))", "got DO", "DO", false},
	{"HANDLER t OPEN", "got HANDLER", "HANDLER", false},
	{"LOCK TABLES t READ", "got LOCK", "LOCK", false},
	{"UNLOCK TABLES", "got UNLOCK", "UNLOCK", false},
	{"ANALYZE TABLE t", "got ANALYZE", "ANALYZE", false},
	{"OPTIMIZE TABLE t", "got OPTIMIZE", "OPTIMIZE", false},
	{"REPAIR TABLE t", "got REPAIR", "REPAIR", false},
	{"FLUSH PRIVILEGES", "got FLUSH", "FLUSH", false},
	{"PURGE BINARY LOGS BEFORE NOW()", "got PURGE", "PURGE", false},
	{"PREPARE s FROM 'DROP TABLE t'", "got PREPARE", "PREPARE", false},
	{"EXECUTE s", "got EXECUTE", "EXECUTE", false},
	{"DEALLOCATE PREPARE s", "got DEALLOCATE", "DEALLOCATE", false},
	{"INSTALL PLUGIN p SONAME 'p.so'", "got INSTALL", "INSTALL", false},
	{"SHUTDOWN", "got SHUTDOWN", "SHUTDOWN", false},
	{"START TRANSACTION", "got START", "START", false},
	{"BEGIN", "got BEGIN", "BEGIN", false},
	{"COMMIT", "got COMMIT", "COMMIT", false},
	{"ROLLBACK", "got ROLLBACK", "ROLLBACK", false},
	{"SAVEPOINT s", "got SAVEPOINT", "SAVEPOINT", false},
	{"XA START 'x'", "got XA", "XA", false},
	{"RESET MASTER", "got RESET", "RESET", false},
	{"CLONE INSTANCE FROM u@h:3306 IDENTIFIED BY 'p'", "got CLONE", "CLONE", false},
	{"ADMIN SET FRONTEND CONFIG ('a' = 'b')", "got ADMIN", "ADMIN", false},
	{"CANCEL LOAD WHERE LABEL = 'x'", "got CANCEL", "CANCEL", false},
	{"SWITCH other_catalog", "got SWITCH", "SWITCH", false},
	{"REFRESH CATALOG c", "got REFRESH", "REFRESH", false},
	{"SYNC", "got SYNC", "SYNC", false},
	{"EXPORT TABLE t TO 's3://b/'", "got EXPORT", "EXPORT", false},
	{"RECOVER TABLE t", "got RECOVER", "RECOVER", false},
	{"BACKUP SNAPSHOT db.s TO repo", "got BACKUP", "BACKUP", false},
	{"RESTORE SNAPSHOT db.s FROM repo", "got RESTORE", "RESTORE", false},
	{"TABLE t INTO @a", "INTO @variable", "INTO", false},
	{"VALUES (1) INTO OUTFILE '/tmp/x'", "INTO OUTFILE", "INTO", false},
	{"VALUES (SLEEP(1))", "SLEEP() is not allowed", "SLEEP", false},
	{"WITH x AS (VALUES (1)) DELETE FROM t", "WITH ... must be followed by SELECT; got DELETE", "DELETE", false},
	{"`SELECT` 1", "got the quoted name `SELECT`", "`SELECT`", false},
	{"'SELECT 1'", "got a string literal", "'", false},
	{"42", "got the number 42", "42", false},
	{"* FROM t", "got '*'", "*", false},
	{"(DELETE FROM t)", "got DELETE", "DELETE", false},
	{"SELECT.0INTO OUTFILE '/tmp/x'", "SELECT directly followed by '.' is read as a qualified name", "SELECT", false},
	{"select.a FROM t", "SELECT directly followed by '.'", "select", false},
	{"EXPLAIN SELECT.0INTO @a", "SELECT directly followed by '.'", "SELECT", false},
	{"SHOW.x", "SHOW directly followed by '.'", "SHOW", false},
	{"((UPDATE t SET a = 1))", "got UPDATE", "UPDATE", false},

	// More than one statement.
	{"SELECT 1; DROP TABLE t", "multiple statements are not allowed", "DROP", false},
	{"SELECT 1;;", "multiple statements are not allowed", ";", true},
	{"SELECT 1; SELECT 2", "multiple statements are not allowed", "SELECT 2", false},
	{"SELECT 1; -- c\n DROP TABLE t", "multiple statements are not allowed", "DROP", false},
	{"SELECT 1 /* ; */ ; SELECT 2", "multiple statements are not allowed", "SELECT 2", false},
	{"SELECT 1;\nSHOW TABLES", "multiple statements are not allowed", "SHOW", false},
	{"SELECT 'a'; 'b'", "multiple statements are not allowed", "'b'", false},
	{"(SELECT 1); DROP TABLE t", "multiple statements are not allowed", "DROP", false},

	// Executable comments.
	{"/*!50000 DROP TABLE t */ SELECT 1", "executable comments /*! ... */ are not allowed", "/*!", false},
	{"SELECT 1 /*! ; DROP TABLE t */", "executable comments /*! ... */ are not allowed", "/*!", false},
	{"SELECT /*!99999 1 */ 2", "executable comments", "/*!", false},
	{"SELECT 1 /*M! , 2 */", "executable comments", "/*M!", false},
	{"SELECT 1; /*! DROP TABLE t */", "executable comments", "/*!", false},

	// Writes hidden inside a query.
	{"SELECT * FROM t WHERE a IN (DELETE FROM u)", "DELETE is a write statement", "DELETE", false},
	{"SELECT 1 UNION DELETE FROM t", "DELETE is a write statement", "DELETE", false},
	{"SELECT (UPDATE t SET a = 1)", "UPDATE is a write statement", "UPDATE", false},
	{"SELECT * FROM t WHERE SET = 1", "SET changes session or server variables", "SET", false},
	{"SELECT load FROM metrics", "quote it in backticks if it is meant as a name", "load", false},
	{"SELECT a FROM t WHERE b = 1 AND DROP", "DROP is a schema change", "DROP", false},
	{"SELECT CAST(a AS CHAR(10) SET utf8)", "SET changes", "SET", false},
	{"SELECT * FROM t USE db", "USE changes the current database", "USE", false},
	{"SELECT * FROM t LOCK TABLES", "LOCK takes table locks", "LOCK", false},
	{"SHOW TABLES; DROP TABLE t", "multiple statements", "DROP", false},

	// INTO, assignments, locking reads and sequences.
	{"SELECT 1 INTO OUTFILE '/tmp/x'", "INTO OUTFILE writes a file", "INTO", false},
	{"SELECT * FROM t INTO DUMPFILE '/tmp/x'", "INTO DUMPFILE writes a file", "INTO", false},
	{"SELECT 1 INTO @v", "INTO @variable assigns user variables", "INTO", false},
	{"SELECT a FROM t INTO @a, @b", "INTO @variable", "INTO", false},
	{"SELECT a INTO x FROM t", "SELECT ... INTO is not allowed", "INTO", false},
	{"SELECT 1e5INTO OUTFILE '/tmp/x'", "INTO OUTFILE", "INTO", false},
	{"SELECT 1.INTO @a", "INTO @variable", "INTO", false},
	{"SELECT .5INTO @a", "INTO @variable", "INTO", false},
	{"SELECT t.delete INTO @a FROM t", "INTO @variable", "INTO", false},
	{"SHOW TABLES INTO @a", "INTO @variable", "INTO", false},
	{"EXPLAIN SELECT 1 INTO OUTFILE '/x'", "INTO OUTFILE", "INTO", false},
	{"EXPLAIN FORMAT=JSON INTO @v SELECT 1", "INTO @variable", "INTO", false},
	{"SELECT @a := 1", "':=' assigns a user variable", ":=", false},
	{"SELECT a FROM t WHERE (@x := a) > 0", "':=' assigns", ":=", false},
	{"SELECT * FROM t FOR UPDATE", "FOR UPDATE takes row locks", "FOR", false},
	{"SELECT * FROM t FOR UPDATE NOWAIT", "FOR UPDATE", "FOR", false},
	{"select * from t for /* x */ update", "FOR UPDATE", "for", false},
	{"SELECT * FROM t FOR SHARE", "FOR SHARE takes row locks", "FOR", false},
	{"SELECT * FROM t LOCK IN SHARE MODE", "LOCK IN SHARE MODE takes row locks", "LOCK", false},
	{"SELECT NEXT VALUE FOR s", "NEXT VALUE FOR advances a sequence", "NEXT", false},

	// Functions with side effects.
	{"SELECT SLEEP(1)", "SLEEP() is not allowed: it ties up a connection", "SLEEP", false},
	{"SELECT sleep (1)", "SLEEP() is not allowed", "sleep", false},
	{"SELECT sleep/**/(1)", "SLEEP() is not allowed", "sleep", false},
	{"SELECT `sleep`(1)", "SLEEP() is not allowed", "`sleep`", false},
	{"SELECT mysql.sleep(1)", "SLEEP() is not allowed", "sleep", false},
	{"SELECT * FROM t WHERE a = 1 AND SLEEP(5) = 0", "SLEEP() is not allowed", "SLEEP", false},
	{"SELECT BENCHMARK(1000000, MD5('a'))", "BENCHMARK() is not allowed", "BENCHMARK", false},
	{"SELECT GET_LOCK('l', 10)", "GET_LOCK() is not allowed", "GET_LOCK", false},
	{"SELECT RELEASE_LOCK('l')", "RELEASE_LOCK() is not allowed", "RELEASE_LOCK", false},
	{"SELECT RELEASE_ALL_LOCKS()", "RELEASE_ALL_LOCKS() is not allowed", "RELEASE_ALL_LOCKS", false},
	{"SELECT IS_FREE_LOCK('l'), IS_USED_LOCK('l')", "IS_FREE_LOCK() is not allowed", "IS_FREE_LOCK", false},
	{"SELECT LOAD_FILE('/etc/passwd')", "LOAD_FILE() is not allowed: it reads files", "LOAD_FILE", false},
	{"SELECT sys_exec('id')", "SYS_EXEC() is not allowed", "sys_exec", false},
	{"SELECT sys_eval('id')", "SYS_EVAL() is not allowed", "sys_eval", false},
	{"SELECT MASTER_POS_WAIT('f', 4)", "MASTER_POS_WAIT() is not allowed", "MASTER_POS_WAIT", false},
	{"SELECT SOURCE_POS_WAIT('f', 4)", "SOURCE_POS_WAIT() is not allowed", "SOURCE_POS_WAIT", false},
	{"SELECT WAIT_FOR_EXECUTED_GTID_SET('x')", "WAIT_FOR_EXECUTED_GTID_SET() is not allowed", "WAIT_FOR", false},
	{"SELECT WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS('x')", "WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS() is not allowed", "WAIT_UNTIL", false},
	{"SELECT LAST_INSERT_ID(5)", "LAST_INSERT_ID() is not allowed", "LAST_INSERT_ID", false},
	{"SELECT LAST_INSERT_ID(), 1", "what the previous statement on the connection left behind", "LAST_INSERT_ID", false},
	{"SELECT FOUND_ROWS()", "left behind", "FOUND_ROWS", false},
	{"SELECT ROW_COUNT()", "left behind", "ROW_COUNT", false},
	{"SELECT `LAST_INSERT_ID`(4242)", "LAST_INSERT_ID() is not allowed", "`LAST", false},
	{"SELECT `last_insert_id` /* c */ (1)", "LAST_INSERT_ID() is not allowed", "`last", false},
	{"SELECT `Sleep`(1)", "SLEEP() is not allowed", "`Sleep`", false},
	{"SELECT MASTER_GTID_WAIT('0-1-100', 2)", "MASTER_GTID_WAIT() is not allowed: it blocks until a replica catches up", "MASTER", false},
	{"SHOW TABLES WHERE MASTER_GTID_WAIT('0-1-100', 2) = 0", "MASTER_GTID_WAIT() is not allowed", "MASTER", false},
	{"SELECT WSREP_SYNC_WAIT_UPTO_GTID('0-1-100', 2)", "WSREP_SYNC_WAIT_UPTO_GTID() is not allowed", "WSREP", false},
	{"SELECT BINLOG_GTID_POS('mysql-bin.000001', 4)", "BINLOG_GTID_POS() is not allowed: it reads the server's binary log files", "BINLOG", false},
	{"SELECT DES_DECRYPT(x) FROM t", "DES_DECRYPT() is not allowed", "DES", false},
	{"SELECT mle_session_reset()", "MLE_SESSION_RESET() is not allowed", "mle", false},
	{"SELECT gen_dictionary_load('/tmp/x', 'd')", "GEN_DICTIONARY_LOAD() is not allowed", "gen", false},
	{"SELECT firewall_group_enlist('g', 'u')", "FIREWALL_GROUP_ENLIST() is not allowed", "firewall", false},
	{"SELECT sys.format_bytes(1024)", "FORMAT_BYTES() is not allowed: a call qualified with a database name runs a stored or user-defined function", "format_bytes", false},
	{"SELECT sys.ps_thread_id(NULL)", "a call qualified with a database name", "ps_thread_id", false},
	{"SELECT `db`.`f` (1)", "F() is not allowed: a call qualified", "`f`", false},
	{"SELECT * FROM t WHERE a = db . f(1)", "a call qualified", "f(", false},
	{"SELECT AI_GENERATE('say hi')", "AI_GENERATE() is not allowed: it sends data to an external model service, and calls to outside services are not enabled", "AI_GENERATE", false},
	{"SELECT ai_classify(txt, ['a', 'b']) FROM t", "AI_CLASSIFY() is not allowed", "ai_classify", false},
	{"SELECT AI_AGG(txt, 'summarize') FROM t", "AI_AGG() is not allowed", "AI_AGG", false},
	{"SELECT EMBED('x')", "EMBED() is not allowed: it sends data to an external model service", "EMBED", false},
	{"SELECT `ai_mask`(x) FROM t", "AI_MASK() is not allowed", "`ai_mask`", false},
	{"SHOW LOAD WARNINGS ON 'http://169.254.169.254/'", "SHOW LOAD WARNINGS ON '<url>' makes the server fetch a URL", "ON", false},
	{"show load /* c */ warnings on \"http://x/\"", "makes the server fetch a URL", "on", false},
	{"SELECT NEXTVAL(s)", "NEXTVAL() is not allowed: it advances a sequence", "NEXTVAL", false},
	{"SELECT SETVAL(s, 10)", "SETVAL() is not allowed", "SETVAL", false},
	{"SELECT keyring_key_fetch('k')", "KEYRING_KEY_FETCH() is not allowed", "keyring", false},
	{"SELECT audit_log_filter_flush()", "AUDIT_LOG_FILTER_FLUSH() is not allowed", "audit", false},
	{"SELECT * FROM query('catalog' = 'mysql', 'query' = 'DELETE FROM t')", "QUERY() is not allowed", "query", false},
	{"SELECT * FROM local('file_path' = 'x', 'backend_id' = '1')", "LOCAL() is not allowed", "local", false},
	{"SELECT * FROM s3('uri' = 'http://169.254.169.254/')", "S3() is not allowed", "s3", false},
	{"SELECT * FROM hdfs('uri' = 'x')", "HDFS() is not allowed", "hdfs", false},
	{"SELECT * FROM http('uri' = 'x')", "HTTP() is not allowed", "http", false},
	{"SELECT * FROM file('uri' = 'x')", "FILE() is not allowed", "file", false},
	{"SHOW TABLES WHERE SLEEP(1)", "SLEEP() is not allowed", "SLEEP", false},
	{"DESC FUNCTION s3('uri' = 'x')", "S3() is not allowed", "s3", false},
	{"EXPLAIN SELECT SLEEP(1)", "SLEEP() is not allowed", "SLEEP", false},

	// EXPLAIN of something other than a query.
	{"EXPLAIN DELETE FROM t", "EXPLAIN can only explain SELECT or WITH ... SELECT; got DELETE (DELETE is a write statement)", "DELETE", false},
	{"EXPLAIN ANALYZE DELETE FROM t", "got DELETE", "DELETE", false},
	{"DESC ANALYZE UPDATE t SET a = 1", "DESC can only explain SELECT", "UPDATE", false},
	{"describe insert into t select 1", "DESCRIBE can only explain SELECT", "insert", false},
	{"EXPLAIN VERBOSE INSERT INTO t SELECT 1", "got INSERT", "INSERT", false},
	{"EXPLAIN SHOW TABLES", "got SHOW", "SHOW", false},
	{"EXPLAIN EXPLAIN SELECT 1", "got EXPLAIN", "EXPLAIN SELECT", false},
	{"EXPLAIN (DELETE FROM t)", "got DELETE", "DELETE", false},
	{"EXPLAIN WITH x AS (SELECT 1) DELETE FROM t", "WITH ... must be followed by SELECT; got DELETE", "DELETE", false},
	{"EXPLAIN FOR CONNECTION 5", "EXPLAIN FOR CONNECTION is not supported", "FOR", false},
	{"EXPLAIN", "EXPLAIN needs a query to explain or a table to describe", "EXPLAIN", false},
	{"DESC ;", "DESC needs a query", "DESC", false},
	{"EXPLAIN ANALYZE", "ANALYZE collects and stores table statistics", "ANALYZE", false},
	{"DESC t; DROP TABLE t", "multiple statements", "DROP", false},

	// WITH must lead to a query.
	{"WITH x AS (SELECT 1) DELETE FROM t", "WITH ... must be followed by SELECT; got DELETE (DELETE is a write statement)", "DELETE", false},
	{"WITH x AS (SELECT 1) UPDATE t SET a = 1", "got UPDATE", "UPDATE", false},
	{"WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "got INSERT", "INSERT", false},
	{"WITH x AS (DELETE FROM t) SELECT 1", "a common table expression must be a query (SELECT, VALUES or TABLE); got DELETE", "DELETE", false},
	{"WITH x AS (SHOW TABLES) SELECT 1", "must be a query", "SHOW", false},
	{"WITH x AS (SELECT 1)", "got the end of the statement", "", false},
	{"WITH x (SELECT 1) SELECT 1", "expected AS ( query ) in WITH clause; got SELECT", "SELECT", true},
	{"WITH x AS SELECT 1", "expected AS ( query )", "SELECT", false},
	{"WITH AS (SELECT 1) SELECT 1", "expected AS ( query )", "SELECT", true},
	{"WITH 'x' AS (SELECT 1) SELECT 1", "expected the name of a common table expression", "'x'", false},
	{"WITH x AS (SELECT 1 SELECT 1", "unbalanced parentheses", "WITH", false},
	{"WITH x (a AS (SELECT 1) SELECT 1", "unbalanced parentheses", "WITH", false},
	{"WITH a AS (SELECT 1), b AS (SELECT 2) START TRANSACTION", "got START", "START", false},

	// Unterminated tokens.
	{"SELECT 'abc", "unterminated string literal starting at offset 7", "'", false},
	{`SELECT "abc`, "unterminated string literal", `"`, false},
	{`SELECT 'abc\'`, "unterminated string literal", "'", false},
	{`SELECT 'abc''`, "unterminated string literal", "'", false},
	{"SELECT `abc", "unterminated quoted identifier starting at offset 7", "`", false},
	{"SELECT `a``", "unterminated quoted identifier", "`", false},
	{"SELECT 1 /* x", "unterminated comment starting at offset 9", "/*", false},
	{"SELECT 1 /* x *", "unterminated comment", "/*", false},
	{"SELECT 1 /*/", "unterminated comment", "/*", false},

	// Nothing to run.
	{"", "empty statement", "", false},
	{"   \n\t", "empty statement", "", false},
	{"-- only a comment", "empty statement", "", false},
	{"/* c */", "empty statement", "", false},
	{"# c", "empty statement", "", false},
	{";", "empty statement", ";", false},
	{" ; SELECT 1", "empty statement", ";", false},

	// Text that MySQL and Apache Doris would split differently.
	{"SELECT 1 --x", "'--' must be followed by a space", "--", false},
	{"SELECT 1 --'\n; DROP TABLE t; -- '", "'--' must be followed by a space", "--", false},
	{"SELECT 1 ---- x", "'--' must be followed by a space", "--", false},
	{"SELECT 1 -- x\\\n, 2", "may not end with a backslash", "--", false},
	{"SELECT 1 -- \\\n'\n; DROP TABLE t; -- '", "may not end with a backslash", "--", false},
	{"SELECT 1 # x\\\n, 2", "may not end with a backslash", "#", false},
	{"SELECT 1 -- x\r; DROP TABLE t", "carriage return", "\r", false},
	{"SELECT 1 --+hint\n", "'--' must be followed by a space", "--", false},
	{"SELECT 1 /* a /* b */ FROM t /* c */", "nested comments are not allowed", "/* b", false},
	{"SELECT 1 /* a /* b */ , '*/ ; DROP TABLE t; -- '", "nested comments are not allowed", "/* b", false},
	{"SELECT 1 /* /* */ '*/ ; DROP TABLE t; -- '", "nested comments are not allowed", "/* */", false},
	{"SELECT 1 /* a/*/ + 2 /**/", "nested comments", "/*/", false},
	{"SELECT 2*/*c*/3", "'*/' outside a comment", "*/", false},
	{"SELECT 2*/* ; DROP TABLE t; */3", "'*/' outside a comment", "*/", false},
	{`SELECT R'a\' ; DROP TABLE t; -- '`, "R'...' as a raw string", "R'", false},
	{"SELECT r'a'' ; DROP TABLE t; -- '", "raw string", "r'", false},
	{`SELECT t.R"x\"" FROM t`, "raw string", `R"`, false},
	{"SELECT /*+ SET_VAR(a='*/') */ 1", "must end before the closing '*/'", "'*/'", false},
	{"SELECT /*+ a; b */ 1", "';' is not allowed inside an optimizer hint", ";", false},
	{"SELECT /*+ -- x */ 1", "comments are not allowed inside an optimizer hint", "--", false},
	{"SELECT /*+ -- */ '\n */ ; DROP TABLE t; -- ' 1", "comments are not allowed inside an optimizer hint", "--", false},
	{"SELECT /*+ '*/ ; DROP TABLE t; -- ' */ 1", "must end before the closing '*/'", "'*/", false},
	{"SELECT /*+ a /* b */ 1", "nested comments", "/* b", false},
	{"SELECT /*+ # x */ 1", "comments are not allowed inside an optimizer hint", "#", false},
	{`SELECT /*+ SET_VAR(a='x\\') */ 1`, "backslashes are not allowed", "'x", false},
	{"SELECT /*+ SET_VAR(a='x''y') */ 1", "doubled quotes are not allowed", "'x", false},
	{"SELECT /*+ SET_VAR(query_timeout) */ 1", "cannot read the SET_VAR hint", ")", false},
	{"SELECT /*+ SET_VAR query_timeout=1 */ 1", "cannot read the SET_VAR hint", "query_timeout", false},
	{"SELECT /*+ SET_VAR(a=) */ 1", "cannot read the SET_VAR hint", ")", false},
	{"SELECT /*+ SET_VAR(a=1 */ 1", "cannot read the SET_VAR hint", "SET_VAR", false},
	{"SELECT /*+ SET_VAR('a b'=1) */ 1", "cannot read the SET_VAR hint", "'a b'", false},
	{"SELECT /*+ SET_VAR(=1) */ 1", "cannot read the SET_VAR hint", "=1", false},
	{"SELECT 1\x01", "control character 0x1 is not allowed", "\x01", false},
	{"SELECT 1 \x7f", "control character 0x7f", "\x7f", false},
	{"SELECT 'a\x00'", "NUL bytes are not allowed", "\x00", false},
	{"SELECT 1 -- \x00", "NUL bytes are not allowed", "\x00", false},
	{"SELECT '\xff'", "not valid UTF-8", "\xff", false},
	{"SELECT \xc3", "not valid UTF-8", "\xc3", false},
}

func TestCheckAccepts(t *testing.T) {
	for _, tc := range acceptCases {
		t.Run(tc.in, func(t *testing.T) {
			want := tc.want
			if want.SQL == "" {
				want.SQL = tc.in
			}
			got, err := Check(tc.in)
			if err != nil {
				t.Fatalf("Check(%q) = %v, want it accepted", tc.in, err)
			}
			// The canonical text is checked by TestCanonical; here the
			// reading.
			want.SQL, got.SQL = "", ""
			if want.Target != nil {
				tg := *want.Target
				tg.SQL = ""
				want.Target = &tg
				got.Target.SQL = ""
			}
			if diff := cmp.Diff(&want, got, cmpopts.IgnoreUnexported(Statement{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Check(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestCheckRejects(t *testing.T) {
	for _, tc := range rejectCases {
		t.Run(tc.in, func(t *testing.T) {
			st, err := Check(tc.in)
			if err == nil {
				t.Fatalf("Check(%q) accepted %+v, want rejection containing %q", tc.in, *st, tc.reason)
			}
			if st != nil {
				t.Errorf("Check(%q) returned a statement together with an error", tc.in)
			}
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("Check(%q) error %T is not *Error", tc.in, err)
			}
			if !strings.Contains(ge.Reason, tc.reason) {
				t.Errorf("Check(%q) reason = %q, want it to contain %q", tc.in, ge.Reason, tc.reason)
			}
			wantOffset := -1
			if tc.at != "" {
				if tc.atLast {
					wantOffset = strings.LastIndex(tc.in, tc.at)
				} else {
					wantOffset = strings.Index(tc.in, tc.at)
				}
				if wantOffset < 0 {
					t.Fatalf("bad test: %q does not occur in %q", tc.at, tc.in)
				}
			}
			if ge.Offset != wantOffset {
				t.Errorf("Check(%q) offset = %d, want %d (reason %q)", tc.in, ge.Offset, wantOffset, ge.Reason)
			}
		})
	}
}

// TestHintInsertion follows the recipe documented on SelectOffset.
func TestHintInsertion(t *testing.T) {
	for _, in := range []string{
		"SELECT 1",
		"/* lead */ select a FROM t -- c",
		"SELECT*FROM t",
		"SELECT/*c*/1",
		"SELECT'a'",
		"EXPLAIN SELECT a FROM t",
	} {
		st, err := Check(in)
		if err != nil {
			t.Fatalf("Check(%q): %v", in, err)
		}
		if st.Target != nil {
			st = st.Target
		}
		if st.SelectOffset < 0 {
			t.Fatalf("Check(%q): SelectOffset = %d", in, st.SelectOffset)
		}
		o := st.SelectOffset + len("SELECT")
		withHint := st.SQL[:o] + " /*+ SET_VAR(query_timeout=10) */" + st.SQL[o:]
		got, err := Check(withHint)
		if err != nil {
			t.Fatalf("Check(%q) after inserting a hint: %v", withHint, err)
		}
		if !got.HasHint || got.SelectOffset != st.SelectOffset || got.Kind != Select {
			t.Errorf("Check(%q) = %+v, want a hinted SELECT at offset %d", withHint, *got, st.SelectOffset)
		}
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  Error
		want string
	}{
		{Error{Reason: "INSERT is a write statement", Offset: 14}, "sqlguard: rejected: INSERT is a write statement (offset 14)"},
		{Error{Reason: "empty statement", Offset: -1}, "sqlguard: rejected: empty statement"},
		{Error{Reason: "unterminated string literal starting at offset 7", Offset: 7}, "sqlguard: rejected: unterminated string literal starting at offset 7"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	_, err := Check("SELECT 1; DROP TABLE t")
	if want := "sqlguard: rejected: multiple statements are not allowed; send one statement per call (offset 10)"; err == nil || err.Error() != want {
		t.Errorf("Check error = %v, want %q", err, want)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Select: "SELECT", Show: "SHOW", Describe: "DESCRIBE", Explain: "EXPLAIN", 0: "Kind(0)", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

// TestWriteWordsAnywhere makes sure every write keyword is rejected in the
// middle of a query and accepted as a function name, a qualified name and
// a quoted name.
func TestWriteWordsAnywhere(t *testing.T) {
	for _, w := range writeWords {
		for _, form := range []string{w.word, strings.ToLower(w.word)} {
			bare := "SELECT a FROM t WHERE b = 1 " + form + " c"
			_, err := Check(bare)
			var ge *Error
			if !errors.As(err, &ge) || !strings.Contains(ge.Reason, w.reason) || ge.Offset != strings.LastIndex(bare, form) {
				t.Errorf("Check(%q) = %v, want rejection %q at %d", bare, err, w.reason, strings.LastIndex(bare, form))
			}
			for _, ok := range []string{
				"SELECT " + form + "(a) FROM t",
				"SELECT t." + form + " FROM t",
				"SELECT `" + form + "` FROM t",
				"SELECT " + form + "_time FROM t",
			} {
				if _, err := Check(ok); err != nil {
					t.Errorf("Check(%q) = %v, want it accepted", ok, err)
				}
			}
		}
	}
}

// TestBlockedCallsAnywhere makes sure every blocked function is rejected in
// each form of call and accepted as a plain name.
func TestBlockedCallsAnywhere(t *testing.T) {
	for _, f := range blockedCalls {
		for _, call := range []string{
			"SELECT " + f.name + "(1)",
			"SELECT " + strings.ToLower(f.name) + " (1)",
			"SELECT db." + f.name + "(1)",
			"SELECT `" + f.name + "`(1)",
			"SELECT * FROM t WHERE x = " + f.name + "/* c */(1)",
		} {
			_, err := Check(call)
			var ge *Error
			if !errors.As(err, &ge) || !strings.Contains(ge.Reason, f.name+"() is not allowed: "+f.reason) {
				t.Errorf("Check(%q) = %v, want rejection for %s()", call, err, f.name)
			}
		}
		if _, err := Check("SELECT " + f.name + " FROM t"); err != nil && !strings.Contains(err.Error(), "write") {
			t.Errorf("Check(SELECT %s FROM t) = %v, want it accepted", f.name, err)
		}
	}
}

// TestLongInput checks statements with more tokens than fit inline, and
// deep nesting.
func TestLongInput(t *testing.T) {
	cols := strings.Repeat("a, ", 5000) + "b"
	if _, err := Check("SELECT " + cols + " FROM t"); err != nil {
		t.Errorf("long select: %v", err)
	}
	_, err := Check("SELECT " + cols + " FROM t WHERE SLEEP(1)")
	if err == nil || !strings.Contains(err.Error(), "SLEEP") {
		t.Errorf("long select with SLEEP: %v", err)
	}
	deep := strings.Repeat("(", 10000) + "SELECT 1" + strings.Repeat(")", 10000)
	if _, err := Check(deep); err != nil {
		t.Errorf("deeply nested select: %v", err)
	}
	explains := strings.Repeat("EXPLAIN ", 10000) + "SELECT 1"
	if _, err := Check(explains); err == nil {
		t.Errorf("nested EXPLAIN accepted")
	}
}

var benchQuery = `SELECT o.order_id, o.customer_id, c.name, SUM(li.quantity * li.unit_price) AS total
FROM orders AS o JOIN customers AS c ON c.id = o.customer_id
JOIN line_items li ON li.order_id = o.order_id
WHERE o.created_at >= '2024-01-01' AND o.status <> 'cancelled' -- recent orders
GROUP BY o.order_id, o.customer_id, c.name ORDER BY total DESC LIMIT 100`

func BenchmarkCheck(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchQuery)))
	for b.Loop() {
		if _, err := Check(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

// External calls are refused by Check and accepted by CheckWith when the
// caller allows them; everything else stays refused.
func TestCheckWithAllowExternal(t *testing.T) {
	for _, tc := range []struct {
		sql      string
		external bool // refused by Check, accepted with AllowExternal
	}{
		{"SELECT AI_GENERATE('say hi')", true},
		{"SELECT ai_sentiment(review) FROM t", true},
		{"SELECT `AI_TRANSLATE`(txt, 'fr') FROM t", true},
		{"SELECT EMBED(txt) FROM t", true},
		{"SELECT llm_summarize(txt) FROM t", true},
		{"SELECT AI_SIMILARITY(a, b), SLEEP(1) FROM t", false},
		{"SELECT db.AI_GENERATE('x')", false},
	} {
		if _, err := Check(tc.sql); err == nil {
			t.Errorf("Check(%q) accepted it", tc.sql)
		}
		_, err := CheckWith(tc.sql, Options{AllowExternal: true})
		if tc.external && err != nil {
			t.Errorf("CheckWith(%q, AllowExternal) = %v, want it accepted", tc.sql, err)
		}
		if !tc.external && err == nil {
			t.Errorf("CheckWith(%q, AllowExternal) accepted it", tc.sql)
		}
	}
}

func TestSafeCharset(t *testing.T) {
	for name, want := range map[string]bool{
		"utf8": true, "utf8mb3": true, "utf8mb4": true, "UTF8MB4": true, " utf8 ": true,
		"gbk": false, "big5": false, "sjis": false, "cp932": false, "gb18030": false, "gb2312": false,
		"latin1": false, "ascii": false, "binary": false, "ucs2": false, "utf16": false, "utf32": false, "": false,
	} {
		if got := SafeCharset(name); got != want {
			t.Errorf("SafeCharset(%q) = %v, want %v", name, got, want)
		}
	}
}
