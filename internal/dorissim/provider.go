package dorissim

import (
	"fmt"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/fulltext"
)

// provider serves the in-memory databases of one simulator, each wrapped
// in a seqDatabase (frozen sample tables, sequence tables).
type provider struct {
	mem *memory.DbProvider

	mu      sync.Mutex
	wrapped map[*memory.Database]*seqDatabase
}

var (
	_ sql.DatabaseProvider        = (*provider)(nil)
	_ sql.MutableDatabaseProvider = (*provider)(nil)
)

func newProvider() *provider {
	mem := memory.NewDBProvider()
	mem.WithOption(memory.NativeIndexProvider(true))
	return &provider{mem: mem, wrapped: map[*memory.Database]*seqDatabase{}}
}

func (p *provider) wrap(db sql.Database) sql.Database {
	mdb, ok := db.(*memory.Database)
	if !ok {
		return db
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w, ok := p.wrapped[mdb]
	if !ok {
		w = &seqDatabase{memDatabase: mdb}
		p.wrapped[mdb] = w
	}
	return w
}

func (p *provider) Database(ctx *sql.Context, name string) (sql.Database, error) {
	db, err := p.mem.Database(ctx, name)
	if err != nil {
		return nil, err
	}
	return p.wrap(db), nil
}

func (p *provider) HasDatabase(ctx *sql.Context, name string) bool {
	return p.mem.HasDatabase(ctx, name)
}

func (p *provider) AllDatabases(ctx *sql.Context) []sql.Database {
	all := p.mem.AllDatabases(ctx)
	for i, db := range all {
		all[i] = p.wrap(db)
	}
	return all
}

func (p *provider) CreateDatabase(ctx *sql.Context, name string) error {
	return p.mem.CreateDatabase(ctx, name)
}

func (p *provider) DropDatabase(ctx *sql.Context, name string) error {
	if db, err := p.mem.Database(ctx, name); err == nil {
		if mdb, ok := db.(*memory.Database); ok {
			p.mu.Lock()
			delete(p.wrapped, mdb)
			p.mu.Unlock()
		}
	}
	return p.mem.DropDatabase(ctx, name)
}

// memDatabase lists what the simulator exposes of a memory database. The
// wrapper embeds this interface rather than the concrete type so that only
// these methods are promoted. In particular the engine's
// IndexedTableCreator path is left out: for a table with a primary key it
// drops the table comment, whereas TableCreator keeps it.
type memDatabase interface {
	sql.Database
	sql.TableCreator
	sql.TableDropper
	sql.TableRenamer
	sql.TriggerDatabase
	sql.StoredProcedureDatabase
	sql.EventDatabase
	sql.ViewDatabase
	sql.CollatedDatabase
	sql.SchemaValidator
	fulltext.Database
}

var _ memDatabase = (*memory.Database)(nil)

// seqDatabase wraps a memory database. Table lookup finds, in order: the
// frozen sample tables, ordinary tables and views, and then any name of
// the form seq_<from>_to_<to>[_step_<step>], which resolves to a generated
// sequence table. Sequence tables are not listed by GetTableNames (so
// neither by SHOW TABLES nor by information_schema), as in MariaDB.
type seqDatabase struct {
	memDatabase

	mu     sync.RWMutex
	frozen map[string]*frozenTable // by lower-case name
}

var _ memDatabase = (*seqDatabase)(nil)

func (d *seqDatabase) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	d.mu.RLock()
	ft := d.frozen[strings.ToLower(name)]
	d.mu.RUnlock()
	if ft != nil {
		return ft, true, nil
	}
	t, ok, err := d.memDatabase.GetTableInsensitive(ctx, name)
	if ok || err != nil {
		return t, ok, err
	}
	if !strings.HasPrefix(strings.ToLower(name), "seq_") {
		return nil, false, nil
	}
	st, ok, err := parseSeqTable(d.Name(), name)
	if !ok || err != nil {
		return nil, false, err
	}
	return st, true, nil
}

// freeze makes the rows of data the content of the (empty) memory table of
// the same name.
func (d *seqDatabase) freeze(ctx *sql.Context, data tableData) error {
	t, ok, err := d.memDatabase.GetTableInsensitive(ctx, data.name)
	if err != nil {
		return err
	}
	mt, isMem := t.(*memory.Table)
	if !ok || !isMem {
		return fmt.Errorf("table %s.%s not found after CREATE TABLE", d.Name(), data.name)
	}
	ft, err := newFrozenTable(ctx, mt, data)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen == nil {
		d.frozen = map[string]*frozenTable{}
	}
	d.frozen[strings.ToLower(data.name)] = ft
	return nil
}

func (d *seqDatabase) isFrozen(name string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.frozen[strings.ToLower(name)] != nil
}

func (d *seqDatabase) DropTable(ctx *sql.Context, name string) error {
	if err := d.memDatabase.DropTable(ctx, name); err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.frozen, strings.ToLower(name))
	d.mu.Unlock()
	return nil
}

func (d *seqDatabase) RenameTable(ctx *sql.Context, oldName, newName string) error {
	if d.isFrozen(oldName) {
		return fmt.Errorf("table %s.%s is a read-only sample table and cannot be renamed", d.Name(), oldName)
	}
	return d.memDatabase.RenameTable(ctx, oldName, newName)
}
