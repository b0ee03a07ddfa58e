package tools

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The prompts are plans for common analyses written against this
// server's own tools, by name, so the model reaches for a bounded tool
// before it writes SQL. Arguments are optional; each fills in a detail of
// the plan when given.

// promptArg is one argument of a prompt. A numeric one (max > 0) must be
// a whole number from 1 to max.
type promptArg struct {
	name, desc string
	max        int
}

type promptDef struct {
	name, title, desc string
	args              []promptArg
	// plan writes the instructions from the arguments given; arg returns
	// an argument's value or the fallback.
	plan func(arg func(name, fallback string) string) string
}

// maxPromptArg bounds an argument's text in a prompt.
const maxPromptArg = 200

var prompts = []promptDef{
	{
		name: "sales_analysis", title: "Sales analysis",
		desc: "Analyse sales: revenue over time, top products and customers, with the tables found in the database.",
		args: []promptArg{{"table_name", "Sales or orders table; found with get_db_table_list when omitted.", 0},
			{"time_period", "Period to analyse, e.g. 'last 90 days' or '2024'.", 0}, {"metrics", "Metrics of interest, e.g. revenue, order count, average order value.", 0}},
		plan: func(arg func(string, string) string) string {
			return fmt.Sprintf(`Analyse sales in Apache Doris for %s, over %s, focusing on %s.
1. Find the data: get_db_table_list, then get_table_schema and get_table_column_comments on %s and the tables it joins to.
2. Check its shape with get_table_basic_info (row count, partitions) so queries stay bounded.
3. Compute the trend and the top products and customers with exec_query (GROUP BY in Doris, LIMIT on every query; use get_sql_explain first for heavy joins).
4. Report the figures with the queries used, and say what the data could not answer.`,
				arg("table_name", "the sales or orders table"), arg("time_period", "the full period available"),
				arg("metrics", "revenue, order count and average order value"), arg("table_name", "the candidate tables"))
		},
	},
	{
		name: "user_behavior_analysis", title: "User behaviour analysis",
		desc: "Analyse how users behave: activity, funnels and retention from event or order data.",
		args: []promptArg{{"table_name", "Events or activity table.", 0}, {"user_column", "Column identifying the user.", 0}, {"days", "How many recent days to analyse, 1 to 365.", 365}},
		plan: func(arg func(string, string) string) string {
			return fmt.Sprintf(`Analyse user behaviour in Apache Doris using %s (user column %s) over the last %s days.
1. Read the table with get_table_schema and get_table_column_comments; profile key columns with analyze_columns (null ratio, distinct users, top event types).
2. With exec_query, count active users per day, events per user, and a simple funnel over the event types; aggregate in Doris and LIMIT results.
3. Look for retention: users active in the first week who return later.
4. Summarise the patterns, with the queries and any data-quality caveats analyze_columns revealed.`,
				arg("table_name", "the events table (find it with get_db_table_list)"), arg("user_column", "the user id column"), arg("days", "30"))
		},
	},
	{
		name: "performance_optimization", title: "Performance optimisation",
		desc: "Find the slowest statements and the storage layout behind them, and propose fixes.",
		args: []promptArg{{"table_name", "Table to focus on, if any.", 0}, {"days", "How many recent days of the audit log to read, 1 to 30.", 30}},
		plan: func(arg func(string, string) string) string {
			return fmt.Sprintf(`Find and explain performance problems in Apache Doris over the last %s days, focusing on %s.
1. analyze_slow_queries_topn lists the statements that took the most time (it needs the audit log; if it answers that the log is off, say how to enable it and continue with the rest).
2. For each slow statement, get_sql_explain shows the plan; look for full scans, missing partition pruning and large shuffles.
3. analyze_table_storage shows the table's keys model, partitions, buckets and replicas; get_table_indexes its indexes.
4. Propose concrete changes (partitioning, bucketing, indexes, rewritten SQL) and say which evidence supports each.`,
				arg("days", "7"), arg("table_name", "the tables the slow statements read"))
		},
	},
	{
		name: "data_quality_check", title: "Data quality check",
		desc: "Check a table's completeness, validity, freshness and consistency.",
		args: []promptArg{{"table_name", "Table to check.", 0}, {"columns", "Columns to check, comma-separated; all when omitted.", 0}},
		plan: func(arg func(string, string) string) string {
			columns := "all of its columns"
			if c := arg("columns", ""); c != "" {
				columns = "the columns " + c
			}
			return fmt.Sprintf(`Check the data quality of %s in Apache Doris, covering %s.
1. get_table_basic_info and get_table_column_comments give the row count and what each column should hold.
2. analyze_columns profiles the columns in one bounded query: null counts, distinct counts, min and max, most frequent values. Flag unexpected NULLs, out-of-range values and suspicious top values.
3. monitor_data_freshness says when the table last changed; flag it if it is stale.
4. Where keys should be unique or reference other tables, verify with exec_query (COUNT versus COUNT DISTINCT, anti-joins with LIMIT).
5. Report each finding with its evidence and a suggested fix.`,
				arg("table_name", "the table to check (ask which, or list them with get_db_table_list)"), columns)
		},
	},
	{
		name: "report_generation", title: "Report generation",
		desc: "Write a report on a subject from the database: figures, trends and their sources.",
		args: []promptArg{{"report_type", "What the report is about, e.g. weekly sales, data platform health.", 0}, {"table_names", "Tables to draw on, comma-separated.", 0}, {"period", "Period the report covers.", 0}},
		plan: func(arg func(string, string) string) string {
			return fmt.Sprintf(`Write a %s report from Apache Doris for %s, using %s.
1. Understand the tables with get_table_schema, get_table_comment and get_table_basic_info.
2. Gather the figures with exec_query (bounded, aggregated in Doris). For platform health use analyze_resource_growth_curves, analyze_data_access_patterns and monitor_data_freshness.
3. Structure the report: summary, key figures, trends, anomalies, and the queries behind each figure.`,
				arg("report_type", "business summary"), arg("period", "the latest complete period"), arg("table_names", "the relevant tables (find them with get_db_table_list)"))
		},
	},
	{
		name: "real_time_monitoring", title: "Real-time monitoring",
		desc: "Check the current state: fresh data, recent errors and slow statements, activity.",
		args: []promptArg{{"table_names", "Tables whose freshness matters, comma-separated.", 0}, {"threshold_hours", "Hours after which a table counts as stale, 1 to 8760.", 8760}},
		plan: func(arg func(string, string) string) string {
			return fmt.Sprintf(`Give a current health check of Apache Doris.
1. monitor_data_freshness on %s with threshold_hours %s: which tables are stale.
2. get_recent_audit_logs for the last day: recent failures (state ERR) and who ran them.
3. analyze_slow_queries_topn with days 1: what is slow right now.
4. analyze_resource_growth_curves: whether today's activity is unusual against the last weeks.
Summarise what needs attention first, with the evidence for each item.`,
				arg("table_names", "every table of the default database"), arg("threshold_hours", "24"))
		},
	},
}

// PromptTools names the tools whose data a prompt gives: none, since every
// built-in prompt writes a plan from its arguments and reads nothing. A
// prompt that embedded data (a table's schema, say) would name the tool
// that gives it, and need that tool's scopes.
func PromptTools(name string) []string { return nil }

func (c *catalog) registerPrompts(s *mcp.Server) {
	for _, p := range prompts {
		args := make([]*mcp.PromptArgument, len(p.args))
		for i, a := range p.args {
			args[i] = &mcp.PromptArgument{Name: a.name, Description: a.desc}
		}
		s.AddPrompt(&mcp.Prompt{Name: p.name, Title: p.title, Description: p.desc, Arguments: args}, p.handler())
	}
}

// invalidPromptArgs is the JSON-RPC invalid-params error of prompts/get.
func invalidPromptArgs(format string, args ...any) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf(format, args...)}
}

func (p promptDef) argNames() string {
	names := make([]string, len(p.args))
	for i, a := range p.args {
		names[i] = a.name
	}
	return strings.Join(names, ", ")
}

func (p promptDef) handler() mcp.PromptHandler {
	return func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		given := req.Params.Arguments
		for name := range given {
			known := false
			for _, a := range p.args {
				known = known || a.name == name
			}
			if !known {
				return nil, invalidPromptArgs("prompt %s has no argument %q; it takes %s", p.name, name, p.argNames())
			}
		}
		for _, a := range p.args {
			v := strings.TrimSpace(given[a.name])
			if a.max == 0 || v == "" {
				continue
			}
			if n, err := strconv.Atoi(v); err != nil || n < 1 || n > a.max {
				return nil, invalidPromptArgs("prompt %s: %s must be a whole number from 1 to %d, not %q", p.name, a.name, a.max, v[:min(len(v), 40)])
			}
		}
		arg := func(name, fallback string) string {
			v := strings.TrimSpace(given[name])
			if v == "" {
				return fallback
			}
			if len(v) > maxPromptArg {
				v = v[:maxPromptArg]
			}
			// Quoted, so a value reads as data, not as part of the plan.
			return fmt.Sprintf("%q", v)
		}
		return &mcp.GetPromptResult{
			Description: p.desc,
			Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: p.plan(arg)}}},
		}, nil
	}
}
