package dorissim

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
)

// The SQL engine logs through the process-wide logrus standard logger, and
// routes the wire-protocol layer's logging there too. That logger is the
// one piece of global state the simulator must change: while at least one
// simulator runs, its output goes to io.Discard and its hooks are removed;
// when the last simulator closes, the previous output and hooks come back.
// Per-session logging (query errors and the like) does not use the global
// logger: each session gets a private logrus logger that forwards to the
// server's slog.Logger.
var globalLog struct {
	mu       sync.Mutex
	users    int
	oldOut   io.Writer
	oldHooks logrus.LevelHooks
}

func silenceGlobalLogrus() {
	globalLog.mu.Lock()
	defer globalLog.mu.Unlock()
	if globalLog.users == 0 {
		std := logrus.StandardLogger()
		globalLog.oldOut = std.Out
		globalLog.oldHooks = std.ReplaceHooks(make(logrus.LevelHooks))
		std.SetOutput(io.Discard)
	}
	globalLog.users++
}

func restoreGlobalLogrus() {
	globalLog.mu.Lock()
	defer globalLog.mu.Unlock()
	globalLog.users--
	if globalLog.users == 0 {
		std := logrus.StandardLogger()
		std.SetOutput(globalLog.oldOut)
		std.ReplaceHooks(globalLog.oldHooks)
		globalLog.oldOut, globalLog.oldHooks = nil, nil
	}
}

// newSessionLogger returns a logrus logger, private to one simulator, whose
// entries go to l and nowhere else.
func newSessionLogger(l *slog.Logger) *logrus.Logger {
	lg := logrus.New()
	lg.SetOutput(io.Discard)
	// The engine's Info and Debug messages are routine chatter: both go
	// to slog at Debug level, and are skipped unless that level is enabled.
	lg.SetLevel(logrus.WarnLevel)
	if l.Enabled(context.Background(), slog.LevelDebug) {
		lg.SetLevel(logrus.DebugLevel)
	}
	lg.AddHook(slogHook{l})
	return lg
}

// queryErrorMessage is the engine's message for a statement that failed.
const queryErrorMessage = "error running query"

// slogHook forwards logrus entries to a slog.Logger.
type slogHook struct{ l *slog.Logger }

func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	lvl := slog.LevelDebug
	switch {
	case e.Level <= logrus.ErrorLevel:
		lvl = slog.LevelError
	case e.Level == logrus.WarnLevel:
		lvl = slog.LevelWarn
	}
	if e.Message == queryErrorMessage {
		// A failed statement is the client's business (a typo, a missing
		// table), not the server's; the client gets the error anyway.
		lvl = slog.LevelDebug
	}
	ctx := e.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if !h.l.Enabled(ctx, lvl) {
		return nil
	}
	attrs := make([]slog.Attr, 0, len(e.Data))
	for k, v := range e.Data {
		if err, ok := v.(error); ok {
			// The engine's errors print their Go stack after a blank
			// line: keep the message only.
			msg, _, _ := strings.Cut(err.Error(), "\n")
			attrs = append(attrs, slog.String(k, msg))
			continue
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	h.l.LogAttrs(ctx, lvl, e.Message, attrs...)
	return nil
}
