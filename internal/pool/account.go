package pool

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/dorismcp/doris/internal/authn"
	"github.com/go-sql-driver/mysql"
)

// maxUserPools bounds the per-user pools open at once.
const maxUserPools = 64

// accountKey is the context key of the Doris account a call runs as, set
// for the principals that have their own.
type accountKey struct{}

// WithAccount makes the calls of ctx run as Doris account a.
func WithAccount(ctx context.Context, a *authn.Account) context.Context {
	return context.WithValue(ctx, accountKey{}, *a)
}

func accountFrom(ctx context.Context) (authn.Account, bool) {
	a, ok := ctx.Value(accountKey{}).(authn.Account)
	return a, ok
}

// forUser returns the pool for a Doris account on fe, creating it on first
// use. An empty user means fe's default pool. The account's connections
// use its own default database, or none: never the DSN's, on which it may
// have no rights. Pools are keyed by user, password and database, so a
// caller with a wrong password never borrows the connections another
// caller opened with the right one. Secondary pools idle for longer than
// the pool idle timeout are closed by the cleanup loop; at most
// maxUserPools are open at once.
func (p *Pool) forUser(fe *frontend, acct authn.Account) (*member, error) {
	if acct.User == "" {
		return fe.m, nil
	}
	if p.base == nil {
		return nil, errors.New("per-user Doris accounts need a DSN-configured server, not WithDB")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return nil, p.cfg.Closed
	}
	key := userPoolKey(fe.addr, acct)
	m := p.secondary[key]
	if m == nil {
		if len(p.secondary) >= maxUserPools {
			return nil, fmt.Errorf("too many Doris accounts in use at once (%d); try again later", maxUserPools)
		}
		dsn := p.base.Clone()
		dsn.Addr, dsn.User, dsn.Passwd, dsn.DBName = fe.addr, acct.User, acct.Password, acct.Database
		m = p.open(dsn)
		p.secondary[key] = m
	}
	m.lastUsed = time.Now()
	return m, nil
}

// userPoolKey is the key of an account's pool on an FE among the
// secondary pools.
func userPoolKey(fe string, acct authn.Account) string {
	sum := sha256.Sum256([]byte(acct.Password))
	return fe + "\x00" + acct.User + "\x00" + acct.Database + "\x00" + string(sum[:])
}

// accountError explains why a call on a per-token Doris account could not
// get a connection. A refusal is said plainly, with what was refused: the
// caller's account is misconfigured, not the FE down, and no other
// account is tried in its place.
func accountError(acct authn.Account, err error) error {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return err
	}
	const instead = "no other account is used in its place"
	switch me.Number {
	case 1045, 1698: // access denied for the user, or for its authentication
		return fmt.Errorf("the Doris account %q of this caller cannot log in (access denied); %s", acct.User, instead)
	case 1044: // access denied to the database the connection names
		if acct.Database == "" {
			return fmt.Errorf("the Doris account %q of this caller was refused: %s; %s", acct.User, me.Message, instead)
		}
		return fmt.Errorf("the Doris account %q of this caller may not use database %q, its token's default database (access denied); %s", acct.User, acct.Database, instead)
	case 1049: // unknown database
		return fmt.Errorf("database %q, the default database of this caller's Doris account %q, does not exist; %s", acct.Database, acct.User, instead)
	}
	return err
}
