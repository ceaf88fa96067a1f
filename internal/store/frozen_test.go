package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestFrozenServerCallsEndWithTheirContext reproduces the hang found with
// PostgreSQL's processes stopped by SIGSTOP: lib/pq alone waited for the
// whole freeze. Every kind of call — on a pooled connection, a new
// connection, inside a transaction, through a prepared statement — must
// return its context's error once the context ends, and the store must work
// again once the server is thawed.
func TestFrozenServerCallsEndWithTheirContext(t *testing.T) {
	c := storetest.StartCluster(t)
	url := c.CreateDatabase(t, "frozen")
	ctx := context.Background()
	st, err := store.Open(ctx, url, store.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.DB.ExecContext(ctx, `CREATE TABLE t (id int)`); err != nil {
		t.Fatal(err)
	}
	stmt, err := st.DB.PrepareContext(ctx, `INSERT INTO t VALUES ($1)`)
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()

	calls := map[string]func(context.Context) error{
		"ping": st.Ping,
		"query": func(ctx context.Context) error {
			rows, err := st.DB.QueryContext(ctx, `SELECT id FROM t`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return rows.Err()
		},
		"exec": func(ctx context.Context) error {
			_, err := st.DB.ExecContext(ctx, `INSERT INTO t VALUES (1)`)
			return err
		},
		"prepared": func(ctx context.Context) error {
			_, err := stmt.ExecContext(ctx, 2)
			return err
		},
		"transaction": func(ctx context.Context) error {
			tx, err := st.DB.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (3)`); err != nil {
				return err
			}
			return tx.Commit()
		},
	}
	for name, call := range calls {
		if err := call(ctx); err != nil {
			t.Fatalf("%s before the freeze: %v", name, err)
		}
	}

	c.Freeze(t)
	for name, call := range calls {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		errc := make(chan error, 1)
		go func() { errc <- call(cctx) }()
		select {
		case err := <-errc:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s on a frozen server: %v, want context.DeadlineExceeded", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s on a frozen server still waits 10 s after its 200 ms deadline", name)
		}
		cancel()
	}
	c.Thaw(t)

	for name, call := range calls {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := call(cctx); err != nil {
			t.Errorf("%s after the thaw: %v", name, err)
		}
		cancel()
	}
}
