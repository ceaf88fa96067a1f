package mail

import (
	"strings"
	"testing"
)

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want SMTPConfig
	}{
		{"ok, host and port", "smtp://mail.example.com:587",
			SMTPConfig{Host: "mail.example.com", Port: 587, TLS: TLSOpportunistic}},
		{"ok, credentials", "smtp://relay:s%40cret@mail.example.com:587",
			SMTPConfig{Host: "mail.example.com", Port: 587, Username: "relay", Password: "s@cret"}},
		{"ok, user without password", "smtp://relay@mail.example.com:25",
			SMTPConfig{Host: "mail.example.com", Port: 25, Username: "relay"}},
		{"ok, tls=none", "smtp://localhost:1025?tls=none",
			SMTPConfig{Host: "localhost", Port: 1025, TLS: TLSNone}},
		{"ok, tls=starttls", "smtp://u:p@mail.example.com:587?tls=starttls",
			SMTPConfig{Host: "mail.example.com", Port: 587, Username: "u", Password: "p", TLS: TLSStartTLS}},
		{"ok, tls=tls", "smtp://mail.example.com:465?tls=TLS",
			SMTPConfig{Host: "mail.example.com", Port: 465, TLS: TLSImplicit}},
		{"ok, trailing slash", "smtp://mail.example.com:587/",
			SMTPConfig{Host: "mail.example.com", Port: 587}},
		{"ok, IPv6 host", "smtp://[::1]:25?tls=none",
			SMTPConfig{Host: "::1", Port: 25, TLS: TLSNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSMTPURL(tt.raw)
			if err != nil {
				t.Fatalf("ParseSMTPURL(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Errorf("ParseSMTPURL(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseSMTPURLErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // besides SMTP_URL
	}{
		{"nok, empty", "", "scheme"},
		{"nok, bad scheme", "http://mail.example.com:587", `unknown scheme "http"`},
		{"nok, smtps scheme", "smtps://mail.example.com:465", "unknown scheme"},
		{"nok, no scheme", "mail.example.com:587", "unknown scheme"},
		{"nok, missing port", "smtp://mail.example.com", "needs a port"},
		{"nok, port zero", "smtp://mail.example.com:0", "port"},
		{"nok, port too big", "smtp://mail.example.com:70000", "port"},
		{"nok, missing host", "smtp://:587", "needs a host"},
		{"nok, bad tls value", "smtp://mail.example.com:587?tls=ssl", `tls="ssl"`},
		{"nok, unknown parameter", "smtp://mail.example.com:587?tsl=none", `unknown parameter "tsl"`},
		{"nok, path", "smtp://mail.example.com:587/inbox", "no path"},
		{"nok, password without user", "smtp://:pw@mail.example.com:587", "no user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSMTPURL(tt.raw)
			if err == nil {
				t.Fatalf("ParseSMTPURL(%q) succeeded", tt.raw)
			}
			if !strings.Contains(err.Error(), "SMTP_URL") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q should name SMTP_URL and say %q", err, tt.want)
			}
		})
	}
}

// A password must not reach a log through a configuration error.
func TestParseSMTPURLRedactsPassword(t *testing.T) {
	for _, raw := range []string{
		"smtp://relay:topsecret@mail.example.com:587?tls=bogus",
		"smtp://relay:topsecret@mail.example.com",
		"smtp://relay:topsecret@mail.example.com:587/x",
	} {
		_, err := ParseSMTPURL(raw)
		if err == nil {
			t.Fatalf("ParseSMTPURL(%q) succeeded", raw)
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}
