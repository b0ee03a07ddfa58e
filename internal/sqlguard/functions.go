package sqlguard

import (
	"bufio"
	_ "embed"
	"strings"
)

// Functions is the set of functions that statements may call on one
// engine: its built-ins known to be free of side effects, and whatever the
// deployment adds. A name that is not in the set may be a stored function
// or a user-defined function of the current database, or a built-in that
// nobody has judged yet, and is refused.
type Functions struct {
	engine string
	names  map[string]bool // upper case
}

//go:embed funcs/mariadb.txt
var mariadbList string

//go:embed funcs/doris.tsv
var dorisList string

// MariaDBFunctions returns the functions of MariaDB 10.11 (and of MySQL,
// which shares their names) judged free of side effects; funcs/mariadb.txt
// says how the list was made.
func MariaDBFunctions() *Functions {
	f := &Functions{engine: "MariaDB", names: map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(mariadbList))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			f.names[line] = true
		}
	}
	return f
}

// DorisFunctions returns the functions of the Apache Doris release version
// (as in "2.1.7" or "doris-3.0.4-rc01") judged free of side effects, read
// from the function registries of its frontend source (funcs/doris.tsv).
// Releases before 2.1 get the 2.0 list and releases after 3.0 the 3.0 list.
// With external, the functions that call an outside service (AI_GENERATE,
// EMBED, ...) are in the set too.
func DorisFunctions(version string, external bool) *Functions {
	want := dorisLine(version)
	f := &Functions{engine: "Apache Doris " + want, names: map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(dorisList))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 3 || !hasVersion(fields[1], want) {
			continue
		}
		switch fields[2] {
		case "safe", "meta":
		case "external":
			if !external {
				continue
			}
		default:
			continue
		}
		f.names[strings.ToUpper(fields[0])] = true
	}
	return f
}

func hasVersion(list, want string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.TrimSpace(v) == want {
			return true
		}
	}
	return false
}

// dorisLine maps a release to the release line whose list applies.
func dorisLine(version string) string {
	v := version
	if i := strings.IndexAny(v, "0123456789"); i >= 0 {
		v = v[i:]
	}
	switch {
	case strings.HasPrefix(v, "2.0."), strings.HasPrefix(v, "1."), v == "2.0":
		return "2.0"
	case strings.HasPrefix(v, "2.1"):
		return "2.1"
	}
	return "3.0"
}

// With returns a copy of f that also accepts the functions named, in any
// case.
func (f *Functions) With(names ...string) *Functions {
	g := &Functions{engine: f.engine, names: make(map[string]bool, len(f.names)+len(names))}
	for n := range f.names {
		g.names[n] = true
	}
	for _, n := range names {
		g.names[strings.ToUpper(n)] = true
	}
	return g
}

// Has reports whether name is in the set.
func (f *Functions) Has(name string) bool { return f.names[strings.ToUpper(name)] }

// CheckCalls refuses the statement if it calls a function that is not in
// f. Check cannot do this itself: which names are built-ins depends on the
// engine the statement runs on.
func (st *Statement) CheckCalls(f *Functions) error {
	for _, c := range st.calls {
		if !f.Has(c.name) {
			return reject(c.pos, strings.ToUpper(clip(c.name))+"() is not a built-in function of "+f.engine+" known to be free of side effects, so it may be a stored or user-defined function; the deployment can allow it by name")
		}
	}
	return nil
}
