// Package authn decides who an HTTP request's bearer token stands for, and
// what that principal may use. It is the mechanism behind the root
// package's authentication options; it knows nothing of the Server, only
// of tokens, keys, authorization servers and scopes.
//
//	a, err := authn.New(authn.Config{Tokens: tokens, JWT: &jwtCfg}, log)
//	if err != nil { … }
//	defer a.Close(ctx)
//	id, reason := a.Check(r.Context(), token) // nil and why, or who
//	w.Header().Set("WWW-Authenticate", a.Challenge("invalid_token", nil))
//
// # Methods
//
// A token is accepted if one configured method accepts it, tried in this
// order:
//
//   - Static tokens ([Token]), kept as SHA-256 digests and compared in
//     constant time with every one of them, so timing tells nothing of which
//     matched. A token file ([Config.TokenFile]) lists more, by digest; it is
//     read again whenever its content changes, and a file that disappears or
//     cannot be read or parsed revokes every token it listed (see
//     tokenfile.go for why failing closed is the right side).
//   - JWTs ([JWTConfig]) with fixed keys by kid and a JWKS (package jwks).
//     Only listed algorithms are accepted, and a key only with algorithms of
//     its own kind, so an HMAC token never verifies against the bytes of a
//     public key.
//   - Opaque tokens vouched for by an OAuth 2.0 authorization server (RFC
//     7662 introspection, [IntrospectionConfig]).
//
// # Introspection under load
//
// Every token the other methods refuse reaches the introspection
// endpoint, and unauthenticated clients choose how many tokens they send.
// So the verdicts are cached by token digest (never the token itself):
// active ones for a TTL bounded by the token's exp, refusals for 30
// seconds; concurrent requests with the same token share one introspection
// request; and at most eight requests are in flight to the authorization
// server at once, the others waiting as long as some request still waits
// for them. A flood of bogus tokens costs the authorization server at most
// eight requests at a time, and a burst of one bogus token one request.
//
// # Scopes
//
// A [Policy] names the scopes each tool needs. Resources and prompts that
// give the same data as a tool (a table's definition is what
// get_table_schema returns) need that tool's scopes, in listings and on
// reading: [Mirror] says which tools each one mirrors. Results given to an
// authenticated principal are marked for private caching only.
//
// # Outbound requests
//
// JWKS, token and introspection requests go through package outbound: no
// redirects (they would re-send the caller's token or the client
// credentials to another host), bounded time and size, and URLs in logs
// and errors without userinfo or query.
package authn
