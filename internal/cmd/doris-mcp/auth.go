package main

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/dorismcp/doris"
)

// authOptions reads the authentication of the command from the
// environment:
//
//	DORIS_MCP_TOKENS_FILE    JSON list of static tokens by digest (see doris.WithTokenFile)
//	DORIS_MCP_JWKS_URL       JWKS of the issuer of accepted JWTs
//	DORIS_MCP_JWT_ISSUER     required iss of those JWTs
//	DORIS_MCP_JWT_AUDIENCE   required aud of those JWTs
//	DORIS_MCP_JWT_ALGORITHMS comma-separated, default RS256,ES256
//
// Served over HTTP on a host that is not loopback, the command refuses to
// start without one of them unless insecure (-insecure-no-auth) is set.
func authOptions(lookup func(string) (string, bool), transport, host string, insecure bool) ([]doris.Option, error) {
	get := func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	var opts []doris.Option
	if path := get("DORIS_MCP_TOKENS_FILE"); path != "" {
		opts = append(opts, doris.WithTokenFile(path))
	}
	jwks, iss, aud := get("DORIS_MCP_JWKS_URL"), get("DORIS_MCP_JWT_ISSUER"), get("DORIS_MCP_JWT_AUDIENCE")
	switch {
	case jwks != "":
		algs := strings.Split(get("DORIS_MCP_JWT_ALGORITHMS"), ",")
		if algs[0] == "" {
			algs = []string{"RS256", "ES256"}
		}
		for i := range algs {
			algs[i] = strings.TrimSpace(algs[i])
		}
		opts = append(opts, doris.WithJWT(doris.JWTConfig{JWKSURL: jwks, Issuer: iss, Audience: aud, Algorithms: algs}))
	case iss != "" || aud != "":
		return nil, errors.New("DORIS_MCP_JWT_ISSUER and DORIS_MCP_JWT_AUDIENCE need DORIS_MCP_JWKS_URL")
	}
	if insecure {
		if len(opts) > 0 {
			return nil, errors.New("-insecure-no-auth contradicts the authentication configured in the environment")
		}
		return []doris.Option{doris.WithInsecureNoAuth()}, nil
	}
	if len(opts) == 0 && transport != "stdio" && !loopbackHost(host) {
		return nil, fmt.Errorf("refusing to serve %q without authentication: set DORIS_MCP_TOKENS_FILE or DORIS_MCP_JWKS_URL, or pass -insecure-no-auth", host)
	}
	return opts, nil
}

// loopbackHost reports whether a listen host only accepts local
// connections; "" and unspecified addresses listen on every interface.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
