// Package config reads the environment once, at start, into a validated
// Config. No other package reads os.Getenv.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/companyapi/companyapi/ent/schema"
	"github.com/companyapi/companyapi/internal/store"
)

// Environments APP_ENV may name.
const (
	Dev  = "dev"
	Prod = "prod"
)

// Config is everything the binary reads from its environment.
type Config struct {
	Addr string
	// AdminAddr is where /metrics and /debug/pprof/ are served, a listener
	// of their own, never Addr; "" serves neither.
	AdminAddr      string
	DatabaseURL    string
	Env            string
	JWTSecret      []byte
	TokenTTL       time.Duration
	SMTPURL        string
	MailFrom       string
	LogLevel       slog.Level
	MigrateOnStart bool
	RateLimitLogin int
	AllowedOrigins []string
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client, for per-IP rate limits; empty trusts no header.
	TrustedProxies []*net.IPNet
	// RandomSecret is set when JWT_SECRET was unset in dev.
	RandomSecret bool
	SocketIdle   time.Duration
	// SendTimeout bounds every request's wait on the store: a send not
	// confirmed by then is answered "unavailable" (503).
	SendTimeout time.Duration
	// MailRetryFor is how long a mail is retried before it is given up;
	// MailMaxBackoff the longest wait between two tries.
	MailRetryFor   time.Duration
	MailMaxBackoff time.Duration
	// BrokerURL is how nodes reach each other: "local" (one node),
	// "postgres" (LISTEN/NOTIFY on DATABASE_URL) or nats://host:port[,...].
	BrokerURL string
	// NodeName names this node in logs and between nodes.
	NodeName string
	// DBMaxConns caps the PostgreSQL connection pool of this node.
	DBMaxConns int
	// MaxConnsPerIP caps the connections one client address may hold;
	// TrustedProxies are exempt. 0 disables.
	MaxConnsPerIP int
	DBConnectWait time.Duration
	// PasswordResetTTL is how long a password reset token works.
	PasswordResetTTL time.Duration
	// RegistrationDomains are the mail domains (ASCII form) that may
	// register; empty allows any.
	RegistrationDomains []string
	// SendRate is how many messages a second each user may send (socket
	// and REST together), with bursts of SendBurst; 0 disables.
	SendRate  int
	SendBurst int
	// MaxSocketsPerUser caps each user's open sockets on a node; 0
	// disables.
	MaxSocketsPerUser int
}

// The listen addresses when ADDR is unset. Dev serves the dev mailbox
// (/sent_mails, every generated password) and accepts any origin on the
// socket: only this machine may reach it, as in Phoenix's dev config.
const (
	DefaultDevAddr  = "127.0.0.1:4000"
	DefaultProdAddr = ":4000"
)

// Error names the variable that is wrong; the binary exits with code 2.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// IsConfigError reports whether err is a bad environment value.
func IsConfigError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// Load reads and validates the environment through getenv.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL: or(getenv("DATABASE_URL"), store.DefaultURL),
		Env:         or(getenv("APP_ENV"), Dev),
		SMTPURL:     getenv("SMTP_URL"),
		MailFrom:    or(getenv("MAIL_FROM"), "company@localhost"),
	}
	c.Addr = or(getenv("ADDR"), DefaultDevAddr)
	if c.Env == Prod {
		c.Addr = or(getenv("ADDR"), DefaultProdAddr)
	}
	c.NodeName = getenv("NODE_NAME")
	if c.NodeName == "" {
		host, _ := os.Hostname()
		c.NodeName = fmt.Sprintf("%s-%d", or(host, "node"), os.Getpid())
	}
	var errs []error
	add := func(v, format string, args ...any) {
		errs = append(errs, &Error{Var: v, Msg: fmt.Sprintf(format, args...)})
	}

	if !validAddr(c.Addr) {
		add("ADDR", "%q is not host:port such as :4000 or 127.0.0.1:4000", c.Addr)
	}
	switch c.AdminAddr = getenv("ADMIN_ADDR"); {
	case c.AdminAddr == "":
	case !validAddr(c.AdminAddr):
		add("ADMIN_ADDR", "%q is not host:port such as 127.0.0.1:9090", c.AdminAddr)
	case overlap(c.AdminAddr, c.Addr):
		add("ADMIN_ADDR", "%q is ADDR's port: metrics and profiles are never served on the public listener", c.AdminAddr)
	}
	if c.Env != Dev && c.Env != Prod {
		add("APP_ENV", "%q is not dev or prod", c.Env)
	}
	loc, err := store.ParseURL(c.DatabaseURL)
	if err != nil {
		add("DATABASE_URL", "%s", strings.TrimLeft(strings.TrimPrefix(err.Error(), "DATABASE_URL"), ": "))
	}
	switch c.BrokerURL = getenv("BROKER_URL"); {
	case c.BrokerURL == "" && loc.Dialect == store.Postgres:
		// Two nodes on one database just work: nothing else to run.
		c.BrokerURL = "postgres"
	case c.BrokerURL == "":
		c.BrokerURL = "local"
	case c.BrokerURL == "postgres" && err == nil && loc.Dialect != store.Postgres:
		add("BROKER_URL", "postgres needs DATABASE_URL on PostgreSQL")
	case c.BrokerURL == "local" || c.BrokerURL == "postgres":
	case strings.HasPrefix(c.BrokerURL, "nats://") || strings.HasPrefix(c.BrokerURL, "tls://"):
		for _, u := range strings.Split(c.BrokerURL, ",") {
			if pu, perr := url.Parse(strings.TrimSpace(u)); perr != nil || pu.Host == "" {
				add("BROKER_URL", "%q is not a NATS URL such as nats://127.0.0.1:4222", u)
			}
		}
	default:
		add("BROKER_URL", "%q: want local, postgres or nats://host:port[,nats://host2:port]", c.BrokerURL)
	}
	c.TokenTTL = duration(getenv, "TOKEN_TTL", 24*time.Hour, add)
	c.SocketIdle = duration(getenv, "SOCKET_IDLE_TIMEOUT", 60*time.Second, add)
	c.SendTimeout = duration(getenv, "SEND_TIMEOUT", 10*time.Second, add)
	c.MailRetryFor = duration(getenv, "MAIL_RETRY_FOR", 24*time.Hour, add)
	c.MailMaxBackoff = duration(getenv, "MAIL_RETRY_MAX_INTERVAL", time.Minute, add)
	c.DBConnectWait = duration(getenv, "DB_CONNECT_TIMEOUT", 15*time.Second, add)
	c.MigrateOnStart = boolean(getenv, "MIGRATE_ON_START", true, add)
	c.RateLimitLogin = integer(getenv, "RATE_LIMIT_LOGIN", 30, add)
	c.MaxConnsPerIP = integer(getenv, "MAX_CONNS_PER_IP", 1000, add)
	c.PasswordResetTTL = duration(getenv, "PASSWORD_RESET_TTL", time.Hour, add)
	c.SendRate = integer(getenv, "RATE_LIMIT_SEND", 10, add)
	c.SendBurst = integer(getenv, "RATE_LIMIT_SEND_BURST", 30, add)
	if c.SendRate > 0 && c.SendBurst == 0 {
		add("RATE_LIMIT_SEND_BURST", "0 would refuse every message; set RATE_LIMIT_SEND=0 to disable the limit")
	}
	c.MaxSocketsPerUser = integer(getenv, "MAX_SOCKETS_PER_USER", 32, add)
	for _, d := range strings.Split(getenv("REGISTRATION_DOMAINS"), ",") {
		if d = strings.TrimPrefix(strings.TrimSpace(d), "@"); d == "" {
			continue
		}
		ascii, err := schema.NormalizeDomain(d)
		if err != nil || !strings.Contains(ascii, ".") {
			add("REGISTRATION_DOMAINS", "%q is not a mail domain such as example.com", d)
			continue
		}
		c.RegistrationDomains = append(c.RegistrationDomains, ascii)
	}
	if c.DBMaxConns = integer(getenv, "DB_MAX_CONNS", 32, add); c.DBMaxConns == 0 {
		add("DB_MAX_CONNS", "must be at least 1")
	}
	if lvl := getenv("LOG_LEVEL"); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			add("LOG_LEVEL", "%q is not debug, info, warn or error", lvl)
		}
	}
	for _, o := range strings.Split(getenv("ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			add("ALLOWED_ORIGINS", "%q is not an origin such as https://app.example.com", o)
			continue
		}
		c.AllowedOrigins = append(c.AllowedOrigins, o)
	}
	for _, p := range strings.Split(getenv("TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			add("TRUSTED_PROXIES", "%q is not a CIDR range such as 10.0.0.0/8", p)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	switch secret := getenv("JWT_SECRET"); {
	case secret == "" && c.Env == Prod:
		add("JWT_SECRET", "required in prod (at least 32 bytes)")
	case secret == "":
		// A random key per process: a secret written in the repository would
		// let anyone mint tokens for any dev server they can reach. Tokens
		// then end with the process, which dev can live with.
		c.JWTSecret = make([]byte, 32)
		rand.Read(c.JWTSecret)
		c.RandomSecret = true
	case len(secret) < 32:
		add("JWT_SECRET", "too short: %d bytes, need at least 32", len(secret))
	default:
		c.JWTSecret = []byte(secret)
	}
	if c.SMTPURL == "" && c.Env == Prod {
		add("SMTP_URL", "required in prod (smtp://[user:pass@]host:port)")
	}
	if !strings.Contains(c.MailFrom, "@") {
		add("MAIL_FROM", "%q is not an email address", c.MailFrom)
	}
	return c, errors.Join(errs...)
}

// Dev reports whether the server runs in the dev environment.
func (c Config) Dev() bool { return c.Env == Dev }

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// validAddr reports whether addr is a listen address net.Listen takes,
// checked here so that a typo exits 2 like every other setting rather than
// failing later, at listen, with 1. The host may be empty (every
// interface), an IP or a name; the port a number up to 65535.
func validAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || strings.ContainsAny(host, "/ ") {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// overlap reports whether two valid listen addresses would claim the same
// port on some interface; port 0 (any free port) never does.
func overlap(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	na, _ := strconv.Atoi(pa)
	nb, _ := strconv.Atoi(pb)
	if na == 0 || na != nb {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wildcard(ha) || wildcard(hb)
}

type adder func(v, format string, args ...any)

func duration(getenv func(string) string, name string, def time.Duration, add adder) time.Duration {
	v := getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		add(name, "%q is not a positive duration such as 30s or 24h", v)
		return def
	}
	return d
}

func boolean(getenv func(string) string, name string, def bool, add adder) bool {
	v := getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		add(name, "%q is not true or false", v)
		return def
	}
	return b
}

func integer(getenv func(string) string, name string, def int, add adder) int {
	v := getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		add(name, "%q is not a whole number ≥ 0", v)
		return def
	}
	return n
}
