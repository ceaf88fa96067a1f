package auth

import (
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	tk := NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	s, c, err := tk.Issue(42, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := got.UserID(); id != 42 || got.Issuer != Issuer || got.ID != c.ID || len(got.ID) != 32 {
		t.Fatalf("claims %+v", got)
	}
	if d := got.ExpiresAt.Sub(got.IssuedAt.Time); d != time.Hour {
		t.Fatalf("lifetime %v", d)
	}
	_, c2, _ := tk.Issue(42, 0)
	if c2.ID == c.ID {
		t.Fatal("jti repeated")
	}
	other := NewTokens([]byte("another-secret-0123456789abcdefgh"), time.Hour)
	if _, err := other.Parse(s); err == nil {
		t.Fatal("token verified with another secret")
	}
	past := NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	past.now = func() time.Time { return time.Now().Add(-3 * time.Hour) }
	old, _, _ := past.Issue(42, 0)
	if _, err := tk.Parse(old); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}
	for _, sub := range []string{"Admin:1", "User:x", "User:0"} {
		if _, err := (&Claims{}).withSubject(sub).UserID(); err == nil {
			t.Fatalf("subject %q accepted", sub)
		}
	}
}

func (c *Claims) withSubject(s string) *Claims { c.Subject = s; return c }
