package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// build compiles the command once per test binary run.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "doris-mcp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is the environment without any Doris configuration, so the
// command serves the sample database.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DORIS_") && !strings.HasPrefix(kv, "TRANSPORT=") && !strings.HasPrefix(kv, "SERVER_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	bin := build(t)

	t.Run("stdio", func(t *testing.T) {
		cmd := exec.Command(bin)
		cmd.Env = cleanEnv("TRANSPORT=stdio")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		ctx := context.Background()
		c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
		cs, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
		if err != nil {
			t.Fatalf("connect: %v\n%s", err, stderr.String())
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_db_list"})
		if err != nil || res.IsError {
			t.Fatalf("get_db_list: %v %+v", err, res)
		}
		b, _ := json.Marshal(res.StructuredContent)
		if !strings.Contains(string(b), `"sample"`) {
			t.Errorf("sample database not listed: %s", b)
		}
		// Closing stdin ends the session; the command exits cleanly.
		if err := cs.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if !strings.Contains(stderr.String(), "built-in sample database") {
			t.Errorf("the command did not say it serves the sample database:\n%s", stderr.String())
		}
	})

	t.Run("http and SIGTERM", func(t *testing.T) {
		cmd := exec.Command(bin, "-port", "0", "-shutdown-timeout", "5s")
		cmd.Env = cleanEnv()
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		lines := bufio.NewScanner(stderr)
		urlRE := regexp.MustCompile(`url=(http://\S+)`)
		var endpoint string
		var logged strings.Builder
		for endpoint == "" && lines.Scan() {
			logged.WriteString(lines.Text() + "\n")
			if m := urlRE.FindStringSubmatch(lines.Text()); m != nil {
				endpoint = m[1]
			}
		}
		if endpoint == "" {
			t.Fatalf("no endpoint logged:\n%s", logged.String())
		}
		rest := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(stderr)
			rest <- string(b)
		}()

		ctx := context.Background()
		c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
		cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "exec_query", Arguments: map[string]any{"sql": "SELECT COUNT(*) FROM orders"}})
		if err != nil || res.IsError {
			t.Fatalf("exec_query: %v %+v", err, res)
		}
		base := strings.TrimSuffix(endpoint, "/mcp")
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, err := http.Get(base + "/ready")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("/ready never answered 200: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}

		start := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s%s", err, logged.String(), <-rest)
			}
			t.Logf("exited %v after SIGTERM", time.Since(start))
		case <-time.After(10 * time.Second):
			t.Fatal("the command did not exit after SIGTERM")
		}
	})
}
