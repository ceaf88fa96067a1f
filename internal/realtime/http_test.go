package realtime

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestUpgrade: refusals are plain HTTP 403s before any upgrade; the origin
// rules let non-browsers, the same host and listed origins through.
func TestUpgrade(t *testing.T) {
	b := newFakeBackend(t)
	_, token := b.NewUser(t)
	ts := startServer(t, b, Config{AllowedOrigins: []string{"https://app.example.com"}})
	host := strings.TrimPrefix(ts.ts.URL, "http://")
	withVsn := func(v string) url.Values { q := query(token, vsn2); q.Set("vsn", v); return q }
	noVsn := query(token, vsn2)
	noVsn.Del("vsn")

	tests := []struct {
		name    string
		q       url.Values
		origin  string
		status  int
		message string
	}{
		{"nok, missing token", query("", vsn2), "", http.StatusForbidden, "missing token"},
		{"nok, invalid token", query("nope", vsn2), "", http.StatusForbidden, "invalid token"},
		{"nok, unsupported vsn", withVsn("3.0.0"), "", http.StatusForbidden, "unsupported vsn"},
		{"nok, foreign origin", query(token, vsn2), "https://evil.example.com", http.StatusForbidden, "origin not allowed"},
		{"nok, opaque origin", query(token, vsn2), "null", http.StatusForbidden, "origin not allowed"},
		{"ok, no origin", query(token, vsn2), "", http.StatusSwitchingProtocols, ""},
		{"ok, same host", query(token, vsn2), "http://" + host, http.StatusSwitchingProtocols, ""},
		{"ok, listed origin", query(token, vsn2), "https://APP.example.com", http.StatusSwitchingProtocols, ""},
		{"ok, V1", query(token, vsn1), "", http.StatusSwitchingProtocols, ""},
		{"ok, no vsn is V1", noVsn, "", http.StatusSwitchingProtocols, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			conn, resp, err := ts.tryDial(tt.q, h)
			if conn != nil {
				conn.CloseNow()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tt.status, err)
			}
		})
		if tt.message == "" {
			continue
		}
		t.Run(tt.name+", body", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ts.ts.URL+"/socket/websocket?"+tt.q.Encode(), nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := (&http.Client{Transport: ts.transport}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var got struct{ Message string }
			if resp.StatusCode != tt.status || json.Unmarshal(body, &got) != nil || got.Message != tt.message {
				t.Errorf("got %d %s, want %d {\"message\":%q}", resp.StatusCode, body, tt.status, tt.message)
			}
		})
	}
}

// TestAnyOrigin: AnyOrigin lets every page connect.
func TestAnyOrigin(t *testing.T) {
	b := newFakeBackend(t)
	_, token := b.NewUser(t)
	ts := startServer(t, b, Config{AnyOrigin: true})
	conn, resp, err := ts.tryDial(query(token, vsn2), http.Header{"Origin": {"https://anything.example"}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	conn.CloseNow()
}

// TestNotAHandshake: requests that reach the endpoint with a valid token
// but are no WebSocket handshake are answered with JSON, never the
// WebSocket library's text/plain.
func TestNotAHandshake(t *testing.T) {
	b := newFakeBackend(t)
	_, token := b.NewUser(t)
	ts := startServer(t, b, Config{})
	upgrade := http.Header{
		"Connection":            {"keep-alive, Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
	}
	with := func(key, value string) http.Header {
		h := upgrade.Clone()
		if value == "" {
			h.Del(key)
		} else {
			h.Set(key, value)
		}
		return h
	}
	tests := []struct {
		name    string
		method  string
		header  http.Header
		status  int
		message string
		extra   [2]string // a header the answer must carry
	}{
		{"plain GET", http.MethodGet, nil, http.StatusUpgradeRequired, "websocket upgrade required", [2]string{"Upgrade", "websocket"}},
		{"no Connection: Upgrade", http.MethodGet, with("Connection", ""), http.StatusUpgradeRequired, "websocket upgrade required", [2]string{"Upgrade", "websocket"}},
		{"Upgrade to something else", http.MethodGet, with("Upgrade", "h2c"), http.StatusUpgradeRequired, "websocket upgrade required", [2]string{"Upgrade", "websocket"}},
		{"POST", http.MethodPost, nil, http.StatusMethodNotAllowed, "method not allowed", [2]string{"Allow", "OPTIONS, GET"}},
		{"PUT with upgrade headers", http.MethodPut, upgrade, http.StatusMethodNotAllowed, "method not allowed", [2]string{"Allow", "OPTIONS, GET"}},
		{"wrong version", http.MethodGet, with("Sec-Websocket-Version", "8"), http.StatusBadRequest, "unsupported websocket version", [2]string{"Sec-Websocket-Version", "13"}},
		{"no key", http.MethodGet, with("Sec-Websocket-Key", ""), http.StatusBadRequest, "invalid websocket key", [2]string{}},
		{"short key", http.MethodGet, with("Sec-Websocket-Key", "c2hvcnQ="), http.StatusBadRequest, "invalid websocket key", [2]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.ts.URL+"/socket/websocket?"+query(token, vsn2).Encode(), nil)
			maps.Copy(req.Header, tt.header)
			resp, err := (&http.Client{Transport: ts.transport}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var got struct{ Message string }
			if resp.StatusCode != tt.status || json.Unmarshal(body, &got) != nil || got.Message != tt.message {
				t.Errorf("got %d %s, want %d {\"message\":%q}", resp.StatusCode, body, tt.status, tt.message)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.extra[0] != "" && resp.Header.Get(tt.extra[0]) != tt.extra[1] {
				t.Errorf("%s: %q, want %q", tt.extra[0], resp.Header.Get(tt.extra[0]), tt.extra[1])
			}
		})
	}
}
