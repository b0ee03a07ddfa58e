// Package outbound is how authentication reaches the services it trusts: a
// JWKS endpoint, an OAuth 2.0 authorization server. Those requests carry
// what an attacker wants (a caller's token, this server's client secret),
// or bring back what decides who gets in (signing keys, token verdicts), so
// the client they go through is stricter than [http.DefaultClient]:
//
//	client := outbound.Client(transport, 10*time.Second)
//	resp, err := client.Do(req)
//	if err != nil {
//		return outbound.Scrub(err) // names https://idp.example.com/jwks?…
//	}
//
// [CheckURL] accepts only https, or http to a loopback host: keys and
// verdicts fetched in clear text over a network could be forged.
//
// [Client] never follows a redirect. A redirect would re-send the form with
// the caller's token, or the client credentials, to wherever the Location
// header points, and would fetch keys from a host nobody configured.
//
// [Redact] and [Scrub] keep a URL's userinfo and query string (where
// credentials and API keys end up) out of every log line and error.
package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrRedirect is the error of a request answered with a redirect.
var ErrRedirect = errors.New("redirect refused: requests go only to the configured URL")

// Client returns a client over rt that gives up after timeout and refuses
// every redirect with [ErrRedirect]. A nil rt is [http.DefaultTransport].
func Client(rt http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: rt,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("%w (it pointed to %s)", ErrRedirect, Redact(req.URL.String()))
		},
	}
}

// CheckURL accepts absolute https URLs, and http ones whose host is a
// loopback address or localhost.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	}
	return errors.New("want an https URL (http only on a loopback host)")
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redact returns raw as it may be logged: scheme, host and path, with the
// userinfo and fragment dropped and a query string, if any, shown as "?…".
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	query := u.RawQuery != "" || u.ForceQuery
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	s := u.String()
	if query {
		s += "?…"
	}
	return s
}

// Scrub redacts the URL of the [url.Error] in err's chain, if any, and
// returns err. net/http names the URL of a failed request in its error,
// hiding a password but not the user name or the query; the url.Error is
// the request's own, so rewriting it affects nobody else.
func Scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = Redact(ue.URL)
	}
	return err
}
