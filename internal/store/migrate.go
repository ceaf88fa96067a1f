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

func migrateDir(ctx context.Context, db *sql.DB, dialect string, dir migrate.Dir) ([]string, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	schemaName, err := currentSchema(ctx, db, dialect)
	if err != nil {
		return nil, err
	}
	base := &revisions{q: db, dialect: dialect, schema: schemaName}
	if err := base.create(ctx); err != nil {
		return nil, fmt.Errorf("create revision table: %w", err)
	}
	if err := checkApplied(ctx, base, dir); err != nil {
		return nil, err
	}
	var applied []string
	for {
		v, err := applyNext(ctx, db, dialect, schemaName, dir)
		if errors.Is(err, migrate.ErrNoPendingFiles) {
			return applied, nil
		}
		if err != nil {
			return applied, err
		}
		applied = append(applied, v)
	}
}

// applyNext applies the first pending file inside one transaction, so a
// failing statement leaves nothing half done. On PostgreSQL an advisory lock
// keeps two starting nodes from migrating at once.
func applyNext(ctx context.Context, db *sql.DB, dialect, schemaName string, dir migrate.Dir) (string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(4242424242)`); err != nil {
			return "", err
		}
	}
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
	return pending[0].Version(), tx.Commit()
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
	schemaName, err := currentSchema(ctx, s.DB, s.Dialect)
	if err != nil {
		return nil, err
	}
	r := &revisions{q: s.DB, dialect: s.Dialect, schema: schemaName}
	if err := r.create(ctx); err != nil {
		return nil, err
	}
	revs, err := r.ReadRevisions(ctx)
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

func currentSchema(ctx context.Context, db *sql.DB, dialect string) (string, error) {
	if dialect != Postgres {
		return "main", nil
	}
	var name string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&name); err != nil {
		return "", fmt.Errorf("current schema: %w", err)
	}
	return name, nil
}
