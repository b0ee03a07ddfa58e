#!/usr/bin/env bash
# Drives the bundled command (internal/cmd/doris-mcp) with MCP clients written
# elsewhere, installed from npm at pinned versions (package-lock.json):
#   - the TypeScript SDK (sdk-check.mjs): Streamable HTTP stateless and
#     stateful, and stdio, per protocol version;
#   - the Inspector in --cli mode: tools/list and tools/call over HTTP and stdio;
#   - the conformance suite's server scenarios against both HTTP endpoints.
# Needs Node 20+ and npm; uses only loopback. Run from anywhere:
#   bash .ci/clients/run.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
export CI="${CI:-true}"

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
	echo "Node 20 or later is needed, found $(node --version)"
	exit 1
fi
echo "node $(node --version), npm $(npm --version)"

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			kill "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "--- npm ci"
# @modelcontextprotocol/inspector declares node >=22.7.5 for every release
# (its web UI); its --cli mode, the only part used here, runs on Node 20, so
# npm's EBADENGINE warning for it is expected.
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error </dev/null)

echo "--- building doris-mcp"
(cd "$root" && go build -o "$tmp/doris-mcp" ./internal/cmd/doris-mcp)
bin="$tmp/doris-mcp"

# start NAME FLAGS...: starts the command on a free loopback port (-port 0)
# and sets url to its MCP endpoint, read from its log.
start() {
	local name=$1
	shift
	"$bin" -host 127.0.0.1 -port 0 -shutdown-timeout 2s "$@" </dev/null >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	local pid=$!
	url=""
	for _ in $(seq 1 300); do
		url=$(sed -n 's/.*msg="serving MCP over HTTP" url=\(http:[^ ]*\).*/\1/p' "$tmp/$name.log" | head -1)
		[ -n "$url" ] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$tmp/$name.log"
			echo "doris-mcp ($name) exited at start"
			exit 1
		fi
		sleep 0.1
	done
	if [ -z "$url" ]; then
		cat "$tmp/$name.log"
		echo "doris-mcp ($name) did not start in 30 s"
		exit 1
	fi
	case "$url" in
	http://127.0.0.1:*/mcp) ;;
	*)
		echo "unexpected endpoint $url"
		exit 1
		;;
	esac
	# Wait until it answers on /ready.
	local ready=${url%/mcp}/ready
	for _ in $(seq 1 100); do
		if node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$ready"; then
			return 0
		fi
		sleep 0.1
	done
	echo "doris-mcp ($name) not ready at $ready"
	exit 1
}

# sample NAME: the address of the sample database behind a started command,
# from its log, for the checks that look at the database directly.
sample() {
	sed -n 's/.*DORIS_HOST is not set.* addr=\([0-9.]*:[0-9]*\).*/\1/p' "$tmp/$1.log" | head -1
}

start stateless
stateless_url=$url
start stateful -stateful
stateful_url=$url
start domains -tools domains
domains_url=$url
export STATELESS_SAMPLE=$(sample stateless) STATEFUL_SAMPLE=$(sample stateful)
echo "stateless: $stateless_url  stateful: $stateful_url"

failures=()

echo "--- TypeScript SDK"
if ! DORIS_MCP_BIN="$bin" STATELESS_URL="$stateless_url" STATEFUL_URL="$stateful_url" DOMAINS_URL="$domains_url" \
	timeout 300 node "$here/sdk-check.mjs" </dev/null; then
	failures+=("sdk")
fi

echo "--- Inspector CLI"
inspector="$here/node_modules/.bin/mcp-inspector"
# expect LABEL JS-CONDITION FILE: the condition is evaluated with r, the
# parsed JSON the Inspector printed.
expect() {
	local label=$1 cond=$2 file=$3
	if node -e '
		const fs = require("fs");
		let r;
		try { r = JSON.parse(fs.readFileSync(process.argv[2], "utf8")); } catch (e) { console.log(String(e)); process.exit(1); }
		process.exit(eval(process.argv[1]) ? 0 : 1);
	' "$cond" "$file"; then
		echo "ok    [inspector] $label"
	else
		echo "FAIL  [inspector] $label: $cond"
		head -c 2000 "$file"
		echo
		failures+=("inspector $label")
	fi
}
sql='SELECT id, city FROM customers ORDER BY id'
list_ok='["exec_query","get_db_list","get_table_schema"].every(n => r.tools.some(t => t.name === n && t.outputSchema))'
call_ok='r.structuredContent.rows.length === 2 && r.structuredContent.truncated === true && r.structuredContent.truncation_reason === "row_limit" && !r.isError && JSON.parse(r.content[0].text).row_count === 2'
inspect() {
	local label=$1
	shift
	local rc=0
	timeout 60 "$inspector" --cli "$@" </dev/null >"$tmp/out.json" 2>"$tmp/err.txt" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL  [inspector] $label: exit status $rc"
		cat "$tmp/err.txt" "$tmp/out.json"
		failures+=("inspector $label")
		return 1
	fi
}
for target in stateless stateful; do
	u=$stateless_url
	[ "$target" = stateful ] && u=$stateful_url
	inspect "http $target tools/list" "$u" --transport http --method tools/list &&
		expect "http $target tools/list" "$list_ok" "$tmp/out.json"
	inspect "http $target tools/call" "$u" --transport http --method tools/call \
		--tool-name exec_query --tool-arg "sql=$sql" --tool-arg max_rows=2 &&
		expect "http $target tools/call" "$call_ok" "$tmp/out.json"
done
inspect "stdio tools/list" "$bin" -transport stdio --method tools/list &&
	expect "stdio tools/list" "$list_ok" "$tmp/out.json"
inspect "stdio tools/call" "$bin" -transport stdio --method tools/call \
	--tool-name exec_query --tool-arg "sql=$sql" --tool-arg max_rows=2 &&
	expect "stdio tools/call" "$call_ok" "$tmp/out.json"

echo "--- conformance (server scenarios, active suite)"
# Scenarios that fail for reasons outside this project. The conformance tool
# exits non-zero on any other failure, and on any of these that starts to pass
# (then remove it here).
cat >"$tmp/expected-failures.yml" <<'YAML'
server:
  # Call tools, prompts and resources that only the suite's own reference
  # server ("everything" server) defines (test_simple_text, test_simple_prompt,
  # test://static-text, ...): doris-mcp serves Doris tools, not those fixtures.
  - tools-call-simple-text
  - tools-call-image
  - tools-call-audio
  - tools-call-embedded-resource
  - tools-call-mixed-content
  - tools-call-with-logging
  - tools-call-error
  - tools-call-with-progress
  - tools-call-sampling
  - tools-call-elicitation
  - elicitation-sep1034-defaults
  - elicitation-sep1330-enums
  - resources-read-text
  - resources-read-binary
  - resources-templates-read
  - prompts-get-simple
  - prompts-get-with-args
  - prompts-get-embedded-resource
  - prompts-get-with-image
  # Optional features that doris-mcp does not advertise (its capabilities are
  # logging and tools only); the scenarios call them regardless.
  - completion-complete
  - resources-subscribe
  - resources-unsubscribe
YAML
cp "$tmp/expected-failures.yml" "$tmp/expected-failures-stateless.yml"
cat >>"$tmp/expected-failures-stateless.yml" <<'YAML'
  # Needs an Mcp-Session-Id (it only warns without one, and a warning counts
  # as a failure); stateless mode has no sessions by design. The stateful
  # endpoint passes it.
  - server-sse-multiple-streams
YAML
conformance="$here/node_modules/.bin/conformance"
for target in stateless stateful; do
	u=$stateless_url
	[ "$target" = stateful ] && u=$stateful_url
	echo "conformance against $target $u"
	baseline="$tmp/expected-failures.yml"
	[ "$target" = stateless ] && baseline="$tmp/expected-failures-stateless.yml"
	if ! timeout 300 "$conformance" server --url "$u" --expected-failures "$baseline" \
		-o "$tmp/conformance-$target" </dev/null >"$tmp/conformance-$target.log" 2>&1; then
		cat "$tmp/conformance-$target.log"
		failures+=("conformance $target")
	else
		sed -n '/=== SUMMARY ===/,$p' "$tmp/conformance-$target.log"
	fi
done

echo "--- stopping the servers"
for p in "${pids[@]}"; do
	kill -TERM "$p" 2>/dev/null || true
done
for p in "${pids[@]}"; do
	if ! wait "$p"; then
		echo "doris-mcp (pid $p) exited with an error on SIGTERM"
		failures+=("shutdown $p")
	fi
done
pids=()

if [ ${#failures[@]} -gt 0 ]; then
	echo "client checks failed: ${failures[*]}"
	exit 1
fi
echo "client checks passed"
