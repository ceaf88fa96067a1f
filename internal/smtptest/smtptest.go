// Package smtptest runs a real SMTP server (emersion/go-smtp) on loopback
// for tests: it records the mails it accepts, and can be stopped and started
// again on the same port, as a mail server that goes down and comes back.
// It is for tests only.
package smtptest

import (
	"fmt"
	"io"
	"log"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one accepted mail.
type Mail struct {
	From string
	To   []string
	Data string // the whole message, headers and body
}

// Server is the SMTP server.
type Server struct {
	Port int

	mu      sync.Mutex
	srv     *smtp.Server
	ln      net.Listener
	mails   []Mail
	arrived chan struct{} // closed and replaced on each mail
}

// Start listens on a free loopback port; the server stops when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{})}
	if err := s.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

// URL is an SMTP_URL that reaches the server.
func (s *Server) URL() string { return fmt.Sprintf("smtp://127.0.0.1:%d?tls=none", s.Port) }

// Stop closes the listener and every session: connecting is refused.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

// Restart listens again on the same port.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", s.Port)
	var err error
	for range 50 { // the port may linger briefly after Stop
		if err = s.listen(addr); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("smtptest: restart on %s: %v", addr, err)
}

func (s *Server) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

func (s *Server) stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
		_ = ln.Close()
	}
}

// Mails returns the accepted mails, oldest first.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitFor waits until at least n mails have arrived, or fails t after
// timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got, arrived := len(s.mails), s.arrived
		s.mu.Unlock()
		if got >= n {
			return s.Mails()
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("smtptest: %d mails arrived within %v, want %d", got, timeout, n)
		}
	}
}

var generatedPassword = regexp.MustCompile(`generated password ([A-Za-z0-9_-]{16,})\.`)

// Password returns the generated password of a welcome mail, or "".
func (m Mail) Password() string {
	if p := generatedPassword.FindStringSubmatch(m.Data); p != nil {
		return p[1]
	}
	return ""
}

// Recipient is the mail's one recipient.
func (m Mail) Recipient() string {
	if len(m.To) == 0 {
		return ""
	}
	return strings.ToLower(m.To[0])
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error { x.from = from; return nil }
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error   { x.to = append(x.to, to); return nil }
func (x *session) Reset()                                      { x.from, x.to = "", nil }
func (x *session) Logout() error                               { return nil }

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.mails = append(x.s.mails, Mail{From: x.from, To: x.to, Data: string(b)})
	close(x.s.arrived)
	x.s.arrived = make(chan struct{})
	x.s.mu.Unlock()
	return nil
}
