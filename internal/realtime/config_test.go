package realtime

import (
	"context"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	b := newFakeBackend(t)
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok, defaults", Config{Auth: b.Auth, Chat: b.Chat}, true},
		{"nok, no Auth", Config{Chat: b.Chat}, false},
		{"nok, no Chat", Config{Auth: b.Auth}, false},
		{"nok, negative timeout", Config{Auth: b.Auth, Chat: b.Chat, IdleTimeout: -time.Second}, false},
		{"nok, origin with a path", Config{Auth: b.Auth, Chat: b.Chat, AllowedOrigins: []string{"https://app.example.com/x"}}, false},
		{"nok, origin without scheme", Config{Auth: b.Auth, Chat: b.Chat, AllowedOrigins: []string{"app.example.com"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok = %v", err, tt.ok)
			}
			if err != nil {
				return
			}
			defer srv.Shutdown(context.Background())
			c := srv.cfg
			if c.IdleTimeout != DefaultIdleTimeout || c.OutboundQueue != DefaultOutboundQueue || c.MaxFrame != DefaultMaxFrame ||
				c.WriteTimeout != DefaultWriteTimeout || c.SendTimeout != DefaultSendTimeout || c.Logger == nil {
				t.Errorf("defaults not filled: %+v", c)
			}
		})
	}
}
