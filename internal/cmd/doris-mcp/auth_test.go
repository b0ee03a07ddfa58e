package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dorismcp/doris"
)

func TestAuthOptions(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(tokens, []byte(`[]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		env       map[string]string
		transport string
		host      string
		insecure  bool
		want      string // in the error; "" for none
	}{
		{name: "loopback without auth", transport: "http", host: "127.0.0.1"},
		{name: "localhost without auth", transport: "http", host: "localhost"},
		{name: "ipv6 loopback without auth", transport: "http", host: "::1"},
		{name: "all interfaces without auth", transport: "http", host: "0.0.0.0", want: "without authentication"},
		{name: "empty host without auth", transport: "http", host: "", want: "without authentication"},
		{name: "public host without auth", transport: "http", host: "10.0.0.7", want: "-insecure-no-auth"},
		{name: "stdio ignores the host", transport: "stdio", host: "0.0.0.0"},
		{name: "insecure flag", transport: "http", host: "0.0.0.0", insecure: true},
		{name: "tokens file", env: map[string]string{"DORIS_MCP_TOKENS_FILE": tokens}, transport: "http", host: "0.0.0.0"},
		{name: "jwks", env: map[string]string{"DORIS_MCP_JWKS_URL": "https://idp.example.com/jwks", "DORIS_MCP_JWT_ISSUER": "https://idp.example.com", "DORIS_MCP_JWT_AUDIENCE": "doris-mcp"}, transport: "http", host: "0.0.0.0"},
		{name: "jwks with algorithms", env: map[string]string{"DORIS_MCP_JWKS_URL": "https://idp.example.com/jwks", "DORIS_MCP_JWT_ALGORITHMS": "ES256, EdDSA"}, transport: "http", host: "0.0.0.0"},
		{name: "issuer without jwks", env: map[string]string{"DORIS_MCP_JWT_ISSUER": "https://idp.example.com"}, transport: "http", host: "0.0.0.0", want: "need DORIS_MCP_JWKS_URL"},
		{name: "insecure with auth", env: map[string]string{"DORIS_MCP_TOKENS_FILE": tokens}, transport: "http", host: "0.0.0.0", insecure: true, want: "contradicts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			opts, err := authOptions(lookup, tc.transport, tc.host, tc.insecure)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// What the command would build from them is a valid Server.
			srv, err := doris.New(append(opts, doris.WithDSN("u:p@tcp(127.0.0.1:1)/db"))...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			srv.Shutdown(context.Background())
		})
	}
}
