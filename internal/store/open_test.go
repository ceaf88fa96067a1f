package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

func TestOpenUnreachablePostgres(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	// The deadline only guards against a hang; the assertion is the kind.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("postgres://app:hunter2@127.0.0.1:%d/chat?sslmode=disable", port)
	s, err := store.Open(ctx, url, store.Options{ConnectTimeout: 300 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("Open on a closed port succeeded")
	}
	if !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("Open: %v, want store.ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := store.Open(context.Background(), "mysql://x", store.Options{})
	if err == nil || errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("Open(mysql://x): %v, want a DATABASE_URL error", err)
	}
}

// TestOpenMissingDatabase: a database that does not exist will not appear by
// waiting, so Open fails at once instead of retrying until the timeout.
func TestOpenMissingDatabase(t *testing.T) {
	base := storetest.PostgresURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/companyapi_no_such_database"
	start := time.Now()
	_, err = store.Open(context.Background(), u.String(), store.Options{ConnectTimeout: time.Minute})
	if err == nil || errors.Is(err, store.ErrUnreachable) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err %v, want a permanent 'does not exist' error", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("a missing database was retried")
	}
}
