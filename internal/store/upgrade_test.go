package store_test

import (
	"context"
	"sync"
	"testing"

	"ariga.io/atlas/sql/migrate"

	"github.com/companyapi/companyapi/internal/seed"
	"github.com/companyapi/companyapi/internal/store"
)

// firstOnly is the migration directory as it was at its first file.
func firstOnly(t *testing.T, dialect string) *migrate.MemDir {
	t.Helper()
	all := mustFiles(t, memCopy(t, dialect))
	dir := &migrate.MemDir{}
	if err := dir.WriteFile(all[0].Name(), all[0].Bytes()); err != nil {
		t.Fatal(err)
	}
	rewriteSum(t, dir)
	return dir
}

// TestUpgradeKeepsData applies the first migration, stores a conversation
// with messages, then applies the rest: every later migration (SQLite
// rebuilds tables to change them) must keep the rows, including those that
// point at a rebuilt table.
func TestUpgradeKeepsData(t *testing.T) {
	eachURL(t, func(t *testing.T, dialect, url string) {
		if len(versions(t, dialect)) < 2 {
			t.Skip("a single migration: nothing to upgrade through")
		}
		ctx := context.Background()
		s := open(t, url)
		if _, err := store.MigrateDir(ctx, s.DB, dialect, firstOnly(t, dialect)); err != nil {
			t.Fatal(err)
		}
		// Rows as the first migration's tables take them: the Ent client
		// knows only today's columns.
		l := seed.Loader{DB: s.DB, Dialect: dialect}
		users, err := l.Users(ctx, "up", 2, "h")
		if err != nil {
			t.Fatal(err)
		}
		convs, err := l.Conversations(ctx, [][2]int{{users[0], users[1]}})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Messages(ctx, convs[0], [2]int{users[0], users[1]}, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		if n := s.Client.Message.Query().CountX(ctx); n != 3 {
			t.Fatalf("%d messages after the upgrade, want 3", n)
		}
		if n := s.Client.Conversation.Query().CountX(ctx); n != 1 {
			t.Fatalf("%d conversations after the upgrade, want 1", n)
		}
		// Foreign keys are enforced again on the store's connections.
		if err := s.Client.Message.Create().SetContent("x").SetSenderID(users[0]).SetConversationID(convs[0] + 1000).Exec(ctx); err == nil {
			t.Fatal("a message for a missing conversation was stored: foreign keys left off")
		}
	})
}

// TestConcurrentMigrate: several nodes starting at once on a fresh
// database all succeed, one of them applying the migrations.
func TestConcurrentMigrate(t *testing.T) {
	eachURL(t, func(t *testing.T, dialect, url string) {
		ctx := context.Background()
		var wg sync.WaitGroup
		applied := make([][]string, 4)
		errs := make([]error, 4)
		for i := range applied {
			s := open(t, url)
			wg.Add(1)
			go func() {
				defer wg.Done()
				applied[i], errs[i] = s.Migrate(ctx)
			}()
		}
		wg.Wait()
		total := 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
			total += len(applied[i])
		}
		if want := len(versions(t, dialect)); total != want {
			t.Fatalf("%d migrations applied in all, want %d", total, want)
		}
	})
}
