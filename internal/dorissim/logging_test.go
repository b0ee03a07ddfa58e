package dorissim

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// A statement that fails is logged as one short Debug line: no Go stack,
// and nothing at Warn.
func TestFailedStatementLogsOneLine(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelWarn} {
		var buf bytes.Buffer
		s := startWith(t, Options{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))})
		c := conn(t, open(t, s, SampleDB))
		if _, err := c.ExecContext(context.Background(), "SELEC 1"); err == nil {
			t.Fatal("SELEC 1 succeeded")
		}
		// The connection's next statement is answered after the failed
		// one has been logged.
		rows(t, c, "SELECT 1")
		var got []string
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.Contains(line, queryErrorMessage) {
				got = append(got, line)
			}
		}
		switch {
		case level == slog.LevelWarn && len(got) != 0:
			t.Errorf("at Warn, a failed statement was logged: %q", got)
		case level == slog.LevelDebug && len(got) != 1:
			t.Errorf("at Debug, got %d log lines for the failed statement, want 1:\n%s", len(got), buf.String())
		case level == slog.LevelDebug && (len(got[0]) > 400 || !strings.Contains(got[0], "level=DEBUG") || strings.Contains(got[0], ".go:")):
			t.Errorf("log line is not one short Debug line without a stack: %q", got[0])
		}
	}
}
