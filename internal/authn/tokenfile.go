package authn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// A token file lists static tokens by digest. The watcher reads it whole at
// every poll and compares a hash of its bytes with the last one: size and
// modification time say nothing when a file is rewritten with the same
// length and its times copied (cp -p, rsync -a, an archive unpacked), and a
// revocation must never be missed for that.
//
// A file that disappears, cannot be read, or does not parse revokes every
// token it listed until it is good again. Keeping the last good list would
// leave a token working after the operator removed it, by deleting the file
// or by an edit gone wrong, with nothing but a log line to say so; failing
// closed makes the mistake visible as 401s, and is what a Kubernetes Secret
// removed from a pod should mean. Writers should replace the file
// atomically (write beside it, then rename), as Kubernetes does, so that no
// poll sees it half written.

// maxTokenFile bounds the bytes read from a token file.
const maxTokenFile = 16 << 20

// tokenFile is a token file and the list last loaded from it, swapped
// atomically, so a request sees the old list or the new one, never a mix.
type tokenFile struct {
	path   string
	log    *slog.Logger
	tokens atomic.Pointer[[]static]

	// Used by the watcher only, after the first load: the hash of the
	// bytes last read, and whether it is the current file's (false once the
	// file could not be read).
	sum  [sha256.Size]byte
	seen bool
}

// fileToken is one entry of a token file.
type fileToken struct {
	Name          string    `json:"name"`
	Digest        string    `json:"digest"`
	Scopes        []string  `json:"scopes"`
	Expires       time.Time `json:"expires"`
	DorisUser     string    `json:"doris_user"`
	DorisPassword string    `json:"doris_password"`
	DorisDatabase string    `json:"doris_database"`
}

// load reads the file for the first time: any failure is an error.
func (f *tokenFile) load() error {
	b, err := f.read()
	if err != nil {
		return err
	}
	set, err := f.parse(b)
	if err != nil {
		return err
	}
	f.tokens.Store(&set)
	f.sum, f.seen = sha256.Sum256(b), true
	return nil
}

func (f *tokenFile) read() ([]byte, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxTokenFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	if len(b) > maxTokenFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", f.path, maxTokenFile)
	}
	return b, nil
}

func (f *tokenFile) parse(b []byte) ([]static, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a "token" field, say: the file holds digests only
	var entries []fileToken
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("%s: not a JSON list of tokens: %w", f.path, err)
	}
	set := make([]static, 0, len(entries))
	for i, e := range entries {
		st, err := parseToken(Token{
			Digest: e.Digest, Name: e.Name, Scopes: e.Scopes, Expires: e.Expires,
			Account: Account{User: e.DorisUser, Password: e.DorisPassword, Database: e.DorisDatabase},
		})
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", f.path, i, err)
		}
		set = append(set, st)
	}
	if err := uniqueDigests(set); err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	return set, nil
}

// watch polls the file every interval until ctx ends.
func (f *tokenFile) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.poll()
		}
	}
}

// poll reads the file and, if its content changed, loads it; a file that
// cannot be read or parsed revokes every token.
func (f *tokenFile) poll() {
	b, err := f.read()
	if err != nil {
		if f.seen {
			f.revoke("token file unreadable; every token it listed is refused until it is back", err)
			f.seen = false
		}
		return
	}
	sum := sha256.Sum256(b)
	if f.seen && sum == f.sum {
		return
	}
	f.sum, f.seen = sum, true
	set, err := f.parse(b)
	if err != nil {
		f.revoke("token file invalid; every token it listed is refused until it is fixed", err)
		return
	}
	f.tokens.Store(&set)
	f.log.Info("token file reloaded", "path", f.path, "tokens", len(set))
}

func (f *tokenFile) revoke(msg string, err error) {
	f.tokens.Store(&[]static{})
	f.log.Warn(msg, "path", f.path, "err", err)
}
