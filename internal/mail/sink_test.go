package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// sinkConfig shapes a test SMTP server.
type sinkConfig struct {
	User, Pass string // when set, AUTH PLAIN with these is required
	StartTLS   bool   // offer STARTTLS
	Implicit   bool   // speak TLS from the first byte
	// Reject, when set, answers the n-th DATA command (from 1); a nil
	// result accepts the mail.
	Reject func(n int) error
}

// received is one mail the sink accepted.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

// sink is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that records
// what go-mail hands it.
type sink struct {
	cfg  sinkConfig
	Host string
	Port int

	mu    sync.Mutex
	got   []received
	datas int
}

func startSink(t *testing.T, cfg sinkConfig) *sink {
	t.Helper()
	s := &sink{cfg: cfg}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	// Plain-text AUTH only where the test says there is no TLS, so a TLS
	// test proves the password went over an encrypted link.
	srv.AllowInsecureAuth = !cfg.StartTLS && !cfg.Implicit
	if cfg.StartTLS || cfg.Implicit {
		srv.TLSConfig = serverTLS(t)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Implicit {
		l = tls.NewListener(l, serverTLS(t))
	}
	addr := l.Addr().(*net.TCPAddr)
	s.Host, s.Port = addr.IP.String(), addr.Port
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		// Serve registers l only once it runs; closing l ourselves ends a
		// Serve that had not yet started when Close looked.
		_ = l.Close()
		<-served
	})
	return s
}

// config is an SMTPConfig that reaches the sink with the given mode.
func (s *sink) config(mode TLSMode) SMTPConfig {
	return SMTPConfig{
		Host: s.Host, Port: s.Port, TLS: mode,
		Username: s.cfg.User, Password: s.cfg.Pass,
		TLSConfig: clientTLS(), Timeout: 5 * time.Second, HELO: "test.local",
	}
}

// Mails returns the accepted mails, oldest first.
func (s *sink) Mails() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// Attempts counts DATA commands, accepted or not.
func (s *sink) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.datas
}

type sinkSession struct {
	sink *sink
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.sink.cfg.User || pass != ss.sink.cfg.Pass {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.sink.cfg.User != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	s.datas++
	if s.cfg.Reject != nil {
		if err := s.cfg.Reject(s.datas); err != nil {
			return err
		}
	}
	_, isTLS := ss.conn.TLSConnectionState()
	s.got = append(s.got, received{From: ss.from, To: ss.to, Data: data, TLS: isTLS, User: ss.user})
	return nil
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }

// Replies the sink can answer DATA with.
var (
	tempFailure = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	permFailure = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
)

// failFirst rejects the first n attempts with err and accepts the rest.
func failFirst(n int, err error) func(int) error {
	return func(attempt int) error {
		if attempt <= n {
			return err
		}
		return nil
	}
}

// freePort returns a port on 127.0.0.1 that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// silentServer accepts connections and never says a word, like a mail
// server that hangs.
func silentServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

// testCert is a self-signed certificate for 127.0.0.1, made once.
var testCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "companyapi test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
})

func serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	cert, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// clientTLS trusts the test certificate and nothing else.
func clientTLS() *tls.Config {
	cert, err := testCert()
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
