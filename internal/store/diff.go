package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	entmigrate "github.com/companyapi/companyapi/ent/migrate"
)

// Diff replays dir into the empty dev database devDB and writes a new
// migration file named name to dir with whatever the Ent schema adds. It
// reports whether a file was written; false means the directory already
// equals the schema.
func Diff(ctx context.Context, devDB *sql.DB, dialectName string, dir migrate.Dir, name string) (bool, error) {
	d := dialect.SQLite
	if dialectName == Postgres {
		d = dialect.Postgres
	}
	m, err := schema.NewMigrate(entsql.OpenDB(d, devDB),
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(d),
		schema.WithFormatter(migrate.DefaultFormatter),
		schema.WithErrNoPlan(true),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
	)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	err = m.NamedDiff(ctx, name, entmigrate.Tables...)
	if errors.Is(err, migrate.ErrNoPlan) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// OpenDevSQLite opens an in-memory SQLite database to replay migrations in.
// One connection only: each new connection to :memory: is a new database.
func OpenDevSQLite() (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:dev?mode=memory&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}
