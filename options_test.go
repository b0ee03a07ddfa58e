package doris

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"
)

const testDSN = "reader:s3cret-pass@tcp(127.0.0.1:1)/sample"

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"no database", nil, "no database configured"},
		{"empty DSN", []Option{WithDSN(" ")}, "empty DSN"},
		{"unparsable DSN", []Option{WithDSN("reader:s3cret-pass@tcp(127.0.0.1:1/sample")}, "WithDSN"},
		{"multi statements", []Option{WithDSN(testDSN + "?multiStatements=true")}, "multiStatements"},
		{"DSN and DB", []Option{WithDSN(testDSN), WithDB(&sql.DB{})}, "mutually exclusive"},
		{"nil DB", []Option{WithDB(nil)}, "nil"},
		{"nil option", []Option{WithDSN(testDSN), nil}, "option 1 is nil"},
		{"negative pool", []Option{WithDSN(testDSN), WithPoolSize(-1, 0)}, "negative"},
		{"idle above open", []Option{WithDSN(testDSN), WithPoolSize(2, 5)}, "exceed"},
		{"negative lifetime", []Option{WithDSN(testDSN), WithConnLifetime(-time.Second, 0)}, "negative"},
		{"tiny health interval", []Option{WithDSN(testDSN), WithHealthCheckInterval(time.Nanosecond)}, "interval"},
		{"negative health interval", []Option{WithDSN(testDSN), WithHealthCheckInterval(-time.Second)}, "interval"},
		{"timeout above max", []Option{WithDSN(testDSN), WithQueryTimeout(time.Hour, time.Minute)}, "exceeds"},
		{"sub-second timeout", []Option{WithDSN(testDSN), WithQueryTimeout(time.Millisecond, time.Minute)}, "below one second"},
		{"password in a bad DSN", []Option{WithDSN("reader:s3cret-pass/sales")}, "unusable DSN"},
		{"gbk charset", []Option{WithDSN(testDSN + "?charset=gbk")}, "character set"},
		{"big5 fallback charset", []Option{WithDSN(testDSN + "?charset=utf8mb4,big5")}, "character set"},
		{"sjis collation", []Option{WithDSN(testDSN + "?collation=sjis_japanese_ci")}, "character set"},
		{"bytes above hard cap", []Option{WithDSN(testDSN), WithMaxBytes(0, hardMaxByteLimit+1)}, "hard cap"},
		{"negative timeout", []Option{WithDSN(testDSN), WithQueryTimeout(-1, 0)}, "negative"},
		{"rows above hard cap", []Option{WithDSN(testDSN), WithMaxRows(0, hardMaxRowLimit+1)}, "hard cap"},
		{"rows above max", []Option{WithDSN(testDSN), WithMaxRows(500, 200)}, "exceeds"},
		{"negative rows", []Option{WithDSN(testDSN), WithMaxRows(-5, 0)}, "negative"},
		{"negative idle", []Option{WithDSN(testDSN), WithStatefulSessions(-time.Second)}, "negative"},
		{"empty name", []Option{WithDSN(testDSN), WithServerInfo("", "1")}, "empty name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts...)
			if err == nil {
				s.Shutdown(context.Background())
				t.Fatalf("New accepted %s", tc.name)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}

// New never touches the network: a DSN pointing nowhere still builds a
// Server at once, which is simply not ready.
func TestNewDoesNotDial(t *testing.T) {
	leakCheck(t)
	start := time.Now()
	s, err := New(WithDSN("u:p@tcp(192.0.2.1:9030)/db?timeout=30s"))
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("New took %v", took)
	}
	if ok, _ := s.pool.Ready(); ok {
		t.Error("ready before any health check")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// Setting only a maximum lowers the default with it.
func TestDefaultsFollowMaxima(t *testing.T) {
	c := defaultConfig()
	for _, o := range []Option{WithDSN(testDSN), WithPoolSize(3, 0), WithMaxRows(0, 50), WithQueryTimeout(0, 10*time.Second), WithMaxBytes(0, 512<<10)} {
		if err := o(&c); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.normalize(); err != nil {
		t.Fatal(err)
	}
	if c.maxIdleConns != 3 || c.rowLimit != 50 || c.queryTimeout != 10*time.Second || c.byteLimit != 512<<10 {
		t.Errorf("defaults above their maxima: idle %d rows %d timeout %v bytes %d", c.maxIdleConns, c.rowLimit, c.queryTimeout, c.byteLimit)
	}
}

func TestEnvOptions(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if opts, err := EnvOptions(env()); len(opts) != 0 || err != nil {
		t.Errorf("empty environment: %d options, err=%v", len(opts), err)
	}
	for _, k := range []string{"DORIS_PORT", "DORIS_USER", "DORIS_PASSWORD", "DORIS_DATABASE"} {
		_, err := EnvOptions(env(k, "secret-value"))
		if err == nil || !strings.Contains(err.Error(), "DORIS_HOST") || strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%s without DORIS_HOST: err=%v, want one naming DORIS_HOST and not the value", k, err)
		}
	}
	opts, err := EnvOptions(env("DORIS_HOST", "fe.example", "DORIS_USER", "u", "DORIS_PASSWORD", "p@ss:/()",
		"DORIS_DATABASE", "sales", "DORIS_MAX_CONNECTIONS", "7", "DORIS_QUERY_TIMEOUT", "45", "DORIS_MAX_ROWS", "500"))
	if err != nil {
		t.Fatalf("EnvOptions: %v", err)
	}
	c := defaultConfig()
	for _, o := range opts {
		if err := o(&c); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.normalize(); err != nil {
		t.Fatal(err)
	}
	if c.dsn.Addr != "fe.example:9030" || c.dsn.User != "u" || c.dsn.Passwd != "p@ss:/()" || c.dsn.DBName != "sales" {
		t.Errorf("DSN from env: %+v", c.dsn)
	}
	if c.maxOpenConns != 7 || c.queryTimeout != 45*time.Second || c.maxRowLimit != 500 || c.rowLimit != 100 {
		t.Errorf("limits from env: open %d timeout %v rows %d/%d", c.maxOpenConns, c.queryTimeout, c.rowLimit, c.maxRowLimit)
	}
	for _, bad := range [][]string{
		{"DORIS_HOST", "h", "DORIS_PORT", "99999"},
		{"DORIS_HOST", "h", "DORIS_PORT", "x"},
		{"DORIS_HOST", "a/b"},
		{"DORIS_HOST", "fe:9030"},
		{"DORIS_HOST", "h", "DORIS_MAX_CONNECTIONS", "0"},
		{"DORIS_HOST", "h", "DORIS_QUERY_TIMEOUT", "-3"},
		{"DORIS_HOST", "h", "DORIS_MAX_ROWS", "1000000"},
	} {
		if _, err := EnvOptions(env(bad...)); err == nil {
			t.Errorf("EnvOptions(%v) accepted", bad)
		}
	}
}

// FuzzOptions: whatever the environment and DSN, building a configuration
// never panics and never echoes the password in an error.
func FuzzOptions(f *testing.F) {
	f.Add("fe.example", "9030", "root", "secret", "db", "7", "30", "100", testDSN)
	f.Add("", "", "", "", "", "", "", "", "")
	f.Add("h", "0", "u", "p(w)d@", "d`b", "-1", "x", "100001", "u:p@tcp(h:1)/d?multiStatements=true")
	f.Add("a/b", "65536", "", "", "", "", "", "", "u:secret@unix(/tmp/x")
	f.Fuzz(func(t *testing.T, host, port, user, pass, db, conns, timeout, rows, dsn string) {
		env := map[string]string{"DORIS_HOST": host, "DORIS_PORT": port, "DORIS_USER": user, "DORIS_PASSWORD": pass,
			"DORIS_DATABASE": db, "DORIS_MAX_CONNECTIONS": conns, "DORIS_QUERY_TIMEOUT": timeout, "DORIS_MAX_ROWS": rows}
		opts, err := EnvOptions(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		leaks := func(err error, secret string) bool {
			return err != nil && len(secret) >= 6 && strings.Contains(err.Error(), secret)
		}
		if leaks(err, pass) {
			t.Fatalf("error leaks the password: %v", err)
		}
		c := defaultConfig()
		for _, o := range append(opts, WithDSN(dsn)) {
			if err := o(&c); err != nil {
				return
			}
		}
		c.dsnSet = c.dsn != nil
		_ = c.normalize()
	})
}

// DORIS_HOSTS names failover FEs; its first stands for DORIS_HOST when that
// is unset.
func TestEnvFrontends(t *testing.T) {
	for _, tc := range []struct {
		env      map[string]string
		addr     string
		failover []string
	}{
		{map[string]string{"DORIS_HOST": "fe1", "DORIS_HOSTS": "fe2, fe3:9031"}, "fe1:9030", []string{"fe2:9030", "fe3:9031"}},
		{map[string]string{"DORIS_HOSTS": "fe1,fe2", "DORIS_PORT": "9040"}, "fe1:9040", []string{"fe2:9040"}},
	} {
		opts, err := EnvOptions(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		c := defaultConfig()
		for _, o := range opts {
			if err := o(&c); err != nil {
				t.Fatal(err)
			}
		}
		if c.dsn.Addr != tc.addr || !slices.Equal(c.frontends, tc.failover) {
			t.Errorf("%v: DSN at %s, failover %v; want %s, %v", tc.env, c.dsn.Addr, c.frontends, tc.addr, tc.failover)
		}
	}
	if _, err := New(WithDB(&sql.DB{}), WithFrontends("fe2:9030")); err == nil {
		t.Error("WithFrontends with WithDB accepted")
	}
}
