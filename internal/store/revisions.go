package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ariga.io/atlas/sql/migrate"
)

// revisionTable is the name the Atlas CLI uses, so that people who have the
// CLI see the same history.
const revisionTable = "atlas_schema_revisions"

// querier is what revisions need: a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// revisions stores Atlas revisions in a plain table; the Atlas CLI's own
// storage lives in its cmd module, which is not served here.
type revisions struct {
	q       querier
	dialect string
	schema  string
}

var _ migrate.RevisionReadWriter = (*revisions)(nil)

func (r *revisions) Ident() *migrate.TableIdent {
	return &migrate.TableIdent{Name: revisionTable, Schema: r.schema}
}

func (r *revisions) ph(i int) string {
	if r.dialect == Postgres {
		return fmt.Sprintf("$%d", i)
	}
	return "?"
}

func (r *revisions) create(ctx context.Context) error {
	_, err := r.q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+revisionTable+` (
	version varchar(255) NOT NULL PRIMARY KEY,
	description varchar(255) NOT NULL,
	type bigint NOT NULL DEFAULT 2,
	applied bigint NOT NULL DEFAULT 0,
	total bigint NOT NULL DEFAULT 0,
	executed_at varchar(64) NOT NULL,
	execution_time bigint NOT NULL,
	error text NULL,
	error_stmt text NULL,
	hash varchar(255) NOT NULL,
	partial_hashes text NULL,
	operator_version varchar(255) NOT NULL
)`)
	return err
}

const revisionColumns = `version, description, type, applied, total, executed_at, execution_time, error, error_stmt, hash, partial_hashes, operator_version`

func (r *revisions) ReadRevisions(ctx context.Context) ([]*migrate.Revision, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+revisionColumns+` FROM `+revisionTable+` ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*migrate.Revision
	for rows.Next() {
		rev, err := scanRevision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rev)
	}
	return out, rows.Err()
}

func (r *revisions) ReadRevision(ctx context.Context, v string) (*migrate.Revision, error) {
	rev, err := scanRevision(r.q.QueryRowContext(ctx, `SELECT `+revisionColumns+` FROM `+revisionTable+` WHERE version = `+r.ph(1), v))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, migrate.ErrRevisionNotExist
	}
	return rev, err
}

func (r *revisions) WriteRevision(ctx context.Context, rev *migrate.Revision) error {
	hashes, err := json.Marshal(rev.PartialHashes)
	if err != nil {
		return err
	}
	args := []any{rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total,
		rev.ExecutedAt.UTC().Format(time.RFC3339Nano), int64(rev.ExecutionTime),
		nullString(rev.Error), nullString(rev.ErrorStmt), rev.Hash, string(hashes), rev.OperatorVersion}
	if _, err := r.q.ExecContext(ctx, `DELETE FROM `+revisionTable+` WHERE version = `+r.ph(1), rev.Version); err != nil {
		return err
	}
	ph := ""
	for i := range args {
		if i > 0 {
			ph += ", "
		}
		ph += r.ph(i + 1)
	}
	_, err = r.q.ExecContext(ctx, `INSERT INTO `+revisionTable+` (`+revisionColumns+`) VALUES (`+ph+`)`, args...)
	return err
}

func (r *revisions) DeleteRevision(ctx context.Context, v string) error {
	_, err := r.q.ExecContext(ctx, `DELETE FROM `+revisionTable+` WHERE version = `+r.ph(1), v)
	return err
}

type scanner interface{ Scan(dest ...any) error }

func scanRevision(s scanner) (*migrate.Revision, error) {
	var (
		rev                   migrate.Revision
		typ, execTime         int64
		executedAt            string
		errText, errStmt, phs sql.NullString
	)
	if err := s.Scan(&rev.Version, &rev.Description, &typ, &rev.Applied, &rev.Total, &executedAt,
		&execTime, &errText, &errStmt, &rev.Hash, &phs, &rev.OperatorVersion); err != nil {
		return nil, err
	}
	rev.Type = migrate.RevisionType(typ)
	rev.ExecutionTime = time.Duration(execTime)
	rev.ExecutedAt, _ = time.Parse(time.RFC3339Nano, executedAt)
	rev.Error, rev.ErrorStmt = errText.String, errStmt.String
	if phs.Valid && phs.String != "" && phs.String != "null" {
		if err := json.Unmarshal([]byte(phs.String), &rev.PartialHashes); err != nil {
			return nil, fmt.Errorf("revision %s: partial hashes: %w", rev.Version, err)
		}
	}
	return &rev, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
