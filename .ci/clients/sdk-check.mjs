// Drives doris-mcp with the MCP TypeScript SDK (1.x) over Streamable HTTP
// (stateless and stateful) and stdio, once per protocol version.
//
// Environment:
//   DORIS_MCP_BIN       the built command (spawned for stdio)
//   STATELESS_URL       http://127.0.0.1:PORT/mcp of a server started without -stateful
//   STATEFUL_URL        http://127.0.0.1:PORT/mcp of a server started with -stateful
//   DOMAINS_URL         http://127.0.0.1:PORT/mcp of a server started with -tools domains
//
// Version selection: Client.connect() always offers LATEST_PROTOCOL_VERSION
// (2025-11-25 in SDK 1.x) in initialize and accepts any answer listed in
// SUPPORTED_PROTOCOL_VERSIONS; the SDK has no option to offer another one.
// To make it speak an older version, the transport below rewrites the
// protocolVersion of the outgoing initialize request; from the answer on, the
// SDK itself negotiates (and, over HTTP, sends MCP-Protocol-Version).
// 2026-07-28 cannot be spoken by SDK 1.x: it is not in
// SUPPORTED_PROTOCOL_VERSIONS, and that version has no initialize handshake,
// which the 1.x Client always performs.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";

const WANTED = ["2025-06-18", "2025-11-25", "2026-07-28"];
const LONG_SQL = "SELECT COUNT(*) FROM seq_1_to_20000 a, seq_1_to_20000 b";
let longCalls = 0;
const REQ = { timeout: 20_000 };

const bin = process.env.DORIS_MCP_BIN;
const statelessURL = process.env.STATELESS_URL;
const statefulURL = process.env.STATEFUL_URL;
const domainsURL = process.env.DOMAINS_URL;
if (!bin || !statelessURL || !statefulURL || !domainsURL) {
  console.error("DORIS_MCP_BIN, STATELESS_URL, STATEFUL_URL and DOMAINS_URL must be set");
  process.exit(2);
}

let passed = 0;
let failed = 0;
const failures = [];

async function check(label, fn) {
  try {
    const note = await fn();
    passed++;
    console.log(`ok    ${label}${note ? ` (${note})` : ""}`);
  } catch (err) {
    failed++;
    failures.push(label);
    console.log(`FAIL  ${label}\n      ${String(err?.stack ?? err).split("\n").join("\n      ")}`);
  }
}

// Wraps a transport: pins the initialize request's protocolVersion and records
// every message both ways, so a failure can show the exact exchange.
function pinVersion(inner, version, log) {
  const wrapper = {
    initializeResult: undefined,
    get sessionId() { return inner.sessionId; },
    get protocolVersion() { return inner.protocolVersion; },
    setProtocolVersion: inner.setProtocolVersion ? (v) => inner.setProtocolVersion(v) : undefined,
    start: () => inner.start(),
    close: () => inner.close(),
    async send(message, options) {
      if (message.method === "initialize") {
        message = { ...message, params: { ...message.params, protocolVersion: version } };
      }
      log.push(["->", message]);
      return inner.send(message, options);
    },
  };
  inner.onmessage = (message, extra) => {
    log.push(["<-", message]);
    if (message.id !== undefined && message.result?.protocolVersion && message.result?.serverInfo) {
      wrapper.initializeResult = message.result;
    }
    wrapper.onmessage?.(message, extra);
  };
  inner.onerror = (e) => wrapper.onerror?.(e);
  inner.onclose = () => wrapper.onclose?.();
  return wrapper;
}

function exchange(log, filter = () => true) {
  return log
    .filter(([, m]) => filter(m))
    .map(([dir, m]) => `${dir} ${JSON.stringify(m)}`)
    .join("\n");
}

// A fetch for the stateless transport that, when the SDK sends
// notifications/cancelled for a request, also aborts the POST that carries
// that request. SDK 1.x keeps that POST open and sends the cancellation in a
// separate POST, which a stateless server cannot tie to the call (it has no
// session); ending the call's own HTTP request is how a stateless server
// learns that nobody waits for the answer.
function closingFetch() {
  const inflight = new Map();
  const f = async (url, init) => {
    const ids = [];
    if (init?.method === "POST" && typeof init.body === "string") {
      for (const m of [].concat(JSON.parse(init.body))) {
        if (m.method === "notifications/cancelled" && f.closeOnCancel) {
          inflight.get(m.params.requestId)?.abort(new Error("request cancelled"));
          inflight.delete(m.params.requestId);
        } else if (m.method && m.id !== undefined) {
          ids.push(m.id);
        }
      }
    }
    if (!ids.length) return fetch(url, init);
    const ac = new AbortController();
    for (const id of ids) inflight.set(id, ac);
    const signal = init.signal ? AbortSignal.any([init.signal, ac.signal]) : ac.signal;
    return fetch(url, { ...init, signal });
  };
  f.closeOnCancel = false;
  return f;
}

function makeTransport(kind) {
  switch (kind) {
    case "http-stateless":
    {
      const closing = closingFetch();
      const t = new StreamableHTTPClientTransport(new URL(statelessURL), { fetch: closing });
      t.closingFetch = closing;
      return t;
    }
    case "http-stateful":
      return new StreamableHTTPClientTransport(new URL(statefulURL));
    case "stdio": {
      const t = new StdioClientTransport({ command: bin, args: ["-transport", "stdio"], stderr: "pipe" });
      return t;
    }
  }
  throw new Error(kind);
}

async function connect(kind, version) {
  const log = [];
  const inner = makeTransport(kind);
  const stderr = [];
  if (kind === "stdio") {
    inner.stderr?.on("data", (d) => stderr.push(String(d)));
  }
  const transport = pinVersion(inner, version, log);
  const client = new Client({ name: "doris-ci-sdk-check", version: "1.0.0" });
  return { client, transport, inner, log, stderr };
}

// processlistHas asks the sample database behind the server, directly and
// not through the server (whose guard refuses to show other sessions'
// statements), whether a statement holding needle is running. simAddr is
// the database's host:port, which the command logs at start.
function processlistHas(simAddr, needle) {
  assert.ok(simAddr, "the sample database's address is unknown");
  const [host, port] = simAddr.split(":");
  const out = execFileSync("mariadb", ["--no-defaults", "-h", host, "-P", port, "-u", "root", "-N", "-B", "-e", "SHOW FULL PROCESSLIST"], { encoding: "utf8" });
  return out.split("\n").some((line) => line.includes(needle) && !line.split("\t").includes("Sleep"));
}

// sampleAddr reads the sample database's address from the command's log.
function sampleAddr(logText) {
  const m = /DORIS_HOST is not set.*? addr=([0-9.]+:[0-9]+)/.exec(logText);
  return m ? m[1] : "";
}

async function runOne(kind, version) {
  const tag = `[sdk ${kind} ${version}]`;
  const { client, transport, inner, log, stderr } = await connect(kind, version);
  const simAddr = () =>
    kind === "stdio" ? sampleAddr(stderr.join("")) : kind === "http-stateless" ? process.env.STATELESS_SAMPLE : process.env.STATEFUL_SAMPLE;

  if (!SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    // Documented limitation of the SDK, not of the server: see the header.
    await check(`${tag} not spoken by SDK 1.x (supports ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`, async () => {
      let error;
      try {
        await client.connect(transport, REQ);
      } catch (err) {
        error = err;
      } finally {
        await client.close().catch(() => {});
      }
      const got = transport.initializeResult?.protocolVersion;
      assert.ok(got, `initialize offering ${version} got no answer: ${error}\n${exchange(log)}`);
      if (error) {
        return `initialize offering ${version} answered ${got}; the SDK refused it: ${error.message}`;
      }
      assert.notEqual(got, version, "SDK 1.x unexpectedly accepted a version it does not list");
      return `offering ${version} in initialize, the server chose ${got} (2026-07-28 is not negotiated by initialize); the session runs ${got}, so nothing here speaks ${version}`;
    });
    return;
  }

  let connected = false;
  await check(`${tag} initialize`, async () => {
    await client.connect(transport, REQ);
    connected = true;
    const got = transport.initializeResult?.protocolVersion;
    assert.equal(got, version, `server answered protocolVersion ${got}\n${exchange(log)}`);
    if (kind !== "stdio") {
      assert.equal(inner.protocolVersion, version, "transport does not send the negotiated MCP-Protocol-Version");
    }
    if (kind === "http-stateful") {
      assert.ok(inner.sessionId, "stateful server gave no Mcp-Session-Id");
    } else if (kind === "http-stateless") {
      assert.equal(inner.sessionId, undefined, "stateless server gave an Mcp-Session-Id");
    }
    const info = client.getServerVersion();
    return `server ${info?.name} ${info?.version}, protocol ${got}${inner.sessionId ? ", session " + inner.sessionId.slice(0, 8) + "…" : ""}`;
  });
  if (!connected) {
    if (stderr.length) console.log(`      server stderr:\n${stderr.join("")}`);
    await client.close().catch(() => {});
    return;
  }

  await check(`${tag} tools/list`, async () => {
    const { tools } = await client.listTools(undefined, REQ);
    const names = tools.map((t) => t.name);
    for (const want of ["exec_query", "get_db_list", "get_table_schema"]) {
      const tool = tools.find((t) => t.name === want);
      assert.ok(tool, `${want} missing from ${names.join(", ")}`);
      assert.equal(tool.outputSchema?.type, "object", `${want} has no object outputSchema`);
      assert.ok(tool.outputSchema.properties?.rows, `${want} outputSchema has no rows`);
    }
    return names.join(", ");
  });

  await check(`${tag} exec_query max_rows=2`, async () => {
    const start = log.length;
    // listTools above cached the output schemas: callTool validates structuredContent against them.
    const r = await client.callTool(
      { name: "exec_query", arguments: { sql: "SELECT id, city FROM customers ORDER BY id", max_rows: 2 } },
      undefined,
      REQ,
    );
    const ex = () => exchange(log.slice(start));
    assert.ok(!r.isError, `isError set\n${ex()}`);
    const sc = r.structuredContent;
    assert.ok(sc, `no structuredContent\n${ex()}`);
    assert.equal(sc.rows.length, 2, ex());
    assert.equal(sc.row_count, 2, ex());
    assert.equal(sc.truncated, true, ex());
    assert.equal(sc.truncation_reason, "row_limit", ex());
    assert.deepEqual(sc.columns.map((c) => c.name), ["id", "city"], ex());
    assert.equal(typeof sc.rows[0][0], "number", ex());
    assert.equal(sc.rows[0][0], 1, ex());
    const text = r.content.find((c) => c.type === "text");
    assert.ok(text, `no text content\n${ex()}`);
    assert.deepEqual(JSON.parse(text.text), sc, `text content is not the structured content\n${ex()}`);
    return `rows ${JSON.stringify(sc.rows)}`;
  });

  await check(`${tag} bad arguments -> isError`, async () => {
    const start = log.length;
    const r = await client.callTool({ name: "exec_query", arguments: { sql: 42 } }, undefined, REQ);
    assert.equal(r.isError, true, exchange(log.slice(start)));
    assert.ok(r.content?.[0]?.text, exchange(log.slice(start)));
    const r2 = await client.callTool({ name: "exec_query", arguments: {} }, undefined, REQ);
    assert.equal(r2.isError, true, exchange(log.slice(start)));
    return `${r.content[0].text} / ${r2.content[0].text}`;
  });

  const cancelLong = async (expectKilled) => {
    const start = log.length;
    // Each long call gets its own alias, so SHOW PROCESSLIST tells it apart
    // from one that an earlier check left running.
    const marker = `cancel_me_${++longCalls}`;
    const sql = LONG_SQL.replace("COUNT(*)", `COUNT(*) AS ${marker}`);
    const ac = new AbortController();
    const began = Date.now();
    const call = client.callTool(
      { name: "exec_query", arguments: { sql } },
      undefined,
      { ...REQ, signal: ac.signal },
    );
    // Let the query reach the database before cancelling.
    let seen = false;
    for (let i = 0; i < 40 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = processlistHas(simAddr(), marker);
    }
    assert.ok(seen, "the long query never showed in SHOW PROCESSLIST");
    const reason = new Error("cancelled by the CI client");
    ac.abort(reason);
    let outcome;
    try {
      const r = await call;
      outcome = { result: r };
    } catch (err) {
      outcome = { error: err };
    }
    assert.ok(outcome.error, `the call resolved instead of rejecting: ${JSON.stringify(outcome.result)}`);
    // The SDK rejects with McpError(RequestTimeout, String(signal.reason)).
    assert.ok(
      outcome.error === reason || String(outcome.error?.message).includes(reason.message),
      `rejected with ${outcome.error} rather than the abort reason`,
    );
    const abortedAfter = Date.now() - began;
    // The server must stay usable...
    const r = await client.callTool(
      { name: "exec_query", arguments: { sql: "SELECT id FROM customers ORDER BY id", max_rows: 1 } },
      undefined,
      REQ,
    );
    assert.ok(!r.isError && r.structuredContent?.rows?.length === 1, `server unusable after cancel: ${JSON.stringify(r)}`);
    // ...and the query should be gone from the database.
    let gone = false;
    const t0 = Date.now();
    while (Date.now() - t0 < 5000) {
      if (!processlistHas(simAddr(), marker)) {
        gone = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const cancelled = log.slice(start).filter(([d, m]) => d === "->" && m.method === "notifications/cancelled");
    assert.ok(cancelled.length === 1, `client sent ${cancelled.length} notifications/cancelled`);
    if (!expectKilled) {
      return `aborted after ${abortedAfter} ms, server answered the next call; query ${gone ? "gone" : "still running 5 s after the cancel (it ends at its timeout)"}`;
    }
    assert.ok(gone, `query still running 5 s after the cancel; client sent ${JSON.stringify(cancelled[0]?.[1])}`);
    return `aborted after ${abortedAfter} ms, query gone after ${Date.now() - t0} ms, server answered the next call`;
  };
  if (kind === "http-stateless") {
    // SDK 1.x cancels with notifications/cancelled on a request of its own
    // and keeps the call's request open: the server matches the id to the
    // one call in flight and kills its query.
    await check(`${tag} cancel a long call (SDK as is)`, () => cancelLong(true));
    inner.closingFetch.closeOnCancel = true;
    await check(`${tag} cancel a long call (closing its POST)`, () => cancelLong(true));
  } else {
    await check(`${tag} cancel a long call`, () => cancelLong(true));
  }

  if (kind === "http-stateful") {
    await check(`${tag} DELETE session`, async () => {
      await inner.terminateSession();
      assert.equal(inner.sessionId, undefined);
    });
  }
  await client.close();
  if (kind === "stdio") {
    await check(`${tag} server exits when stdin closes`, async () => {
      // close() ends the child; it must have gone.
      assert.equal(inner.pid, null);
    });
  }
}

// ARGS are arguments for every tool of the catalogue on the sample
// database, written as the reference server 0.6.1 takes them.
const ARGS = {
  exec_query: { sql: "SELECT status, COUNT(*) AS n FROM orders GROUP BY status", db_name: "sample", timeout: 30 },
  get_sql_explain: { sql: "SELECT * FROM orders WHERE status = 'paid'", db_name: "sample" },
  get_db_list: {},
  get_db_table_list: { db_name: "sample" },
  get_table_schema: { table_name: "orders", db_name: "sample" },
  get_catalog_list: { random_string: "ci" },
  get_cluster_nodes: {},
  get_sql_profile: { sql: "SELECT COUNT(*) FROM orders", db_name: "sample", timeout: 30 },
  get_table_data_size: { db_name: "sample", table_name: "orders" },
  get_monitoring_metrics: { role: "all", monitor_type: "machine", priority: "p0" },
  get_memory_stats: { data_type: "realtime", tracker_type: "overview" },
  get_table_comment: { table_name: "orders", db_name: "sample" },
  get_table_column_comments: { table_name: "orders", db_name: "sample" },
  get_table_indexes: { table_name: "orders", db_name: "sample" },
  get_table_basic_info: { table_name: "orders", db_name: "sample" },
  get_recent_audit_logs: { days: 7, limit: 10 },
  analyze_slow_queries_topn: { days: 30, top_n: 5, min_execution_time_ms: 1 },
  analyze_data_access_patterns: { days: 30, min_query_threshold: 1 },
  analyze_resource_growth_curves: { days: 30, resource_types: ["storage", "query_volume"] },
  analyze_columns: { table_name: "orders", db_name: "sample", analysis_types: ["both"] },
  analyze_table_storage: { table_name: "orders", db_name: "sample" },
  monitor_data_freshness: { db_name: "sample", freshness_threshold_hours: 24 },
  trace_column_lineage: { target_columns: ["sample.customer_order_totals.total_spent"], analysis_depth: 2 },
  analyze_data_flow_dependencies: { target_table: "orders", db_name: "sample", analysis_depth: 2 },
};

// everyTool calls every tool of the server at url, listed flat or, with
// domains, through the children each domain's manifest names; every call
// must succeed, and every tool of ARGS must have been reached.
async function everyTool(url, domains) {
  const tag = `[sdk every tool, ${domains ? "domains" : "flat"}]`;
  const client = new Client({ name: "doris-ci-sdk-check", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)), REQ);
  const reached = new Set();
  const callOne = async (name, args, label) => {
    await check(`${tag} ${label}`, async () => {
      const r = await client.callTool({ name, arguments: args }, undefined, REQ);
      const text = r.content?.find((c) => c.type === "text")?.text ?? "";
      assert.ok(!r.isError, `isError: ${text}`);
      const sc = r.structuredContent ?? JSON.parse(text);
      assert.ok(Array.isArray(sc.rows), `no rows in ${text.slice(0, 200)}`);
      return `${sc.row_count} rows, ${text.length} bytes`;
    });
  };
  const { tools } = await client.listTools(undefined, REQ);
  const size = JSON.stringify({ tools }).length;
  await check(`${tag} tools/list`, async () => {
    if (domains) {
      assert.ok(size < 8 * 1024, `tools/list is ${size} bytes`);
    }
    return `${tools.length} tools, ${size} bytes`;
  });
  for (const tool of tools) {
    if (!domains) {
      assert.ok(ARGS[tool.name], `no arguments for ${tool.name} in ARGS`);
      reached.add(tool.name);
      await callOne(tool.name, ARGS[tool.name], tool.name);
      continue;
    }
    const m = await client.callTool({ name: tool.name, arguments: {} }, undefined, REQ);
    const manifest = m.structuredContent;
    await check(`${tag} ${tool.name} manifest`, async () => {
      assert.ok(!m.isError && manifest?.mode === "manifest", JSON.stringify(m).slice(0, 300));
      return manifest.children.map((c) => c.name).join(", ");
    });
    for (const child of manifest?.children ?? []) {
      reached.add(child.tool);
      await callOne(tool.name, { child_tool: child.name, arguments: ARGS[child.tool], manifest_version: manifest.manifest_version }, `${tool.name}.${child.name}`);
    }
  }
  await check(`${tag} every tool reached`, async () => {
    const missed = Object.keys(ARGS).filter((n) => !reached.has(n));
    assert.deepEqual(missed, []);
  });
  await client.close();
}

console.log(`SDK LATEST_PROTOCOL_VERSION ${LATEST_PROTOCOL_VERSION}; SUPPORTED ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")}`);
for (const kind of ["http-stateless", "http-stateful", "stdio"]) {
  for (const version of WANTED) {
    await runOne(kind, version);
  }
}
await everyTool(statelessURL, false);
await everyTool(domainsURL, true);
console.log(`\nsdk: ${passed} passed, ${failed} failed`);
if (failed) {
  console.log(`failed: ${failures.join("; ")}`);
}
process.exit(failed ? 1 : 0);
