package mail

import (
	"context"
	"slices"
	"sync"
	"time"
)

// DefaultMailboxLimit is how many mails a Mailbox keeps when not told.
const DefaultMailboxLimit = 500

// Mailbox is the development Mailer: it keeps the last mails in memory for
// people and tests to read (see Handler) and sends nothing anywhere.
type Mailbox struct {
	limit int
	now   func() time.Time

	mu    sync.Mutex
	mails []Mail // oldest first
}

var _ Mailer = (*Mailbox)(nil)

// NewMailbox keeps the last limit mails; limit <= 0 means
// DefaultMailboxLimit. Bounded so a long-running dev server does not grow
// without end.
func NewMailbox(limit int) *Mailbox {
	if limit <= 0 {
		limit = DefaultMailboxLimit
	}
	return &Mailbox{limit: limit, now: time.Now}
}

// Send stores m, stamping SentAt when it is zero, and drops the oldest mail
// once the box is full.
func (b *Mailbox) Send(ctx context.Context, m Mail) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.SentAt.IsZero() {
		m.SentAt = b.now().UTC()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.mails) == b.limit {
		// Shift rather than grow: the slice keeps its capacity.
		copy(b.mails, b.mails[1:])
		b.mails = b.mails[:len(b.mails)-1]
	}
	b.mails = append(b.mails, m)
	return nil
}

// All returns the kept mails, newest first; never nil, so an empty box is
// the JSON list [] rather than null.
func (b *Mailbox) All() []Mail {
	b.mu.Lock()
	all := make([]Mail, len(b.mails))
	copy(all, b.mails)
	b.mu.Unlock()
	slices.Reverse(all)
	return all
}

// Get returns the n-th newest mail: Get(0) is the last one sent, the same
// order and numbering as All.
func (b *Mailbox) Get(n int) (Mail, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 || n >= len(b.mails) {
		return Mail{}, false
	}
	return b.mails[len(b.mails)-1-n], true
}

// Limit is how many mails the box keeps.
func (b *Mailbox) Limit() int { return b.limit }
