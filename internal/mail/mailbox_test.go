package mail

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestMailboxKeepsNewestWithinLimit(t *testing.T) {
	box := NewMailbox(nil, 3)
	for i := 1; i <= 5; i++ {
		if err := box.Send(context.Background(), Mail{Subject: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := all(t, box)
	var subjects []string
	for _, m := range got {
		subjects = append(subjects, m.Subject)
	}
	if fmt.Sprint(subjects) != "[5 4 3]" {
		t.Errorf("All() subjects = %v, want [5 4 3]", subjects)
	}
	if m, ok, _ := box.Get(context.Background(), 0); !ok || m.Subject != "5" {
		t.Errorf("Get(0) = %q, %v; want the newest", m.Subject, ok)
	}
	if _, ok, _ := box.Get(context.Background(), 3); ok {
		t.Error("Get(3) found a mail beyond the limit")
	}
}

func TestMailboxStampsSentAt(t *testing.T) {
	box := NewMailbox(nil, 0)
	fixed := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	_ = box.Send(context.Background(), Mail{Subject: "unstamped"})
	_ = box.Send(context.Background(), Mail{Subject: "stamped", SentAt: fixed})
	got := all(t, box)
	if !got[0].SentAt.Equal(fixed) {
		t.Errorf("SentAt overwritten: %v", got[0].SentAt)
	}
	if since := time.Since(got[1].SentAt); got[1].SentAt.IsZero() || since < 0 || since > time.Minute {
		t.Errorf("SentAt not stamped with now: %v", got[1].SentAt)
	}
	if box.Limit() != DefaultMailboxLimit {
		t.Errorf("Limit() = %d, want %d", box.Limit(), DefaultMailboxLimit)
	}
}

func TestMailboxConcurrentSends(t *testing.T) {
	box := NewMailbox(nil, 50)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			_ = box.Send(context.Background(), Mail{Subject: fmt.Sprint(i)})
			_, _ = box.All(context.Background())
		})
	}
	wg.Wait()
	if got := len(all(t, box)); got != 50 {
		t.Errorf("kept %d mails, want the limit 50", got)
	}
}

func TestMailboxHonoursCancelledContext(t *testing.T) {
	box := NewMailbox(nil, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := box.Send(ctx, Mail{}); err == nil {
		t.Error("Send on a cancelled context succeeded")
	}
	if len(all(t, box)) != 0 {
		t.Error("a cancelled send was stored")
	}
}

func all(t *testing.T, box *Mailbox) []Mail {
	t.Helper()
	m, err := box.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return m
}
