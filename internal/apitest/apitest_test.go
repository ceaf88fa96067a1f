package apitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCheck: the oracle refuses what the document does not describe and
// lets through what it does.
func TestCheck(t *testing.T) {
	user := `{"id":1,"name":"Ann","subname":"Doe","email":"ann@example.com","job":"engineer"}`
	json := http.Header{"Content-Type": {"application/json"}}
	unauthorized := http.Header{"Content-Type": {"application/json"}, "Www-Authenticate": {`Bearer realm="companyapi"`}}
	cases := []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         string
		ok           bool
	}{
		{"ok, documented answer", "GET", "/api/users/me", 200, json, `{"data":` + user[:len(user)-1] + `,"unread_total":0}}`, true},
		{"ok, path parameter", "GET", "/api/users/7", 404, json, `{"message":"not found"}`, true},
		{"ok, undocumented path is not checked", "GET", "/nope", 404, json, `{"message":"not found"}`, true},
		{"ok, null last_message", "GET", "/api/conversations/1", 200, json,
			`{"data":{"id":1,"sender_id":1,"recipient_id":2,"status":null,"inserted_at":"2024-05-01T12:00:00Z","last_message":null,"unread_count":0,"last_read_id":null,"other_last_read_id":null}}`, true},
		{"nok, undocumented status", "GET", "/api/users/me", 418, json, `{"message":"teapot"}`, false},
		{"nok, a field the document does not name", "GET", "/api/users/me", 200, json, `{"data":` + user[:len(user)-1] + `,"password":"x"}}`, false},
		{"nok, a required field missing", "GET", "/api/users/me", 200, json, `{"data":{"id":1}}`, false},
		{"nok, a word outside the vocabulary", "GET", "/api/users/7", 404, json, `{"message":"Not Found"}`, false},
		{"nok, 401 without WWW-Authenticate", "GET", "/api/users/me", 401, json, `{"message":"missing token"}`, false},
		{"ok, 401 with WWW-Authenticate", "GET", "/api/users/me", 401, unauthorized, `{"message":"missing token"}`, true},
		{"nok, last_message neither null nor a message", "GET", "/api/conversations/1", 200, json,
			`{"data":{"id":1,"sender_id":1,"recipient_id":2,"status":null,"inserted_at":"2024-05-01T12:00:00Z","last_message":{"id":1},"unread_count":0,"last_read_id":null,"other_last_read_id":null}}`, false},
		{"nok, text where JSON is documented", "GET", "/api/users/me", 200, http.Header{"Content-Type": {"text/plain"}}, "hi", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check(httptest.NewRequest(c.method, c.path, nil), c.status, c.header, []byte(c.body))
			if (err == nil) != c.ok {
				t.Fatalf("Check: %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// TestTransport: through Transport, an undocumented answer is the
// request's error and a documented one arrives whole.
func TestTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte(`{"status":"ok"}`))
			return
		}
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte(`{"message":"teapot"}`))
	}))
	defer srv.Close()
	c := &http.Client{Transport: Transport(nil)}
	res, err := c.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("documented answer refused: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != `{"status":"ok"}` {
		t.Fatalf("body %q", body)
	}
	if _, err := c.Get(srv.URL + "/api/users/me"); err == nil {
		t.Fatal("an undocumented 418 went through")
	}
}
