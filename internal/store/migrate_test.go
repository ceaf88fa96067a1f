package store_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"ariga.io/atlas/sql/migrate"

	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// eachURL runs fn on a fresh, empty (not migrated) database of each dialect.
func eachURL(t *testing.T, fn func(t *testing.T, dialect, url string)) {
	t.Helper()
	t.Run(store.SQLite, func(t *testing.T) { fn(t, store.SQLite, storetest.SQLiteURL(t)) })
	t.Run(store.Postgres, func(t *testing.T) { fn(t, store.Postgres, storetest.PostgresURL(t)) })
}

func open(t *testing.T, url string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), url, store.Options{ConnectTimeout: 10 * time.Second, MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func versions(t *testing.T, dialect string) []string {
	t.Helper()
	dir, err := store.Dir(dialect)
	if err != nil {
		t.Fatal(err)
	}
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, f := range files {
		vs = append(vs, f.Version())
	}
	if len(vs) == 0 {
		t.Fatalf("no %s migrations embedded", dialect)
	}
	return vs
}

func TestMigrate(t *testing.T) {
	eachURL(t, func(t *testing.T, dialect, url string) {
		ctx := context.Background()
		s := open(t, url)
		want := versions(t, dialect)

		before, err := s.Status(ctx)
		if err != nil {
			t.Fatalf("Status before: %v", err)
		}
		if len(before) != len(want) {
			t.Fatalf("Status before lists %d files, want %d", len(before), len(want))
		}
		for _, r := range before {
			if r.Applied {
				t.Errorf("fresh store: %s already applied", r.Version)
			}
		}

		applied, err := s.Migrate(ctx)
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if !slices.Equal(applied, want) {
			t.Fatalf("Migrate applied %v, want %v", applied, want)
		}
		snap := snapshot(t, s)
		for _, table := range []string{"users", "conversations", "messages", "revoked_tokens", "atlas_schema_revisions"} {
			if !strings.Contains(snap, "table "+table+"\n") {
				t.Errorf("after Migrate, no table %s in\n%s", table, snap)
			}
		}

		again, err := s.Migrate(ctx)
		if err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if len(again) != 0 {
			t.Errorf("second Migrate applied %v, want nothing", again)
		}
		if snap2 := snapshot(t, s); snap2 != snap {
			t.Errorf("second Migrate changed the database:\nbefore:\n%s\nafter:\n%s", snap, snap2)
		}

		status, err := s.Status(ctx)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		var got []string
		for _, r := range status {
			if !r.Applied || r.AppliedAt.IsZero() {
				t.Errorf("Status: %+v, want applied with a time", r)
			}
			if r.Description == "" {
				t.Errorf("Status: %s has no description", r.Version)
			}
			got = append(got, r.Version)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Status lists %v, want %v", got, want)
		}
	})
}

// snapshot describes the schema and the revision history, so that two
// snapshots differ when a migration changed anything.
func snapshot(t *testing.T, s *store.Store) string {
	t.Helper()
	queries := []string{
		`SELECT 'table ' || name || char(10) || coalesce(sql, '') FROM sqlite_master ORDER BY type, name`,
	}
	if s.Dialect == store.Postgres {
		queries = []string{
			`SELECT 'table ' || table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`,
			`SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1`,
			`SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1`,
			`SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1`,
		}
	}
	queries = append(queries, `SELECT version || ' ' || executed_at || ' ' || hash || ' ' || applied || '/' || total FROM atlas_schema_revisions ORDER BY version`)
	var b strings.Builder
	for _, q := range queries {
		rows, err := s.DB.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			b.WriteString(line + "\n")
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestMigrationsMatchSchema fails when ent/schema changed without a new
// migration (make migration name=...): the committed migrations, replayed
// into an empty database, must equal the Ent schema.
func TestMigrationsMatchSchema(t *testing.T) {
	devDB := map[string]func(t *testing.T) *sql.DB{
		store.SQLite: func(t *testing.T) *sql.DB {
			db, err := store.OpenDevSQLite()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		store.Postgres: func(t *testing.T) *sql.DB {
			return open(t, storetest.PostgresURL(t)).DB
		},
	}
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			db := devDB[dialect](t)
			dir := memCopy(t, dialect)
			before := fileNames(t, dir)
			wrote, err := store.Diff(context.Background(), db, dialect, dir, "drift")
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			if wrote {
				var added strings.Builder
				for _, f := range mustFiles(t, dir) {
					if !slices.Contains(before, f.Name()) {
						added.WriteString("-- " + f.Name() + "\n" + string(f.Bytes()))
					}
				}
				t.Fatalf("migrations/%s is behind ent/schema; run make migration name=... (it would add):\n%s", dialect, added.String())
			}

			// The check itself must be able to fail: without one index the
			// directory is behind the schema.
			// (SQLite's table rebuilds create it again in later files.)
			dir = memCopy(t, dialect)
			for _, f := range mustFiles(t, dir) {
				var kept []string
				for _, line := range strings.Split(string(f.Bytes()), "\n") {
					if !strings.Contains(line, "message_conversation_id_id") {
						kept = append(kept, line)
					}
				}
				if err := dir.WriteFile(f.Name(), []byte(strings.Join(kept, "\n"))); err != nil {
					t.Fatal(err)
				}
			}
			rewriteSum(t, dir)
			wrote, err = store.Diff(context.Background(), devDB[dialect](t), dialect, dir, "drift")
			if err != nil || !wrote {
				t.Fatalf("Diff without the message_conversation_id_id index = %v, %v; want a new file", wrote, err)
			}
		})
	}
}

// memCopy copies the embedded migration directory, atlas.sum included, into
// a fresh in-memory directory the test may change.
func memCopy(t *testing.T, dialect string) *migrate.MemDir {
	t.Helper()
	src, err := store.Dir(dialect)
	if err != nil {
		t.Fatal(err)
	}
	dst := &migrate.MemDir{}
	for _, f := range mustFiles(t, src) {
		if err := dst.WriteFile(f.Name(), f.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := fs.ReadFile(src, migrate.HashFileName)
	if err != nil {
		t.Fatalf("%s has no %s: %v", dialect, migrate.HashFileName, err)
	}
	if err := dst.WriteFile(migrate.HashFileName, sum); err != nil {
		t.Fatal(err)
	}
	return dst
}

func mustFiles(t *testing.T, dir migrate.Dir) []migrate.File {
	t.Helper()
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func fileNames(t *testing.T, dir migrate.Dir) []string {
	t.Helper()
	var names []string
	for _, f := range mustFiles(t, dir) {
		names = append(names, f.Name())
	}
	return names
}

// edit appends a statement to the first migration file.
func edit(t *testing.T, dir *migrate.MemDir) string {
	t.Helper()
	first := mustFiles(t, dir)[0]
	if err := dir.WriteFile(first.Name(), append(first.Bytes(), "\nCREATE TABLE sneaky (id integer);\n"...)); err != nil {
		t.Fatal(err)
	}
	return first.Name()
}

func rewriteSum(t *testing.T, dir *migrate.MemDir) {
	t.Helper()
	sum, err := migrate.NewHashFile(mustFiles(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.WriteSumFile(dir, sum); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateRefusesEditedFiles(t *testing.T) {
	eachURL(t, func(t *testing.T, dialect, url string) {
		ctx := context.Background()
		s := open(t, url)

		t.Run("nok, file does not match atlas.sum", func(t *testing.T) {
			dir := memCopy(t, dialect)
			edit(t, dir)
			applied, err := store.MigrateDir(ctx, s.DB, dialect, dir)
			if !errors.Is(err, store.ErrMigrationEdited) {
				t.Fatalf("MigrateDir = %v, %v; want ErrMigrationEdited", applied, err)
			}
			if len(applied) != 0 {
				t.Errorf("applied %v from an edited directory", applied)
			}
		})

		if _, err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}

		t.Run("nok, applied file changed and atlas.sum rewritten", func(t *testing.T) {
			dir := memCopy(t, dialect)
			name := edit(t, dir)
			rewriteSum(t, dir)
			if err := migrate.Validate(dir); err != nil {
				t.Fatalf("the rewritten directory should validate: %v", err)
			}
			applied, err := store.MigrateDir(ctx, s.DB, dialect, dir)
			if !errors.Is(err, store.ErrMigrationEdited) {
				t.Fatalf("MigrateDir = %v, %v; want ErrMigrationEdited", applied, err)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name %s", err, name)
			}
		})

		t.Run("ok, a new file is applied", func(t *testing.T) {
			dir := memCopy(t, dialect)
			if err := dir.WriteFile("29991231235959_extra.sql", []byte("CREATE TABLE extra (id integer);\n")); err != nil {
				t.Fatal(err)
			}
			rewriteSum(t, dir)
			applied, err := store.MigrateDir(ctx, s.DB, dialect, dir)
			if err != nil {
				t.Fatalf("MigrateDir: %v", err)
			}
			if !slices.Equal(applied, []string{"29991231235959"}) {
				t.Errorf("applied %v, want [29991231235959]", applied)
			}
		})

		if snap := snapshot(t, s); strings.Contains(snap, "sneaky") {
			t.Errorf("an edited migration ran:\n%s", snap)
		}
	})
}
