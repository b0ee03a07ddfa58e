package sqlguard

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Kind is what an accepted statement does.
type Kind int

// The kinds of statement Check accepts.
const (
	// Select is a query: SELECT, WITH ... SELECT, VALUES, TABLE, or a
	// parenthesised query.
	Select Kind = iota + 1
	// Show is any SHOW statement.
	Show
	// Describe is DESC, DESCRIBE or EXPLAIN followed by a table name.
	Describe
	// Explain is EXPLAIN, DESC or DESCRIBE followed by a query. Statement.Target
	// holds the explained query.
	Explain
)

// String returns the SQL keyword of the kind, for example "SELECT".
func (k Kind) String() string {
	switch k {
	case Select:
		return "SELECT"
	case Show:
		return "SHOW"
	case Describe:
		return "DESCRIBE"
	case Explain:
		return "EXPLAIN"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Statement is a statement that Check accepted.
type Statement struct {
	Kind Kind

	// SQL is the text to send to the server: the statement written anew
	// from the tokens Check accepted, in a canonical form that MySQL,
	// MariaDB and Apache Doris all split into exactly those tokens.
	// Comments are dropped, tokens are separated by single spaces where
	// that does not change their meaning, strings are single-quoted with
	// only backslashes, quotes and NUL escaped, and names after a '.' are
	// backtick-quoted. An optimizer hint after SELECT is written anew from
	// its parsed content. Checking SQL again gives the same SQL.
	SQL string

	// SelectOffset is the byte offset in SQL of the SELECT keyword when the
	// statement's first token is SELECT (so 0), and -1 otherwise: "(SELECT
	// 1)" gives -1. Callers may add an optimizer hint right after the
	// keyword when HasHint is false:
	//
	//	st.SQL[:st.SelectOffset+6] + " /*+ SET_VAR(query_timeout=10) */" + st.SQL[st.SelectOffset+6:]
	SelectOffset int

	// HasHint reports whether SQL contains an optimizer hint comment
	// (/*+ ... */). Only a hint directly after a SELECT keyword is kept;
	// one anywhere else is a comment to MySQL and is dropped.
	HasHint bool

	// SetVars are the variables that SET_VAR optimizer hints in SQL set,
	// in order. A hint may set any session variable for the statement,
	// including the ones that bound it, so the caller decides which ones it
	// accepts.
	SetVars []SetVar

	// Target is the explained query of an EXPLAIN statement, already checked.
	// Its SQL is the end of SQL from the query's first token. Target is nil
	// for other kinds.
	Target *Statement

	// calls are the functions the statement calls.
	calls []call
}

// call is a function call: its name as written, unquoted, and its offset
// in the input.
type call struct {
	name string
	pos  int
}

// Error is the error Check returns for a statement it rejects. The quoting
// helpers also return it for a name they cannot quote.
type Error struct {
	// Reason says what was rejected and why, in words meant to let the
	// author of the statement fix it.
	Reason string
	// Offset is the byte offset in the input of the offending token, or -1
	// when no single token is to blame.
	Offset int
}

// Error formats the rejection as "sqlguard: rejected: <reason> (offset N)".
// The offset is left out when it is -1, and also when the reason already
// names it.
func (e *Error) Error() string {
	msg := "sqlguard: rejected: " + e.Reason
	if e.Offset >= 0 && !strings.Contains(e.Reason, "offset") {
		msg += " (offset " + strconv.Itoa(e.Offset) + ")"
	}
	return msg
}

func reject(offset int, reason string) *Error {
	return &Error{Reason: reason, Offset: offset}
}

// tokenBufs recycles the token arrays of Check: nothing a Statement holds
// refers to them, so one array serves call after call.
var tokenBufs = sync.Pool{New: func() any { b := make([]token, 0, 96); return &b }}

// maxPooledTokens bounds the arrays kept for reuse, so that one huge
// statement does not pin its array.
const maxPooledTokens = 4096

// Options adjust what CheckWith accepts. The zero value is what Check
// accepts.
type Options struct {
	// AllowExternal accepts calls of functions that send data to a service
	// outside the database: the Apache Doris AI functions (AI_GENERATE,
	// AI_CLASSIFY, ... and EMBED), which call the model service of an AI
	// resource for every row. They change nothing in the database, but each
	// call takes time, may cost money and hands the data to a third party.
	AllowExternal bool

	// Own marks a statement that the library wrote itself from validated
	// names. The rules that keep one caller from reading what other
	// sessions did (the process list, the audit log) do not apply; all the
	// others do.
	Own bool
}

// Check decides whether sql may run for a read-only caller. It accepts exactly
// one SELECT, WITH ... SELECT, VALUES, TABLE, SHOW, DESCRIBE/DESC or EXPLAIN
// statement, optionally followed by a single ';'. Any rejection is returned
// as an *Error. Check is CheckWith with the zero Options.
func Check(sql string) (*Statement, error) {
	return CheckWith(sql, Options{})
}

// CheckWith is Check with options.
func CheckWith(sql string, opts Options) (*Statement, error) {
	if i := strings.IndexByte(sql, 0); i >= 0 {
		return nil, reject(i, "NUL bytes are not allowed in a statement")
	}
	if !utf8.ValidString(sql) {
		return nil, reject(firstInvalidUTF8(sql), "the statement is not valid UTF-8")
	}

	buf := tokenBufs.Get().(*[]token)
	defer func() {
		if cap(*buf) <= maxPooledTokens {
			tokenBufs.Put(buf)
		}
	}()
	lx := lexer{src: sql}
	toks, err := lx.run((*buf)[:0])
	if err != nil {
		return nil, err
	}
	*buf = toks[:0] // grown, if it had to

	n := len(toks)
	for i := range toks {
		if toks[i].isPunct(';') {
			n = i
			break
		}
	}
	if n == 0 {
		if len(toks) > 0 {
			return nil, reject(toks[0].pos, "empty statement before ';'")
		}
		return nil, reject(-1, "empty statement")
	}
	if n+1 < len(toks) {
		return nil, reject(toks[n+1].pos, "multiple statements are not allowed; send one statement per call")
	}

	hints, herr := attachHints(sql, toks[:n], lx.hints)
	if herr != nil {
		return nil, herr
	}
	c := checker{src: sql, toks: toks[:n], hints: hints, opts: opts}
	st := &Statement{}
	if err := c.statement(st); err != nil {
		return nil, err
	}
	c.finish(st)
	return st, nil
}

func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
