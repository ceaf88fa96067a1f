package mail

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Errors Enqueue returns instead of blocking the request that registers a
// user.
var (
	ErrQueueFull   = errors.New("mail: queue full")
	ErrQueueClosed = errors.New("mail: queue closed")
)

// QueueConfig sets up a Queue; zero fields take the defaults.
type QueueConfig struct {
	Mailer Mailer
	// Logger receives failures; default slog.Default(). Lines carry the
	// recipient and the error, never a body, which may hold a password.
	Logger *slog.Logger
	// Size is how many mails may wait; default 1024.
	Size int
	// Attempts is the most tries per mail, the first included; default 5.
	Attempts int
	// Backoff is the wait after the first failure, doubled after each
	// later one, with jitter; default 500ms.
	Backoff time.Duration
	// MaxBackoff caps a single wait; default 30s.
	MaxBackoff time.Duration
	// Workers is how many mails are sent at once; default 2.
	Workers int
}

func (c *QueueConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Size <= 0 {
		c.Size = 1024
	}
	if c.Attempts <= 0 {
		c.Attempts = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = 500 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = c.Backoff
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
}

// Queue sends mails in the background, retrying transient failures, so a
// registration never waits on the mail server (the seed's deliver_later).
type Queue struct {
	cfg    QueueConfig
	mails  chan Mail
	ctx    context.Context // cancelled when Close gives up
	cancel context.CancelFunc
	done   chan struct{} // closed when every worker has returned

	mu     sync.RWMutex // guards closed against a send on a closed channel
	closed bool
}

// NewQueue starts cfg.Workers workers. It panics without a Mailer, which is
// a wiring mistake rather than a runtime condition.
func NewQueue(cfg QueueConfig) *Queue {
	if cfg.Mailer == nil {
		panic("mail: NewQueue needs a Mailer")
	}
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		cfg:    cfg,
		mails:  make(chan Mail, cfg.Size),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(q.work)
	}
	go func() {
		wg.Wait()
		close(q.done)
	}()
	return q
}

// Enqueue hands m to the workers without waiting: ErrQueueFull when the
// buffer is full, ErrQueueClosed after Close.
func (q *Queue) Enqueue(m Mail) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrQueueClosed
	}
	select {
	case q.mails <- m:
		return nil
	default:
		return ErrQueueFull
	}
}

// Close stops accepting mails and waits until the queued ones are sent or
// have failed. When ctx ends first it gives up: in-flight sends are
// cancelled, the mails still waiting are logged as not sent, and Close
// returns ctx's error once the workers have returned.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.mails)
	}
	q.mu.Unlock()

	select {
	case <-q.done:
		q.cancel()
		return nil
	case <-ctx.Done():
	}
	q.cancel()
	<-q.done
	return ctx.Err()
}

func (q *Queue) work() {
	for m := range q.mails {
		q.deliver(m)
	}
}

// deliver tries m until it is sent, fails permanently, runs out of attempts
// or the queue gives up, and logs the outcome of a failure.
func (q *Queue) deliver(m Mail) {
	var err error
	attempt := 0
	for attempt < q.cfg.Attempts {
		if err = q.ctx.Err(); err != nil {
			break
		}
		attempt++
		if err = q.cfg.Mailer.Send(q.ctx, m); err == nil {
			return
		}
		if !IsTransient(err) || attempt == q.cfg.Attempts {
			break
		}
		wait := backoff(q.cfg.Backoff, q.cfg.MaxBackoff, attempt)
		q.cfg.Logger.Warn("mail not sent, will retry",
			"to", m.To, "attempt", attempt, "retry_in", wait, "err", err)
		if !sleep(q.ctx, wait) {
			err = q.ctx.Err()
			break
		}
	}
	q.cfg.Logger.Error("mail not sent",
		"to", m.To, "subject", m.Subject, "attempts", attempt, "transient", IsTransient(err), "err", err)
}
