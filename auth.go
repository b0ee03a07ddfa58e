package doris

import "context"

// authenticator checks the bearer tokens of HTTP requests before they reach
// the MCP layer. With no method configured it admits every request, and has
// nothing to release on Close.
type authenticator struct{}

func newAuthenticator() *authenticator { return &authenticator{} }

// Close releases what the authenticator holds (key refresh loops, HTTP
// clients). It is one of the components Shutdown closes concurrently.
func (a *authenticator) Close(ctx context.Context) error { return nil }
