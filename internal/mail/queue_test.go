package mail

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

const secret = "S3cr3t-pw-do-not-log"

func TestQueueRetriesTransientOnce(t *testing.T) {
	sk := startSink(t, sinkConfig{Reject: failFirst(1, tempFailure)})
	q, logs := newTestQueue(t, QueueConfig{Mailer: mustSMTP(t, sk.config(TLSNone))})

	enqueue(t, q, welcome(t, "ann@example.com"))
	closeQueue(t, q)

	if got := len(sk.Mails()); got != 1 {
		t.Errorf("sink accepted %d mails, want exactly 1", got)
	}
	if got := sk.Attempts(); got != 2 {
		t.Errorf("sink saw %d attempts, want 2 (one 451, one accepted)", got)
	}
	if !strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("want one retry warning and no error, got logs:\n%s", logs)
	}
}

func TestQueueLogsFinalFailure(t *testing.T) {
	tests := []struct {
		name         string
		reject       error
		attempts     int
		wantAttempts int
		wantInLog    string
	}{
		{"nok, 5xx is not retried", permFailure, 5, 1, "550"},
		{"nok, 4xx until attempts run out", tempFailure, 3, 3, "451"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk := startSink(t, sinkConfig{Reject: func(int) error { return tt.reject }})
			q, logs := newTestQueue(t, QueueConfig{Mailer: mustSMTP(t, sk.config(TLSNone)), Attempts: tt.attempts})

			enqueue(t, q, welcome(t, "bob@example.com"))
			closeQueue(t, q)

			if got := sk.Attempts(); got != tt.wantAttempts {
				t.Errorf("sink saw %d attempts, want %d", got, tt.wantAttempts)
			}
			errLine := logLine(t, logs.String(), "level=ERROR")
			for _, want := range []string{"to=bob@example.com", tt.wantInLog} {
				if !strings.Contains(errLine, want) {
					t.Errorf("error line lacks %q: %s", want, errLine)
				}
			}
			if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), "generated password") {
				t.Errorf("logs carry the mail body:\n%s", logs)
			}
		})
	}
}

func TestQueueCloseWaitsForQueuedMails(t *testing.T) {
	box := NewMailbox(0)
	slow := mailerFunc(func(ctx context.Context, m Mail) error {
		if !sleep(ctx, 10*time.Millisecond) {
			return ctx.Err()
		}
		return box.Send(ctx, m)
	})
	q, _ := newTestQueue(t, QueueConfig{Mailer: slow, Workers: 2})
	for i := range 10 {
		enqueue(t, q, Mail{To: string(rune('a'+i)) + "@example.com"})
	}
	closeQueue(t, q)

	if got := len(box.All()); got != 10 {
		t.Errorf("Close returned with %d of 10 mails sent", got)
	}
	if err := q.Enqueue(Mail{To: "late@example.com"}); !errors.Is(err, ErrQueueClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrQueueClosed", err)
	}
}

func TestQueueCloseGivesUp(t *testing.T) {
	stuck := mailerFunc(func(ctx context.Context, _ Mail) error {
		<-ctx.Done() // a server that never answers, until cancelled
		return ctx.Err()
	})
	q, logs := newTestQueue(t, QueueConfig{Mailer: stuck, Workers: 1})
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		enqueue(t, q, Mail{To: to, Text: secret})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- q.Close(ctx) }()
	select {
	case err := <-closed:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung after its context expired")
	}
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if !strings.Contains(logs.String(), "to="+to) {
			t.Errorf("no failure logged for %s:\n%s", to, logs)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("logs carry the mail body:\n%s", logs)
	}
}

func TestQueueEnqueueNeverBlocks(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	blocking := mailerFunc(func(ctx context.Context, _ Mail) error {
		once.Do(func() { close(started) })
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	q, _ := newTestQueue(t, QueueConfig{Mailer: blocking, Workers: 1, Size: 1})

	enqueue(t, q, Mail{To: "a@example.com"}) // taken by the worker
	<-started
	enqueue(t, q, Mail{To: "b@example.com"}) // fills the buffer
	if err := q.Enqueue(Mail{To: "c@example.com"}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("Enqueue on a full queue = %v, want ErrQueueFull", err)
	}
	close(release)
	closeQueue(t, q)
}

func TestNewQueueDefaults(t *testing.T) {
	q := NewQueue(QueueConfig{Mailer: NewMailbox(0)})
	defer closeQueue(t, q)
	c := q.cfg
	if c.Size != 1024 || c.Attempts != 5 || c.Backoff != 500*time.Millisecond || c.Workers != 2 || c.MaxBackoff != 30*time.Second {
		t.Errorf("defaults = %+v", c)
	}
	if cap(q.mails) != 1024 {
		t.Errorf("buffer holds %d, want 1024", cap(q.mails))
	}
}

type mailerFunc func(ctx context.Context, m Mail) error

func (f mailerFunc) Send(ctx context.Context, m Mail) error { return f(ctx, m) }

// syncBuffer lets workers log while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestQueue starts a queue with fast retries that logs into the returned
// buffer, and makes sure it is closed when the test ends.
func newTestQueue(t *testing.T, cfg QueueConfig) (*Queue, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Backoff == 0 {
		cfg.Backoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	q := NewQueue(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = q.Close(ctx)
	})
	return q, logs
}

func enqueue(t *testing.T, q *Queue, m Mail) {
	t.Helper()
	if err := q.Enqueue(m); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func closeQueue(t *testing.T, q *Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func welcome(t *testing.T, to string) Mail {
	t.Helper()
	m, err := RenderWelcome("company@example.com", to, secret)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// logLine returns the one log line that contains marker.
func logLine(t *testing.T, logs, marker string) string {
	t.Helper()
	var found []string
	for line := range strings.Lines(logs) {
		if strings.Contains(line, marker) {
			found = append(found, line)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one log line with %q, got %d:\n%s", marker, len(found), logs)
	}
	return found[0]
}
