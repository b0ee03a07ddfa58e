package doris

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/testdb"
	"github.com/go-sql-driver/mysql"
)

const testDSN = "reader:s3cret-pass@tcp(127.0.0.1:1)/sample"

func TestNewRejectsBadOptions(t *testing.T) {
	testdb.Parallel(t)
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
		{"negative pool", []Option{WithDSN(testDSN), WithPoolLimits(PoolLimits{MaxOpen: -1})}, "negative"},
		{"idle above open", []Option{WithDSN(testDSN), WithPoolLimits(PoolLimits{MaxOpen: 2, MaxIdle: 5})}, "exceeds"},
		{"negative lifetime", []Option{WithDSN(testDSN), WithPoolLimits(PoolLimits{MaxLifetime: -time.Second})}, "negative"},
		{"tiny health interval", []Option{WithDSN(testDSN), WithPoolLimits(PoolLimits{HealthCheckInterval: time.Nanosecond})}, "HealthCheckInterval"},
		{"negative health interval", []Option{WithDSN(testDSN), WithPoolLimits(PoolLimits{HealthCheckInterval: -time.Second})}, "negative"},
		{"timeout above max", []Option{WithDSN(testDSN), WithQueryLimits(QueryLimits{DefaultTimeout: time.Hour, MaxTimeout: time.Minute})}, "exceeds"},
		{"sub-second timeout", []Option{WithDSN(testDSN), WithQueryLimits(QueryLimits{DefaultTimeout: time.Millisecond})}, "below one second"},
		{"password in a bad DSN", []Option{WithDSN("reader:s3cret-pass/sales")}, "unusable DSN"},
		{"gbk charset", []Option{WithDSN(testDSN + "?charset=gbk")}, "character set"},
		{"big5 fallback charset", []Option{WithDSN(testDSN + "?charset=utf8mb4,big5")}, "character set"},
		{"sjis collation", []Option{WithDSN(testDSN + "?collation=sjis_japanese_ci")}, "character set"},
		{"bytes above hard cap", []Option{WithDSN(testDSN), WithQueryLimits(QueryLimits{MaxBytes: hardMaxByteLimit + 1})}, "hard cap"},
		{"negative timeout", []Option{WithDSN(testDSN), WithQueryLimits(QueryLimits{DefaultTimeout: -1})}, "negative"},
		{"rows above hard cap", []Option{WithDSN(testDSN), WithQueryLimits(QueryLimits{MaxRows: hardMaxRowLimit + 1})}, "hard cap"},
		{"default rows above hard cap", []Option{WithDSN(testDSN), WithQueryLimits(QueryLimits{DefaultRows: hardMaxRowLimit + 1})}, "hard cap"},
		{"rows above max", []Option{WithDSN(testDSN), WithQueryLimits(QueryLimits{DefaultRows: 500, MaxRows: 200})}, "exceeds"},
		{"negative rows", []Option{WithDSN(testDSN), WithQueryLimits(QueryLimits{DefaultRows: -5})}, "negative"},
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
	testdb.Parallel(t)
	// A dial there waits out its 30 s timeout: New returning before the
	// 10 s below shows it did not dial.
	type built struct {
		s   *Server
		err error
	}
	done := make(chan built, 1)
	go func() {
		s, err := New(WithDSN("u:p@tcp(192.0.2.1:9030)/db?timeout=30s"))
		done <- built{s, err}
	}()
	var s *Server
	select {
	case b := <-done:
		if b.err != nil {
			t.Fatal(b.err)
		}
		s = b.s
	case <-time.After(10 * time.Second):
		t.Fatal("New is waiting on the network")
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

// Setting only a maximum lowers the default with it; setting only a
// default raises the maximum with it.
func TestDefaultsFollowLimits(t *testing.T) {
	testdb.Parallel(t)
	for _, tc := range []struct {
		pool  PoolLimits
		query QueryLimits
		want  func(p PoolLimits, q QueryLimits) bool
	}{
		{PoolLimits{MaxOpen: 3}, QueryLimits{MaxRows: 50, MaxTimeout: 10 * time.Second, MaxBytes: 512 << 10},
			func(p PoolLimits, q QueryLimits) bool {
				return p.MaxIdle == 3 && q.DefaultRows == 50 && q.DefaultTimeout == 10*time.Second && q.DefaultBytes == 512<<10
			}},
		{PoolLimits{MaxIdle: 30}, QueryLimits{DefaultRows: 20_000, DefaultTimeout: time.Hour, DefaultBytes: 8 << 20},
			func(p PoolLimits, q QueryLimits) bool {
				return p.MaxOpen == 30 && q.MaxRows == 20_000 && q.MaxTimeout == time.Hour && q.MaxBytes == hardMaxByteLimit
			}},
		{PoolLimits{}, QueryLimits{},
			func(p PoolLimits, q QueryLimits) bool {
				return p.MaxOpen == defaultMaxOpenConns && p.MaxIdle == defaultMaxIdleConns && q.DefaultRows == defaultRowLimit &&
					q.MaxRows == defaultMaxRowLimit && q.MaxTimeout == defaultMaxQueryTimeout
			}},
	} {
		c := defaultConfig()
		for _, o := range []Option{WithDSN(testDSN), WithPoolLimits(tc.pool), WithQueryLimits(tc.query)} {
			if err := o(&c); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.normalize(); err != nil {
			t.Fatalf("%+v %+v: %v", tc.pool, tc.query, err)
		}
		if !tc.want(c.pool, c.query) {
			t.Errorf("%+v %+v: normalized to %+v %+v", tc.pool, tc.query, c.pool, c.query)
		}
	}
}

// An option given twice: the later one replaces the earlier, a struct
// option as a whole.
func TestOptionGivenTwice(t *testing.T) {
	testdb.Parallel(t)
	c := defaultConfig()
	for _, o := range []Option{WithDSN(testDSN), WithQueryLimits(QueryLimits{MaxRows: 50}), WithQueryLimits(QueryLimits{DefaultTimeout: 5 * time.Second}),
		WithAllowedHosts("a.example"), WithAllowedHosts("b.example")} {
		if err := o(&c); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.normalize(); err != nil {
		t.Fatal(err)
	}
	if c.query.MaxRows != defaultMaxRowLimit || c.query.DefaultTimeout != 5*time.Second || !slices.Equal(c.allowedHosts, []string{"b.example"}) {
		t.Errorf("later options did not replace earlier ones: %+v, hosts %v", c.query, c.allowedHosts)
	}
}

// FuzzDSN: whatever the DSN, building a configuration never panics and
// never echoes the password in an error.
func FuzzDSN(f *testing.F) {
	f.Add(testDSN)
	f.Add("")
	f.Add("u:p@tcp(h:1)/d?multiStatements=true")
	f.Add("u:secret@unix(/tmp/x")
	f.Fuzz(func(t *testing.T, dsn string) {
		c := defaultConfig()
		err := WithDSN(dsn)(&c)
		if err == nil {
			err = c.normalize()
		}
		if cfg, perr := mysql.ParseDSN(dsn); perr == nil && err != nil && len(cfg.Passwd) >= 6 && strings.Contains(err.Error(), cfg.Passwd) {
			t.Fatalf("error leaks the password: %v", err)
		}
	})
}

func TestFrontendsNeedDSN(t *testing.T) {
	testdb.Parallel(t)
	if _, err := New(WithDB(&sql.DB{}), WithFrontends("fe2:9030")); err == nil {
		t.Error("WithFrontends with WithDB accepted")
	}
}
