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

// TestLongPollEndpoint: the LongPoll transport as the binary serves it,
// behind the API's middleware (no body limit or deadline of REST's cut
// it short): a session opens with the token, takes a batch of frames and
// answers them in a poll; refusals are in its envelope; every answer is
// the documented one (the client checks them against api/openapi.yaml).
func TestLongPollEndpoint(t *testing.T) {
	base, stop := startServer(t, sqliteEnv(t))
	defer stop()
	token := devLogin(t, base, "ann@example.com")
	type answer struct {
		Status   int
		Token    string
		Messages []string
		Message  string
	}
	do := func(method, query string, header map[string]string, body string) answer {
		t.Helper()
		req, _ := http.NewRequest(method, base+"/socket/longpoll"+query, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, query, err)
		}
		defer res.Body.Close()
		var a answer
		if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&a) != nil {
			t.Fatalf("%s %s: HTTP %d", method, query, res.StatusCode)
		}
		return a
	}
	if a := do("GET", "?vsn=2.0.0&token=nope", nil, ""); a.Status != 403 || a.Message != "invalid token" {
		t.Fatalf("a bad token: %+v", a)
	}
	open := do("GET", "?vsn=2.0.0", map[string]string{"X-Phoenix-AuthToken": token}, "")
	if open.Status != 410 || open.Token == "" {
		t.Fatalf("opening a session: %+v", open)
	}
	session := map[string]string{"X-Phoenix-Longpoll-Token": open.Token, "Content-Type": "application/x-ndjson"}
	// A batch larger than REST's 64 KiB body limit, of frames within the socket's.
	pad := strings.Repeat("x", 40<<10)
	batch := `["1","1","room:chat","phx_join",{"pad":"` + pad + `"}]` + "\n" + `[null,"2","phoenix","heartbeat",{"pad":"` + pad + `"}]`
	if a := do("POST", "?vsn=2.0.0", session, batch); a.Status != 200 {
		t.Fatalf("POST: %+v", a)
	}
	var got []string
	for len(got) < 3 {
		a := do("GET", "?vsn=2.0.0", session, "")
		if a.Status != 200 || a.Token != open.Token {
			t.Fatalf("poll: %+v", a)
		}
		got = append(got, a.Messages...)
	}
	if !strings.Contains(got[0], `"phx_reply"`) || !strings.Contains(got[1], `"presence_state"`) || !strings.Contains(got[2], `"2"`) {
		t.Fatalf("polled %q", got)
	}
	req, _ := http.NewRequest("PUT", base+"/socket/longpoll", nil)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 {
		t.Fatalf("PUT: %d", res.StatusCode)
	}
}
