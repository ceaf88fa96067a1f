package broker

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/companyapi/companyapi/internal/storetest"
	"github.com/companyapi/companyapi/internal/testlog"
)

// TestPostgresCloseIsQuiet: closing the broker (every node's clean
// shutdown) drops the listening connection itself; that is no lost
// connection to warn about, nor one to make again. It logged "broker: lost
// the listening connection, reconnecting" at warn level on every SIGTERM.
func TestPostgresCloseIsQuiet(t *testing.T) {
	url := storetest.PostgresURL(t)
	var logs testlog.Buffer
	p, err := OpenPostgres(context.Background(), url, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// Close returns once the listener's goroutines are done, and with them
	// every event they report.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); strings.Contains(out, "level=WARN") || strings.Contains(out, "listening again") {
		t.Fatalf("a clean close logged:\n%s", out)
	}
}
