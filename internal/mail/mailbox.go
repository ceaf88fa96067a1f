package mail

import (
	"context"
	"slices"
	"sync"
	"time"
)

// DefaultMailboxLimit is how many mails a Mailbox keeps when not told.
const DefaultMailboxLimit = 500

// MailboxStore keeps a Mailbox's mails: in memory for tests, in the
// database for a dev server, so its mailbox outlives a restart.
type MailboxStore interface {
	// Append stores m and drops all but the newest keep mails.
	Append(ctx context.Context, m Mail, keep int) error
	// Newest returns up to limit mails, newest first.
	Newest(ctx context.Context, limit int) ([]Mail, error)
}

// Mailbox is the development Mailer: it keeps the last mails for people
// and tests to read (see Handler) and sends nothing anywhere.
type Mailbox struct {
	store MailboxStore
	limit int
	now   func() time.Time
}

var _ Mailer = (*Mailbox)(nil)

// NewMailbox keeps the last limit mails in store; a nil store keeps them in
// memory, and limit <= 0 means DefaultMailboxLimit. Bounded so a
// long-running dev server does not grow without end.
func NewMailbox(store MailboxStore, limit int) *Mailbox {
	if limit <= 0 {
		limit = DefaultMailboxLimit
	}
	if store == nil {
		store = &MemoryStore{}
	}
	return &Mailbox{store: store, limit: limit, now: time.Now}
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
	return b.store.Append(ctx, m, b.limit)
}

// All returns the kept mails, newest first; never nil, so an empty box is
// the JSON list [] rather than null.
func (b *Mailbox) All(ctx context.Context) ([]Mail, error) {
	all, err := b.store.Newest(ctx, b.limit)
	if all == nil {
		all = []Mail{}
	}
	return all, err
}

// Get returns the n-th newest mail: Get(0) is the last one sent, the same
// order and numbering as All.
func (b *Mailbox) Get(ctx context.Context, n int) (Mail, bool, error) {
	if n < 0 || n >= b.limit {
		return Mail{}, false, nil
	}
	all, err := b.store.Newest(ctx, n+1)
	if err != nil || n >= len(all) {
		return Mail{}, false, err
	}
	return all[n], true, nil
}

// Limit is how many mails the box keeps.
func (b *Mailbox) Limit() int { return b.limit }

// MemoryStore is a MailboxStore in memory.
type MemoryStore struct {
	mu    sync.Mutex
	mails []Mail // oldest first
}

func (s *MemoryStore) Append(_ context.Context, m Mail, keep int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mails = append(s.mails, m)
	if n := len(s.mails) - keep; n > 0 {
		s.mails = slices.Delete(s.mails, 0, n)
	}
	return nil
}

func (s *MemoryStore) Newest(_ context.Context, limit int) ([]Mail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(limit, len(s.mails))
	out := slices.Clone(s.mails[len(s.mails)-n:])
	slices.Reverse(out)
	return out, nil
}
