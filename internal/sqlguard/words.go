package sqlguard

import "strings"

// kwID names the keywords that give a statement its structure.
type kwID uint8

const (
	kwNone kwID = iota
	kwSelect
	kwWith
	kwShow
	kwDesc
	kwDescribe
	kwExplain
	kwRecursive
	kwAs
	kwInto
	kwOutfile
	kwDumpfile
	kwFor
	kwUpdate
	kwShare
	kwLock
	kwIn
	kwCharacter
	kwChar
	kwSet
	kwUse
	kwIndex
	kwKey
	kwNext
	kwValue
	kwFormat
	kwValues
	kwTable
	kwLoad
	kwWarnings
	kwOn
	kwFunction
)

// wordInfo is what the rules know about an unquoted word. A word may play
// several roles: UPDATE is a write keyword, a statement starter and part of
// FOR UPDATE.
type wordInfo struct {
	id kwID
	// write completes "<WORD> ..." when the bare word is rejected.
	write string
	// call completes "<NAME>() is not allowed: ..." when a call is rejected.
	call string
	// callClass is the class of a call with a reason.
	callClass int
	// stmt marks words that begin a statement EXPLAIN could explain. After
	// EXPLAIN they mean "explain this statement", not "describe this table".
	stmt bool
	// explainOption marks the modifiers MySQL and Doris accept between
	// EXPLAIN and the explained statement.
	explainOption bool
	// notCall marks keywords that '(' may follow without calling a
	// function: IN (...), OVER (...), PARTITION (p1).
	notCall bool
	// typeName marks data types that take a length: DECIMAL(10, 2).
	typeName bool
}

// writeWords are rejected wherever they appear as bare keywords in a query,
// not just at the start of a statement.
//
// Only the start of a statement, the statement after a WITH list, and the
// target of EXPLAIN can hold a statement, and Check allow-lists those
// positions. This list is a second line of defence for grammar nobody
// foresaw. Its price is that the bare word cannot be used as a name, so it
// holds only words that are reserved in MySQL or are unlikely column names.
// Statement words that make ordinary column names (START, BEGIN, COMMIT,
// STATUS, ADMIN, BACKUP, SYNC, ...) are left to the allow-lists. They are
// harmless anywhere else.
//
// Three uses of a listed word are not keywords, so none of them is
// rejected. The word may be called as a function: REPLACE('a','b','c'),
// INSERT(s,1,2,'x') and TRUNCATE(x,2) are string and number functions.
// Statements such as DO (expr) or UPDATE (t1 JOIN t2) SET ... can also put
// '(' after their keyword, but a statement can only begin where the
// allow-lists apply. So in the middle of a query, "word (" is a call. The
// word may also follow a '.': MySQL and Doris read t.delete as a column. Or
// it may be quoted: `delete` is a name. Identifiers are whole tokens, so
// update_time never matches UPDATE.
var writeWords = [...]struct{ word, reason string }{
	{"INSERT", "is a write statement"},
	{"UPDATE", "is a write statement"},
	{"DELETE", "is a write statement"},
	{"REPLACE", "is a write statement"},
	{"MERGE", "is a write statement"},
	{"TRUNCATE", "deletes every row of a table"},
	{"LOAD", "loads data into a table"},
	{"CREATE", "is a schema change (DDL) statement"},
	{"ALTER", "is a schema change (DDL) statement"},
	{"DROP", "is a schema change (DDL) statement"},
	{"RENAME", "is a schema change (DDL) statement"},
	{"GRANT", "changes privileges"},
	{"REVOKE", "changes privileges"},
	{"SET", "changes session or server variables"},
	{"USE", "changes the current database"},
	{"CALL", "runs a stored procedure"},
	{"DO", "evaluates expressions only for their side effects"},
	{"PREPARE", "prepares dynamic SQL"},
	{"EXECUTE", "runs dynamic SQL"},
	{"DEALLOCATE", "manages prepared statements"},
	{"KILL", "terminates sessions or queries"},
	{"LOCK", "takes table locks"},
	{"UNLOCK", "releases table locks"},
	{"INSTALL", "installs server plugins or components"},
	{"UNINSTALL", "removes server plugins or components"},
	{"ANALYZE", "collects and stores table statistics"},
	{"OPTIMIZE", "rebuilds tables"},
	{"REPAIR", "rewrites tables"},
	{"FLUSH", "changes server state"},
	{"PURGE", "deletes server logs"},
	{"SHUTDOWN", "stops the server"},
}

// Function classes. A call is refused when its name is listed below; an
// external call only when the caller of CheckWith did not allow it.
const (
	classBlocked  = 1 // waits, locks, sequences, session state, server files or administration
	classExternal = 2 // sends data to a service outside the database
)

// blockedCalls are the built-in functions a read-only caller may not call,
// each with the reason. A name counts as called when '(' follows it, even
// across whitespace or comments (MySQL's IGNORE_SPACE mode accepts
// "SLEEP (1)"), and when it is backtick-quoted: both servers resolve
// `sleep`(1) to the built-in.
//
// The list was made by going through each server's own function list, not
// from memory: the native functions of MariaDB 10.11 (every name its
// parser resolves, probed with PREPARE, and the mysql.help_topic table),
// the MySQL 8.0 and 8.4 function and operator reference with its
// plugin and component functions, and the scalar, aggregate and table
// functions of Apache Doris 2.1, 3.0 and 4.0. Every function of those lists
// that waits, takes or releases locks, advances or sets a sequence, changes
// connection or server state, reads server files, administers the server
// or calls an outside service is here; the rest are computations over
// their arguments and the data. TestServerFunctionsClassified checks a
// live MariaDB against this judgement.
var blockedCalls = [...]struct {
	name, reason string
	class        int
}{
	{"SLEEP", "it ties up a connection", classBlocked},
	{"BENCHMARK", "it burns server CPU on purpose", classBlocked},
	{"GET_LOCK", "it takes a named lock that outlives the query", classBlocked},
	{"RELEASE_LOCK", "it releases named locks held by the session", classBlocked},
	{"RELEASE_ALL_LOCKS", "it releases named locks held by the session", classBlocked},
	{"IS_FREE_LOCK", "it probes the named-lock service", classBlocked},
	{"IS_USED_LOCK", "it probes the named-lock service", classBlocked},
	{"LOAD_FILE", "it reads files from the database server's filesystem", classBlocked},
	{"BINLOG_GTID_POS", "it reads the server's binary log files", classBlocked},
	{"DES_ENCRYPT", "it uses keys from the server's DES key file", classBlocked},
	{"DES_DECRYPT", "it uses keys from the server's DES key file", classBlocked},
	{"SYS_EXEC", "it runs operating system commands", classBlocked},
	{"SYS_EVAL", "it runs operating system commands", classBlocked},
	{"MASTER_POS_WAIT", "it blocks until a replica catches up", classBlocked},
	{"MASTER_GTID_WAIT", "it blocks until a replica catches up", classBlocked},
	{"SOURCE_POS_WAIT", "it blocks until a replica catches up", classBlocked},
	{"WAIT_FOR_EXECUTED_GTID_SET", "it blocks until a replica catches up", classBlocked},
	{"WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS", "it blocks until a replica catches up", classBlocked},
	{"WSREP_SYNC_WAIT_UPTO_GTID", "it blocks until the cluster has applied a transaction", classBlocked},
	{"NEXTVAL", "it advances a sequence", classBlocked},
	{"SETVAL", "it changes a sequence", classBlocked},
	{"SERVICE_GET_READ_LOCKS", "it takes locks that outlive the query", classBlocked},
	{"SERVICE_GET_WRITE_LOCKS", "it takes locks that outlive the query", classBlocked},
	{"SERVICE_RELEASE_LOCKS", "it releases locks held by the session", classBlocked},
	{"AUDIT_API_MESSAGE_EMIT_UDF", "it writes to the audit log", classBlocked},
	{"LOAD_REWRITE_RULES", "it reloads the server's query rewrite rules", classBlocked},
	{"MLE_SESSION_RESET", "it resets the session's stored program state", classBlocked},
	{"MLE_SET_SESSION_STATE", "it changes the session's stored program state", classBlocked},
	// What the previous statement on the connection left behind, which may
	// have been another caller's.
	{"FOUND_ROWS", "it reads what the previous statement on the connection left behind", classBlocked},
	{"ROW_COUNT", "it reads what the previous statement on the connection left behind", classBlocked},
	{"LAST_INSERT_ID", "it reads or sets what the previous statement on the connection left behind", classBlocked},
	{"LAST_QUERY_ID", "it reads what the previous statement on the connection left behind", classBlocked},
	// Apache Doris table functions that reach outside the database.
	{"QUERY", "it sends raw SQL to an external catalog without this check", classBlocked},
	{"LOCAL", "it reads files from a backend's local filesystem", classBlocked},
	{"FILE", "it reads files from server filesystems or remote storage", classBlocked},
	{"S3", "it makes the server fetch data from an arbitrary endpoint", classBlocked},
	{"HDFS", "it makes the server fetch data from an arbitrary endpoint", classBlocked},
	{"HTTP", "it makes the server fetch an arbitrary URL", classBlocked},
	// Apache Doris functions that send their arguments to a model service
	// configured as an AI resource, by exact name.
	{"EMBED", "it sends data to an external model service", classExternal},
	{"AI_CLASSIFY", "it sends data to an external model service", classExternal},
	{"AI_EXTRACT", "it sends data to an external model service", classExternal},
	{"AI_FILTER", "it sends data to an external model service", classExternal},
	{"AI_FIXGRAMMAR", "it sends data to an external model service", classExternal},
	{"AI_GENERATE", "it sends data to an external model service", classExternal},
	{"AI_MASK", "it sends data to an external model service", classExternal},
	{"AI_SENTIMENT", "it sends data to an external model service", classExternal},
	{"AI_SIMILARITY", "it sends data to an external model service", classExternal},
	{"AI_SUMMARIZE", "it sends data to an external model service", classExternal},
	{"AI_TRANSLATE", "it sends data to an external model service", classExternal},
	{"AI_AGG", "it sends data to an external model service", classExternal},
	{"LLM_CLASSIFY", "it sends data to an external model service", classExternal},
	{"LLM_EXTRACT", "it sends data to an external model service", classExternal},
	{"LLM_FILTER", "it sends data to an external model service", classExternal},
	{"LLM_FIXGRAMMAR", "it sends data to an external model service", classExternal},
	{"LLM_GENERATE", "it sends data to an external model service", classExternal},
	{"LLM_MASK", "it sends data to an external model service", classExternal},
	{"LLM_SENTIMENT", "it sends data to an external model service", classExternal},
	{"LLM_SIMILARITY", "it sends data to an external model service", classExternal},
	{"LLM_SUMMARIZE", "it sends data to an external model service", classExternal},
	{"LLM_TRANSLATE", "it sends data to an external model service", classExternal},
}

// blockedCallPrefixes are families of functions blocked by name prefix:
// MySQL plugin and component functions that administer the server.
var blockedCallPrefixes = [...]struct {
	prefix, reason string
	class          int
}{
	{"KEYRING_", "it reads or changes keyring secrets", classBlocked},
	{"AUDIT_LOG_", "it administers the audit log", classBlocked},
	{"VERSION_TOKENS_", "it changes server version tokens or takes their locks", classBlocked},
	{"GROUP_REPLICATION_", "it administers replication", classBlocked},
	{"ASYNCHRONOUS_CONNECTION_FAILOVER_", "it administers replication", classBlocked},
	{"MYSQL_FIREWALL_", "it administers the server firewall", classBlocked},
	{"SET_FIREWALL_", "it reconfigures the server firewall", classBlocked},
	{"FIREWALL_GROUP_", "it reconfigures the server firewall", classBlocked},
	{"GEN_DICTIONARY_", "it loads or drops data masking dictionaries", classBlocked},
	{"MASKING_DICTIONAR", "it changes data masking dictionaries", classBlocked},
}

// explainOptions are the modifiers accepted between EXPLAIN and the
// statement it explains. FORMAT is handled apart because a value follows it.
var explainOptions = [...]string{
	// MySQL
	"EXTENDED", "PARTITIONS", "ANALYZE",
	// Apache Doris
	"VERBOSE", "TREE", "GRAPH", "PLAN", "DUMP", "PROCESS",
	"PARSED", "ANALYZED", "REWRITTEN", "LOGICAL", "OPTIMIZED", "PHYSICAL",
	"SHAPE", "MEMO", "DISTRIBUTED", "ALL",
}

// maxWordLen bounds the words worth looking up: no listed word is longer.
const maxWordLen = 40

var (
	words       = buildWords()
	wordFilter  = buildWordFilter()
	prefixInfos = buildPrefixInfos()
)

// structuralWords are the keywords whose position the rules inspect.
var structuralWords = map[string]kwID{
	"SELECT": kwSelect, "WITH": kwWith, "SHOW": kwShow, "DESC": kwDesc,
	"DESCRIBE": kwDescribe, "EXPLAIN": kwExplain, "RECURSIVE": kwRecursive,
	"AS": kwAs, "INTO": kwInto, "OUTFILE": kwOutfile, "DUMPFILE": kwDumpfile,
	"FOR": kwFor, "UPDATE": kwUpdate, "SHARE": kwShare, "LOCK": kwLock,
	"IN": kwIn, "CHARACTER": kwCharacter, "CHAR": kwChar, "SET": kwSet,
	"USE": kwUse, "INDEX": kwIndex, "KEY": kwKey, "NEXT": kwNext,
	"VALUE": kwValue, "FORMAT": kwFormat,
	"VALUES": kwValues, "TABLE": kwTable, "LOAD": kwLoad, "WARNINGS": kwWarnings, "ON": kwOn,
	"FUNCTION": kwFunction,
}

// notCallWords are keywords of the grammar that '(' may follow without
// the pair being a function call. Each is reserved, or is read by the
// grammar before any function is looked up, in MySQL, MariaDB and Apache
// Doris, so none can reach a stored function.
var notCallWords = [...]string{
	"AND", "OR", "NOT", "XOR", "IN", "EXISTS", "ON", "USING", "OVER", "FROM", "JOIN",
	"WHERE", "SELECT", "HAVING", "BY", "WHEN", "THEN", "ELSE", "CASE", "IS", "LIKE",
	"REGEXP", "RLIKE", "BETWEEN", "ALL", "ANY", "SOME", "UNION", "INTERSECT", "EXCEPT",
	"MINUS", "DISTINCT", "VALUES", "INTERVAL", "PARTITION", "PARTITIONS", "INDEX", "KEY",
	"LATERAL", "DIV", "ESCAPE", "WINDOW", "LIMIT", "OFFSET", "ROLLUP", "CUBE", "SETS",
	"TABLET", "TABLESAMPLE", "WITH", "ROW", "AGAINST", "GROUP", "AS", "RETURN",
	"FOR", "OF", "MATCH", "MATCH_ANY", "MATCH_ALL",
	"MATCH_PHRASE", "MATCH_PHRASE_PREFIX", "MATCH_REGEXP", "MATCH_PHRASE_EDGE", "ASC",
	"DESC", "EXPLAIN", "DESCRIBE", "SHOW", "LEADING", "ORDERED", "COLUMNS", "PATH",
}

// typeNames are data types that take a length or precision.
var typeNames = [...]string{
	"DECIMAL", "DECIMALV2", "DECIMALV3", "NUMERIC", "DEC", "CHAR", "VARCHAR", "NCHAR",
	"NVARCHAR", "BINARY", "VARBINARY", "DATETIME", "DATETIMEV2", "TIMESTAMP", "TIME",
	"FLOAT", "DOUBLE", "INT", "INTEGER", "BIGINT", "TINYINT", "SMALLINT", "MEDIUMINT",
	"SIGNED", "UNSIGNED", "STRING", "TEXT", "BIT", "YEAR",
}

// statementWords begin statements that EXPLAIN could explain, in addition
// to the write words.
var statementWords = [...]string{"SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXPLAIN", "TABLE", "VALUES"}

func buildWords() map[string]*wordInfo {
	m := make(map[string]*wordInfo)
	get := func(w string) *wordInfo {
		if len(w) > maxWordLen {
			panic("sqlguard: word longer than maxWordLen: " + w)
		}
		info := m[w]
		if info == nil {
			info = &wordInfo{}
			m[w] = info
		}
		return info
	}
	for w, id := range structuralWords {
		get(w).id = id
	}
	for _, w := range writeWords {
		info := get(w.word)
		info.write = w.reason
		info.stmt = true
	}
	for _, w := range statementWords {
		get(w).stmt = true
	}
	for _, f := range blockedCalls {
		info := get(f.name)
		info.call, info.callClass = f.reason, f.class
	}
	for _, w := range explainOptions {
		get(w).explainOption = true
	}
	for _, w := range notCallWords {
		get(w).notCall = true
	}
	for _, w := range typeNames {
		get(w).typeName = true
	}
	return m
}

// letterClass maps a byte to 0..25 for letters of either case and to 26
// for anything else.
func letterClass(c byte) int {
	c |= 0x20
	if c >= 'a' && c <= 'z' {
		return int(c - 'a')
	}
	return 26
}

// buildWordFilter records, for each pair of first and last letter, the
// lengths of the listed words. Most identifiers in a query match no entry
// and skip the map lookup.
func buildWordFilter() (f [27 * 27]uint64) {
	for w := range words {
		f[letterClass(w[0])*27+letterClass(w[len(w)-1])] |= 1 << len(w)
	}
	return f
}

func buildPrefixInfos() []wordInfo {
	infos := make([]wordInfo, len(blockedCallPrefixes))
	for i, p := range blockedCallPrefixes {
		infos[i].call, infos[i].callClass = p.reason, p.class
	}
	return infos
}

// lookupWord returns what the rules know about an unquoted word, or nil.
// Keywords are case-insensitive in both servers.
func lookupWord(w string) *wordInfo {
	if len(w) < 2 || len(w) > maxWordLen ||
		wordFilter[letterClass(w[0])*27+letterClass(w[len(w)-1])]&(1<<len(w)) == 0 {
		return nil
	}
	var buf [maxWordLen]byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	return words[string(buf[:len(w)])]
}

// lookupCall returns what is known about a call to the function name, or
// nil. The name may be any identifier, including one that was quoted.
func lookupCall(name string) *wordInfo {
	if info := lookupWord(name); info != nil && info.call != "" {
		return info
	}
	for i, p := range blockedCallPrefixes {
		if len(name) > len(p.prefix) && strings.EqualFold(name[:len(p.prefix)], p.prefix) {
			return &prefixInfos[i]
		}
	}
	return nil
}
