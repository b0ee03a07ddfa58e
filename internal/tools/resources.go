package tools

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dorismcp/doris/internal/query"
)

// Resources: a table's or view's definition, columns and indexes by URI,
// and a summary of the default database. resources/list is answered from
// information_schema at each call, a page at a time, so it lists what
// exists now rather than what existed when the server started.

const (
	tableTemplate = "doris://table/{db}/{table}"
	viewTemplate  = "doris://view/{db}/{view}"
	statsURI      = "doris://stats/database"
	// resourcePage is how many tables and views one resources/list page
	// holds.
	resourcePage = 100
)

// The tools whose data each resource gives: a caller that may not call
// them may neither list nor read it (package authn enforces this).
var (
	// A table's DDL and columns are what get_table_schema describes, its
	// indexes what get_table_indexes lists.
	tableTools = []string{"get_table_schema", "get_table_indexes"}
	viewTools  = []string{"get_table_schema"}
	// The summary lists the default database's tables and views, as
	// get_db_table_list does, with their rows, size and comment, as
	// get_table_basic_info gives them.
	statsTools = []string{"get_db_table_list", "get_table_basic_info"}
	// An entry of resources/list names a table of the default database,
	// as get_db_table_list does.
	listedTableTools = append(slices.Clone(tableTools), "get_db_table_list")
	listedViewTools  = append(slices.Clone(viewTools), "get_db_table_list")
)

// ResourceTools names the tools whose data the resource at uri gives;
// listed asks for its entry in resources/list, which also says that the
// table exists. Nil for a resource the catalog does not serve.
func ResourceTools(uri string, listed bool) []string {
	switch {
	case uri == statsURI:
		return statsTools
	case strings.HasPrefix(uri, "doris://table/") && listed:
		return listedTableTools
	case strings.HasPrefix(uri, "doris://table/"):
		return tableTools
	case strings.HasPrefix(uri, "doris://view/") && listed:
		return listedViewTools
	case strings.HasPrefix(uri, "doris://view/"):
		return viewTools
	}
	return nil
}

// TemplateTools names the tools whose data the resources of a template
// give.
func TemplateTools(uriTemplate string) []string {
	switch uriTemplate {
	case tableTemplate:
		return tableTools
	case viewTemplate:
		return viewTools
	}
	return nil
}

func (c *catalog) registerResources(s *mcp.Server) {
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		Name: "table", Title: "Table definition", URITemplate: tableTemplate, MIMEType: "application/json",
		Description: "A table's DDL (SHOW CREATE TABLE), its columns with types and comments, and its indexes.",
	}, c.readObject("table"))
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		Name: "view", Title: "View definition", URITemplate: viewTemplate, MIMEType: "application/json",
		Description: "A view's definition (SHOW CREATE VIEW) and its columns with types and comments.",
	}, c.readObject("view"))
	s.AddResource(&mcp.Resource{
		Name: "database_stats", Title: "Default database summary", URI: statsURI, MIMEType: "application/json",
		Description: "The default database's tables and views with their type, row count, data size and comment.",
	}, c.readStats)
	// The caller must add its own receiving middleware after this one, so
	// that this runs inside it.
	s.AddReceivingMiddleware(c.listResources)
}

// parseObjectURI reads doris://<kind>/<db>/<name>.
func parseObjectURI(uri, kind string) (tableRef, error) {
	rest, ok := strings.CutPrefix(uri, "doris://"+kind+"/")
	if !ok {
		return tableRef{}, fmt.Errorf("not a %s URI: %s", kind, uri)
	}
	db, name, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(name, "/") {
		return tableRef{}, fmt.Errorf("write doris://%s/<db>/<name>, got %s", kind, uri)
	}
	var err error
	if db, err = url.PathUnescape(db); err != nil {
		return tableRef{}, fmt.Errorf("%s: %w", uri, err)
	}
	if name, err = url.PathUnescape(name); err != nil {
		return tableRef{}, fmt.Errorf("%s: %w", uri, err)
	}
	if db == "" {
		return tableRef{}, fmt.Errorf("%s: the database is missing", uri)
	}
	return parseTable(db, quoteForSplit(name))
}

// quoteForSplit keeps a name from a URI one name: a dot in it is part of
// it, not a qualifier.
func quoteForSplit(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

func (c *catalog) readObject(kind string) mcp.ResourceHandler {
	return func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		ref, err := parseObjectURI(req.Params.URI, kind)
		if err != nil {
			return nil, err
		}
		where := "TABLE_SCHEMA = " + ref.dbExpr() + " AND TABLE_NAME = " + sqlQuote(ref.table)
		_, types, err := c.rows(ctx, "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE "+where, c.metaLimits())
		if err != nil {
			return nil, err
		}
		if len(types) == 0 {
			return nil, notFoundResource(req.Params.URI, fmt.Sprintf("Resource not found: no %s %s in database %s", kind, ref.table, ref.db), "")
		}
		if isView := strings.Contains(strings.ToUpper(text(types[0][0])), "VIEW"); isView != (kind == "view") {
			other, is := "table", "a table"
			if isView {
				other, is = "view", "a view"
			}
			right := "doris://" + other + "/" + url.PathEscape(ref.db) + "/" + url.PathEscape(ref.table)
			return nil, notFoundResource(req.Params.URI, fmt.Sprintf("Resource not found: %s.%s is %s; read %s", ref.db, ref.table, is, right), right)
		}
		doc := map[string]any{"db": ref.db, "name": ref.table, "type": text(types[0][0])}
		show, column := "SHOW CREATE TABLE ", "Create Table"
		if kind == "view" {
			show, column = "SHOW CREATE VIEW ", "Create View"
		}
		names, ddl, err := c.rows(ctx, show+ref.quoted(), c.metaLimits())
		if err != nil {
			return nil, err
		}
		if len(ddl) > 0 {
			doc["ddl"] = text(field(names, ddl[0], column))
		}
		cols, err := c.run(ctx, "", "SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS `default`, "+
			"COLUMN_KEY AS `key`, COLUMN_COMMENT AS comment FROM information_schema.COLUMNS WHERE "+where+" ORDER BY ORDINAL_POSITION", c.metaLimits(), nil)
		if err != nil {
			return nil, err
		}
		doc["columns"] = objects(cols)
		if kind == "table" {
			idx, err := c.tableIndexes(ctx, catalogTableArgs{TableName: quoteForSplit(ref.table), DBName: ref.db})
			if err != nil {
				return nil, err
			}
			doc["indexes"] = objects(idx)
		}
		return jsonResource(req.Params.URI, doc)
	}
}

// notFoundResource is the go-sdk's resource-not-found error (its code,
// data with the URI) with a message that says why, and the URI to read
// instead when there is one.
func notFoundResource(uri, msg, instead string) error {
	data := map[string]string{"uri": uri}
	if instead != "" {
		data["instead"] = instead
	}
	b, _ := json.Marshal(data)
	e := *mcp.ResourceNotFoundError(uri).(*jsonrpc.Error) // the go-sdk's code
	e.Message, e.Data = msg, b
	return &e
}

func (c *catalog) readStats(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	db, err := c.currentDB(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.run(ctx, "", "SELECT TABLE_NAME AS name, TABLE_TYPE AS type, TABLE_ROWS AS row_count, DATA_LENGTH AS data_size_bytes, "+
		"TABLE_COMMENT AS comment FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME", c.metaLimits(), nil)
	if err != nil {
		return nil, err
	}
	return jsonResource(req.Params.URI, map[string]any{"db": db, "tables": objects(res), "truncated": res.Truncated})
}

// objects turns a result into a list of objects keyed by column name.
func objects(res *query.Result) []map[string]any {
	names, rows, err := decode(res)
	if err != nil {
		return nil
	}
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		out[i] = make(map[string]any, len(names))
		for j, n := range names {
			out[i][n] = r[j]
		}
	}
	return out
}

func jsonResource(uri string, doc any) (*mcp.ReadResourceResult, error) {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", uri, err)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}}, nil
}

// listResources answers resources/list with the stats resource and the
// default database's tables and views, resourcePage at a time. The cursor
// is the last name of the previous page.
func (c *catalog) listResources(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method != "resources/list" {
			return next(ctx, method, req)
		}
		var cursor string
		if p, ok := req.GetParams().(*mcp.ListResourcesParams); ok && p != nil && p.Cursor != "" {
			b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
			if err != nil {
				return nil, fmt.Errorf("invalid cursor")
			}
			cursor = string(b)
		}
		res := &mcp.ListResourcesResult{Resources: []*mcp.Resource{}}
		if cursor == "" {
			res.Resources = append(res.Resources, &mcp.Resource{Name: "database_stats", Title: "Default database summary", URI: statsURI, MIMEType: "application/json"})
		}
		db, err := c.currentDB(ctx)
		if errors.Is(err, errNoDefaultDB) {
			// Without a default database there is nothing more to list.
			return res, nil
		}
		if err != nil {
			return nil, err
		}
		stmt := "SELECT TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
		if cursor != "" {
			stmt += " AND TABLE_NAME > " + sqlQuote(cursor)
		}
		_, rows, err := c.rows(ctx, fmt.Sprintf("%s ORDER BY TABLE_NAME LIMIT %d", stmt, resourcePage+1), c.metaLimits())
		if err != nil {
			return nil, err
		}
		if len(rows) > resourcePage {
			rows = rows[:resourcePage]
			res.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(text(rows[len(rows)-1][0])))
		}
		for _, r := range rows {
			name := text(r[0])
			kind := "table"
			if strings.Contains(strings.ToUpper(text(r[1])), "VIEW") {
				kind = "view"
			}
			res.Resources = append(res.Resources, &mcp.Resource{
				Name: name, Title: kind + " " + db + "." + name, MIMEType: "application/json", Description: text(r[2]),
				URI: "doris://" + kind + "/" + url.PathEscape(db) + "/" + url.PathEscape(name),
			})
		}
		return res, nil
	}
}
