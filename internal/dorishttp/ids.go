package dorishttp

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxTraceIDLen = 128
	maxNameLen    = 256
)

// checkQueryID accepts a Doris query id: two hexadecimal halves of at most 16
// digits joined by '-', as Doris prints a TUniqueId
// ("e133f2641e0a411c-b73f1f6c67bedcf9"; leading zeros are not printed).
func checkQueryID(id string) error {
	hi, lo, ok := strings.Cut(id, "-")
	if !ok || !isHex(hi) || !isHex(lo) {
		return fmt.Errorf("dorishttp: query id %q: want two hexadecimal halves joined by '-': %w", clip(id), ErrInvalidArgument)
	}
	return nil
}

func isHex(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// checkTraceID accepts the trace ids a caller is likely to set with
// session_context (UUIDs, hex, dotted or colon-separated names) and nothing
// that could change the path: the FE forwards the id, unescaped, in a URL
// it builds for the other FEs, so escaping on our side alone is not enough.
func checkTraceID(id string) error {
	if id == "" || len(id) > maxTraceIDLen {
		return fmt.Errorf("dorishttp: trace id must be 1 to %d characters: %w", maxTraceIDLen, ErrInvalidArgument)
	}
	if strings.Trim(id, ".") == "" {
		return fmt.Errorf("dorishttp: trace id %q is a path step, not an id: %w", id, ErrInvalidArgument)
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return fmt.Errorf("dorishttp: trace id %q: only letters, digits and -_.: are accepted: %w", clip(id), ErrInvalidArgument)
		}
	}
	return nil
}

// checkName accepts a database or table name for a query parameter. The
// value is escaped by url.Values; this refuses what no Doris name contains
// and what would only make a confusing request.
func checkName(kind, name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("dorishttp: %s name must be 1 to %d bytes: %w", kind, maxNameLen, ErrInvalidArgument)
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return fmt.Errorf("dorishttp: %s name %q has control characters or invalid UTF-8: %w", kind, clip(name), ErrInvalidArgument)
	}
	return nil
}

// clip shortens a refused value for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "..."
	}
	return s
}
