package dorissim

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// queryProfile is what the simulator records of a statement run with
// enable_profile: enough for the FE's profile text and the trace-id lookup.
type queryProfile struct {
	id, trace     string
	user, db, sql string
	start, end    time.Time
	state         string
	rows          int
	err           error
}

// maxProfiles bounds the profiles kept, like the FE's max_query_profile_num
// (default 100): the oldest go first.
const maxProfiles = 100

type profileStore struct {
	mu      sync.Mutex
	order   []string // query ids, oldest first
	byID    map[string]queryProfile
	byTrace map[string]string // trace id → latest query id
}

func newProfileStore() *profileStore {
	return &profileStore{byID: map[string]queryProfile{}, byTrace: map[string]string{}}
}

func (p *profileStore) add(q queryProfile) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.order) == maxProfiles {
		old := p.order[0]
		p.order = p.order[1:]
		if t := p.byID[old].trace; t != "" && p.byTrace[t] == old {
			delete(p.byTrace, t)
		}
		delete(p.byID, old)
	}
	p.order = append(p.order, q.id)
	p.byID[q.id] = q
	if q.trace != "" {
		p.byTrace[q.trace] = q.id
	}
}

// mapTrace files query id under trace id, as each statement starts.
func (p *profileStore) mapTrace(trace, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byTrace[trace] = id
}

func (p *profileStore) dropTrace(trace string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.byTrace, trace)
}

func (p *profileStore) queryID(trace string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.byTrace[trace]
	return id, ok
}

func (p *profileStore) get(id string) (queryProfile, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q, ok := p.byID[id]
	return q, ok
}

// text renders the profile in the shape of Doris's text profile: a
// Summary section, then an execution section. Only the summary carries
// real figures; the simulator has no fragments to report.
func (q queryProfile) text(rel release) string {
	var b strings.Builder
	state := "EOF"
	if q.err != nil {
		state = "ERR"
	} else if q.state != "" {
		state = q.state
	}
	errMsg := "N/A"
	if q.err != nil {
		errMsg = q.err.Error()
	}
	fmt.Fprintf(&b, "Summary:\n")
	for _, kv := range [][2]string{
		{"Profile ID", q.id},
		{"Task Type", "QUERY"},
		{"Start Time", q.start.Format(datetimeFmt)},
		{"End Time", q.end.Format(datetimeFmt)},
		{"Total", dorisDuration(q.end.Sub(q.start))},
		{"Task State", state},
		{"User", q.user},
		{"Default Catalog", internalCatalog},
		{"Default Db", q.db},
		{"Sql Statement", q.sql},
		{"Doris Version", rel.nodeVersion()},
		{"Is Nereids", "Yes"},
		{"Is Pipeline", "Yes"},
		{"Trace ID", q.trace},
		{"Error Message", errMsg},
	} {
		fmt.Fprintf(&b, "   - %s: %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(&b, "Execution Summary:\n")
	fmt.Fprintf(&b, "   - Workload Group: normal\n")
	fmt.Fprintf(&b, "   - Returned Rows: %d\n", q.rows)
	return b.String()
}

// dorisDuration prints a duration as Doris's profiles do: 3s680ms, 12ms.
func dorisDuration(d time.Duration) string {
	ms := d.Milliseconds()
	switch {
	case ms >= 60_000:
		return fmt.Sprintf("%dm%ds%dms", ms/60_000, ms%60_000/1000, ms%1000)
	case ms >= 1000:
		return fmt.Sprintf("%ds%dms", ms/1000, ms%1000)
	}
	return fmt.Sprintf("%dms", ms)
}
