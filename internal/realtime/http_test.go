//lint:file-ignore SA1019 nhooyr.io/websocket is the pinned dependency; its successor github.com/coder/websocket has the same API

package realtime

import (
	"encoding/json"
	"io"
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
