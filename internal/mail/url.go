package mail

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// TLSMode says how the SMTP connection is encrypted.
type TLSMode int

// TLS modes an SMTP_URL may select with ?tls=.
const (
	// TLSOpportunistic upgrades with STARTTLS when the server offers it and
	// stays in plain text otherwise. It is the default because it works with
	// local relays and real providers alike; credentials are still never
	// sent over an unencrypted link in this mode (see SMTP).
	TLSOpportunistic TLSMode = iota
	// TLSNone never encrypts (tls=none), e.g. a relay on localhost.
	TLSNone
	// TLSStartTLS requires STARTTLS and fails if the server lacks it
	// (tls=starttls), usually port 587.
	TLSStartTLS
	// TLSImplicit speaks TLS from the first byte (tls=tls), usually port 465.
	TLSImplicit
)

// String names the mode as the tls= parameter spells it.
func (m TLSMode) String() string {
	switch m {
	case TLSOpportunistic:
		return "opportunistic"
	case TLSNone:
		return "none"
	case TLSStartTLS:
		return "starttls"
	case TLSImplicit:
		return "tls"
	default:
		return fmt.Sprintf("TLSMode(%d)", int(m))
	}
}

var tlsModes = map[string]TLSMode{
	"none":     TLSNone,
	"starttls": TLSStartTLS,
	"tls":      TLSImplicit,
}

// ParseSMTPURL reads smtp://[user:pass@]host:port[?tls=none|starttls|tls].
// Without tls= the connection uses opportunistic STARTTLS. The port is
// required because 25, 465 and 587 each imply a different setup and a guess
// would fail in ways that are slow to diagnose.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, fmt.Errorf("SMTP_URL: %v", redactErr(err))
	}
	bad := func(format string, args ...any) (SMTPConfig, error) {
		return SMTPConfig{}, fmt.Errorf("SMTP_URL %q: "+format, append([]any{u.Redacted()}, args...)...)
	}
	if u.Scheme != "smtp" {
		return bad("unknown scheme %q, want smtp://[user:pass@]host:port[?tls=none|starttls|tls]", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return bad("needs a host, e.g. smtp://mail.example.com:587")
	}
	if u.Path != "" && u.Path != "/" {
		return bad("takes no path")
	}
	if u.Port() == "" {
		return bad("needs a port, e.g. :587 for STARTTLS or :465 with ?tls=tls")
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port < 1 || port > 65535 {
		return bad("port %q is not a number from 1 to 65535", u.Port())
	}
	cfg := SMTPConfig{Host: u.Hostname(), Port: port}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		if cfg.Username == "" {
			return bad("has a password but no user name")
		}
	}
	for key, values := range u.Query() {
		if key != "tls" {
			return bad("unknown parameter %q, only tls= is read", key)
		}
		mode, ok := tlsModes[strings.ToLower(values[len(values)-1])]
		if !ok {
			return bad("tls=%q, want none, starttls or tls", values[len(values)-1])
		}
		cfg.TLS = mode
	}
	return cfg, nil
}

// redactErr drops the URL from a parse error, since it may hold a password.
func redactErr(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}
