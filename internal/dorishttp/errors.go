package dorishttp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors callers branch on. Every error the Client returns wraps at
// most one of them, so errors.Is answers the question a tool has to ask: say
// "not found", say "check the credentials", or say "too big".
var (
	// ErrNotFound means the endpoint answered that the thing asked for does
	// not exist: an HTTP 404, an envelope code 404, a trace id no FE knows,
	// or a query without a stored profile.
	ErrNotFound = errors.New("not found")

	// ErrUnauthorized means the node refused the credentials or the account
	// lacks the privilege (HTTP 401 or 403, or envelope code 401).
	ErrUnauthorized = errors.New("unauthorized")

	// ErrTooLarge means the response body was longer than the size limit.
	// The body was not read past the limit.
	ErrTooLarge = errors.New("response too large")

	// ErrUnknownBackend means a BE address is neither configured nor
	// discovered, so no request (and no credential) was sent to it.
	ErrUnknownBackend = errors.New("unknown backend")

	// ErrInvalidArgument means an id or name was refused before any request
	// was sent.
	ErrInvalidArgument = errors.New("invalid argument")
)

// StatusError is a response whose HTTP status is not 2xx. The FE REST API
// answers 200 even for failures, so a StatusError usually comes from a
// missing endpoint (404 on an older version), a proxy in between, or a BE.
type StatusError struct {
	Endpoint   string // method and URL, never with credentials
	StatusCode int
	Body       string // the start of the body, printable, credentials removed
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d %s", e.Endpoint, e.StatusCode, httpStatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Is makes errors.Is see a 404 as ErrNotFound and 401/403 as ErrUnauthorized.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == 404
	case ErrUnauthorized:
		return e.StatusCode == 401 || e.StatusCode == 403
	}
	return false
}

// APIError is a Doris envelope whose code is not 0. Doris's codes are not
// HTTP statuses even where the numbers match: 403 is "Bad Request".
type APIError struct {
	Endpoint string
	Code     int    // envelope code: 1 error, 401 unauthorized, 403 bad request, 404 not found, 500, 503
	Msg      string // envelope msg, e.g. "Bad Request"
	Detail   string // envelope data when it is text, e.g. "database x not found."
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s: Doris code %d", e.Endpoint, e.Code)
	if e.Msg != "" {
		msg += " " + e.Msg
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is makes errors.Is see code 404 as ErrNotFound and code 401 as
// ErrUnauthorized.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == 404
	case ErrUnauthorized:
		return e.Code == 401
	}
	return false
}

func httpStatusText(code int) string {
	switch code {
	case 401:
		return "Unauthorized (check the HTTP user and password)"
	case 403:
		return "Forbidden (the account may lack the ADMIN privilege)"
	case 404:
		return "Not Found"
	}
	if code >= 500 {
		return "server error"
	}
	return ""
}

// redactor removes the password, and the Basic authorization token that
// carries it, from text that came back from a server: a misconfigured proxy
// or a debugging endpoint may echo request headers into an error page.
type redactor struct {
	secrets []string
}

func newRedactor(user, password string) redactor {
	if password == "" {
		return redactor{}
	}
	token := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	// The longer secret first, so the token is not cut by replacing the
	// password inside it.
	secrets := []string{token, password}
	if len(password) > len(token) {
		secrets = []string{password, token}
	}
	return redactor{secrets: secrets}
}

func (r redactor) redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redactedMark)
	}
	// The mark next to the remaining text can spell a secret again (a
	// password such as "]]" or "e"): then nothing of the text is kept.
	for _, secret := range r.secrets {
		if strings.Contains(s, secret) {
			if strings.Contains(withheld, secret) {
				return ""
			}
			return withheld
		}
	}
	return s
}

const (
	redactedMark = "[redacted]"
	withheld     = "(text withheld: it contained a credential)"
)

// redactedError carries the original error for errors.Is/As while its text
// is scrubbed; a last line of defence for text that reached an error without
// passing through snippet.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (r redactor) wrap(err error) error {
	if err == nil || len(r.secrets) == 0 {
		return err
	}
	msg := err.Error()
	clean := r.redact(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// maxSnippet bounds how much of an unexpected body an error quotes: enough to
// recognise an HTML login page or a Java stack trace, not enough to flood a
// log.
const maxSnippet = 200

// snippet turns the start of a body into one printable line without
// secrets. Secrets are removed before anything else, so that neither the
// cut nor the clean-up can leave a recognisable part of one, and again
// after, in case the clean-up spelled one.
func (r redactor) snippet(b []byte) string {
	const keep = 4 * maxSnippet
	longest := 0
	for _, secret := range r.secrets {
		longest = max(longest, len(secret))
	}
	if len(b) > keep+longest {
		b = b[:keep+longest]
	}
	s := r.redact(string(b))
	if len(s) > keep {
		s = s[:keep]
	}
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(c rune) rune {
		if unicode.IsSpace(c) {
			return ' '
		}
		if !unicode.IsPrint(c) {
			return '?'
		}
		return c
	}, s)
	s = r.redact(strings.Join(strings.Fields(s), " "))
	if utf8.RuneCountInString(s) > maxSnippet {
		s = string([]rune(s)[:maxSnippet]) + "..."
	}
	return s
}
