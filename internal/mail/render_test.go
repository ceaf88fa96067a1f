package mail

import (
	"strings"
	"testing"
	"time"
)

func TestRenderWelcome(t *testing.T) {
	tests := []struct {
		name     string
		password string
		wantHTML string // how the password must appear in the HTML body
	}{
		{"ok, plain password", "Xk3-pq9Z", "Xk3-pq9Z"},
		{"ok, password with markup is escaped", `a<b>&"c`, "a&lt;b&gt;&amp;&#34;c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := RenderWelcome("company@example.com", "ann@example.com", tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != "Generated password" || m.From != "company@example.com" || m.To != "ann@example.com" {
				t.Errorf("headers: from %q to %q subject %q", m.From, m.To, m.Subject)
			}
			sentence := "Welcome. This is your generated password " + tt.password + ". You can change it anytime."
			if !strings.Contains(m.Text, sentence) {
				t.Errorf("text body lacks %q:\n%s", sentence, m.Text)
			}
			if !strings.Contains(m.HTML, "<h1>Welcome to Chat</h1>") {
				t.Errorf("html body lacks the seed's heading:\n%s", m.HTML)
			}
			if !strings.Contains(m.HTML, tt.wantHTML) {
				t.Errorf("html body lacks %q:\n%s", tt.wantHTML, m.HTML)
			}
			if tt.password != tt.wantHTML && strings.Contains(m.HTML, tt.password) {
				t.Errorf("html body carries the password unescaped")
			}
		})
	}
}

func TestRenderPasswordReset(t *testing.T) {
	m, err := RenderPasswordReset("company@example.com", "ann@example.com", "tok<en>", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Reset your password" || m.From != "company@example.com" || m.To != "ann@example.com" {
		t.Errorf("headers: from %q to %q subject %q", m.From, m.To, m.Subject)
	}
	for _, want := range []string{"Your reset token is tok<en>", "within 1 hour", "PUT /api/password_resets/tok<en>"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, "tok&lt;en&gt;") || strings.Contains(m.HTML, "tok<en>") {
		t.Errorf("html body does not carry the token escaped:\n%s", m.HTML)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1 hour", 2 * time.Hour: "2 hours", 30 * time.Minute: "30 minutes", time.Minute: "1 minute", 90 * time.Minute: "90 minutes",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
