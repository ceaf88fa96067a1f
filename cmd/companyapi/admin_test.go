package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/companyapi/companyapi/internal/metrics/metricstest"
)

var adminLine = regexp.MustCompile(`admin on (http://\S+)`)

// get answers a plain GET (not held to api/openapi.yaml: the admin
// listener is not the API).
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestAdminListener runs `companyapi serve` with ADMIN_ADDR: the admin
// listener serves /metrics and /debug/pprof/, the public one neither; the
// counters move with what a client did over REST and the socket; and every
// metric the Grafana dashboard queries is in the scrape.
func TestAdminListener(t *testing.T) {
	env := sqliteEnv(t)
	env["ADMIN_ADDR"] = "127.0.0.1:0"
	env["RATE_LIMIT_LOGIN"] = "4"
	base, out, stop := startServerOut(t, env)
	defer stop()
	m := adminLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no admin line in %q", out.String())
	}
	admin := m[1]

	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
		if code, _ := get(t, base+path); code != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", path, code)
		}
	}
	if code, body := get(t, admin+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("admin /debug/pprof/: %d %.200s", code, body)
	}
	if code, body := get(t, admin+"/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Errorf("admin goroutine profile: %d %.200s", code, body)
	}
	if code, _ := get(t, admin+"/api/users"); code != http.StatusNotFound {
		t.Errorf("admin /api/users: %d, want 404: the admin listener serves nothing of the API", code)
	}
	before := metricstest.URL(t, admin+"/metrics")
	if v := before.Value(t, "companyapi_sockets_open"); v != 0 {
		t.Fatalf("%v sockets open before any client", v)
	}

	// REST: Ann registers (the welcome mail goes out) and logs in, Bob
	// registers, Ann opens a conversation; two wrong passwords, the second
	// over the limit of 4.
	token := devLogin(t, base, "ann@example.com")
	bob := postJSON(t, base+"/api/users", "", `{"user":{"name":"Bob","subname":"Roe","email":"bob@example.com","job":"designer"}}`, 201)
	conv := postJSON(t, base+"/api/conversations", token, `{"conversation":{"recipient_id":`+itoa(bob["id"])+`}}`, 201)
	for _, want := range []int{401, 429} {
		postJSON(t, base+"/api/login", "", `{"creds":{"email":"ann@example.com","password":"wrong"}}`, want)
	}

	// The socket: join room:chat, send a message, leave.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/socket/websocket?vsn=2.0.0&token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	phx := func(frame string, wantRef string) {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var f []json.RawMessage
			if json.Unmarshal(b, &f) == nil && len(f) == 5 && string(f[1]) == `"`+wantRef+`"` {
				if !strings.Contains(string(f[4]), `"status":"ok"`) {
					t.Fatalf("reply %s", b)
				}
				return
			}
		}
	}
	phx(`["1","1","room:chat","phx_join",{}]`, "1")
	during := metricstest.URL(t, admin+"/metrics")
	phx(`["1","2","room:chat","send_msg",{"user":`+itoa(bob["id"])+`,"conv":`+itoa(conv["data"].(map[string]any)["id"])+`,"message":"hi"}]`, "2")
	if err := ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}

	var after metricstest.Scrape
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		after = metricstest.URL(t, admin+"/metrics")
		if after.Value(t, "companyapi_socket_closes_total", "reason", "client") == 1 &&
			after.Value(t, "companyapi_outbox_attempts_total", "outcome", "sent") >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the socket's close or the welcome mail was never counted")
		}
	}
	for _, c := range []struct {
		s      metricstest.Scrape
		name   string
		labels []string
		want   float64
	}{
		{during, "companyapi_sockets_open", nil, 1},
		{during, "companyapi_sockets_joined", nil, 1},
		{after, "companyapi_sockets_open", nil, 0},
		{after, "companyapi_http_requests_total", []string{"route", "/api/users", "method", "POST", "code", "201"}, 2},
		{after, "companyapi_http_requests_total", []string{"route", "/api/conversations", "method", "POST", "code", "201"}, 1},
		{after, "companyapi_http_requests_total", []string{"route", "/api/login", "code", "429"}, 1},
		{after, "companyapi_ratelimit_refusals_total", []string{"route", "/api/login"}, 1},
		{after, "companyapi_socket_joins_total", []string{"result", "ok"}, 1},
		{after, "companyapi_socket_frames_received_total", nil, 2},
		{after, "companyapi_messages_committed_total", nil, 1},
		{after, "companyapi_message_send_duration_seconds", []string{"result", "ok"}, 1},
		{after, "companyapi_message_batch_size", nil, 1},
		{after, "companyapi_broker_connected", nil, 1},
		{after, "companyapi_outbox_pending_mails", nil, 0},
		{after, "companyapi_build_info", []string{"version", version}, 1},
	} {
		if got := c.s.Value(t, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if v := after.Value(t, "go_sql_max_open_connections", "db_name", "companyapi"); v < 1 {
		t.Errorf("the pool's statistics are missing: max open %v", v)
	}
	if v := after.Value(t, "process_resident_memory_bytes"); v <= 0 {
		t.Errorf("process RSS %v", v)
	}
	checkDashboard(t, after)
}

// TestAdminOff: without ADMIN_ADDR nothing listens for it, and the public
// listener still serves neither /metrics nor the profiler.
func TestAdminOff(t *testing.T) {
	base, out, stop := startServerOut(t, sqliteEnv(t))
	defer stop()
	if strings.Contains(out.String(), "admin on") {
		t.Fatalf("an admin listener without ADMIN_ADDR: %q", out.String())
	}
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if code, _ := get(t, base+path); code != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", path, code)
		}
	}
}

// postJSON posts body (with token, if any) through the checking client and
// returns the decoded answer, failing unless its status is want.
func postJSON(t *testing.T, url, token, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(res.Body).Decode(&v)
	if res.StatusCode != want {
		t.Fatalf("POST %s: %d %v, want %d", url, res.StatusCode, v, want)
	}
	return v
}

func itoa(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
