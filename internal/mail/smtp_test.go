package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func TestSMTPSend(t *testing.T) {
	const password = "pW-7xq!Lz<9>&"
	tests := []struct {
		name    string
		sink    sinkConfig
		mode    TLSMode
		wantTLS bool
	}{
		{"ok, tls=none with AUTH PLAIN", sinkConfig{User: "relay", Pass: "hunter2"}, TLSNone, false},
		{"ok, tls=none without auth", sinkConfig{}, TLSNone, false},
		{"ok, tls=starttls with AUTH PLAIN", sinkConfig{User: "relay", Pass: "hunter2", StartTLS: true}, TLSStartTLS, true},
		{"ok, tls=tls with AUTH PLAIN", sinkConfig{User: "relay", Pass: "hunter2", Implicit: true}, TLSImplicit, true},
		{"ok, default upgrades when offered", sinkConfig{StartTLS: true}, TLSOpportunistic, true},
		{"ok, default stays plain when not offered", sinkConfig{}, TLSOpportunistic, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk := startSink(t, tt.sink)
			s := mustSMTP(t, sk.config(tt.mode))
			m, err := RenderWelcome("Chat <company@example.com>", "ann@example.com", password)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := sk.Mails()
			if len(got) != 1 {
				t.Fatalf("sink got %d mails, want 1", len(got))
			}
			r := got[0]
			if r.From != "company@example.com" || len(r.To) != 1 || r.To[0] != "ann@example.com" {
				t.Errorf("envelope from %q to %q", r.From, r.To)
			}
			if r.TLS != tt.wantTLS {
				t.Errorf("delivered over TLS = %v, want %v", r.TLS, tt.wantTLS)
			}
			if r.User != tt.sink.User {
				t.Errorf("authenticated as %q, want %q", r.User, tt.sink.User)
			}
			p := parseMail(t, r.Data)
			if p.Subject != WelcomeSubject {
				t.Errorf("Subject = %q", p.Subject)
			}
			if p.From != "company@example.com" || p.To != "ann@example.com" {
				t.Errorf("headers From %q To %q", p.From, p.To)
			}
			if !strings.Contains(p.Parts["text/plain"], "generated password "+password+".") {
				t.Errorf("text part lacks the password:\n%s", p.Parts["text/plain"])
			}
			if !strings.Contains(p.Parts["text/html"], "pW-7xq!Lz&lt;9&gt;&amp;") {
				t.Errorf("html part lacks the escaped password:\n%s", p.Parts["text/html"])
			}
		})
	}
}

func TestSMTPSendFails(t *testing.T) {
	m := Mail{From: "company@example.com", To: "ann@example.com", Subject: "s", Text: "t"}
	tests := []struct {
		name          string
		config        func(t *testing.T) SMTPConfig
		mail          Mail
		wantTransient bool
		wantIn        string
	}{
		{"nok, 4xx reply", func(t *testing.T) SMTPConfig {
			return startSink(t, sinkConfig{Reject: failFirst(1, tempFailure)}).config(TLSNone)
		}, m, true, "451"},
		{"nok, 5xx reply", func(t *testing.T) SMTPConfig {
			return startSink(t, sinkConfig{Reject: failFirst(1, permFailure)}).config(TLSNone)
		}, m, false, "550"},
		{"nok, wrong password", func(t *testing.T) SMTPConfig {
			cfg := startSink(t, sinkConfig{User: "relay", Pass: "hunter2"}).config(TLSNone)
			cfg.Password = "wrong"
			return cfg
		}, m, false, "535"},
		{"nok, nobody listening", func(t *testing.T) SMTPConfig {
			return SMTPConfig{Host: "127.0.0.1", Port: freePort(t), TLS: TLSNone}
		}, m, true, "refused"},
		{"nok, starttls required but not offered", func(t *testing.T) SMTPConfig {
			return startSink(t, sinkConfig{}).config(TLSStartTLS)
		}, m, false, "STARTTLS"},
		{"nok, untrusted certificate", func(t *testing.T) SMTPConfig {
			cfg := startSink(t, sinkConfig{Implicit: true}).config(TLSImplicit)
			cfg.TLSConfig = nil
			return cfg
		}, m, false, "certificate"},
		{"nok, bad recipient address", func(t *testing.T) SMTPConfig {
			return startSink(t, sinkConfig{}).config(TLSNone)
		}, Mail{From: m.From, To: "not an address", Text: "t"}, false, "not an address"},
		{"nok, no body", func(t *testing.T) SMTPConfig {
			return startSink(t, sinkConfig{}).config(TLSNone)
		}, Mail{From: m.From, To: m.To}, false, "no text or HTML body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSMTP(t, tt.config(t))
			err := s.Send(context.Background(), tt.mail)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not mention %q", err, tt.wantIn)
			}
			if got := IsTransient(err); got != tt.wantTransient {
				t.Errorf("IsTransient(%q) = %v, want %v", err, got, tt.wantTransient)
			}
		})
	}
}

// A server that never answers must not hold a cancelled send for the
// whole timeout: that is what lets the outbox stop on time.
func TestSMTPSendStopsWhenCancelled(t *testing.T) {
	s := mustSMTP(t, SMTPConfig{Host: "127.0.0.1", Port: silentServer(t), TLS: TLSNone, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, Mail{From: "a@example.com", To: "b@example.com", Text: "t"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Send took %v after its context ended", took)
	}
}

func TestNewSMTPValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  SMTPConfig
		want string
	}{
		{"nok, no host", SMTPConfig{Port: 25}, "host"},
		{"nok, no port", SMTPConfig{Host: "mail"}, "port"},
		{"nok, password without user", SMTPConfig{Host: "mail", Port: 25, Password: "x"}, "user name"},
		{"nok, unknown tls mode", SMTPConfig{Host: "mail", Port: 25, TLS: TLSMode(9)}, "TLS mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSMTP(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSMTP error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func mustSMTP(t *testing.T, cfg SMTPConfig) *SMTP {
	t.Helper()
	s, err := NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

// parsedMail is what a mail client would show of a raw message.
type parsedMail struct {
	From, To, Subject string
	Parts             map[string]string // media type -> decoded body
}

func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	p := parsedMail{Subject: subject, Parts: map[string]string{}}
	if from, err := msg.Header.AddressList("From"); err == nil && len(from) == 1 {
		p.From = from[0].Address
	}
	if to, err := msg.Header.AddressList("To"); err == nil && len(to) == 1 {
		p.To = to[0].Address
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		p.Parts[mediaType] = decodeBody(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return p
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		pt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type: %v", err)
		}
		// multipart.Reader already undid quoted-printable and dropped the
		// header; base64 is left to us.
		p.Parts[pt] = decodeBody(t, part.Header.Get("Content-Transfer-Encoding"), part)
	}
}

func decodeBody(t *testing.T, encoding string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(encoding, "base64") {
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}
