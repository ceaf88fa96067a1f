package config_test

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/store"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// badVars lists the variables named by the config errors in err.
func badVars(err error) []string {
	var vars []string
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*config.Error); ok {
			vars = append(vars, e.Var)
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	slices.Sort(vars)
	return vars
}

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(env())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, "127.0.0.1:4000"},
		{"DatabaseURL", c.DatabaseURL, store.DefaultURL},
		{"Env", c.Env, config.Dev},
		{"Dev()", c.Dev(), true},
		{"TokenTTL", c.TokenTTL, 24 * time.Hour},
		{"SocketIdle", c.SocketIdle, 60 * time.Second},
		{"SendTimeout", c.SendTimeout, 10 * time.Second},
		{"DBConnectWait", c.DBConnectWait, 15 * time.Second},
		{"MaxConnsPerIP", c.MaxConnsPerIP, 1000},
		{"MailRetryFor", c.MailRetryFor, 24 * time.Hour},
		{"MigrateOnStart", c.MigrateOnStart, true},
		{"RateLimitLogin", c.RateLimitLogin, 30},
		{"MailFrom", c.MailFrom, "company@localhost"},
		{"SMTPURL", c.SMTPURL, ""},
		{"LogLevel", c.LogLevel, slog.LevelInfo},
		{"AllowedOrigins", len(c.AllowedOrigins), 0},
		{"PasswordResetTTL", c.PasswordResetTTL, time.Hour},
		{"RegistrationDomains", len(c.RegistrationDomains), 0},
		{"SendRate", c.SendRate, 10},
		{"SendBurst", c.SendBurst, 30},
		{"MaxSocketsPerUser", c.MaxSocketsPerUser, 32},
		{"AdminAddr", c.AdminAddr, ""},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if len(c.JWTSecret) < 32 || !c.RandomSecret {
		t.Errorf("dev JWTSecret is %d bytes (random %v), want a random default of at least 32", len(c.JWTSecret), c.RandomSecret)
	}
	again, _ := config.Load(env())
	if string(again.JWTSecret) == string(c.JWTSecret) {
		t.Error("the dev secret is the same in two loads: it must not be a constant anyone can read")
	}
}

func TestLoadValues(t *testing.T) {
	secret := strings.Repeat("s", 32)
	c, err := config.Load(env(
		"APP_ENV", "prod",
		"ADDR", ":8080",
		"DATABASE_URL", "postgres://app@db/chat",
		"JWT_SECRET", secret,
		"SMTP_URL", "smtp://mail:25",
		"TOKEN_TTL", "1h",
		"MIGRATE_ON_START", "false",
		"LOG_LEVEL", "debug",
		"ALLOWED_ORIGINS", " https://a.example , ,https://b.example",
	))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Dev() || c.Addr != ":8080" || string(c.JWTSecret) != secret || c.TokenTTL != time.Hour ||
		c.MigrateOnStart || c.LogLevel != slog.LevelDebug || c.SMTPURL != "smtp://mail:25" {
		t.Errorf("Load = %+v", c)
	}
	if want := []string{"https://a.example", "https://b.example"}; !slices.Equal(c.AllowedOrigins, want) {
		t.Errorf("AllowedOrigins = %q, want %q", c.AllowedOrigins, want)
	}
}

// TestLoadDefaultAddr: without ADDR, dev listens on this machine only (its
// /sent_mails shows every generated password); prod on every interface.
func TestLoadDefaultAddr(t *testing.T) {
	if c, _ := config.Load(env()); c.Addr != "127.0.0.1:4000" {
		t.Errorf("dev default ADDR %q, want 127.0.0.1:4000", c.Addr)
	}
	c, err := config.Load(env("APP_ENV", "prod", "JWT_SECRET", strings.Repeat("s", 32), "SMTP_URL", "smtp://mail:25"))
	if err != nil || c.Addr != ":4000" {
		t.Errorf("prod default ADDR %q (%v), want :4000", c.Addr, err)
	}
	if c, _ := config.Load(env("ADDR", ":4000")); c.Addr != ":4000" {
		t.Errorf("dev with ADDR=:4000 listens on %q", c.Addr)
	}
}

func TestLoadLimits(t *testing.T) {
	c, err := config.Load(env(
		"PASSWORD_RESET_TTL", "30m",
		"REGISTRATION_DOMAINS", " Example.COM, @corp.example ,, Bücher.de",
		"RATE_LIMIT_SEND", "0", "RATE_LIMIT_SEND_BURST", "0",
		"MAX_SOCKETS_PER_USER", "4",
	))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := []string{"example.com", "corp.example", "xn--bcher-kva.de"}; !slices.Equal(c.RegistrationDomains, want) {
		t.Errorf("RegistrationDomains = %q, want %q", c.RegistrationDomains, want)
	}
	if c.PasswordResetTTL != 30*time.Minute || c.SendRate != 0 || c.MaxSocketsPerUser != 4 {
		t.Errorf("Load = %+v", c)
	}
}

func TestLoadAddr(t *testing.T) {
	for _, addr := range []string{":4000", "127.0.0.1:0", "[::1]:8080", "localhost:4000", "0.0.0.0:65535"} {
		if c, err := config.Load(env("ADDR", addr)); err != nil || c.Addr != addr {
			t.Errorf("ADDR=%s: %q, %v", addr, c.Addr, err)
		}
	}
}

// TestLoadAdminAddr: any address whose port is not the public listener's,
// or port 0 for both (tests: each listener gets a free port).
func TestLoadAdminAddr(t *testing.T) {
	for _, c := range [][2]string{
		{":4000", "127.0.0.1:9090"}, {"127.0.0.1:0", "127.0.0.1:0"}, {"10.0.0.1:4000", "127.0.0.1:4000"}, {":4000", "[::1]:9090"},
	} {
		if got, err := config.Load(env("ADDR", c[0], "ADMIN_ADDR", c[1])); err != nil || got.AdminAddr != c[1] {
			t.Errorf("ADDR=%s ADMIN_ADDR=%s: %q, %v", c[0], c[1], got.AdminAddr, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		vars []string
	}{
		{"nok, TOKEN_TTL not a duration", []string{"TOKEN_TTL", "abc"}, []string{"TOKEN_TTL"}},
		{"nok, TOKEN_TTL negative", []string{"TOKEN_TTL", "-1h"}, []string{"TOKEN_TTL"}},
		{"nok, ALLOWED_ORIGINS not an origin", []string{"ALLOWED_ORIGINS", "app.example.com"}, []string{"ALLOWED_ORIGINS"}},
		{"nok, ALLOWED_ORIGINS with a path", []string{"ALLOWED_ORIGINS", "https://a.example.com,https://b.example.com/app"}, []string{"ALLOWED_ORIGINS"}},
		{"nok, TRUSTED_PROXIES not a CIDR", []string{"TRUSTED_PROXIES", "10.0.0.1"}, []string{"TRUSTED_PROXIES"}},
		{"nok, DATABASE_URL scheme", []string{"DATABASE_URL", "mysql://app:hunter2@db/chat"}, []string{"DATABASE_URL"}},
		{"nok, DATABASE_URL without a host", []string{"DATABASE_URL", "postgres://app:hunter2@/chat"}, []string{"DATABASE_URL"}},
		{"nok, prod without secrets", []string{"APP_ENV", "prod"}, []string{"JWT_SECRET", "SMTP_URL"}},
		{"nok, short JWT_SECRET", []string{"JWT_SECRET", "short"}, []string{"JWT_SECRET"}},
		{"nok, APP_ENV", []string{"APP_ENV", "staging"}, []string{"APP_ENV"}},
		{"nok, ADDR without a port", []string{"ADDR", "nonsense"}, []string{"ADDR"}},
		{"nok, ADDR port not a number", []string{"ADDR", "localhost:http"}, []string{"ADDR"}},
		{"nok, ADDR port out of range", []string{"ADDR", ":70000"}, []string{"ADDR"}},
		{"nok, ADDR a URL", []string{"ADDR", "http://localhost:4000"}, []string{"ADDR"}},
		{"nok, REGISTRATION_DOMAINS not a domain", []string{"REGISTRATION_DOMAINS", "example.com,not a domain"}, []string{"REGISTRATION_DOMAINS"}},
		{"nok, REGISTRATION_DOMAINS without a dot", []string{"REGISTRATION_DOMAINS", "localhost"}, []string{"REGISTRATION_DOMAINS"}},
		{"nok, PASSWORD_RESET_TTL", []string{"PASSWORD_RESET_TTL", "1 hour"}, []string{"PASSWORD_RESET_TTL"}},
		{"nok, RATE_LIMIT_SEND negative", []string{"RATE_LIMIT_SEND", "-1"}, []string{"RATE_LIMIT_SEND"}},
		{"nok, a send limit without a burst", []string{"RATE_LIMIT_SEND_BURST", "0"}, []string{"RATE_LIMIT_SEND_BURST"}},
		{"nok, MAX_SOCKETS_PER_USER", []string{"MAX_SOCKETS_PER_USER", "many"}, []string{"MAX_SOCKETS_PER_USER"}},
		{"nok, ADMIN_ADDR without a port", []string{"ADMIN_ADDR", "localhost"}, []string{"ADMIN_ADDR"}},
		{"nok, ADMIN_ADDR the public port", []string{"ADMIN_ADDR", "127.0.0.1:4000"}, []string{"ADMIN_ADDR"}},
		{"nok, ADMIN_ADDR the public address", []string{"ADDR", "10.0.0.1:8080", "ADMIN_ADDR", "10.0.0.1:8080"}, []string{"ADMIN_ADDR"}},
		{"nok, several at once", []string{"TOKEN_TTL", "abc", "MIGRATE_ON_START", "maybe", "RATE_LIMIT_LOGIN", "-3", "LOG_LEVEL", "loud", "MAIL_FROM", "nobody"},
			[]string{"LOG_LEVEL", "MAIL_FROM", "MIGRATE_ON_START", "RATE_LIMIT_LOGIN", "TOKEN_TTL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.env...))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !config.IsConfigError(err) {
				t.Errorf("IsConfigError(%v) = false", err)
			}
			if got := badVars(err); !slices.Equal(got, tc.vars) {
				t.Errorf("error names %v, want %v (%v)", got, tc.vars, err)
			}
			for _, v := range tc.vars {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("message %q does not name %s", err, v)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("message %q shows a password", err)
			}
		})
	}
}

func TestIsConfigError(t *testing.T) {
	cfgErr := &config.Error{Var: "TOKEN_TTL", Msg: "bad"}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("TOKEN_TTL: bad"), false},
		{cfgErr, true},
		{fmt.Errorf("start: %w", cfgErr), true},
		{errors.Join(errors.New("other"), cfgErr), true},
	} {
		if got := config.IsConfigError(tc.err); got != tc.want {
			t.Errorf("IsConfigError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if got := cfgErr.Error(); got != "TOKEN_TTL: bad" {
		t.Errorf("Error() = %q", got)
	}
}
