package mail

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMailboxHandler(t *testing.T) {
	box := NewMailbox(nil, 0)
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, m := range []Mail{
		{To: "ann@example.com", From: "company@example.com", Subject: "first", Text: "one", HTML: "<h1>One</h1>", SentAt: at},
		{To: "bob@example.com", From: "company@example.com", Subject: "<script>alert(1)</script>",
			Text: "two </pre><script>x()</script>", HTML: `<p onclick="x()">Two</p>"`, SentAt: at.Add(time.Minute)},
	} {
		if err := box.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	h := box.Handler("/sent_mails")

	tests := []struct {
		name       string
		method     string
		path       string
		json       bool
		wantStatus int
		wantType   string
		want       []string // substrings of the body, in this order
		notWant    []string
	}{
		{name: "ok, html list newest first escapes subject", path: "/sent_mails",
			wantStatus: 200, wantType: "text/html",
			want: []string{
				`href="/sent_mails/0"`, "bob@example.com", "&lt;script&gt;alert(1)&lt;/script&gt;", "2024-05-06T07:09:09Z",
				`href="/sent_mails/1"`, "ann@example.com", "first", "2024-05-06T07:08:09Z",
			},
			notWant: []string{"<script>alert(1)"}},
		{name: "ok, trailing slash is the list", path: "/sent_mails/", wantStatus: 200, wantType: "text/html",
			want: []string{"first"}},
		{name: "ok, one mail as html", path: "/sent_mails/0", wantStatus: 200, wantType: "text/html",
			want: []string{
				"company@example.com", "bob@example.com", "&lt;script&gt;alert(1)&lt;/script&gt;",
				"two &lt;/pre&gt;&lt;script&gt;x()&lt;/script&gt;",
				`sandbox=""`, `srcdoc="&lt;p onclick=&#34;x()&#34;&gt;Two&lt;/p&gt;&#34;"`,
			},
			notWant: []string{"<script>", `onclick="x()"`}},
		{name: "ok, older mail as html", path: "/sent_mails/1", wantStatus: 200, wantType: "text/html",
			want: []string{"ann@example.com", "first", "one", "&lt;h1&gt;One&lt;/h1&gt;"}},
		{name: "nok, unknown n", path: "/sent_mails/2", wantStatus: 404, wantType: "application/json",
			want: []string{`{"message":"not found"}`}},
		{name: "nok, unknown n as json", path: "/sent_mails/99", json: true, wantStatus: 404, wantType: "application/json",
			want: []string{`{"message":"not found"}`}},
		{name: "nok, negative n", path: "/sent_mails/-1", wantStatus: 404, wantType: "application/json"},
		{name: "nok, n not a number", path: "/sent_mails/latest", wantStatus: 404, wantType: "application/json"},
		{name: "nok, other prefix", path: "/elsewhere", wantStatus: 404, wantType: "application/json"},
		{name: "nok, POST", method: http.MethodPost, path: "/sent_mails", wantStatus: 405, wantType: "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, tt.method, tt.path, tt.json)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("Content-Type = %q, want %s", ct, tt.wantType)
			}
			body := rec.Body.String()
			rest := body
			for _, s := range tt.want {
				_, after, ok := strings.Cut(rest, s)
				if !ok {
					t.Errorf("body lacks %q after %v:\n%s", s, tt.want, body)
					break
				}
				rest = after
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("body contains %q:\n%s", s, body)
				}
			}
		})
	}

	t.Run("ok, json list newest first", func(t *testing.T) {
		rec := serve(t, h, "", "/sent_mails", true)
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var got []map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("decode %s: %v", rec.Body, err)
		}
		if len(got) != 2 || got[0]["to"] != "bob@example.com" || got[1]["to"] != "ann@example.com" {
			t.Fatalf("want bob's mail then ann's, got %v", got)
		}
		for _, key := range []string{"to", "from", "subject", "text", "html", "sent_at"} {
			if _, ok := got[1][key]; !ok {
				t.Errorf("mail lacks %q: %v", key, got[1])
			}
		}
		if got[1]["sent_at"] != "2024-05-06T07:08:09Z" || got[1]["html"] != "<h1>One</h1>" {
			t.Errorf("mail fields: %v", got[1])
		}
	})

	t.Run("ok, one mail as json", func(t *testing.T) {
		rec := serve(t, h, "", "/sent_mails/1", true)
		var got Mail
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("decode %s: %v", rec.Body, err)
		}
		if got.To != "ann@example.com" || got.Text != "one" || !got.SentAt.Equal(at) {
			t.Errorf("got %+v", got)
		}
	})
}

func TestMailboxHandlerEmpty(t *testing.T) {
	h := NewMailbox(nil, 0).Handler("/sent_mails")
	if rec := serve(t, h, "", "/sent_mails", true); strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("empty JSON list = %s, want []", rec.Body)
	}
	if rec := serve(t, h, "", "/sent_mails", false); !strings.Contains(rec.Body.String(), "No mail yet") {
		t.Errorf("empty HTML list:\n%s", rec.Body)
	}
}

func serve(t *testing.T, h http.Handler, method, path string, wantJSON bool) *httptest.ResponseRecorder {
	t.Helper()
	if method == "" {
		method = http.MethodGet
	}
	req := httptest.NewRequest(method, path, nil)
	if wantJSON {
		req.Header.Set("Accept", "application/json")
	} else {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
