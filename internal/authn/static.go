package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MinSecret is the shortest static secret accepted: shorter ones can be
// guessed.
const MinSecret = 16

// Token is a static token as configured: its secret or the secret's
// digest, and what it grants.
type Token struct {
	Secret string // kept only as its SHA-256 digest
	Digest string // or: hex SHA-256 of the secret
	Name   string
	Scopes []string
	// Expires is when the token stops being accepted; zero: never.
	Expires time.Time
	// Account, when its User is set, is the Doris account the token's
	// calls run as.
	Account Account
}

// CheckToken reports what is wrong with t, if anything.
func CheckToken(t Token) error {
	_, err := parseToken(t)
	return err
}

// static is a static token as kept: its digest, never the secret, and the
// identity it stands for.
type static struct {
	digest [sha256.Size]byte
	id     *Identity
}

func parseToken(t Token) (static, error) {
	var st static
	switch {
	case t.Name == "":
		return st, errors.New("no Name")
	case t.Secret != "" && t.Digest != "":
		return st, errors.New("both Token and Digest given")
	case t.Secret != "":
		if len(t.Secret) < MinSecret {
			return st, fmt.Errorf("secret shorter than %d characters", MinSecret)
		}
		if len(t.Secret) > MaxTokenBytes {
			return st, fmt.Errorf("secret longer than %d bytes", MaxTokenBytes)
		}
		st.digest = sha256.Sum256([]byte(t.Secret))
	case t.Digest != "":
		b, err := hex.DecodeString(t.Digest)
		if err != nil || len(b) != sha256.Size {
			return st, errors.New("digest is not a hex SHA-256")
		}
		copy(st.digest[:], b)
	default:
		return st, errors.New("neither Token nor Digest given")
	}
	if t.Account.User == "" {
		switch {
		case t.Account.Password != "":
			return st, errors.New("DorisPassword without DorisUser")
		case t.Account.Database != "":
			return st, errors.New("DorisDatabase without DorisUser")
		}
	}
	for _, s := range t.Scopes {
		if s == "" || strings.ContainsAny(s, " \t") {
			return st, fmt.Errorf("malformed scope %q", s)
		}
	}
	st.id = &Identity{Name: t.Name, Method: "static", Scopes: slices.Clone(t.Scopes), Expires: t.Expires}
	if t.Account.User != "" {
		acct := t.Account
		st.id.Account = &acct
	}
	return st, nil
}

func uniqueDigests(ts []static) error {
	seen := make(map[[sha256.Size]byte]string, len(ts))
	for _, t := range ts {
		if other, ok := seen[t.digest]; ok {
			return fmt.Errorf("tokens %s and %s have the same secret", other, t.id.Name)
		}
		seen[t.digest] = t.id.Name
	}
	return nil
}

// matchStatic compares digest with every token's in constant time, without
// stopping at a match, so timing tells nothing of which token matched.
func matchStatic(set []static, digest [sha256.Size]byte) *static {
	var found *static
	for i := range set {
		if subtle.ConstantTimeCompare(set[i].digest[:], digest[:]) == 1 {
			found = &set[i]
		}
	}
	return found
}
