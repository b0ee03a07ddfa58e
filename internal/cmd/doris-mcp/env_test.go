package main

import (
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris"
	"github.com/google/go-cmp/cmp"
)

func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestReadCluster(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want *cluster
	}{
		{nil, nil},
		{[]string{"DORIS_HOST", "fe.example", "DORIS_USER", "u", "DORIS_PASSWORD", "p@ss:/()", "DORIS_DATABASE", "sales",
			"DORIS_MAX_CONNECTIONS", "7", "DORIS_QUERY_TIMEOUT", "45", "DORIS_MAX_ROWS", "500"},
			&cluster{dsn: "u:p@ss:/()@tcp(fe.example:9030)/sales", feHTTP: "fe.example:8030", maxConns: 7, timeout: 45 * time.Second, maxRows: 500}},
		// DORIS_HOSTS names failover FEs; its first stands for DORIS_HOST
		// when that is unset.
		{[]string{"DORIS_HOST", "fe1", "DORIS_HOSTS", "fe2, fe3:9031"},
			&cluster{dsn: "root@tcp(fe1:9030)/", frontends: []string{"fe2:9030", "fe3:9031"}, feHTTP: "fe1:8030"}},
		{[]string{"DORIS_HOSTS", "fe1,fe2", "DORIS_PORT", "9040"},
			&cluster{dsn: "root@tcp(fe1:9040)/", frontends: []string{"fe2:9040"}, feHTTP: "fe1:8030"}},
		{[]string{"DORIS_HOST", "fe.example", "DORIS_FE_HTTP_PORT", "18030"},
			&cluster{dsn: "root@tcp(fe.example:9030)/", feHTTP: "fe.example:18030"}},
		{[]string{"DORIS_HOST", "fe.example", "DORIS_BE_HOSTS", "be1, be2:9040,,be3,::1"},
			&cluster{dsn: "root@tcp(fe.example:9030)/", feHTTP: "fe.example:8030", backends: []string{"be1:8040", "be2:9040", "be3:8040", "[::1]:8040"}}},
		{[]string{"DORIS_HOST", "fe.example", "DORIS_BE_HOSTS", "be1", "DORIS_BE_WEBSERVER_PORT", "18040"},
			&cluster{dsn: "root@tcp(fe.example:9030)/", feHTTP: "fe.example:8030", backends: []string{"be1:18040"}}},
	} {
		got, err := readCluster(envOf(tc.env...))
		if err != nil {
			t.Errorf("%v: %v", tc.env, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(cluster{})); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.env, diff)
		}
		if got == nil {
			continue
		}
		// What it reads, the library takes.
		srv, err := doris.New(got.options()...)
		if err != nil {
			t.Errorf("%v: New: %v", tc.env, err)
			continue
		}
		if err := srv.Shutdown(t.Context()); err != nil {
			t.Error(err)
		}
	}
}

// A malformed value is an error naming the variable, never its value.
func TestReadClusterRefuses(t *testing.T) {
	for _, k := range []string{"DORIS_PORT", "DORIS_USER", "DORIS_PASSWORD", "DORIS_DATABASE"} {
		_, err := readCluster(envOf(k, "secret-value"))
		if err == nil || !strings.Contains(err.Error(), "DORIS_HOST") || strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%s without DORIS_HOST: err=%v, want one naming DORIS_HOST and not the value", k, err)
		}
	}
	for _, bad := range [][]string{
		{"DORIS_HOST", "h", "DORIS_PORT", "99999"},
		{"DORIS_HOST", "h", "DORIS_PORT", "x"},
		{"DORIS_HOST", "a/b"},
		{"DORIS_HOST", "fe:9030"},
		{"DORIS_HOST", "h", "DORIS_HOSTS", "fe2,secret/value"},
		{"DORIS_HOST", "h", "DORIS_MAX_CONNECTIONS", "0"},
		{"DORIS_HOST", "h", "DORIS_QUERY_TIMEOUT", "-3"},
		{"DORIS_HOST", "h", "DORIS_MAX_ROWS", "1000000"},
		{"DORIS_HOST", "h", "DORIS_FE_HTTP_PORT", "http"},
		{"DORIS_HOST", "h", "DORIS_BE_WEBSERVER_PORT", "70000"},
		{"DORIS_HOST", "h", "DORIS_BE_HOSTS", "be1/x"},
	} {
		_, err := readCluster(envOf(bad...))
		if err == nil || !strings.Contains(err.Error(), bad[len(bad)-2]) || strings.Contains(err.Error(), bad[len(bad)-1]) {
			t.Errorf("%v: %v, want an error naming %s and not its value", bad, err, bad[len(bad)-2])
		}
	}
}

// FuzzReadCluster: whatever the environment, reading it never panics, the
// library takes what it reads, and no error echoes the password.
func FuzzReadCluster(f *testing.F) {
	f.Add("fe.example", "9030", "root", "secret", "db", "7", "30", "100", "be1,be2:9040")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Add("h", "0", "u", "p(w)d@", "d`b", "-1", "x", "100001", "::1")
	f.Add("a/b", "65536", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, host, port, user, pass, db, conns, timeout, rows, bes string) {
		c, err := readCluster(envOf("DORIS_HOST", host, "DORIS_PORT", port, "DORIS_USER", user, "DORIS_PASSWORD", pass,
			"DORIS_DATABASE", db, "DORIS_MAX_CONNECTIONS", conns, "DORIS_QUERY_TIMEOUT", timeout, "DORIS_MAX_ROWS", rows,
			"DORIS_BE_HOSTS", bes))
		if err != nil {
			if len(pass) >= 6 && strings.Contains(err.Error(), pass) {
				t.Fatalf("error leaks the password: %v", err)
			}
			return
		}
		if c == nil {
			return
		}
		srv, err := doris.New(c.options()...)
		if err != nil {
			if len(pass) >= 6 && strings.Contains(err.Error(), pass) {
				t.Fatalf("New's error leaks the password: %v", err)
			}
			return
		}
		srv.Shutdown(t.Context())
	})
}
