package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	entuser "github.com/companyapi/companyapi/ent/user"
)

// TestJSONOnly: a body not declared application/json is refused with 415
// before anything happens. A form or text/plain post is what another
// site's page can make a browser send without asking (it parsed before:
// such a page could register or log in through a visitor's browser).
func TestJSONOnly(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		a := v.register("ann")
		routes := []struct{ method, path, body string }{
			{"POST", "/api/users", `{"user":{"name":"Eve","subname":"X","email":"eve@example.com","job":"spy"}}`},
			{"POST", "/api/login", `{"creds":{"email":"ann@example.com","password":"x"}}`},
			{"POST", "/api/password_resets", `{"email":"ann@example.com"}`},
			{"PUT", "/api/password_resets/abc", `{"password":"a-long-password"}`},
			{"PUT", "/api/users/me/password", `{"password":{"current":"x","new":"a-long-password"}}`},
			{"POST", "/api/conversations", `{"conversation":{"recipient_id":1}}`},
			{"POST", "/api/conversations/1/messages", `{"message":{"content":"hi"}}`},
		}
		for _, r := range routes {
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/jsonx"} {
				t.Run("nok, "+r.method+" "+r.path+" as "+ct, func(t *testing.T) {
					req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
					if ct != "" {
						req.Header.Set("Content-Type", ct)
					}
					req.Header.Set("Authorization", "Bearer "+a.Token)
					res := v.send(req).expect(t, 415)
					if res.JSON(t)["message"] != "unsupported media type" {
						t.Fatalf("body %s", res.Body)
					}
				})
			}
		}
		t.Run("ok, application/json with a charset", func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/users", strings.NewReader(routes[0].body))
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			v.send(req).expect(t, 201)
		})
		t.Run("ok, logout has no body to declare", func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/logout", nil)
			req.Header.Set("Authorization", "Bearer "+v.login(a.Email, a.Password))
			v.send(req).expect(t, 204)
		})
		if n := v.st.Client.User.Query().Where(entuser.Email("eve@example.com")).CountX(ctx()); n != 1 {
			t.Fatalf("%d users eve: only the JSON registration may create her", n)
		}
	})
}

// TestCORS: pages on ALLOWED_ORIGINS may call the API, preflight included,
// with a bearer token and without cookies; other origins get no CORS
// header at all, and nothing but /api answers CORS.
func TestCORS(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		const app = "https://app.example.com"
		api := newEnv(t, v.st, withOrigins(app+"/", "https://other.example.com"))
		preflight := func(origin, path string) response {
			req := httptest.NewRequest("OPTIONS", path, nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			return api.send(req)
		}
		t.Run("ok, preflight from an allowed origin", func(t *testing.T) {
			res := preflight(app, "/api/login").expect(t, 204)
			h := res.Header
			if h.Get("Access-Control-Allow-Origin") != app || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
				!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") ||
				h.Get("Access-Control-Allow-Credentials") != "" || h.Get("Access-Control-Max-Age") == "" {
				t.Fatalf("preflight headers %v", h)
			}
		})
		t.Run("ok, a request from an allowed origin reads the token", func(t *testing.T) {
			a := api.register("ann")
			req := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"creds":{"email":"`+a.Email+`","password":"`+a.Password+`"}}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", app)
			h := api.send(req).expect(t, 200).Header
			if h.Get("Access-Control-Allow-Origin") != app || !strings.Contains(h.Get("Access-Control-Expose-Headers"), "Authorization") {
				t.Fatalf("headers %v", h)
			}
		})
		for _, origin := range []string{"https://evil.example.com", "https://sub.app.example.com", "http://app.example.com", "null"} {
			t.Run("nok, nothing for "+origin, func(t *testing.T) {
				res := preflight(origin, "/api/login")
				req := httptest.NewRequest("GET", "/api/users", nil)
				req.Header.Set("Origin", origin)
				for _, h := range []map[string][]string{res.Header, api.send(req).Header} {
					for k := range h {
						if strings.HasPrefix(k, "Access-Control-") {
							t.Fatalf("header %s for origin %s", k, origin)
						}
					}
				}
			})
		}
		t.Run("nok, no CORS outside /api", func(t *testing.T) {
			req := httptest.NewRequest("GET", "/healthz", nil)
			req.Header.Set("Origin", app)
			if h := api.send(req).Header.Get("Access-Control-Allow-Origin"); h != "" {
				t.Fatalf("/healthz answered CORS: %q", h)
			}
		})
		t.Run("nok, no CORS without ALLOWED_ORIGINS", func(t *testing.T) {
			req := httptest.NewRequest("OPTIONS", "/api/login", nil)
			req.Header.Set("Origin", app)
			req.Header.Set("Access-Control-Request-Method", "POST")
			if h := v.send(req).Header.Get("Access-Control-Allow-Origin"); h != "" {
				t.Fatalf("answered CORS without ALLOWED_ORIGINS: %q", h)
			}
		})
	})
}
