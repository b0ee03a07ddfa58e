package doris_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/testdb"
)

func TestFEHTTPOptions(t *testing.T) {
	testdb.Parallel(t)
	db, err := sql.Open("mysql", testDSN) // never reached: nothing is called
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name string
		opts []doris.Option
		want string // in New's error; "" for success
	}{
		{"host:port", []doris.Option{doris.WithDSN(testDSN), doris.WithFEHTTP("fe:8030")}, ""},
		{"url with prefix", []doris.Option{doris.WithDSN(testDSN), doris.WithFEHTTP("https://proxy.example/doris")}, ""},
		{"BEs", []doris.Option{doris.WithDSN(testDSN), doris.WithFEHTTP("fe:8030"), doris.WithBEHTTP("be1:8040", "[::1]:8040")}, ""},
		{"empty", []doris.Option{doris.WithDSN(testDSN), doris.WithFEHTTP(" ")}, "WithFEHTTP: empty"},
		{"no port", []doris.Option{doris.WithDSN(testDSN), doris.WithFEHTTP("fe")}, "neither host:port nor a URL"},
		{"credentials in the URL", []doris.Option{doris.WithDSN(testDSN), doris.WithFEHTTP("http://u:secret-in-url@fe:8030")}, "WithFEHTTP"},
		{"ftp", []doris.Option{doris.WithDSN(testDSN), doris.WithFEHTTP("ftp://fe:8030")}, "WithFEHTTP"},
		{"bad BE", []doris.Option{doris.WithDSN(testDSN), doris.WithFEHTTP("fe:8030"), doris.WithBEHTTP("be1")}, "WithBEHTTP"},
		{"BEs without FE", []doris.Option{doris.WithDSN(testDSN), doris.WithBEHTTP("be1:8040")}, "WithBEHTTP needs WithFEHTTP"},
		{"WithDB without credentials", []doris.Option{doris.WithDB(db), doris.WithFEHTTP("fe:8030")}, "WithFEHTTPCredentials"},
		{"WithDB with credentials", []doris.Option{doris.WithDB(db), doris.WithFEHTTP("fe:8030"), doris.WithFEHTTPCredentials("admin", "pw")}, ""},
		{"empty user", []doris.Option{doris.WithDSN(testDSN), doris.WithFEHTTPCredentials("", "pw")}, "empty user"},
	} {
		s, err := doris.New(tc.opts...)
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
