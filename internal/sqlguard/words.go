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
	kwLastInsertID
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
	// stmt marks words that begin a statement EXPLAIN could explain. After
	// EXPLAIN they mean "explain this statement", not "describe this table".
	stmt bool
	// explainOption marks the modifiers MySQL and Doris accept between
	// EXPLAIN and the explained statement.
	explainOption bool
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

// blockedCalls are functions that cannot be called, each with the reason. A
// name counts as called when '(' follows it, even across whitespace or
// comments (MySQL's IGNORE_SPACE mode accepts "SLEEP (1)"), when it is
// schema-qualified (db.sleep(1)), and when it is backtick-quoted.
var blockedCalls = [...]struct{ name, reason string }{
	{"SLEEP", "it ties up a connection"},
	{"BENCHMARK", "it burns server CPU on purpose"},
	{"GET_LOCK", "it takes a named lock that outlives the query"},
	{"RELEASE_LOCK", "it releases named locks held by the session"},
	{"RELEASE_ALL_LOCKS", "it releases named locks held by the session"},
	{"IS_FREE_LOCK", "it probes the named-lock service"},
	{"IS_USED_LOCK", "it probes the named-lock service"},
	{"LOAD_FILE", "it reads files from the database server's filesystem"},
	{"SYS_EXEC", "it runs operating system commands"},
	{"SYS_EVAL", "it runs operating system commands"},
	{"MASTER_POS_WAIT", "it blocks until a replica catches up"},
	{"SOURCE_POS_WAIT", "it blocks until a replica catches up"},
	{"WAIT_FOR_EXECUTED_GTID_SET", "it blocks until a replica catches up"},
	{"WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS", "it blocks until a replica catches up"},
	{"NEXTVAL", "it advances a sequence"},
	{"SETVAL", "it changes a sequence"},
	{"SERVICE_GET_READ_LOCKS", "it takes locks that outlive the query"},
	{"SERVICE_GET_WRITE_LOCKS", "it takes locks that outlive the query"},
	{"SERVICE_RELEASE_LOCKS", "it releases locks held by the session"},
	{"SET_FIREWALL_MODE", "it reconfigures the server firewall"},
	{"SET_FIREWALL_GROUP_MODE", "it reconfigures the server firewall"},
	// Apache Doris table functions that reach outside the database.
	{"QUERY", "it sends raw SQL to an external catalog without this check"},
	{"LOCAL", "it reads files from a backend's local filesystem"},
	{"FILE", "it reads files from server filesystems or remote storage"},
	{"S3", "it makes the server fetch data from an arbitrary endpoint"},
	{"HDFS", "it makes the server fetch data from an arbitrary endpoint"},
	{"HTTP", "it makes the server fetch an arbitrary URL"},
}

// blockedCallPrefixes are families of MySQL plugin functions that
// administer the server, blocked by name prefix.
var blockedCallPrefixes = [...]struct{ prefix, reason string }{
	{"KEYRING_", "it reads or changes keyring secrets"},
	{"AUDIT_LOG_", "it administers the audit log"},
	{"VERSION_TOKENS_", "it changes server version tokens"},
	{"GROUP_REPLICATION_", "it administers replication"},
	{"ASYNCHRONOUS_CONNECTION_FAILOVER_", "it administers replication"},
	{"MYSQL_FIREWALL_", "it administers the server firewall"},
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
	"VALUE": kwValue, "FORMAT": kwFormat, "LAST_INSERT_ID": kwLastInsertID,
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
		get(f.name).call = f.reason
	}
	for _, w := range explainOptions {
		get(w).explainOption = true
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
		infos[i].call = p.reason
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

// lookupCall returns the reason a call to the function name is blocked, or
// "". The name may be any identifier, including one that was quoted.
func lookupCall(name string) string {
	if info := lookupWord(name); info != nil && info.call != "" {
		return info.call
	}
	for i, p := range blockedCallPrefixes {
		if len(name) > len(p.prefix) && strings.EqualFold(name[:len(p.prefix)], p.prefix) {
			return prefixInfos[i].call
		}
	}
	return ""
}
