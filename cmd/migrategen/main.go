// Command migrategen writes a new Atlas migration for each dialect from the
// difference between ent/schema and the migrations already in migrations/.
//
//	go run ./cmd/migrategen -name add_avatar
//
// It replays each directory into a dev database (a throwaway PostgreSQL
// database created on DEV_DATABASE_URL's server, and an in-memory SQLite),
// so nothing but Go and a reachable PostgreSQL is needed: not the Atlas CLI.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"ariga.io/atlas/sql/migrate"

	"github.com/companyapi/companyapi/internal/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "migrategen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrategen", flag.ContinueOnError)
	name := fs.String("name", "", "migration name, e.g. add_avatar (required)")
	root := fs.String("dir", "migrations", "directory holding postgres/ and sqlite/")
	devURL := fs.String("dev-url", envOr("DEV_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server on which a throwaway dev database is created")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("-name is required (make migration name=...)")
	}
	sqliteDB, err := store.OpenDevSQLite()
	if err != nil {
		return err
	}
	defer sqliteDB.Close()
	if err := diffInto(ctx, sqliteDB, store.SQLite, filepath.Join(*root, "sqlite"), *name); err != nil {
		return err
	}
	pgDB, drop, err := throwawayPostgres(ctx, *devURL)
	if err != nil {
		return err
	}
	defer drop()
	return diffInto(ctx, pgDB, store.Postgres, filepath.Join(*root, "postgres"), *name)
}

func diffInto(ctx context.Context, db *sql.DB, dialect, path, name string) error {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	dir, err := migrate.NewLocalDir(path)
	if err != nil {
		return err
	}
	wrote, err := store.Diff(ctx, db, dialect, dir, name)
	if err != nil {
		return fmt.Errorf("%s: %w", dialect, err)
	}
	if wrote {
		fmt.Printf("%s: new migration in %s\n", dialect, path)
	} else {
		fmt.Printf("%s: no changes, %s is up to date\n", dialect, path)
	}
	return nil
}

// throwawayPostgres creates an empty database on the server at serverURL
// and returns it with a func that drops it.
func throwawayPostgres(ctx context.Context, serverURL string) (*sql.DB, func(), error) {
	admin, err := sql.Open("postgres", serverURL)
	if err != nil {
		return nil, nil, err
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "companyapi_dev_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return nil, nil, fmt.Errorf("dev database on %s: %w", serverURL, err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		admin.Close()
		return nil, nil, err
	}
	u.Path = "/" + name
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		admin.Close()
		return nil, nil, err
	}
	return db, func() {
		db.Close()
		admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
