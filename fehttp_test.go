package doris

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFEHTTPOptions(t *testing.T) {
	db, err := sql.Open("mysql", testDSN) // never reached: nothing is called
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name string
		opts []Option
		want string // in New's error; "" for success
	}{
		{"host:port", []Option{WithDSN(testDSN), WithFEHTTP("fe:8030")}, ""},
		{"url with prefix", []Option{WithDSN(testDSN), WithFEHTTP("https://proxy.example/doris")}, ""},
		{"BEs", []Option{WithDSN(testDSN), WithFEHTTP("fe:8030"), WithBEHTTP("be1:8040", "[::1]:8040")}, ""},
		{"empty", []Option{WithDSN(testDSN), WithFEHTTP(" ")}, "WithFEHTTP: empty"},
		{"no port", []Option{WithDSN(testDSN), WithFEHTTP("fe")}, "neither host:port nor a URL"},
		{"credentials in the URL", []Option{WithDSN(testDSN), WithFEHTTP("http://u:secret-in-url@fe:8030")}, "WithFEHTTP"},
		{"ftp", []Option{WithDSN(testDSN), WithFEHTTP("ftp://fe:8030")}, "WithFEHTTP"},
		{"bad BE", []Option{WithDSN(testDSN), WithFEHTTP("fe:8030"), WithBEHTTP("be1")}, "WithBEHTTP"},
		{"BEs without FE", []Option{WithDSN(testDSN), WithBEHTTP("be1:8040")}, "WithBEHTTP needs WithFEHTTP"},
		{"WithDB without credentials", []Option{WithDB(db), WithFEHTTP("fe:8030")}, "WithFEHTTPCredentials"},
		{"WithDB with credentials", []Option{WithDB(db), WithFEHTTP("fe:8030"), WithFEHTTPCredentials("admin", "pw")}, ""},
		{"empty user", []Option{WithDSN(testDSN), WithFEHTTPCredentials("", "pw")}, "empty user"},
	} {
		s, err := New(tc.opts...)
		if s != nil {
			s.Shutdown(t.Context())
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-in-url") {
			t.Errorf("%s: error carries the password: %v", tc.name, err)
		}
	}
}

func TestEnvHTTPOptions(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		fe      string
		bes     []string
		wantErr string
	}{
		{env: map[string]string{"DORIS_HOST": "fe.example"}, fe: "http://fe.example:8030"},
		{env: map[string]string{"DORIS_HOST": "fe.example", "DORIS_FE_HTTP_PORT": "18030"}, fe: "http://fe.example:18030"},
		{env: map[string]string{"DORIS_HOST": "fe.example", "DORIS_BE_HOSTS": "be1, be2:9040,,be3"},
			fe: "http://fe.example:8030", bes: []string{"be1:8040", "be2:9040", "be3:8040"}},
		{env: map[string]string{"DORIS_HOST": "fe.example", "DORIS_BE_HOSTS": "be1", "DORIS_BE_WEBSERVER_PORT": "18040"},
			fe: "http://fe.example:8030", bes: []string{"be1:18040"}},
		{env: map[string]string{"DORIS_HOST": "fe.example", "DORIS_FE_HTTP_PORT": "http"}, wantErr: "DORIS_FE_HTTP_PORT"},
		{env: map[string]string{"DORIS_HOST": "fe.example", "DORIS_BE_WEBSERVER_PORT": "70000"}, wantErr: "DORIS_BE_WEBSERVER_PORT"},
		{env: map[string]string{"DORIS_HOST": "fe.example", "DORIS_BE_HOSTS": "be1/x"}, wantErr: "DORIS_BE_HOSTS"},
	} {
		opts, err := EnvOptions(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: %v, want %q", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		c := defaultConfig()
		for _, o := range opts {
			if err := o(&c); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(tc.fe, c.feHTTP.addr); diff != "" {
			t.Errorf("%v: FE (-want +got):\n%s", tc.env, diff)
		}
		if diff := cmp.Diff(tc.bes, c.feHTTP.backends); diff != "" {
			t.Errorf("%v: BEs (-want +got):\n%s", tc.env, diff)
		}
	}
}
