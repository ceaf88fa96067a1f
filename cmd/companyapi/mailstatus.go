package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/companyapi/companyapi/internal/outbox"
)

// mailStatus prints the outbox: how many mails wait and for how long, and
// every mail given up, so that a failed mail is visible, not only logged.
func mailStatus(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	st, err := openStoreFromEnv(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	s, failed, err := outbox.Report(ctx, st.Client, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pending\t%d\toldest %v\nfailed\t%d\n", s.Pending, s.Oldest.Round(time.Second), s.Failed)
	for _, m := range failed {
		fmt.Fprintf(stdout, "%d\t%s\t%s\tqueued %s\tgiven up %s after %d tries\t%s\n", m.ID, m.Kind, m.To,
			m.CreatedAt.UTC().Format(time.RFC3339), m.FailedAt.UTC().Format(time.RFC3339), m.Attempts, m.LastError)
	}
	return nil
}
