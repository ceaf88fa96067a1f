package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/companyapi/companyapi/ent"
)

// withTx runs fn in a transaction, rolling back on error or panic.
func withTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) (err error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if v := recover(); v != nil {
			tx.Rollback() //nolint:errcheck // panicking anyway
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	return tx.Commit()
}
