package dorissim

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Doris versions the simulator can impersonate (Options.Version).
const (
	Version20 = "2.0"
	Version21 = "2.1"
	Version30 = "3.0"
)

// dorisServerVersion is what Doris answers to VERSION() and @@version, and
// announces in the handshake: a fixed MySQL 5.7 look-alike.
const dorisServerVersion = "5.7.99"

// release describes one impersonated Doris release. The build strings are
// ones real servers of that line print.
type release struct {
	line                string // "2.1"
	build               string // DORIS_BUILD_VERSION, e.g. doris-2.1.7-rc03
	hash                string // DORIS_BUILD_SHORT_HASH
	major, minor, patch int
	rc                  string
}

func (r release) comment() string { return "Doris version " + r.build + "-" + r.hash }

// nodeVersion is the Version column of SHOW FRONTENDS and SHOW BACKENDS.
func (r release) nodeVersion() string { return r.build + "-" + r.hash }

// atLeast reports whether the release line is line or newer.
func (r release) atLeast(line string) bool { return r.line >= line }

// killsByTraceID reports whether KILL QUERY "<id>" also takes a trace id
// and looks on every FE (fidelity ledger: kill-query-trace-id,
// kill-query-string-id): from 2.1.11 and 3.0.7.
func (r release) killsByTraceID() bool {
	switch {
	case r.major == 2 && r.minor == 1:
		return r.patch >= 11
	case r.major == 3 && r.minor == 0:
		return r.patch >= 7
	}
	return r.major > 3 || r.major == 3 && r.minor > 0
}

// releaseFor is the release of Options.Version: a line ("2.1"), which is
// a build real servers of that line print, or a line with its patch
// ("2.1.11"), which is that line with the patch number changed.
func releaseFor(v string) (release, error) {
	if line, patch, ok := cutPatch(v); ok {
		r, err := releaseFor(line)
		if err != nil {
			return r, err
		}
		r.patch, r.rc = patch, ""
		r.build = fmt.Sprintf("doris-%d.%d.%d", r.major, r.minor, patch)
		return r, nil
	}
	switch v {
	case Version20:
		return release{line: v, build: "doris-2.0.12", hash: "2971efd194", major: 2, minor: 0, patch: 12}, nil
	case "", Version21:
		return release{line: Version21, build: "doris-2.1.7-rc03", hash: "443e87e203", major: 2, minor: 1, patch: 7, rc: "rc03"}, nil
	case Version30:
		return release{line: v, build: "doris-3.0.4-rc02", hash: "39f9074cec", major: 3, minor: 0, patch: 4, rc: "rc02"}, nil
	}
	return release{}, fmt.Errorf("dorissim: unknown Doris version %q (want %q, %q or %q)", v, Version20, Version21, Version30)
}

// cutPatch splits "2.1.11" into "2.1" and 11.
func cutPatch(v string) (line string, patch int, ok bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 || strings.Count(v, ".") != 2 {
		return "", 0, false
	}
	p, err := strconv.Atoi(v[i+1:])
	if err != nil || p < 0 {
		return "", 0, false
	}
	return v[:i], p, true
}

// dorisVariable is a Doris session variable the engine does not know.
type dorisVariable struct {
	name string
	typ  sql.SystemVariableType
	def  any
}

// dorisVariables are the Doris session variables clients commonly set
// (defaults from Doris's SessionVariable). They are accepted by SET, SET
// GLOBAL and SET_VAR hints, and readable as @@name; query_timeout,
// sql_select_limit, enable_profile and session_context also act.
var dorisVariables = []dorisVariable{
	{"query_timeout", types.NewSystemIntType("query_timeout", 1, 1<<31-1, false), int64(900)},
	{"insert_timeout", types.NewSystemIntType("insert_timeout", 1, 1<<31-1, false), int64(14400)},
	{"exec_mem_limit", types.NewSystemIntType("exec_mem_limit", 1, 1<<63-1, false), int64(2147483648)},
	{"enable_profile", types.NewSystemBoolType("enable_profile"), int8(0)},
	{"session_context", types.NewSystemStringType("session_context"), ""},
	{"parallel_pipeline_task_num", types.NewSystemIntType("parallel_pipeline_task_num", 0, 1<<31-1, false), int64(0)},
	{"parallel_fragment_exec_instance_num", types.NewSystemIntType("parallel_fragment_exec_instance_num", 1, 1<<31-1, false), int64(8)},
	{"show_all_fe_connection", types.NewSystemBoolType("show_all_fe_connection"), int8(0)},
	{"enable_nereids_planner", types.NewSystemBoolType("enable_nereids_planner"), int8(1)},
	{"enable_fallback_to_original_planner", types.NewSystemBoolType("enable_fallback_to_original_planner"), int8(1)},
	{"enable_sql_cache", types.NewSystemBoolType("enable_sql_cache"), int8(0)},
	{"enable_partition_cache", types.NewSystemBoolType("enable_partition_cache"), int8(0)},
	{"enable_pipeline_engine", types.NewSystemBoolType("enable_pipeline_engine"), int8(1)},
	{"batch_size", types.NewSystemIntType("batch_size", 1, 1<<31-1, false), int64(4064)},
	{"max_scan_key_num", types.NewSystemIntType("max_scan_key_num", -1, 1<<31-1, false), int64(-1)},
	{"runtime_filter_mode", types.NewSystemStringType("runtime_filter_mode"), "GLOBAL"},
	{"workload_group", types.NewSystemStringType("workload_group"), ""},
	{"resource_group", types.NewSystemStringType("resource_group"), ""},
	{"enable_spill", types.NewSystemBoolType("enable_spill"), int8(0)},
	{"enable_audit_plugin", types.NewSystemBoolType("enable_audit_plugin"), int8(0)},
}

// registerDorisVariables adds dorisVariables to the engine's process-wide
// variable registry, once per process: registering again would reset
// values that SET GLOBAL changed on a running server.
var registerDorisVariables = sync.OnceFunc(func() {
	vars := make([]sql.SystemVariable, 0, len(dorisVariables))
	for _, v := range dorisVariables {
		vars = append(vars, &sql.MysqlSystemVariable{
			Name:              v.name,
			Scope:             sql.GetMysqlScope(sql.SystemVariableScope_Both),
			Dynamic:           true,
			SetVarHintApplies: true,
			Type:              v.typ,
			Default:           v.def,
		})
	}
	sql.SystemVariables.AddSystemVariables(vars)
})
