package sqlguard

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// corpusEntry is one statement of testdata/corpus/doris.jsonl: SQL that
// Apache Doris's developers and users wrote, in its regression suites and
// documentation, with where it was read.
type corpusEntry struct {
	SQL    string `json:"sql"`
	Kind   string `json:"kind"` // read, write or external
	Source string `json:"source"`
}

// TestDorisCorpus runs the guard, and the Doris 3.0 function allowlist,
// over SQL that others wrote: no writing or external statement may be
// accepted, and at most 1 % of the read-only ones may be refused, each
// refusal with a message saying what to change.
func TestDorisCorpus(t *testing.T) {
	f, err := os.Open("testdata/corpus/doris.jsonl")
	if err != nil {
		t.Skipf("no corpus: %v", err)
	}
	defer f.Close()
	fs := DorisFunctions("3.0", false)
	// Names that no registry of 2.0 to 3.0 has: the statement was written
	// for a newer release, and a 3.0 server would not run it either.
	releases := []*Functions{DorisFunctions("2.0", true), DorisFunctions("2.1", true), DorisFunctions("3.0", true)}
	known := func(name string) bool {
		for _, r := range releases {
			if r.Has(name) {
				return true
			}
		}
		return false
	}
	var reads, refusedReads, newer, others int
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e corpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("corpus line %q: %v", sc.Text(), err)
		}
		st, err := Check(e.SQL)
		unknown := false
		if err == nil {
			err = st.CheckCalls(fs)
			for _, c := range st.calls {
				unknown = unknown || !known(c.name)
			}
		}
		if err == nil {
			verifyAccepted(t, e.SQL, st)
		}
		switch e.Kind {
		case "read":
			reads++
			if err != nil && unknown {
				newer++
				t.Logf("read-only statement for a release after 3.0 (%s): %v", e.Source, err)
			} else if err != nil {
				refusedReads++
				t.Logf("read-only statement refused (%s): %v\n\t%s", e.Source, err, clip(e.SQL))
			}
		default:
			others++
			if err == nil {
				t.Errorf("%s statement accepted (%s):\n\t%s", e.Kind, e.Source, e.SQL)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	reads -= newer
	t.Logf("corpus: %d read-only statements for Doris 2.0 to 3.0, %d refused (%.2f%%); %d calling functions of later releases; %d writing or external statements, none accepted",
		reads, refusedReads, 100*float64(refusedReads)/float64(max(reads, 1)), newer, others)
	if refusedReads*100 > reads {
		t.Errorf("%d of %d read-only statements refused, more than 1%%", refusedReads, reads)
	}
}
