package httpapi_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/connlimit"
	"github.com/companyapi/companyapi/internal/httpapi"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestChunkedBodyTooLarge: a body without a Content-Length (chunked) that
// passes the limit is a 413 too, not a 400.
func TestChunkedBodyTooLarge(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	body := io.MultiReader(strings.NewReader(`{"user":{"name":"`), strings.NewReader(strings.Repeat("a", 70<<10)), strings.NewReader(`"}}`))
	req := httptest.NewRequest("POST", "/api/users", body)
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	v.e.ServeHTTP(rec, req)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "too large") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestTrustedProxies: behind a trusted proxy each forwarded client has its
// own rate-limit budget; an untrusted peer's X-Forwarded-For is ignored.
func TestTrustedProxies(t *testing.T) {
	st := storetest.SQLite(t)
	_, proxy, _ := net.ParseCIDR("192.0.2.0/24")
	login := func(v *env, peer, forwarded string) int {
		req := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"creds":{"email":"x@example.com","password":"y"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = peer + ":1234"
		req.Header.Set("X-Forwarded-For", forwarded)
		rec := httptest.NewRecorder()
		v.e.ServeHTTP(rec, req)
		return rec.Code
	}
	behind := newEnv(t, st, withRateLimit(2), func(c *httpapi.Config, _ *chat.Config) { c.TrustedProxies = []*net.IPNet{proxy} })
	for range 2 {
		login(behind, "192.0.2.10", "203.0.113.1")
	}
	if code := login(behind, "192.0.2.10", "203.0.113.1"); code != 429 {
		t.Fatalf("third login of one client: %d, want 429", code)
	}
	if code := login(behind, "192.0.2.10", "203.0.113.2"); code != 401 {
		t.Fatalf("another client behind the same proxy: %d, want 401 (its own budget)", code)
	}
	direct := newEnv(t, st, withRateLimit(2))
	for i := range 2 {
		login(direct, "198.51.100.7", "203.0.113."+string(rune('1'+i)))
	}
	if code := login(direct, "198.51.100.7", "203.0.113.9"); code != 429 {
		t.Fatalf("untrusted X-Forwarded-For changed the client: %d, want 429", code)
	}
}

// TestLongPollClient: the LongPoll handler learns the client's address as
// TRUSTED_PROXIES lets it be told, for its cap on sessions per client; an
// untrusted peer's X-Forwarded-For is ignored.
func TestLongPollClient(t *testing.T) {
	st := storetest.SQLite(t)
	_, proxy, _ := net.ParseCIDR("192.0.2.0/24")
	var got string
	lp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = connlimit.Client(r.Context())
	})
	v := newEnv(t, st, func(c *httpapi.Config, _ *chat.Config) {
		c.TrustedProxies = []*net.IPNet{proxy}
		c.LongPoll = lp
	})
	for _, c := range []struct{ peer, forwarded, want string }{
		{"192.0.2.10", "203.0.113.1", "203.0.113.1"},
		{"198.51.100.7", "203.0.113.1", "198.51.100.7"},
		{"192.0.2.10", "2001:db8:1:2:3::9", "2001:db8:1:2::/64"},
	} {
		got = ""
		req := httptest.NewRequest("GET", "/socket/longpoll?vsn=2.0.0", nil)
		req.RemoteAddr = c.peer + ":1234"
		req.Header.Set("X-Forwarded-For", c.forwarded)
		v.e.ServeHTTP(httptest.NewRecorder(), req)
		if got != c.want {
			t.Errorf("from %s forwarding %s: client %q, want %q", c.peer, c.forwarded, got, c.want)
		}
	}
}
