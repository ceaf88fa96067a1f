package realtime

import (
	"net/http/httptest"
	"testing"
)

func TestOriginPolicy(t *testing.T) {
	listed := []string{"https://app.example.com", "http://localhost:5173/"}
	tests := []struct {
		name   string
		any    bool
		origin string
		host   string
		want   bool
	}{
		{"ok, no origin", false, "", "api.example.com", true},
		{"ok, same host", false, "https://api.example.com", "api.example.com", true},
		{"ok, same host any case", false, "https://API.example.com", "api.example.com", true},
		{"ok, listed", false, "https://app.example.com", "api.example.com", true},
		{"ok, listed with port", false, "http://localhost:5173", "api.example.com", true},
		{"ok, any", true, "https://evil.example.com", "api.example.com", true},
		{"nok, other host", false, "https://evil.example.com", "api.example.com", false},
		{"nok, listed host other scheme", false, "http://app.example.com", "api.example.com", false},
		{"nok, listed host other port", false, "https://app.example.com:8443", "api.example.com", false},
		{"nok, opaque origin", false, "null", "api.example.com", false},
		{"nok, garbage", false, "::", "api.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newOriginPolicy(listed, tt.any)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/socket/websocket", nil)
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if got := p.allow(r); got != tt.want {
				t.Errorf("allow = %v, want %v", got, tt.want)
			}
		})
	}
}
