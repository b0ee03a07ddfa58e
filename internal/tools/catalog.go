package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/sqlguard"
)

type execQueryArgs struct {
	SQL            string `json:"sql" jsonschema:"One read-only statement: SELECT, WITH … SELECT, SHOW, DESCRIBE or EXPLAIN. Writes, DDL and several statements are refused."`
	DBName         string `json:"db_name,omitempty" jsonschema:"Database to run the statement in; the server's default database when omitted."`
	MaxRows        int    `json:"max_rows,omitempty" schema:"min=1,max=$rows,default=$rows" jsonschema:"Most rows to return."`
	MaxBytes       int    `json:"max_bytes,omitempty" schema:"min=1,max=$bytes,default=$bytes" jsonschema:"Most bytes of encoded rows to return."`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" schema:"min=1,max=$seconds,default=$seconds" jsonschema:"Time limit in seconds; the query is killed in Doris when it runs out."`
	Timeout        int    `json:"timeout,omitempty" schema:"alias=timeout_seconds" jsonschema:"Same as timeout_seconds (the reference server's name)."`
	CatalogName    string `json:"catalog_name,omitempty" jsonschema:"Doris catalog to run the statement in (see get_catalog_list), e.g. an external Hive or Iceberg catalog; the internal catalog when omitted."`
}

type explainArgs struct {
	SQL         string `json:"sql" jsonschema:"The query to explain: SELECT or WITH … SELECT."`
	Verbose     bool   `json:"verbose,omitempty" jsonschema:"Ask Doris for the verbose plan (EXPLAIN VERBOSE)."`
	DBName      string `json:"db_name,omitempty" jsonschema:"Database to plan the query in; the server's default database when omitted."`
	CatalogName string `json:"catalog_name,omitempty" jsonschema:"Doris catalog to plan the query in; the internal catalog when omitted."`
}

type catalogArgs struct {
	CatalogName string `json:"catalog_name,omitempty" jsonschema:"Doris catalog whose databases to list (see get_catalog_list); the internal catalog when omitted."`
}

type dbArgs struct {
	DBName      string `json:"db_name,omitempty" jsonschema:"Database name; the server's default database when omitted (required with catalog_name)."`
	CatalogName string `json:"catalog_name,omitempty" jsonschema:"Doris catalog of the database; the internal catalog when omitted."`
}

type tableArgs struct {
	TableName   string `json:"table_name" jsonschema:"Table name, optionally qualified as db.table."`
	DBName      string `json:"db_name,omitempty" jsonschema:"Database of the table; the server's default database when omitted."`
	CatalogName string `json:"catalog_name,omitempty" jsonschema:"Doris catalog of the table; the internal catalog when omitted."`
}

func (c *catalog) register() error {
	return errors.Join(
		add(c, "exec_query", "Run a read-only SQL query",
			"Runs one read-only SQL statement on Doris and returns its rows, bounded in rows, bytes and time. "+
				"The result says whether it was truncated.",
			c.execQuery),
		add(c, "get_sql_explain", "Explain a query's plan",
			"Returns the execution plan Doris chooses for a read-only query, one line per row, without running it.",
			c.explain),
		add(c, "get_db_list", "List databases",
			"Lists the databases visible to the connected Doris user, in the internal catalog or in the one "+
				"catalog_name names.",
			c.dbList),
		add(c, "get_db_table_list", "List tables",
			"Lists the tables and views of a database with their type (BASE TABLE or VIEW); "+
				"use get_table_schema next for a table's columns.",
			c.tableList),
		add(c, "get_table_schema", "Describe a table",
			"Returns a table's columns in order: Field, Type, Collation, Null, Key, Default, Extra and Comment.",
			c.tableSchema),
		add(c, "get_catalog_list", "List catalogs",
			"Lists the Doris catalogs: internal, and the external ones (Hive, Iceberg, JDBC, …) whose names "+
				"catalog_name takes in the other tools. Needs Apache Doris.",
			c.catalogList),
		add(c, "get_cluster_nodes", "List cluster nodes",
			"Summarises every Doris node, frontends then backends, one row each: role, host, alive, version, "+
				"last start and heartbeat, disk used and total, tablets, CPU cores and memory (3.0+), and the node's error. "+
				"Use it first when queries fail or slow down. Needs Apache Doris.",
			c.clusterNodes),
		add(c, "get_sql_profile", "Profile a query",
			"Runs one read-only query with profiling on and returns Doris's text profile of it: time per "+
				"fragment and operator, rows and bytes scanned, memory. Use it to find why a query is slow. "+
				"Needs Apache Doris 2.1 or later and the FE HTTP port.",
			c.sqlProfile),
		add(c, "get_table_data_size", "Table data sizes",
			"Returns the data size in bytes of one table, or of every table of a database, largest first, "+
				"as the FE reports it (all replicas, or one with single_replica). A view stores no data: it shows 0 bytes "+
				"with is_view true and, asked for by name, the tables it reads. Needs Apache Doris and the FE HTTP port.",
			c.tableDataSize),
		add(c, "get_monitoring_metrics", "Cluster metrics",
			"Reads the Prometheus metrics of the FE and every BE: with priority core (the default) a curated set "+
				"(queries, errors, latency, connections, JVM and BE memory, CPU, disks, compaction) each with a one-line meaning; "+
				"with priority all every metric, filtered by monitor_type and name_prefix. A node that does not answer "+
				"shows as up = 0. Needs Apache Doris and the FE HTTP port.",
			c.monitoringMetrics),
		add(c, "get_memory_stats", "BE memory",
			"Returns each BE's real memory use from its /metrics: the process's allocated memory, jemalloc's "+
				"allocated, active, resident and cached bytes, and the memory trackers (query, load, compaction, …) in bytes. "+
				"Needs Apache Doris and the FE HTTP port.",
			c.memoryStats),
		add(c, "get_table_comment", "Table comment", "Returns a table's comment and type from information_schema.TABLES.", c.tableComment),
		add(c, "get_table_column_comments", "Column comments", "Returns each column of a table with its type and comment, in order, from information_schema.COLUMNS.", c.columnComments),
		add(c, "get_table_indexes", "Table indexes", "Returns a table's indexes from SHOW INDEX, one row per index with its columns in order.", c.tableIndexes),
		add(c, "get_table_basic_info", "Table overview", "Returns a table's type, engine, row count (Doris: its statistics; elsewhere COUNT(*) bounded to 5 s, else the engine's estimate; the answer says which), column and partition counts, data size, comment and times.", c.tableBasicInfo),
		add(c, "get_recent_audit_logs", "Recent audit log", "Returns the newest records of Doris's audit log (__internal_schema.audit_log, Doris 2.1+), statements cut to "+fmt.Sprint(stmtChars)+" characters; for callers whose results are masked, their literals are shown as ? and comments dropped.", c.recentAuditLogs),
		add(c, "analyze_slow_queries_topn", "Slowest statements", "Groups the audit log's slow runs by statement (sql_hash) in Doris and returns the statements that took the most total time, with run counts, max and average times, scans, memory and failures. Statements are shown as get_recent_audit_logs shows them.", c.slowQueries),
		add(c, "analyze_data_access_patterns", "Access patterns per user", "Aggregates the audit log per user in Doris: statements, queries, failures, client hosts, databases, average time, bytes scanned, rows returned, first and last seen. The audit log does not name tables, so neither does this.", c.accessPatterns),
		add(c, "analyze_resource_growth_curves", "Activity and size growth", "Returns the audit log's activity per day (statements, bytes and rows scanned, CPU, peak memory) and each table's size today from SHOW DATA. Doris keeps no history of table sizes, so sizes are today's only.", c.resourceGrowth),
		add(c, "analyze_columns", "Profile columns", "Profiles columns in one statement that reads at most sample_size rows of the table (Doris TABLESAMPLE where the server takes it, else the first rows the scan returns; the sampling column says which): per column the null count, distinct count, min and max of the sample, and its 5 most frequent values. Masked columns' values are left out.", c.analyzeColumns),
		add(c, "analyze_table_storage", "Storage layout", "Returns a Doris table's storage: keys model, partitioning, distribution key and buckets, replication and medium (from SHOW CREATE TABLE), size, replicas and rows (SHOW DATA), then one row per partition (SHOW PARTITIONS). A view stores no data: it gets one row of level view, 0 bytes, and a note naming the tables it reads.", c.tableStorage),
		add(c, "monitor_data_freshness", "Data freshness", "Returns each table's last data change and flags those older than threshold_hours: on Doris the newest visible version time of its partitions, elsewhere information_schema UPDATE_TIME; the source column says which, and when it is unknown. A view has no update time of its own: its row (is_view true) has the newest change of the base tables it reads, named in source. A table that cannot be checked gets a row with its error; the call fails only when none can.", c.freshness),
		add(c, "trace_column_lineage", "Column lineage", "Traces columns upstream through view definitions and the audit log's INSERT … SELECT statements (Doris 2.1+), read with a SQL lexer; rows marked coverage say which sources were read and what they cannot show.", c.columnLineage),
		add(c, "analyze_data_flow_dependencies", "Table data flow", "Returns the tables that feed a table (upstream) and that it feeds (downstream), from view definitions and the audit log's INSERT … SELECT statements (Doris 2.1+); rows marked coverage say which sources were read and what they cannot show.", c.dataFlow),
	)
}

func (c *catalog) execQuery(ctx context.Context, in execQueryArgs) (*query.Result, error) {
	if strings.TrimSpace(in.SQL) == "" {
		return nil, errors.New("sql is required")
	}
	lim, err := c.limits(in.MaxRows, in.MaxBytes, in.TimeoutSeconds)
	if err != nil {
		return nil, err
	}
	if err := c.requireCatalog(ctx, "exec_query", in.CatalogName); err != nil {
		return nil, err
	}
	st, err := c.check(in.SQL, false)
	if err != nil {
		return nil, err
	}
	return c.runChecked(ctx, in.CatalogName, in.DBName, st, lim, c.mask(ctx), nil)
}

func (c *catalog) explain(ctx context.Context, in explainArgs) (*query.Result, error) {
	st, err := c.check(in.SQL, false)
	if err != nil {
		return nil, err
	}
	if st.Kind != sqlguard.Select {
		return nil, fmt.Errorf("get_sql_explain explains queries (SELECT or WITH … SELECT), not %s", st.Kind)
	}
	stmt := "EXPLAIN "
	if in.Verbose {
		be, err := c.cfg.Exec.Backend(ctx)
		if err != nil {
			return nil, err
		}
		if be.Engine != query.Doris {
			return nil, fmt.Errorf("verbose plans need Doris; this server is %s", be.Engine)
		}
		stmt += "VERBOSE "
	}
	if err := c.requireCatalog(ctx, "get_sql_explain", in.CatalogName); err != nil {
		return nil, err
	}
	est, err := c.check(stmt+st.SQL, false)
	if err != nil {
		return nil, err
	}
	return c.runChecked(ctx, in.CatalogName, in.DBName, est, c.metaLimits(), nil, nil)
}

func (c *catalog) dbList(ctx context.Context, in catalogArgs) (*query.Result, error) {
	if err := c.requireCatalog(ctx, "get_db_list", in.CatalogName); err != nil {
		return nil, err
	}
	return c.runIn(ctx, in.CatalogName, "", "SHOW DATABASES", c.metaLimits(), nil, nil)
}

func (c *catalog) tableList(ctx context.Context, in dbArgs) (*query.Result, error) {
	if in.CatalogName != "" && in.DBName == "" {
		return nil, errors.New("db_name is required with catalog_name")
	}
	stmt := "SHOW FULL TABLES"
	if in.DBName != "" {
		db, err := sqlguard.QuoteIdent(in.DBName)
		if err != nil {
			return nil, fmt.Errorf("db_name: %w", err)
		}
		stmt += " FROM " + db
	}
	if err := c.requireCatalog(ctx, "get_db_table_list", in.CatalogName); err != nil {
		return nil, err
	}
	return c.runIn(ctx, in.CatalogName, "", stmt, c.metaLimits(), nil, nil)
}

func (c *catalog) tableSchema(ctx context.Context, in tableArgs) (*query.Result, error) {
	table, err := qualify(in.DBName, in.TableName)
	if err != nil {
		return nil, err
	}
	if in.CatalogName != "" {
		switch quotedParts(table) {
		case 1:
			return nil, errors.New("db_name (or a table_name of the form db.table) is required with catalog_name")
		case 3:
			return nil, errors.New("table_name: give the catalog in catalog_name or as the first part of table_name, not both")
		}
	}
	if err := c.requireCatalog(ctx, "get_table_schema", in.CatalogName); err != nil {
		return nil, err
	}
	return c.runIn(ctx, in.CatalogName, "", "SHOW FULL COLUMNS FROM "+table, c.metaLimits(), nil, schemaColumns)
}

type catalogListArgs struct {
	RandomString string `json:"random_string,omitempty" jsonschema:"Accepted for compatibility with the reference server, which requires it, and ignored."`
}

func (c *catalog) catalogList(ctx context.Context, _ catalogListArgs) (*query.Result, error) {
	if _, err := c.require(ctx, "get_catalog_list", need{}); err != nil {
		return nil, err
	}
	return c.run(ctx, "", "SHOW CATALOGS", c.metaLimits(), nil)
}

// schemaColumns are the columns get_table_schema returns of SHOW FULL
// COLUMNS, which also has Privileges.
var schemaColumns = []string{"Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Comment"}

// qualify validates a table name, optionally qualified, and returns it
// backtick-quoted, qualified with db when db is given.
func qualify(db, table string) (string, error) {
	if table == "" {
		return "", errors.New("table_name is required")
	}
	if db == "" {
		return sqlguard.QuoteQualified(table)
	}
	qdb, err := sqlguard.QuoteIdent(db)
	if err != nil {
		return "", err
	}
	qt, err := sqlguard.QuoteIdent(table)
	if err != nil {
		return "", err
	}
	return qdb + "." + qt, nil
}

// quotedParts counts the parts of a name quoted by qualify: `a`.`b` has
// two. A backtick inside a part is doubled, so only a single backtick
// opens or closes a part.
func quotedParts(q string) int {
	n, in := 0, false
	for i := 0; i < len(q); i++ {
		if q[i] != '`' {
			continue
		}
		if in && i+1 < len(q) && q[i+1] == '`' {
			i++ // a doubled backtick inside the part
			continue
		}
		if !in {
			n++
		}
		in = !in
	}
	return n
}
