package doris_test

import (
	"context"
	"database/sql"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dorismcp/doris"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/testdb"
)

// roundRobin is a TCP load balancer in front of several FEs: each
// connection goes to the next FE in turn, as a plain TCP balancer does. A
// client that goes away does not close its FE connection, so a statement
// stops only when it is killed, whether or not the FE would notice the
// client leave.
type roundRobin struct {
	ln    net.Listener
	fes   []string
	wg    sync.WaitGroup
	mu    sync.Mutex
	next  int
	pairs map[string]net.Conn // by the address the FE sees: the client side of the balancer
	backs []net.Conn          // the FE sides, closed at the end of the test
}

func newRoundRobin(t *testing.T, fes ...string) *roundRobin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rr := &roundRobin{ln: ln, fes: fes, pairs: map[string]net.Conn{}}
	rr.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rr.mu.Lock()
			fe := rr.fes[rr.next%len(rr.fes)]
			rr.next++
			rr.mu.Unlock()
			b, err := net.Dial("tcp", fe)
			if err != nil {
				c.Close()
				continue
			}
			rr.mu.Lock()
			rr.pairs[b.LocalAddr().String()] = c
			rr.backs = append(rr.backs, b)
			rr.mu.Unlock()
			rr.wg.Go(func() { io.Copy(b, c) })
			rr.wg.Go(func() { io.Copy(c, b); c.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		rr.mu.Lock()
		for _, c := range rr.pairs {
			c.Close()
		}
		for _, b := range rr.backs {
			b.Close()
		}
		rr.mu.Unlock()
		rr.wg.Wait()
	})
	return rr
}

// dropAllBut closes every connection through the balancer except the one
// the FE sees as coming from keep.
func (rr *roundRobin) dropAllBut(keep string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for from, c := range rr.pairs {
		if from != keep {
			c.Close()
		}
	}
}

// sendNextTo makes the balancer's next connection go to FE i.
func (rr *roundRobin) sendNextTo(t *testing.T, i int) {
	rr.mu.Lock()
	rr.next += (i - rr.next%len(rr.fes) + len(rr.fes)) % len(rr.fes)
	rr.mu.Unlock()
}

// connID opens a new connection to db and returns its id, leaving it open.
func connID(t *testing.T, db *sql.DB) int {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var id int
	if err := c.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// processOf finds the statement containing fragment in an FE's process
// list: its connection id and the client address the FE sees.
func processOf(t *testing.T, db *sql.DB, fragment string) (id, host string, found bool) {
	t.Helper()
	rows, err := db.Query("SHOW FULL PROCESSLIST")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = vals[i].String
		}
		if strings.Contains(row["Info"], fragment) && !strings.Contains(row["Info"], "PROCESSLIST") {
			return row["Id"], row["Host"], true
		}
	}
	return "", "", false
}

// Behind a load balancer in front of two FEs, whose connection ids repeat,
// a cancelled call's query is killed on its own FE, wherever the KILL
// lands, and a session of the same account with the same connection id on
// the other FE runs on untouched.
func TestKillBehindLoadBalancer(t *testing.T) {
	testdb.Parallel(t)
	for _, tc := range []struct {
		name, version string
		feHTTP        bool
	}{
		{"by trace id (3.0.7)", "3.0.7", false},
		{"by query id from the FE HTTP API (2.1.7)", dorissim.Version21, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe1, dsn1 := testdb.DorisSim(t, tc.version)
			fe2, dsn2 := testdb.DorisSim(t, tc.version)
			dorissim.Link(fe1, fe2)
			rr := newRoundRobin(t, fe1.Addr(), fe2.Addr())
			cfg, err := mysql.ParseDSN(dsn1)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Addr = rr.ln.Addr().String()
			opts := []doris.Option{doris.WithPoolLimits(doris.PoolLimits{MaxOpen: 2, MaxIdle: 2, HealthCheckInterval: time.Hour})}
			if tc.feHTTP {
				opts = append(opts, doris.WithFEHTTP(fe2.FEHTTPAddr()))
			}
			s := newServer(t, cfg.FormatDSN(), opts...)
			cs := connect(t, context.Background(), serveHTTP(t, s).URL+"/mcp", nil, "")
			direct := []*sql.DB{openDB(t, dsn1), openDB(t, dsn2)}
			// The watchers hold one connection each from the start, so
			// watching opens none.
			watch := []*sql.DB{openDB(t, dsn1), openDB(t, dsn2)}
			for _, db := range watch {
				db.SetMaxOpenConns(1)
				if err := db.Ping(); err != nil {
					t.Fatal(err)
				}
			}
			// Once the server has detected Doris, both FEs are brought to
			// the same next connection id and the server's connections are
			// cut: its next one, the call's, has an id the other FE gives
			// out next too.
			mustCall(t, context.Background(), cs, "exec_query", map[string]any{"sql": "SELECT 1"})
			ids := make([]int, 2)
			for ids[0] == 0 || ids[0] != ids[1] {
				i := 0
				if ids[1] < ids[0] {
					i = 1
				}
				ids[i] = connID(t, direct[i])
			}
			rr.dropAllBut("")

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, _, err := call(ctx, cs, "exec_query", map[string]any{"sql": testdb.LongQuery, "timeout_seconds": 120})
				done <- err
			}()
			var x int // the FE running the call
			var id, host string
			waitFor(t, 5*time.Second, "the call's query to run", func() bool {
				for i, db := range watch {
					if cid, h, ok := processOf(t, db, "seq_1_to_20000"); ok {
						x, id, host = i, cid, h
						return true
					}
				}
				return false
			})
			y := 1 - x

			// A session of the same account on the other FE, with the
			// same connection id, running the same statement.
			bystander, err := direct[y].Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer bystander.Close()
			var got string
			if err := bystander.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&got); err != nil || got != id {
				t.Fatalf("the bystander on FE %d has connection id %s (%v), the call's on FE %d has %s", y, got, err, x, id)
			}
			byDone := make(chan error, 1)
			bctx, bcancel := context.WithCancel(context.Background())
			defer bcancel()
			go func() {
				rows, err := bystander.QueryContext(bctx, testdb.LongQuery)
				if err == nil {
					for rows.Next() {
					}
					err = rows.Err()
					rows.Close()
				}
				byDone <- err
			}()
			waitFor(t, 5*time.Second, "the bystander to run", func() bool { return running(t, watch[y], "seq_1_to_20000") == 1 })

			// The library's spare connections are cut, and the KILL's
			// connection goes to the other FE: a KILL by connection id
			// would stop the bystander.
			rr.dropAllBut(host)
			rr.sendNextTo(t, y)
			cancel()
			if err := <-done; err == nil {
				t.Error("the cancelled call returned no error")
			}
			waitFor(t, 5*time.Second, "the cancelled query to leave its FE", func() bool { return running(t, watch[x], "seq_1_to_20000") == 0 })
			select {
			case err := <-byDone:
				t.Fatalf("the bystander's query ended: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			if running(t, watch[y], "seq_1_to_20000") != 1 {
				t.Fatal("the bystander's query is no longer running")
			}
			bcancel()
		})
	}
}
