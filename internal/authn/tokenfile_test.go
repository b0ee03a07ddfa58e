package authn_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dorismcp/doris/internal/authn"
	"github.com/dorismcp/doris/internal/authn/authntest"
)

func writeTokenFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileEntry(name, secret string) string {
	b, _ := json.Marshal([]map[string]any{{"name": name, "digest": authntest.Digest(secret)}})
	return string(b)
}

// watched returns an Authenticator on the token file at path whose
// watcher never fires on its own: the test polls.
func watched(t *testing.T, path string, logs *authntest.Logs) *authn.Authenticator {
	return newLogged(t, authn.Config{TokenFile: path, FilePoll: time.Hour}, slog.New(logs))
}

func accepts(a *authn.Authenticator, secret string) bool {
	id, _ := a.Check(context.Background(), secret)
	return id != nil
}

// TestTokenFileSameSizeAndTime: a rewrite that keeps the file's size and
// modification time (cp -p, rsync -a) is noticed: the token it removed is
// refused, the one it added accepted.
func TestTokenFileSameSizeAndTime(t *testing.T) {
	const first, second = "first-secret-0123456789", "other-secret-0123456789"
	path := writeTokenFile(t, fileEntry("job", first))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	a := watched(t, path, &authntest.Logs{})
	if !accepts(a, first) {
		t.Fatal("first refused")
	}
	next := fileEntry("job", second)
	if len(next) != int(fi.Size()) {
		t.Fatalf("the test needs entries of one size: %d and %d bytes", len(next), fi.Size())
	}
	if err := os.WriteFile(path, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.Stat(path); now.Size() != fi.Size() || !now.ModTime().Equal(fi.ModTime()) {
		t.Fatal("size or modification time changed")
	}
	a.PollTokenFile()
	if accepts(a, first) {
		t.Error("the revoked token is still accepted")
	}
	if !accepts(a, second) {
		t.Error("the new token is refused")
	}
}

// TestTokenFileFailsClosed: a token file deleted, turned unreadable or
// made invalid revokes every token it listed, with one warning each time,
// and its tokens come back with it.
func TestTokenFileFailsClosed(t *testing.T) {
	const secret = "file-secret-0123456789"
	good := fileEntry("job", secret)
	breakings := map[string]func(path string) error{
		"deleted": os.Remove,
		"unreadable": func(path string) error { // a directory where the file was: every read fails
			if err := os.Remove(path); err != nil {
				return err
			}
			return os.Mkdir(path, 0o700)
		},
		"invalid": func(path string) error { return os.WriteFile(path, []byte(`[{"name": "job", "digest": `), 0o600) },
		"a plain token": func(path string) error {
			return os.WriteFile(path, []byte(`[{"name":"job","token":"`+secret+`"}]`), 0o600)
		},
	}
	for name, breakIt := range breakings {
		t.Run(name, func(t *testing.T) {
			path := writeTokenFile(t, good)
			logs := &authntest.Logs{}
			a := watched(t, path, logs)
			a.PollTokenFile() // unchanged: nothing happens
			if !accepts(a, secret) {
				t.Fatal("refused before the change")
			}
			if err := breakIt(path); err != nil {
				t.Fatal(err)
			}
			a.PollTokenFile()
			a.PollTokenFile()
			if accepts(a, secret) {
				t.Error("accepted from a file that is gone or bad")
			}
			if got := strings.Count(logs.String(), "WARN token file"); got != 1 {
				t.Errorf("%d warnings, want 1:\n%s", got, logs)
			}
			if name == "a plain token" && strings.Contains(logs.String(), secret) {
				t.Errorf("the log shows the token:\n%s", logs)
			}
			os.RemoveAll(path)
			if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
				t.Fatal(err)
			}
			a.PollTokenFile()
			if !accepts(a, secret) {
				t.Errorf("refused once the file is back:\n%s", logs)
			}
		})
	}
}

// TestTokenFileAccounts: an entry's doris_ fields are its account.
func TestTokenFileAccounts(t *testing.T) {
	path := writeTokenFile(t, `[{"name":"job","digest":"`+authntest.Digest("file-secret-0123456789")+`",`+
		`"scopes":["r"],"doris_user":"u","doris_password":"p","doris_database":"sales"}]`)
	a := watched(t, path, &authntest.Logs{})
	id, _ := a.Check(context.Background(), "file-secret-0123456789")
	if id == nil || id.Account == nil || *id.Account != (authn.Account{User: "u", Password: "p", Database: "sales"}) {
		t.Errorf("identity %+v", id)
	}
	for name, content := range map[string]string{
		"missing":               "",
		"not a list":            `{"name":"x"}`,
		"database without user": `[{"name":"x","digest":"` + authntest.Digest("s") + `","doris_database":"d"}]`,
	} {
		p := filepath.Join(t.TempDir(), "tokens.json")
		if content != "" {
			os.WriteFile(p, []byte(content), 0o600)
		}
		if _, err := authn.New(authn.Config{TokenFile: p}, nil); err == nil {
			t.Errorf("%s: New accepted the file", name)
		}
	}
}
