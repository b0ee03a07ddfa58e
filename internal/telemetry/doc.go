// Package telemetry is how the server describes its work to operators:
// OpenTelemetry metrics and spans in the semantic conventions for MCP
// servers and database clients, the library's own doris.mcp.* metrics, the
// counters behind Server.Stats, and one structured log line per call.
//
// Why a package of its own: every MCP request passes one receiving
// middleware and every Doris statement one runtime, so the path is
// instrumented once, at those two places, and the tools (present and
// future) need only report what they returned. The root package keeps
// hooks of a few lines; the names, attribute sets and their rules live
// here, where they can be read together and tested in isolation.
//
// Only the OpenTelemetry API is imported. A Telemetry built without
// providers uses the API's no-op implementations: instruments report
// themselves disabled, spans do not record, and the work behind them (a
// query summary, an attribute set) is skipped, so a host that wants no
// telemetry pays for none beyond the log line and a few counters.
//
// Nothing here records a statement's literals: the query summary is built
// from the guard's tokens, whose string and numeric literals carry no text,
// and the Info log line names the class of an error, never its message,
// which may quote the statement.
package telemetry
