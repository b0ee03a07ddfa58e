package dorishttp

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Bodies as Doris writes them (doris-reference §1 and §8).
const (
	feVersionBody = `{"msg":"success","code":0,"data":{"feVersionInfo":{"dorisBuildVersionPrefix":"doris",` +
		`"dorisBuildVersionMajor":2,"dorisBuildVersionMinor":1,"dorisBuildVersionPatch":7,` +
		`"dorisBuildVersionRcVersion":"rc03","dorisBuildVersion":"doris-2.1.7-rc03",` +
		`"dorisBuildHash":"git://vm-80@443e87e2039bd0d2cd5f2a7f8a2fbd4bbbc2a2bc","dorisBuildShortHash":"443e87e203",` +
		`"dorisBuildTime":"Fri, 03 Jan 2025 10:12:45 CST","dorisBuildInfo":"vm-80","dorisJavaCompileVersion":"openjdk full version \"17.0.2+8-86\""}},"count":0}`
	tableDataBody = `{"msg":"success","code":0,"data":{"tpch":{"partsupp":9024548244,"revenue0":0,"customer":1906421482}},"count":0}`
	profileText   = "Summary:\n   - Profile ID: fb1d9737de914af1-a498d5c5dec638d3\n   - Task Type: QUERY\n   - Total: 3s680ms\n   - Task State: EOF\n   - User: root\n   - Default Db: tpcds\n   - Sql Statement: select 1\n"
)

func TestFEVersion(t *testing.T) {
	tests := []struct {
		name string
		body string
		want FEVersion
	}{
		{
			name: "numbers",
			body: feVersionBody,
			want: FEVersion{
				Prefix: "doris", Major: 2, Minor: 1, Patch: 7, RCVersion: "rc03", Version: "doris-2.1.7-rc03",
				Hash: "git://vm-80@443e87e2039bd0d2cd5f2a7f8a2fbd4bbbc2a2bc", ShortHash: "443e87e203",
				BuildTime: "Fri, 03 Jan 2025 10:12:45 CST", BuildInfo: "vm-80", JavaCompileVersion: `openjdk full version "17.0.2+8-86"`,
			},
		},
		{
			name: "trunk build with numbers in strings",
			body: `{"msg":"success","code":0,"data":{"feVersionInfo":{"dorisBuildVersionPrefix":"doris","dorisBuildVersionMajor":"0",` +
				`"dorisBuildVersionMinor":"0","dorisBuildVersionPatch":"0","dorisBuildVersionRcVersion":"trunk","dorisBuildVersion":"doris-0.0.0-trunk"}},"count":0}`,
			want: FEVersion{Prefix: "doris", RCVersion: "trunk", Version: "doris-0.0.0-trunk"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := newNode(t)
			fe.reply("GET /api/fe_version_info", "application/json", tt.body)
			c := newTestClient(t, Config{FEURL: fe.URL})
			got, err := c.FEVersion(context.Background())
			if err != nil {
				t.Fatalf("FEVersion: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FEVersion (-want +got):\n%s", diff)
			}
			assertAuth(t, fe.requests())
		})
	}
}

func TestTableDataSize(t *testing.T) {
	tests := []struct {
		name          string
		db, table     string
		singleReplica bool
		body          string
		wantQuery     url.Values
		want          map[string]int64
	}{
		{
			name:      "all tables of a database",
			db:        "tpch",
			body:      tableDataBody,
			wantQuery: url.Values{"db": {"tpch"}},
			want:      map[string]int64{"partsupp": 9024548244, "revenue0": 0, "customer": 1906421482},
		},
		{
			name: "one table, one replica", db: "tpch", table: "partsupp", singleReplica: true,
			body:      `{"msg":"success","code":0,"data":{"tpch":{"partsupp":3008182748}},"count":0}`,
			wantQuery: url.Values{"db": {"tpch"}, "table": {"partsupp"}, "single_replica": {"true"}},
			want:      map[string]int64{"partsupp": 3008182748},
		},
		{
			name: "unknown table", db: "tpch", table: "nope",
			body:      `{"msg":"success","code":0,"data":{"tpch":{}},"count":0}`,
			wantQuery: url.Values{"db": {"tpch"}, "table": {"nope"}},
			want:      map[string]int64{},
		},
		{
			name: "names that need escaping", db: "a&b=c", table: "t 1#x",
			body:      `{"msg":"success","code":0,"data":{"a&b=c":{"t 1#x":42}},"count":0}`,
			wantQuery: url.Values{"db": {"a&b=c"}, "table": {"t 1#x"}},
			want:      map[string]int64{"t 1#x": 42},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := newNode(t)
			fe.reply("GET /api/show_table_data", "application/json", tt.body)
			c := newTestClient(t, Config{FEURL: fe.URL})
			got, err := c.TableDataSize(context.Background(), tt.db, tt.table, tt.singleReplica)
			if err != nil {
				t.Fatalf("TableDataSize: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sizes (-want +got):\n%s", diff)
			}
			reqs := fe.requests()
			assertAuth(t, reqs)
			if diff := cmp.Diff(tt.wantQuery, reqs[0].Query); diff != "" {
				t.Errorf("query parameters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTableDataSizeUnknownDatabase(t *testing.T) {
	fe := newNode(t)
	fe.reply("GET /api/show_table_data", "application/json", `{"msg":"Error","code":1,"data":"database nope not found.","count":0}`)
	c := newTestClient(t, Config{FEURL: fe.URL})
	_, err := c.TableDataSize(context.Background(), "nope", "", false)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *APIError", err)
	}
	want := APIError{Endpoint: "GET " + fe.URL + "/api/show_table_data?db=nope", Code: 1, Msg: "Error", Detail: "database nope not found."}
	if diff := cmp.Diff(want, *ae); diff != "" {
		t.Errorf("APIError (-want +got):\n%s", diff)
	}
}

func TestQueryIDByTraceID(t *testing.T) {
	tests := []struct {
		name     string
		trace    string
		body     string
		wantPath string
		want     string
		wantErr  error // nil with anyErr: some error
		anyErr   bool
	}{
		{
			name: "found", trace: "mcp-2f1c:abc.1",
			body:     `{"msg":"success","code":0,"data":"fb1d9737de914af1-a498d5c5dec638d3","count":0}`,
			wantPath: "/rest/v2/manager/query/trace_id/mcp-2f1c:abc.1",
			want:     "fb1d9737de914af1-a498d5c5dec638d3",
		},
		{
			name: "unknown", trace: "nobody",
			body:     `{"msg":"Bad Request","code":403,"data":"Not found","count":0}`,
			wantPath: "/rest/v2/manager/query/trace_id/nobody",
			wantErr:  ErrNotFound,
		},
		{
			name: "Doris 2.0 has no such endpoint", trace: "t1",
			wantPath: "/rest/v2/manager/query/trace_id/t1",
			wantErr:  errors.ErrUnsupported,
		},
		{
			name: "answer is not a query id", trace: "odd",
			body:     `{"msg":"success","code":0,"data":"../../etc","count":0}`,
			wantPath: "/rest/v2/manager/query/trace_id/odd",
			anyErr:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := newNode(t)
			if tt.body != "" {
				fe.reply("GET /rest/v2/manager/query/trace_id/{id}", "application/json", tt.body)
			}
			c := newTestClient(t, Config{FEURL: fe.URL})
			got, err := c.QueryIDByTraceID(context.Background(), tt.trace)
			if tt.anyErr {
				if err == nil || errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("err = %v, want an error about the answer", err)
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("query id = %q, want %q", got, tt.want)
			}
			reqs := fe.requests()
			assertAuth(t, reqs)
			if reqs[0].RawPath != tt.wantPath {
				t.Errorf("path = %q, want %q", reqs[0].RawPath, tt.wantPath)
			}
		})
	}
}

// Ids that could change the path, or are not ids at all, are refused
// before anything is sent.
func TestIDsRefusedBeforeSending(t *testing.T) {
	fe := newNode(t)
	c := newTestClient(t, Config{FEURL: fe.URL})
	ctx := context.Background()
	for _, trace := range []string{"", "..", ".", "a/b", "../x", `a\b`, "a%2fb", "a?b", "a#b", "a b", "a;b", "é", strings.Repeat("x", 129)} {
		if _, err := c.QueryIDByTraceID(ctx, trace); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("QueryIDByTraceID(%q) err = %v, want ErrInvalidArgument", trace, err)
		}
	}
	for _, id := range []string{"", "-", "abc", "abc-", "-abc", "g1-2", "1-2-3", "1/2-3", "..-..", "12345678901234567-1", "1-2 "} {
		if _, err := c.ProfileText(ctx, id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ProfileText(%q) err = %v, want ErrInvalidArgument", id, err)
		}
	}
	for _, name := range [][2]string{{"", ""}, {"db\n", ""}, {"db", "t\x00"}, {strings.Repeat("d", 257), ""}, {"\xff", ""}} {
		if _, err := c.TableDataSize(ctx, name[0], name[1], false); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("TableDataSize(%q, %q) err = %v, want ErrInvalidArgument", name[0], name[1], err)
		}
	}
	if n := len(fe.requests()); n != 0 {
		t.Errorf("%d requests reached the FE, want none", n)
	}
}

func TestProfileText(t *testing.T) {
	const qid = "fb1d9737de914af1-a498d5c5dec638d3"
	v2 := "GET /rest/v2/manager/query/profile/text/{id}"
	legacy := "GET /api/profile/text"
	tests := []struct {
		name      string
		setup     func(fe *node)
		want      string
		wantErr   error
		wantPaths []string
	}{
		{
			name: "v2",
			setup: func(fe *node) {
				fe.reply(v2, "application/json", `{"msg":"success","code":0,"data":{"profile":`+jsonString(profileText)+`},"count":0}`)
			},
			want:      profileText,
			wantPaths: []string{"/rest/v2/manager/query/profile/text/" + qid},
		},
		{
			name: "v2 without a profile for that id",
			setup: func(fe *node) {
				fe.reply(v2, "application/json", `{"msg":"success","code":0,"data":{},"count":0}`)
			},
			wantErr:   ErrNotFound,
			wantPaths: []string{"/rest/v2/manager/query/profile/text/" + qid},
		},
		{
			name:      "older FE: falls back to /api/profile/text",
			setup:     func(fe *node) { fe.reply(legacy, "text/plain; charset=utf-8", profileText) },
			want:      profileText,
			wantPaths: []string{"/rest/v2/manager/query/profile/text/" + qid, "/api/profile/text"},
		},
		{
			name:      "older FE without that profile",
			setup:     func(fe *node) {},
			wantErr:   ErrNotFound,
			wantPaths: []string{"/rest/v2/manager/query/profile/text/" + qid, "/api/profile/text"},
		},
		{
			name: "older FE refusing the account",
			setup: func(fe *node) {
				fe.reply(legacy, "application/json", `{"msg":"Unauthorized","code":401,"data":"Access denied for user","count":0}`)
			},
			wantErr:   ErrUnauthorized,
			wantPaths: []string{"/rest/v2/manager/query/profile/text/" + qid, "/api/profile/text"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := newNode(t)
			tt.setup(fe)
			c := newTestClient(t, Config{FEURL: fe.URL})
			got, err := c.ProfileText(context.Background(), qid)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			assertNoSecret(t, err)
			if got != tt.want {
				t.Errorf("profile = %q, want %q", got, tt.want)
			}
			reqs := fe.requests()
			assertAuth(t, reqs)
			var paths []string
			for _, r := range reqs {
				paths = append(paths, r.RawPath)
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			if len(reqs) == 2 && reqs[1].Query.Get("query_id") != qid {
				t.Errorf("fallback query_id = %q, want %q", reqs[1].Query.Get("query_id"), qid)
			}
		})
	}
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
