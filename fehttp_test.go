package doris

import (
	"database/sql"
	"strings"
	"testing"

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
