package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/companyapi/companyapi/internal/apitest"
	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/httpapi"
	"github.com/companyapi/companyapi/internal/mail"
	"github.com/companyapi/companyapi/internal/outbox"
	"github.com/companyapi/companyapi/internal/ratelimit"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// testSecret signs tokens in tests.
var testSecret = []byte("test-secret-0123456789abcdef0123456789")

// fastArgon2 keeps tests quick; the production parameters have their own
// test in internal/auth.
var fastArgon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// mailbox is where the outbox delivers in tests: tests read generated
// passwords from the welcome mails.
type mailbox struct {
	box    *mail.Mailbox
	outbox *outbox.Worker
}

var (
	mailedPassword   = regexp.MustCompile(`generated password ([A-Za-z0-9_-]{16,})\.`)
	mailedResetToken = regexp.MustCompile(`reset token is ([A-Za-z0-9_-]{43})`)
)

// password sends the queued mails and returns the password of the newest
// welcome mail to email.
func (m *mailbox) password(t testing.TB, email string) string {
	t.Helper()
	p := m.find(t, email, mailedPassword)
	if p == "" {
		t.Fatalf("no welcome mail to %s", email)
	}
	return p
}

// resetToken sends the queued mails and returns the token of the newest
// reset mail to email, or "" when there is none.
func (m *mailbox) resetToken(t testing.TB, email string) string {
	t.Helper()
	return m.find(t, email, mailedResetToken)
}

// find sends the queued mails and returns what re's group matches in the
// newest mail to email that it matches; "" when none does.
func (m *mailbox) find(t testing.TB, email string, re *regexp.Regexp) string {
	t.Helper()
	if err := m.outbox.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := m.box.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ml := range all {
		if strings.EqualFold(ml.To, email) {
			if found := re.FindStringSubmatch(ml.Text); found != nil {
				return found[1]
			}
		}
	}
	return ""
}

// newMailbox is an outbox for st delivering into memory.
func newMailbox(t testing.TB, st *store.Store, hasher chat.PasswordHasher) *mailbox {
	t.Helper()
	box := mail.NewMailbox(nil, 0)
	prep, err := chat.NewAccountMails(chat.AccountMailsConfig{Client: st.Client, Hasher: hasher, GeneratePassword: auth.GeneratePassword, From: "chat@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := outbox.New(outbox.Config{Client: st.Client, Dialect: st.Dialect, Mailer: box, Prepare: prep,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return &mailbox{box: box, outbox: w}
}

// env is the whole REST API over one store.
type env struct {
	t      testing.TB
	e      *echo.Echo
	svc    *chat.Service
	st     *store.Store
	mail   *mailbox
	tokens *auth.Tokens
	authn  *auth.Authenticator
	events *announced
}

// envOption adjusts the API's and the chat service's configuration.
type envOption func(*httpapi.Config, *chat.Config)

// withRateLimit limits login and registration to n a minute per client, in
// the store like the server does.
func withRateLimit(n int) envOption {
	return func(c *httpapi.Config, _ *chat.Config) {
		st := c.DB.(*store.Store)
		c.RateLimit = ratelimit.New(st.Client, st.Dialect, n)
	}
}

// withOrigins lets pages on origins call the API (CORS).
func withOrigins(origins ...string) envOption {
	return func(c *httpapi.Config, _ *chat.Config) { c.AllowedOrigins = origins }
}

// withSendLimit gives each sender rate messages a second, in bursts of
// burst.
func withSendLimit(rate, burst int) envOption {
	return func(_ *httpapi.Config, c *chat.Config) { c.SendRate, c.SendBurst = rate, burst }
}

func newEnv(t *testing.T, st *store.Store, opts ...envOption) *env {
	t.Helper()
	return newEnvTB(t, st, opts...)
}

// newEnvTB is newEnv for benchmarks too.
func newEnvTB(t testing.TB, st *store.Store, opts ...envOption) *env {
	t.Helper()
	hasher := auth.NewHasher(fastArgon2, 0)
	mb := newMailbox(t, st, hasher)
	heard := &announced{}
	tokens := auth.NewTokens(testSecret, time.Hour)
	ccfg := chat.Config{Client: st.Client, DB: st.DB, Dialect: st.Dialect, Hasher: hasher, Events: heard}
	cfg := httpapi.Config{Tokens: tokens, DB: st, Logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg, &ccfg)
	}
	svc, err := chat.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	authn := &auth.Authenticator{Tokens: tokens, Accounts: svc}
	cfg.Chat, cfg.Auth = svc, authn
	e, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, e: e, svc: svc, st: st, mail: mb, tokens: tokens, authn: authn, events: heard}
}

// announced records the events the chat service announces.
type announced struct {
	mu  sync.Mutex
	evs []chat.Event
}

func (a *announced) Announce(evs ...chat.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs = append(a.evs, evs...)
}

// ended returns the SessionsEnded events announced so far.
func (a *announced) ended() []chat.SessionsEnded {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []chat.SessionsEnded
	for _, e := range a.evs {
		if se, ok := e.(chat.SessionsEnded); ok {
			out = append(out, se)
		}
	}
	return out
}

// each runs fn on a fresh API over SQLite and over PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, v *env)) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fn(t, newEnv(t, st))
	})
}

type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return v
}

// do sends a request; body may be a string (sent as is) or a value
// (encoded as JSON).
func (v *env) do(method, path string, body any, token string) response {
	v.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			v.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	if token != "" {
		req.Header.Set(echo.HeaderAuthorization, "Bearer "+token)
	}
	return v.send(req)
}

// send serves req and checks the answer against api/openapi.yaml.
func (v *env) send(req *http.Request) response {
	v.t.Helper()
	rec := httptest.NewRecorder()
	v.e.ServeHTTP(rec, req)
	// Every answer must be one api/openapi.yaml describes; benchmarks skip
	// the check, which would be most of what they measure.
	if _, bench := v.t.(*testing.B); !bench {
		if err := apitest.Check(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			v.t.Error(err)
		}
	}
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// expect fails unless the response has the status.
func (r response) expect(t testing.TB, code int) response {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body %s", r.Code, code, r.Body)
	}
	return r
}

type user struct {
	ID       int
	Email    string
	Password string
	Token    string
}

// register creates an account through the API and logs it in.
func (v *env) register(name string) user {
	v.t.Helper()
	email := name + "@example.com"
	res := v.do("POST", "/api/users", map[string]any{"user": map[string]any{
		"name": name, "subname": "Doe", "email": email, "job": "engineer"}}, "").expect(v.t, 201)
	id := int(res.JSON(v.t)["id"].(float64))
	pw := v.mail.password(v.t, email)
	return user{ID: id, Email: email, Password: pw, Token: v.login(email, pw)}
}

func (v *env) login(email, password string) string {
	v.t.Helper()
	res := v.do("POST", "/api/login", map[string]any{"creds": map[string]any{"email": email, "password": password}}, "").expect(v.t, 200)
	return res.JSON(v.t)["data"].(map[string]any)["token"].(string)
}

func ctx() context.Context { return context.Background() }
