package realtime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
)

// connectAnswer sends a request to the endpoint, an upgrade when upgrade
// is set, and returns the status, the header and the refusal's message. An
// upgraded connection stays open until the test ends.
func (ts *testServer) connectAnswer(t *testing.T, method, rawQuery string, header http.Header, upgrade bool) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.ts.URL+"/socket/websocket?"+rawQuery, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	if upgrade {
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	}
	resp, err := (&http.Client{Transport: ts.transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		t.Cleanup(func() { resp.Body.Close() })
		return resp.StatusCode, resp.Header, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m struct{ Message string }
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, resp.Header, m.Message
}

func authTokenHeader(token string) http.Header {
	return http.Header{"Sec-Websocket-Protocol": {"phoenix, " + authTokenPrefix + base64.RawStdEncoding.EncodeToString([]byte(token))}}
}

// TestAuthToken: phoenix.js's authToken (the token in
// Sec-WebSocket-Protocol) opens the token's user's socket and is answered
// with the "phoenix" subprotocol; the query string keeps working.
func TestAuthToken(t *testing.T) {
	b := newFakeBackend(t)
	uid, token := b.NewUser(t)
	ts := startServer(t, b, Config{})

	status, h, msg := ts.connectAnswer(t, http.MethodGet, "vsn=2.0.0", authTokenHeader(token), true)
	if status != http.StatusSwitchingProtocols || h.Get("Sec-Websocket-Protocol") != phoenixSubprotocol {
		t.Fatalf("authToken: %d %q %v, want 101 with subprotocol phoenix", status, msg, h)
	}
	eventually(t, "a socket of the token's user", func() bool {
		n := 0
		ts.srv.hub.eachSocket(func(s *socket) {
			if s.userID == uid {
				n++
			}
		})
		return n == 1
	})

	status, h, _ = ts.connectAnswer(t, http.MethodGet, "vsn=2.0.0&token="+token, nil, true)
	if status != http.StatusSwitchingProtocols || h.Get("Sec-Websocket-Protocol") != "" {
		t.Fatalf("query token: %d %v, want 101 without a subprotocol", status, h)
	}
	status, _, msg = ts.connectAnswer(t, http.MethodGet, "vsn=2.0.0",
		http.Header{"Sec-Websocket-Protocol": {"phoenix, " + authTokenPrefix + "!!"}}, true)
	if status != http.StatusForbidden || msg != "invalid token" {
		t.Fatalf("authToken not base64: %d %q", status, msg)
	}
	status, _, msg = ts.connectAnswer(t, http.MethodGet, "vsn=2.0.0&token="+token, authTokenHeader("nope"), true)
	if status != http.StatusForbidden || msg != "invalid token" {
		t.Fatalf("a bad authToken beside a good ?token=: %d %q, want the authToken refused", status, msg)
	}
}

// failingAuth refuses every token with err.
type failingAuth struct{ err error }

func (a failingAuth) Authenticate(context.Context, string) (Session, error) { return Session{}, a.err }

// TestConnectWords: a refused token is named in the words REST uses for
// it, a store that cannot check it is "unavailable", and the method check
// answers as Echo's router does in front of the endpoint.
func TestConnectWords(t *testing.T) {
	b := newFakeBackend(t)
	uid, token := b.NewUser(t)
	fake := b.Auth.(*fakeAuth)
	expired, _ := fake.issue(uid, time.Now().Add(-time.Minute))
	revoked, revokedID := fake.issue(uid, time.Time{})
	ts := startServer(t, b, Config{})
	ts.endSessions(uid, revokedID)

	for _, c := range []struct {
		name, query string
		status      int
		word        string
	}{
		{"missing", "vsn=2.0.0", 403, "missing token"},
		{"invalid", "vsn=2.0.0&token=nope", 403, "invalid token"},
		{"expired", "vsn=2.0.0&token=" + expired, 403, "token expired"},
		{"logged out", "vsn=2.0.0&token=" + revoked, 403, "token revoked"},
	} {
		if status, _, msg := ts.connectAnswer(t, http.MethodGet, c.query, nil, false); status != c.status || msg != c.word {
			t.Errorf("%s: %d %q, want %d %q", c.name, status, msg, c.status, c.word)
		}
	}
	if status, h, msg := ts.connectAnswer(t, http.MethodPost, "token="+token, nil, false); status != 405 || msg != "method not allowed" || h.Get("Allow") != "OPTIONS, GET" {
		t.Errorf("POST: %d %q %v", status, msg, h)
	}
	if status, h, _ := ts.connectAnswer(t, http.MethodOptions, "", nil, false); status != 204 || h.Get("Allow") != "OPTIONS, GET" {
		t.Errorf("OPTIONS: %d %v", status, h)
	}

	for _, c := range []struct {
		name   string
		err    error
		status int
		word   string
	}{
		{"store down", &chat.Error{Kind: chat.KindUnavailable, Message: "db down"}, 503, "unavailable"},
		{"store slow", context.DeadlineExceeded, 503, "unavailable"},
		{"a bug", errors.New("boom"), 500, "internal error"},
	} {
		fb := newFakeBackend(t)
		fb.Auth = failingAuth{c.err}
		if status, _, msg := startServer(t, fb, Config{}).connectAnswer(t, http.MethodGet, "token=x", nil, false); status != c.status || msg != c.word {
			t.Errorf("%s: %d %q, want %d %q", c.name, status, msg, c.status, c.word)
		}
	}
}
