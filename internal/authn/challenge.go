package authn

import (
	"errors"
	"net/url"
	"strings"
)

// Challenge is the WWW-Authenticate value of a refusal (RFC 6750 §3):
// errCode is "" for a request without credentials, invalid_token or
// insufficient_scope; scopes, if any, are those the request lacked. With a
// metadata URL configured, it points there (RFC 9728 §5.1).
func (a *Authenticator) Challenge(errCode string, scopes []string) string {
	params := []string{`realm="doris-mcp"`}
	if errCode != "" {
		params = append(params, `error="`+errCode+`"`)
	}
	if len(scopes) > 0 {
		params = append(params, `scope="`+strings.Join(scopes, " ")+`"`)
	}
	if a.metaURL != "" {
		params = append(params, `resource_metadata="`+a.metaURL+`"`)
	}
	return "Bearer " + strings.Join(params, ", ")
}

// MetadataURL is where RFC 9728 §3.1 says the metadata of resource lives:
// /.well-known/oauth-protected-resource inserted before its path.
func MetadataURL(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("want an absolute http(s) URL")
	}
	path := strings.TrimSuffix(u.Path, "/")
	u.Path = "/.well-known/oauth-protected-resource" + path
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String(), nil
}
