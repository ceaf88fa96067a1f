package httpapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/httpapi"
	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/metrics/metricstest"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestRequestsObserved: every request is counted by route template, method
// and status, timed, and logged on one JSON line with its id, route,
// status, duration and (once its token was checked) user, and nothing a
// client would keep secret: no token, no password, no query string.
func TestRequestsObserved(t *testing.T) {
	m := metrics.New("test")
	var logs bytes.Buffer
	v := newEnv(t, storetest.SQLite(t), withRateLimit(4), func(c *httpapi.Config, _ *chat.Config) {
		c.Metrics = m
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	ann := v.register("ann") // POST /api/users, POST /api/login
	v.do("GET", "/api/users/"+strconv.Itoa(ann.ID)+"?secret=query-value", nil, ann.Token).expect(t, 200)
	v.do("GET", "/api/users/999999", nil, ann.Token).expect(t, 404)
	v.do("GET", "/nowhere/42", nil, "").expect(t, 404)
	for range 3 { // the limit is 4: registration and login spent two, two 401s, then a 429
		v.do("POST", "/api/login", map[string]any{"creds": map[string]any{"email": ann.Email, "password": "wrong"}}, "")
	}

	s := metricstest.Get(t, m)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"route", "/api/users", "method", "POST", "code", "201"}, 1},
		{[]string{"route", "/api/login", "method", "POST", "code", "200"}, 1},
		{[]string{"route", "/api/login", "method", "POST", "code", "401"}, 2},
		{[]string{"route", "/api/login", "method", "POST", "code", "429"}, 1},
		{[]string{"route", "/api/users/:id", "method", "GET", "code", "200"}, 1},
		{[]string{"route", "/api/users/:id", "method", "GET", "code", "404"}, 1},
		{[]string{"route", metrics.UnmatchedRoute, "method", "GET", "code", "404"}, 1},
	} {
		if got := s.Value(t, "companyapi_http_requests_total", c.labels...); got != c.want {
			t.Errorf("requests %v = %v, want %v", c.labels, got, c.want)
		}
	}
	if got := s.Value(t, "companyapi_http_request_duration_seconds", "route", "/api/users/:id", "method", "GET"); got != 2 {
		t.Errorf("timed %v requests to /api/users/:id, want 2", got)
	}
	if got := s.Value(t, "companyapi_ratelimit_refusals_total", "route", "/api/login"); got != 1 {
		t.Errorf("rate-limit refusals on /api/login = %v, want 1", got)
	}
	for name := range s {
		for _, mt := range s[name].GetMetric() {
			for _, lp := range mt.GetLabel() {
				if strings.Contains(lp.GetValue(), "999999") || strings.Contains(lp.GetValue(), "nowhere") {
					t.Errorf("%s has a raw path in label %s=%q", name, lp.GetName(), lp.GetValue())
				}
			}
		}
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var requests []map[string]any
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", l)
		}
		if rec["msg"] == "request" {
			requests = append(requests, rec)
		}
		for _, secret := range []string{ann.Token, ann.Password, "query-value", "wrong"} {
			if strings.Contains(l, secret) {
				t.Errorf("a log line holds %q: %s", secret, l)
			}
		}
	}
	if len(requests) != 8 {
		t.Fatalf("%d request lines for 8 requests:\n%s", len(requests), logs.String())
	}
	me := requests[2]
	if me["route"] != "/api/users/:id" || me["status"] != float64(200) || me["user"] != float64(ann.ID) ||
		me["request_id"] == "" || me["duration"] == nil || me["method"] != "GET" {
		t.Errorf("an authenticated request logged as %v", me)
	}
	if _, ok := requests[0]["user"]; ok {
		t.Errorf("a request without a token logged a user: %v", requests[0])
	}
	if requests[4]["route"] != metrics.UnmatchedRoute || requests[4]["status"] != float64(404) {
		t.Errorf("an unmatched path logged as %v", requests[4])
	}
}

// TestNoAdminRoutes: the public API never serves the metrics or the
// profiler, which live on ADMIN_ADDR only.
func TestNoAdminRoutes(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t), func(c *httpapi.Config, _ *chat.Config) { c.Metrics = metrics.New("test") })
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
		v.do("GET", path, nil, "").expect(t, 404)
	}
}
