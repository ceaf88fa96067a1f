package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/sqlite"

	"github.com/companyapi/companyapi/migrations"
)

// ErrMigrationEdited is returned when a migration file no longer matches
// atlas.sum or the hash recorded when it was applied.
var ErrMigrationEdited = errors.New("migration files were edited")

// Revision is one migration file and whether it has been applied.
type Revision struct {
	Version     string
	Description string
	Applied     bool
	AppliedAt   time.Time
}

// Dir loads the embedded migration directory of a dialect.
func Dir(dialect string) (migrate.Dir, error) {
	return dirFromFS(migrations.FS, dialect)
}

func dirFromFS(fsys fs.FS, dialect string) (migrate.Dir, error) {
	entries, err := fs.ReadDir(fsys, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", dialect, err)
	}
	dir := &migrate.MemDir{}
	for _, e := range entries {
		b, err := fs.ReadFile(fsys, path.Join(dialect, e.Name()))
		if err != nil {
			return nil, err
		}
		if err := dir.WriteFile(e.Name(), b); err != nil {
			return nil, err
		}
	}
	return dir, nil
}

// Migrate applies every pending migration, each file in its own
// transaction, after checking atlas.sum and the hashes of applied files.
// It returns the versions it applied; none when the store is up to date.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	dir, err := Dir(s.Dialect)
	if err != nil {
		return nil, err
	}
	return migrateDir(ctx, s.DB, s.Dialect, dir)
}

func migrateDir(ctx context.Context, db *sql.DB, dialect string, dir migrate.Dir) (applied []string, err error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	err = withMigrationConn(ctx, db, dialect, func(conn *sql.Conn, schemaName string) error {
		if err := checkApplied(ctx, &revisions{q: conn, dialect: dialect, schema: schemaName}, dir); err != nil {
			return err
		}
		for {
			v, err := applyNext(ctx, conn, dialect, schemaName, dir)
			if errors.Is(err, migrate.ErrNoPendingFiles) {
				return nil
			}
			if err != nil {
				return err
			}
			applied = append(applied, v)
		}
	})
	return applied, err
}

// migrationLock is the PostgreSQL advisory lock key that serialises nodes
// migrating the same database at once.
const migrationLock = 4242424242

// withMigrationConn runs fn on one connection set up for migrating, with
// the revision table in place:
//   - on PostgreSQL it holds a session advisory lock, so several nodes
//     starting at once on a fresh database take turns instead of racing to
//     create the revision table;
//   - on SQLite foreign keys are off, as SQLite's table-rebuild procedure
//     requires: the pragma is a no-op inside a transaction, and with it on,
//     dropping a rebuilt table would cascade-delete the rows that point at
//     it. Each file checks the keys itself before it commits (applyNext).
func withMigrationConn(ctx context.Context, db *sql.DB, dialect string, fn func(*sql.Conn, string) error) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dialect == Postgres {
		// A migration may rightly run longer than the pool's guard (see
		// pgDSN), and waits for other nodes' migrations below.
		if _, err := conn.ExecContext(ctx, `SET statement_timeout = 0`); err != nil {
			return err
		}
		defer func() {
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `RESET statement_timeout`); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer func() {
			if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); uerr != nil {
				err = errors.Join(err, fmt.Errorf("migration unlock: %w", uerr))
			}
		}()
	} else {
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = off`); err != nil {
			return err
		}
		// The connection goes back to the pool: turn enforcement back on.
		defer func() {
			if _, ferr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = on`); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}()
	}
	schemaName, err := currentSchema(ctx, conn, dialect)
	if err != nil {
		return err
	}
	if err := (&revisions{q: conn, dialect: dialect, schema: schemaName}).create(ctx); err != nil {
		return fmt.Errorf("create revision table: %w", err)
	}
	return fn(conn, schemaName)
}

// applyNext applies the first pending file inside one transaction, so a
// failing statement leaves nothing half done.
func applyNext(ctx context.Context, conn *sql.Conn, dialect, schemaName string, dir migrate.Dir) (string, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	drv, err := atlasDriver(dialect, tx)
	if err != nil {
		return "", err
	}
	ex, err := migrate.NewExecutor(drv, dir, &revisions{q: tx, dialect: dialect, schema: schemaName},
		migrate.WithOperatorVersion("companyapi"))
	if err != nil {
		return "", err
	}
	pending, err := ex.Pending(ctx)
	if err != nil {
		return "", err
	}
	if err := ex.Execute(ctx, pending[0]); err != nil {
		return "", fmt.Errorf("apply %s: %w", pending[0].Name(), err)
	}
	if dialect == SQLite {
		if err := foreignKeyCheck(ctx, tx); err != nil {
			return "", fmt.Errorf("apply %s: %w", pending[0].Name(), err)
		}
	}
	return pending[0].Version(), tx.Commit()
}

// foreignKeyCheck fails when a migration left a row pointing nowhere, which
// SQLite does not check by itself while foreign keys are off.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		return errors.New("foreign key violations after migrating (PRAGMA foreign_key_check)")
	}
	return rows.Err()
}

func atlasDriver(dialect string, q interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (migrate.Driver, error) {
	if dialect == Postgres {
		return postgres.Open(q)
	}
	return sqlite.Open(q)
}

// checkDir refuses a directory whose files do not match atlas.sum.
func checkDir(dir migrate.Dir) error {
	if err := migrate.Validate(dir); err != nil {
		return fmt.Errorf("%w: %v (regenerate with make migration, never edit by hand)", ErrMigrationEdited, err)
	}
	return nil
}

// checkApplied refuses files that changed after they were applied, even
// when atlas.sum was rewritten to match them.
func checkApplied(ctx context.Context, r *revisions, dir migrate.Dir) error {
	revs, err := r.ReadRevisions(ctx)
	if err != nil {
		return fmt.Errorf("read revisions: %w", err)
	}
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	files, err := dir.Files()
	if err != nil {
		return err
	}
	for _, rev := range revs {
		for _, f := range files {
			if f.Version() != rev.Version {
				continue
			}
			h, err := sum.SumByName(f.Name())
			if err != nil {
				return err
			}
			if rev.Hash != "" && h != rev.Hash {
				return fmt.Errorf("%w: %s changed after it was applied", ErrMigrationEdited, f.Name())
			}
		}
	}
	return nil
}

// Status lists every migration file and whether it is applied.
func (s *Store) Status(ctx context.Context) ([]Revision, error) {
	dir, err := Dir(s.Dialect)
	if err != nil {
		return nil, err
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	var revs []*migrate.Revision
	err = withMigrationConn(ctx, s.DB, s.Dialect, func(conn *sql.Conn, schemaName string) error {
		revs, err = (&revisions{q: conn, dialect: s.Dialect, schema: schemaName}).ReadRevisions(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	done := map[string]*migrate.Revision{}
	for _, rev := range revs {
		if rev.Applied == rev.Total && rev.Error == "" {
			done[rev.Version] = rev
		}
	}
	files, err := dir.Files()
	if err != nil {
		return nil, err
	}
	out := make([]Revision, 0, len(files))
	for _, f := range files {
		r := Revision{Version: f.Version(), Description: f.Desc()}
		if rev, ok := done[f.Version()]; ok {
			r.Applied, r.AppliedAt = true, rev.ExecutedAt
		}
		out = append(out, r)
	}
	return out, nil
}

func currentSchema(ctx context.Context, db querier, dialect string) (string, error) {
	if dialect != Postgres {
		return "main", nil
	}
	var name string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&name); err != nil {
		return "", fmt.Errorf("current schema: %w", err)
	}
	return name, nil
}
