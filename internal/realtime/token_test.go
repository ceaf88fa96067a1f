package realtime

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRequestToken(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJVc2VyOjEifQ.sig-_x"
	// As phoenix.js builds it: btoa(token) without "=".
	proto := authTokenPrefix + base64.RawStdEncoding.EncodeToString([]byte(jwt))
	cases := []struct {
		name, query string
		protocols   []string
		want        string
		bad         bool
	}{
		{"ok, query string", "token=q", nil, "q", false},
		{"ok, authToken", "", []string{"phoenix, " + proto}, jwt, false},
		{"ok, authToken in its own header line", "", []string{"phoenix", proto}, jwt, false},
		{"ok, authToken wins over the query", "token=q", []string{"phoenix, " + proto}, jwt, false},
		{"ok, padded", "", []string{"phoenix, " + authTokenPrefix + base64.StdEncoding.EncodeToString([]byte("ab"))}, "ab", false},
		{"ok, base64url alphabet", "", []string{"phoenix, " + authTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte{0xfb, 0xff})}, "\xfb\xff", false},
		{"ok, other subprotocols only", "token=q", []string{"phoenix, chat"}, "q", false},
		{"ok, none", "", nil, "", false},
		{"nok, not base64", "token=q", []string{"phoenix, " + authTokenPrefix + "!!!"}, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/socket/websocket?"+c.query, nil)
			for _, p := range c.protocols {
				r.Header.Add("Sec-WebSocket-Protocol", p)
			}
			got, err := requestToken(r)
			if (err != nil) != c.bad || got != c.want {
				t.Fatalf("requestToken = %q, %v; want %q (error %v)", got, err, c.want, c.bad)
			}
		})
	}
}
