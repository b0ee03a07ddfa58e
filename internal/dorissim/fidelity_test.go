package dorissim

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// ledgerEntry is one line of fidelity/ledger.jsonl (see its README).
type ledgerEntry struct {
	ID       string        `json:"id"`
	Kind     string        `json:"kind"`
	What     string        `json:"what"`
	Fact     string        `json:"fact"`
	Versions string        `json:"versions"`
	Source   string        `json:"source"`
	UsedBy   string        `json:"used_by"`
	Note     string        `json:"note"`
	Checks   []ledgerCheck `json:"checks"`
}

// ledgerCheck is what an entry's fact says a statement answers, for one
// release: its exact columns, columns it must include, or its error. A
// check with none of them says the statement succeeds.
type ledgerCheck struct {
	Version  string   `json:"version"`
	SQL      string   `json:"sql"`
	Columns  []string `json:"columns"`
	Includes []string `json:"includes"`
	// Divergence, when set, says how the simulator is known to differ:
	// the check is reported as skipped with it, not hidden.
	Divergence string `json:"divergence"`
	Error      *struct {
		Code     uint16 `json:"code"`
		Message  string `json:"message"`
		Contains string `json:"contains"`
	} `json:"error"`
}

func readLedger(t *testing.T) []ledgerEntry {
	t.Helper()
	f, err := os.Open("fidelity/ledger.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ledgerEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var e ledgerEntry
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("ledger line %d: %v", line, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The ledger is well formed, and every citation of it in the repository
// names an entry that exists.
func TestLedgerCitations(t *testing.T) {
	ids := map[string]bool{}
	kinds := []string{"statement", "endpoint", "columns", "error", "metric", "session_variable", "behaviour"}
	for _, e := range readLedger(t) {
		if e.ID == "" || e.What == "" || e.Fact == "" || e.Versions == "" || e.Source == "" || e.UsedBy == "" {
			t.Errorf("ledger entry %q lacks a field", e.ID)
		}
		if !slices.Contains(kinds, e.Kind) {
			t.Errorf("ledger entry %q: unknown kind %q", e.ID, e.Kind)
		}
		if ids[e.ID] {
			t.Errorf("ledger entry %q appears twice", e.ID)
		}
		ids[e.ID] = true
	}
	// "fidelity ledger: a, b" in comments, possibly wrapped at "//".
	cite := regexp.MustCompile(`fidelity ledger:((?:\s*(?://\s*)?[a-z0-9]+(?:-[a-z0-9]+)+,?)+)`)
	id := regexp.MustCompile(`[a-z0-9]+(?:-[a-z0-9]+)+`)
	cited := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range cite.FindAllStringSubmatch(string(b), -1) {
			for _, name := range id.FindAllString(m[1], -1) {
				cited++
				if !ids[name] {
					t.Errorf("%s cites ledger entry %q, which does not exist", path, name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited == 0 {
		t.Fatal("found no citation of the ledger: the pattern no longer matches")
	}
	t.Logf("%d ledger entries, %d citations checked", len(ids), cited)
}

// The simulator answers each statement a ledger entry describes as the
// entry says, release by release.
func TestLedgerChecks(t *testing.T) {
	t.Parallel()
	servers := map[string]*Server{}
	n := 0
	for _, e := range readLedger(t) {
		for _, c := range e.Checks {
			n++
			s := servers[c.Version]
			if s == nil {
				s = startWith(t, Options{Version: c.Version})
				servers[c.Version] = s
			}
			db := open(t, s, SampleDB)
			t.Run(e.ID+"/"+c.Version+"/"+c.SQL, func(t *testing.T) { checkLedger(t, db, c) })
		}
	}
	t.Logf("%d checks", n)
}

func checkLedger(t *testing.T, db *sql.DB, c ledgerCheck) {
	if c.Divergence != "" {
		t.Skipf("known divergence: %s", c.Divergence)
	}
	rows, err := db.Query(c.SQL)
	var cols []string
	if err == nil {
		cols, err = rows.Columns()
		for rows.Next() {
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
	}
	if c.Error != nil {
		var me *mysql.MySQLError
		switch {
		case !errors.As(err, &me):
			t.Fatalf("answered %v, the ledger says error %d", err, c.Error.Code)
		case me.Number != c.Error.Code,
			c.Error.Message != "" && me.Message != c.Error.Message,
			c.Error.Contains != "" && !strings.Contains(me.Message, c.Error.Contains):
			t.Fatalf("error %d %q, the ledger says %d %q%q", me.Number, me.Message, c.Error.Code, c.Error.Message, c.Error.Contains)
		}
		return
	}
	if err != nil {
		t.Fatalf("failed: %v", err)
	}
	if c.Columns != nil && !slices.Equal(cols, c.Columns) {
		t.Errorf("columns\n %q\nthe ledger says\n %q", cols, c.Columns)
	}
	for _, want := range c.Includes {
		if !slices.Contains(cols, want) {
			t.Errorf("no column %q in %q", want, cols)
		}
	}
}
