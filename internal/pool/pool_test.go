package pool

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dorismcp/doris/internal/authn"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/testdb"
)

var errClosed = errors.New("closed")

// newTestPool starts a Pool on a simulator.
func newTestPool(t *testing.T) *Pool {
	t.Helper()
	dsn, err := mysql.ParseDSN(testdb.Sim(t, dorissim.Options{}).DSN(dorissim.SampleDB))
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{
		DSN: dsn, MaxOpen: 4, MaxIdle: 2, ConnMaxIdleTime: time.Minute, ConnMaxLifetime: time.Hour,
		IdleTimeout: time.Minute, Wait: time.Second, QueryTimeout: 10 * time.Second, HealthInterval: time.Hour,
		Logger: slog.New(slog.DiscardHandler), Closed: errClosed,
	})
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// Secondary pools are one per account, FE and default database, and the
// cleanup pass closes those idle too long; none opens after Close.
func TestPrune(t *testing.T) {
	p := newTestPool(t)
	other := authn.Account{User: "other_user", Password: "pw"}
	m, err := p.forUser(p.fes[0], other)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := p.forUser(p.fes[0], other); again != m {
		t.Error("a second lookup opened a second pool")
	}
	if elsewhere, _ := p.forUser(p.fes[0], authn.Account{User: "other_user", Password: "pw", Database: "guardtest"}); elsewhere == m {
		t.Error("an account with another default database shares the pool")
	}
	p.prune(time.Now())
	if _, ok := p.secondary[userPoolKey(p.fes[0].addr, other)]; !ok {
		t.Fatal("a fresh pool was pruned")
	}
	p.prune(time.Now().Add(2 * p.cfg.IdleTimeout))
	if _, ok := p.secondary[userPoolKey(p.fes[0].addr, other)]; ok {
		t.Fatal("an idle pool survived pruning")
	}
	if err := m.db.Ping(); err == nil {
		t.Error("the pruned pool is still open")
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.forUser(p.fes[0], authn.Account{User: "late", Password: "pw"}); !errors.Is(err, errClosed) {
		t.Errorf("forUser after Close: %v", err)
	}
}

// what was refused: the login, or the default database, named.
func TestAccountError(t *testing.T) {
	acct := authn.Account{User: "report_reader", Password: "pw", Database: "sales"}
	other := errors.New("dial tcp 10.0.0.1:9030: connection refused")
	tests := []struct {
		err  error
		want string // "" : the error as it was
	}{
		{&mysql.MySQLError{Number: 1045, Message: "Access denied for user 'report_reader'@'10.0.0.2' (using password: YES)"},
			`the Doris account "report_reader" of this caller cannot log in (access denied); no other account is used in its place`},
		{&mysql.MySQLError{Number: 1698, Message: "Access denied for user 'report_reader'@'localhost'"}, "cannot log in"},
		{fmt.Errorf("connecting: %w", &mysql.MySQLError{Number: 1044, Message: "Access denied for user 'report_reader'@'%' to database 'sales'"}),
			`the Doris account "report_reader" of this caller may not use database "sales", its token's default database (access denied); no other account is used in its place`},
		{&mysql.MySQLError{Number: 1049, Message: "Unknown database 'sales'"},
			`database "sales", the default database of this caller's Doris account "report_reader", does not exist`},
		{&mysql.MySQLError{Number: 1064, Message: "syntax"}, ""},
		{other, ""},
	}
	for _, tc := range tests {
		got := accountError(acct, tc.err)
		switch {
		case tc.want == "" && got != tc.err:
			t.Errorf("%v became %v", tc.err, got)
		case tc.want != "" && !strings.Contains(got.Error(), tc.want):
			t.Errorf("%v:\n got  %v\n want %s", tc.err, got, tc.want)
		}
		if tc.want != "" && strings.Contains(got.Error(), "pw") {
			t.Errorf("%v shows the password", got)
		}
	}
}

// A kill under way goes on to its end when the pool closes in the middle of
// it: here the pool closes, without waiting, as the kill is issued, and the
// simulator (Doris 2.1.7, which cannot kill by trace id) needs a second
// KILL, by connection id, after the first is refused.
func TestKillOutlivesClose(t *testing.T) {
	sim := testdb.Sim(t, dorissim.Options{})
	dsn, err := mysql.ParseDSN(sim.DSN(dorissim.SampleDB))
	if err != nil {
		t.Fatal(err)
	}
	var p *Pool
	closed := make(chan error, 1)
	p = New(Config{
		DSN: dsn, MaxOpen: 4, MaxIdle: 2, ConnMaxIdleTime: time.Minute, ConnMaxLifetime: time.Hour,
		IdleTimeout: time.Minute, Wait: time.Second, QueryTimeout: 10 * time.Second, HealthInterval: time.Hour,
		Logger: slog.New(slog.DiscardHandler), Closed: errClosed,
		Killed: func(error) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // Close does not wait for the kill
			closed <- p.Close(ctx)
		},
	})
	t.Cleanup(func() { p.Close(context.Background()) })
	ctx := context.Background()
	if _, err := p.Backend(ctx); err != nil {
		t.Fatal(err)
	}

	watch, err := sql.Open("mysql", sim.DSN(dorissim.SampleDB))
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	running := func() bool {
		var n int
		if err := watch.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%seq_1_to_20000%' AND INFO NOT LIKE '%PROCESSLIST%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}

	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- p.Do(cctx, query.Session{}, func(ctx context.Context, conn *sql.Conn) error {
			rows, err := conn.QueryContext(ctx, testdb.LongQuery)
			if err == nil {
				rows.Close()
			}
			return err
		})
	}()
	for !running() {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the cancelled call succeeded")
	}
	if err := <-closed; err == nil {
		t.Error("Close with the kill still running reported nothing unfinished")
	}
	for deadline := time.Now().Add(10 * time.Second); running(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the statement still runs 10 s after its kill: the kill died with the pool")
		}
	}
}

// An FE that accepts connections and never answers holds a call no longer
// than the pool wait: the call goes on to the next FE, even though the
// call's own time would allow much longer.
func TestHungFrontendFailsOver(t *testing.T) {
	testdb.Parallel(t)
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	sim := testdb.Sim(t, dorissim.Options{})
	dsn, err := mysql.ParseDSN(sim.DSN(dorissim.SampleDB))
	if err != nil {
		t.Fatal(err)
	}
	up := dsn.Addr
	dsn.Addr = hung.Addr().String()
	p := New(Config{
		DSN: dsn, Frontends: []string{up}, MaxOpen: 4, MaxIdle: 2, ConnMaxIdleTime: time.Minute, ConnMaxLifetime: time.Hour,
		IdleTimeout: time.Minute, Wait: 300 * time.Millisecond, QueryTimeout: 10 * time.Second, HealthInterval: time.Hour,
		Logger: slog.New(slog.DiscardHandler), Closed: errClosed,
	})
	defer p.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	var got int
	err = p.Do(ctx, query.Session{}, func(ctx context.Context, conn *sql.Conn) error {
		return conn.QueryRowContext(ctx, "SELECT 1").Scan(&got)
	})
	if err != nil || got != 1 {
		t.Fatalf("SELECT 1 with the first FE hung: %d, %v", got, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the call waited %v on the hung FE; the pool wait is 300ms", took)
	}
}
