package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPConfig is where and how SMTP delivers. ParseSMTPURL fills the first
// five fields from SMTP_URL; the rest are for tests and unusual relays.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      TLSMode

	// TLSConfig overrides certificate checks, e.g. a private CA. ServerName
	// defaults to Host.
	TLSConfig *tls.Config
	// Timeout bounds each network step of one delivery; default 30s.
	Timeout time.Duration
	// HELO is the name the client introduces itself with; default the
	// machine's host name.
	HELO string
}

const defaultSMTPTimeout = 30 * time.Second

// Validate reports the first thing that makes cfg unusable.
func (c SMTPConfig) Validate() error {
	switch {
	case c.Host == "":
		return errors.New("smtp: host is required")
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("smtp: port %d is not from 1 to 65535", c.Port)
	case c.TLS < TLSOpportunistic || c.TLS > TLSImplicit:
		return fmt.Errorf("smtp: unknown TLS mode %v", c.TLS)
	case c.Password != "" && c.Username == "":
		return errors.New("smtp: a password needs a user name")
	case c.Timeout < 0:
		return errors.New("smtp: timeout must not be negative")
	}
	return nil
}

// SMTP delivers through one SMTP server, a new connection per mail: the
// volume is one mail per registration, and a fresh go-mail client per send
// keeps concurrent workers from sharing its mutable state.
type SMTP struct {
	cfg  SMTPConfig
	opts []gomail.Option
}

var _ Mailer = (*SMTP)(nil)

// NewSMTP checks cfg and prepares the client options once.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultSMTPTimeout
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConf = cfg.TLSConfig.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = cfg.Host
	}
	cfg.TLSConfig = tlsConf

	opts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tlsConf),
	}
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		// The dialer (dial.go) does the TLS handshake; WithSSL only tells
		// go-mail not to try STARTTLS on top of it.
		opts = append(opts, gomail.WithSSL())
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		opts = append(opts,
			gomail.WithUsername(cfg.Username),
			gomail.WithPassword(cfg.Password),
			gomail.WithOpportunisticSMTPAuth(authMechanisms(cfg.TLS)...))
	}
	s := &SMTP{cfg: cfg, opts: opts}
	// Building a client once surfaces option errors here rather than on
	// the first registration.
	if _, _, err := s.client(context.Background()); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return s, nil
}

// authMechanisms lists what we offer, best first. PLAIN and LOGIN refuse to
// run on an unencrypted link (except to localhost) unless the operator chose
// tls=none, so opportunistic mode never leaks the password to a
// man-in-the-middle that strips STARTTLS.
func authMechanisms(mode TLSMode) []gomail.SMTPAuthType {
	plain, login := gomail.SMTPAuthPlain, gomail.SMTPAuthLogin
	if mode == TLSNone {
		plain, login = gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc
	}
	return []gomail.SMTPAuthType{
		gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5, plain, login,
	}
}

// client builds a go-mail client for one delivery; the caller closes the
// returned conns when the delivery is over.
func (s *SMTP) client(ctx context.Context) (*gomail.Client, *conns, error) {
	cs := &conns{ctx: ctx, cfg: s.cfg}
	opts := append(s.opts[:len(s.opts):len(s.opts)], gomail.WithDialContextFunc(cs.dial))
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	return c, cs, err
}

// Send delivers m in one SMTP transaction. Use IsTransient on the error to
// decide whether trying again can help.
func (s *SMTP) Send(ctx context.Context, m Mail) error {
	msg, err := message(m)
	if err != nil {
		return err
	}
	c, cs, err := s.client(ctx)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer cs.closeAll()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("smtp: %w: %w", ctxErr, err)
		}
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}
