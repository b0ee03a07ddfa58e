package tools

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/dorismcp/doris/internal/dorishttp"
	"github.com/dorismcp/doris/internal/dorissim"
	"github.com/dorismcp/doris/internal/query"
	"github.com/dorismcp/doris/internal/testdb"
)

// countingExec is a minimal Executor over a driver pool that counts the
// statements run through it.
type countingExec struct {
	db   *sql.DB
	runs atomic.Int64
}

func (e *countingExec) Backend(ctx context.Context) (query.Backend, error) {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return query.Backend{}, err
	}
	defer conn.Close()
	return query.Detect(ctx, conn, query.FunctionPolicy{})
}

func (e *countingExec) Do(ctx context.Context, s query.Session, fn func(ctx context.Context, conn *sql.Conn) error) error {
	e.runs.Add(1)
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.Set != "" {
		if _, err := conn.ExecContext(ctx, s.Set); err != nil {
			return err
		}
	}
	return fn(ctx, conn)
}

// Detection happens once per TTL; an FE HTTP API that did not answer is
// probed again on the next call, and seen once it is back.
func TestCapabilityCache(t *testing.T) {
	sim := testdb.Sim(t, dorissim.Options{Version: dorissim.Version21})
	db, err := sql.Open("mysql", sim.DSN(dorissim.SampleDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var up atomic.Bool
	fe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"msg":"success","code":0,"data":{"feVersionInfo":{"dorisBuildVersion":"doris-2.1.7"}},"count":0}`)
	}))
	defer fe.Close()
	client, err := dorishttp.New(dorishttp.Config{FEURL: fe.URL})
	if err != nil {
		t.Fatal(err)
	}
	lim := query.Limits{MaxRows: 100, MaxBytes: 1 << 20, Timeout: 5 * time.Second}
	ctx := context.Background()

	for _, tc := range []struct {
		ttl        time.Duration
		redetected bool
	}{{time.Hour, false}, {time.Nanosecond, true}} {
		ex := &countingExec{db: db}
		c := &catalog{cfg: Config{Exec: ex, Default: lim, Max: lim, FEHTTP: client}, caps: newCapabilityCache(tc.ttl)}
		up.Store(false)
		caps, err := c.capabilities(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if caps.Engine != query.Doris || caps.Version != (dorisVersion{2, 1, 7}) || !caps.Audit || caps.FEHTTP == nil {
			t.Errorf("ttl %v: first detection %+v", tc.ttl, caps)
		}
		first := ex.runs.Load()
		up.Store(true)
		caps, err = c.capabilities(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if caps.FEHTTP != nil {
			t.Errorf("ttl %v: FE HTTP back, still %v", tc.ttl, caps.FEHTTP)
		}
		if again := ex.runs.Load() > first; again != tc.redetected {
			t.Errorf("ttl %v: detected again = %v, want %v", tc.ttl, again, tc.redetected)
		}
	}
}
