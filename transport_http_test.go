package doris

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"
)

// In the default stateless mode a call ends with its HTTP request: a client
// of any protocol version that gives up on a call (cancelling it, or
// closing the request) has its query killed in the engine at once, not left
// to run until its time limit.
func TestStatelessCancelKillsQuery(t *testing.T) {
	dsn := backend(t)
	s := newServer(t, dsn)
	hs := serveHTTP(t, s)
	db := openDB(t, dsn)
	inFlight := func() bool { return running(t, db, "seq_1_to_20000") == 1 }
	gone := func() bool { return running(t, db, "seq_1_to_20000") == 0 }

	for _, version := range []string{"2025-06-18", "2025-11-25", "2026-07-28"} {
		t.Run("go-sdk client "+version, func(t *testing.T) {
			cs := connect(t, context.Background(), hs.URL+"/mcp", nil, version)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, _, err := call(ctx, cs, "exec_query", map[string]any{"sql": longQuery, "timeout_seconds": 120})
				done <- err
			}()
			waitFor(t, 5*time.Second, "the query to run", inFlight)
			cancel()
			start := time.Now()
			if err := <-done; err == nil {
				t.Error("the cancelled call returned no error")
			}
			waitFor(t, time.Second, "the cancelled query to leave the engine", gone)
			t.Logf("gone %v after the cancel", time.Since(start))
		})
	}
	t.Run("raw HTTP request closed", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"exec_query","arguments":{"sql":"` + longQuery + `","timeout_seconds":120}}}`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+"/mcp", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		waitFor(t, 5*time.Second, "the query to run", inFlight)
		cancel()
		<-done
		start := time.Now()
		waitFor(t, time.Second, "the query of the closed request to leave the engine", gone)
		t.Logf("gone %v after the close", time.Since(start))
	})
}
