package tools

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The domain mode follows the shape of the reference server's 1.0 release
// (apache/doris-mcp-server 1.0.0, tools/domain_manifest.py and
// domain_dispatcher.py): tools/list holds one tool per domain, a call with
// no child_tool answers the domain's manifest (its children with their
// descriptions and input schemas), and a call naming child_tool runs that
// child with arguments. The children are this catalog's tools, under the
// 1.0 child names where 1.0 has the same tool (list_databases for
// get_db_list) and under their own names where 1.0 folded several into
// one (get_table_context holds five); their arguments and results are
// the flat tools' own. Only domains with children here are listed: 1.0's
// doris_search, doris_lakehouse and doris_semantic have none.
type domain struct {
	name, title, desc string
	children          []child
}

// child is a tool of a domain: its name there and the flat tool it is.
type child struct{ name, tool string }

var domains = []domain{
	{"doris_query", "Doris Query", "Run read-only SQL, explain and profile queries, and find the slowest statements.", []child{
		{"execute_query", "exec_query"}, {"explain_query", "get_sql_explain"},
		{"get_query_profile", "get_sql_profile"}, {"list_slow_queries", "analyze_slow_queries_topn"},
	}},
	{"doris_catalog", "Doris Catalog", "Explore catalogs, databases, tables, columns, comments, indexes and table sizes.", []child{
		{"list_catalogs", "get_catalog_list"}, {"list_databases", "get_db_list"}, {"list_tables", "get_db_table_list"},
		{"get_table_schema", "get_table_schema"}, {"get_table_comment", "get_table_comment"},
		{"get_table_column_comments", "get_table_column_comments"}, {"get_table_indexes", "get_table_indexes"},
		{"get_table_basic_info", "get_table_basic_info"}, {"get_table_size", "get_table_data_size"},
	}},
	{"doris_cluster", "Doris Cluster", "Inspect cluster nodes, metrics, BE memory and activity and size growth.", []child{
		{"list_cluster_nodes", "get_cluster_nodes"}, {"get_monitoring_metrics", "get_monitoring_metrics"},
		{"get_memory_stats", "get_memory_stats"}, {"analyze_resource_growth", "analyze_resource_growth_curves"},
	}},
	{"doris_pipeline", "Doris Pipeline", "Check data freshness and the data flows into and out of tables.", []child{
		{"monitor_data_freshness", "monitor_data_freshness"}, {"analyze_data_dependencies", "analyze_data_flow_dependencies"},
	}},
	{"doris_governance", "Doris Governance", "Profile columns and storage, trace column lineage, and read the audit log and access patterns.", []child{
		{"analyze_columns", "analyze_columns"}, {"analyze_table_storage", "analyze_table_storage"},
		{"trace_column_lineage", "trace_column_lineage"}, {"analyze_data_access_patterns", "analyze_data_access_patterns"},
		{"get_recent_audit_logs", "get_recent_audit_logs"},
	}},
}

// discoverSuffix ends every domain's description, as in 1.0.
const discoverSuffix = " Call with {} for its child tools and their argument schemas, then with {\"child_tool\": name, \"arguments\": {...}}."

var domainSchema = json.RawMessage(`{"type":"object","properties":{` +
	`"child_tool":{"type":"string","description":"A child tool named by this domain's manifest; omit it to get the manifest."},` +
	`"arguments":{"type":"object","description":"The child tool's arguments, as its input schema in the manifest says."},` +
	`"manifest_version":{"type":"string","description":"The manifest_version the manifest gave; a call naming an older one is refused."}},` +
	`"additionalProperties":false}`)

// manifest is a domain's answer to a call without child_tool.
type manifest struct {
	Mode            string          `json:"mode"`
	Domain          string          `json:"domain"`
	ManifestVersion string          `json:"manifest_version"`
	Children        []manifestChild `json:"children"`
}

type manifestChild struct {
	Name        string          `json:"name"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
	// Tool is the flat tool the child is, the name that scopes use.
	Tool string `json:"tool"`
}

// registerDomains adds one tool per domain to s and returns their names.
func (c *catalog) registerDomains(s *mcp.Server, listed map[string]mcp.ToolHandler) {
	byName := map[string]entry{}
	for _, e := range c.tools {
		byName[e.tool.Name] = e
	}
	for _, d := range domains {
		m := manifest{Mode: "manifest", Domain: d.name}
		kids := map[string]entry{}
		for _, ch := range d.children {
			e, ok := byName[ch.tool]
			if !ok {
				panic("tools: domain " + d.name + " names unknown tool " + ch.tool)
			}
			kids[ch.name] = e
			m.Children = append(m.Children, manifestChild{ch.name, e.tool.Title, e.tool.Description, e.tool.InputSchema.(json.RawMessage), ch.tool})
		}
		b, _ := json.Marshal(m.Children)
		sum := sha256.Sum256(b)
		m.ManifestVersion = strings.TrimPrefix(d.name, "doris_") + "." + hex.EncodeToString(sum[:6])
		h := c.domainHandler(d, m, kids)
		s.AddTool(&mcp.Tool{
			Name:        d.name,
			Title:       d.title,
			Description: d.desc + discoverSuffix,
			InputSchema: domainSchema,
			Annotations: &mcp.ToolAnnotations{Title: d.title, ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)},
		}, h)
		listed[d.name] = h
	}
}

type domainCall struct {
	ChildTool       string          `json:"child_tool"`
	Arguments       json.RawMessage `json:"arguments"`
	ManifestVersion string          `json:"manifest_version"`
}

// domainHandler answers d's manifest m, or runs one of its children.
func (c *catalog) domainHandler(d domain, m manifest, kids map[string]entry) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var in domainCall
		if raw := req.Params.Arguments; len(raw) > 0 && string(raw) != "null" {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				return errorResult(argumentError(err)), nil
			}
		}
		if in.ChildTool == "" {
			if len(in.Arguments) > 0 && string(in.Arguments) != "null" {
				return errorResult(errors.New("invalid arguments: arguments need child_tool, the child tool they are for")), nil
			}
			return c.manifestResult(ctx, m), nil
		}
		e, ok := kids[in.ChildTool]
		if !ok {
			names := make([]string, len(d.children))
			for i, ch := range d.children {
				names[i] = ch.name
			}
			return errorResult(fmt.Errorf("%s has no child tool %q; its children are %s (call it with {} for their schemas)",
				d.name, in.ChildTool, strings.Join(names, ", "))), nil
		}
		if in.ManifestVersion != "" && in.ManifestVersion != m.ManifestVersion {
			return errorResult(fmt.Errorf("manifest_version %q is not this server's (%s): call %s with {} for the current manifest",
				in.ManifestVersion, m.ManifestVersion, d.name)), nil
		}
		if !c.mayCall(ctx, e.tool.Name) {
			return errorResult(fmt.Errorf("insufficient scope: %s.%s is tool %s, which this caller may not call", d.name, in.ChildTool, e.tool.Name)), nil
		}
		params := *req.Params
		params.Name, params.Arguments = e.tool.Name, in.Arguments
		return e.handler(ctx, &mcp.CallToolRequest{Session: req.Session, Params: &params, Extra: req.Extra})
	}
}

// manifestResult is m as the caller of ctx may see it: without the
// children it may not call.
func (c *catalog) manifestResult(ctx context.Context, m manifest) *mcp.CallToolResult {
	kids := m.Children[:0:0]
	for _, ch := range m.Children {
		if c.mayCall(ctx, ch.Tool) {
			kids = append(kids, ch)
		}
	}
	m.Children = kids
	b, err := json.Marshal(m)
	if err != nil {
		return errorResult(err)
	}
	return &mcp.CallToolResult{StructuredContent: json.RawMessage(b), Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}
}

func (c *catalog) mayCall(ctx context.Context, tool string) bool {
	return c.cfg.MayCall == nil || c.cfg.MayCall(ctx, tool)
}
