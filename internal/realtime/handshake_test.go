package realtime

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"
)

// TestHandshakeChecksMatchLibrary: checkHandshake refuses exactly the
// requests websocket.Accept refuses, with the same status, so a library
// upgrade that changes its checks fails here instead of answering with
// text/plain, or refusing what we let through. (The method is checked
// before either, in ServeHTTP.) The recorder cannot be hijacked: a valid
// handshake gets 501 from both.
func TestHandshakeChecksMatchLibrary(t *testing.T) {
	valid := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/socket/websocket", nil)
		r.Header.Set("Connection", "keep-alive, Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		return r
	}
	tests := []struct {
		name   string
		change func(r *http.Request)
	}{
		{"valid", func(*http.Request) {}},
		{"HTTP/1.0", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.0", 1, 0 }},
		{"no Connection", func(r *http.Request) { r.Header.Del("Connection") }},
		{"Connection without upgrade", func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }},
		{"Connection: upgrade", func(r *http.Request) { r.Header.Set("Connection", "upgrade") }},
		{"no Upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }},
		{"Upgrade: h2c", func(r *http.Request) { r.Header.Set("Upgrade", "h2c") }},
		{"Upgrade: WebSocket", func(r *http.Request) { r.Header.Set("Upgrade", "WebSocket") }},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }},
		{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }},
		{"no key", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }},
		{"two keys", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }},
		{"short key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") }},
		{"key not base64", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "not base64 at all!!!!!!!") }},
		{"key with spaces", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", " dGhlIHNhbXBsZSBub25jZQ== ") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.change(r)
			ours := httptest.NewRecorder()
			status, _ := checkHandshake(ours, r)
			lib := httptest.NewRecorder()
			if _, err := websocket.Accept(lib, r, &websocket.AcceptOptions{InsecureSkipVerify: true}); err == nil {
				t.Fatal("Accept succeeded on a recorder")
			}
			if status != lib.Code {
				t.Errorf("checkHandshake: %d, websocket.Accept: %d %q", status, lib.Code, lib.Body.String())
			}
			// What the library says with its refusal, ours says too.
			for _, h := range []string{"Upgrade", "Sec-WebSocket-Version"} {
				if v := lib.Header().Get(h); lib.Code != http.StatusNotImplemented && v != "" && ours.Header().Get(h) != v {
					t.Errorf("%s: ours %q, the library's %q", h, ours.Header().Get(h), v)
				}
			}
		})
	}
}
