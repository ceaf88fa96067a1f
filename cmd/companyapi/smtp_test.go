package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is a real SMTP server that keeps what it receives.
type sink struct {
	mu   sync.Mutex
	msgs []string
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }

type session struct {
	s *sink
}

func (*session) Mail(string, *smtp.MailOptions) error { return nil }
func (*session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*session) Reset()                               {}
func (*session) Logout() error                        { return nil }
func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, string(b))
	x.s.mu.Unlock()
	return err
}

func (s *sink) wait(t *testing.T) string {
	t.Helper()
	for range 200 {
		s.mu.Lock()
		if len(s.msgs) > 0 {
			m := s.msgs[0]
			s.mu.Unlock()
			return m
		}
		s.mu.Unlock()
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("no mail reached the SMTP server")
	return ""
}

// TestRegistrationMailsThroughSMTP runs the binary with SMTP_URL: the
// generated password travels by SMTP only, and logs in.
func TestRegistrationMailsThroughSMTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box := &sink{}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	env := sqliteEnv(t)
	env["SMTP_URL"] = "smtp://" + ln.Addr().String() + "?tls=none"
	env["MAIL_FROM"] = "chat@company.test"
	base, stop := startServer(t, env)
	defer stop()

	post := func(path, body string) (int, []byte) {
		res, err := client.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	code, body := post("/api/users", `{"user":{"name":"Ann","subname":"Doe","email":"ann@example.com","job":"engineer"}}`)
	if code != 201 {
		t.Fatalf("register: %d %s", code, body)
	}
	msg := box.wait(t)
	for _, want := range []string{"Subject: Generated password", "To: <ann@example.com>", "From: <chat@company.test>"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("mail lacks %q:\n%s", want, msg)
		}
	}
	m := regexp.MustCompile(`generated password ([A-Za-z0-9_-]{16,})\.`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("no password in the mail:\n%s", msg)
	}
	if bytes.Contains(body, []byte(m[1])) {
		t.Fatal("password in the registration response")
	}
	creds, _ := json.Marshal(map[string]any{"creds": map[string]string{"email": "ann@example.com", "password": m[1]}})
	if code, body := post("/api/login", string(creds)); code != 200 {
		t.Fatalf("login with the mailed password: %d %s", code, body)
	}
}
