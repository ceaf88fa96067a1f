package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// devLogin registers a user on a dev server and logs in with the password
// from its mailbox, through the checking client; it returns the token.
func devLogin(t *testing.T, base, email string) string {
	t.Helper()
	res, err := client.Post(base+"/api/users", "application/json",
		strings.NewReader(`{"user":{"name":"Ann","subname":"Doe","email":"`+email+`","job":"engineer"}}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("register: %v %v", res, err)
	}
	res.Body.Close()
	// The welcome mail goes out through the outbox, a moment later.
	var mails []struct{ To, Text string }
	for i := 0; len(mails) == 0 && i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		req, _ := http.NewRequest("GET", base+"/sent_mails", nil)
		req.Header.Set("Accept", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(res.Body).Decode(&mails)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(mails) == 0 || mails[0].To != email {
		t.Fatalf("mailbox: %+v", mails)
	}
	pw := regexp.MustCompile(`generated password ([A-Za-z0-9_-]+)`).FindStringSubmatch(mails[0].Text)[1]
	res, err = client.Post(base+"/api/login", "application/json",
		strings.NewReader(`{"creds":{"email":"`+email+`","password":"`+pw+`"}}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login: %v %v", res, err)
	}
	defer res.Body.Close()
	var login struct{ Data struct{ Token string } }
	if err := json.NewDecoder(res.Body).Decode(&login); err != nil {
		t.Fatal(err)
	}
	return login.Data.Token
}

// TestSocketEndpointAnswers: the socket endpoint's plain HTTP answers, as
// the binary serves them, are the documented ones (the client checks them
// against api/openapi.yaml), and its method refusal is what
// api/channels.md says.
func TestSocketEndpointAnswers(t *testing.T) {
	base, stop := startServer(t, sqliteEnv(t))
	defer stop()
	token := devLogin(t, base, "ann@example.com")
	for _, c := range []struct {
		method, query string
		status        int
		word          string
		header        [2]string
	}{
		{"GET", "", 403, "missing token", [2]string{}},
		{"GET", "?token=nope", 403, "invalid token", [2]string{}},
		{"GET", "?vsn=9.0.0&token=" + token, 403, "unsupported vsn", [2]string{}},
		{"GET", "?token=" + token, 426, "websocket upgrade required", [2]string{"Upgrade", "websocket"}},
		{"POST", "?token=" + token, 405, "method not allowed", [2]string{"Allow", "OPTIONS, GET"}},
	} {
		req, _ := http.NewRequest(c.method, base+"/socket/websocket"+c.query, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.query, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var m struct{ Message string }
		if res.StatusCode != c.status || json.Unmarshal(body, &m) != nil || m.Message != c.word {
			t.Errorf("%s %s: %d %s, want %d %q", c.method, c.query, res.StatusCode, body, c.status, c.word)
		}
		if c.header[0] != "" && res.Header.Get(c.header[0]) != c.header[1] {
			t.Errorf("%s %s: %s %q, want %q", c.method, c.query, c.header[0], res.Header.Get(c.header[0]), c.header[1])
		}
	}
}
