package httpapi_test

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/companyapi/companyapi/internal/auth"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

func TestLogin(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		a := v.register("ann")
		t.Run("ok, token in body and header", func(t *testing.T) {
			res := v.do("POST", "/api/login", map[string]any{"creds": map[string]any{"email": "ANN@example.com ", "password": a.Password}}, "").expect(t, 200)
			d := res.JSON(t)["data"].(map[string]any)
			token := d["token"].(string)
			if res.Header.Get("Authorization") != "Bearer "+token {
				t.Fatalf("Authorization header %q", res.Header.Get("Authorization"))
			}
			u := d["user"].(map[string]any)
			if u["email"] != a.Email || len(u) != 5 {
				t.Fatalf("user %v", u)
			}
			c, err := v.tokens.Parse(token)
			if err != nil {
				t.Fatal(err)
			}
			if int64(d["expire"].(float64)) != c.ExpiresAt.Unix() || c.Subject != "User:"+strconv.Itoa(a.ID) || c.Issuer != "CompanyApi" || c.ID == "" {
				t.Fatalf("claims %+v, expire %v", c, d["expire"])
			}
		})
		for name, creds := range map[string]map[string]any{
			"nok, wrong password": {"email": a.Email, "password": "nope"},
			"nok, unknown email":  {"email": "nobody@example.com", "password": a.Password},
			"nok, empty":          {},
			"nok, NUL in email":   {"email": "ann\u0000@example.com", "password": a.Password},
		} {
			t.Run(name, func(t *testing.T) {
				res := v.do("POST", "/api/login", map[string]any{"creds": creds}, "").expect(t, 401)
				if string(res.Body) != `{"data":"invalid email or password"}`+"\n" {
					t.Fatalf("body %q", res.Body)
				}
				if h := res.Header.Get("WWW-Authenticate"); h != `Bearer realm="companyapi"` {
					t.Fatalf("WWW-Authenticate %q", h)
				}
			})
		}
		t.Run("nok, wrong types, every one named", func(t *testing.T) {
			assertFieldErrors(t, v.do("POST", "/api/login", map[string]any{"creds": map[string]any{"email": 5, "password": true}}, "").expect(t, 422),
				map[string][]string{"email": {"is invalid"}, "password": {"is invalid"}})
		})
		t.Run("nok, no creds", func(t *testing.T) {
			assertFieldErrors(t, v.do("POST", "/api/login", map[string]any{"email": a.Email}, "").expect(t, 422),
				map[string][]string{"creds": {"can't be blank"}})
		})
	})
}

func TestLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		v := newEnv(t, st)
		a := v.register("ann")
		claims, err := v.tokens.Parse(a.Token)
		if err != nil {
			t.Fatal(err)
		}
		other := v.login(a.Email, a.Password)
		v.do("POST", "/api/logout", nil, a.Token).expect(t, 204)
		if ended := v.events.ended(); len(ended) != 1 || ended[0] != (chat.SessionsEnded{UserID: a.ID, TokenID: claims.ID}) {
			t.Fatalf("logout announced %v, want that token's session ended", ended)
		}
		res := v.do("GET", "/api/users/me", nil, a.Token).expect(t, 401)
		if res.JSON(t)["message"] != "token revoked" ||
			res.Header.Get("WWW-Authenticate") != `Bearer realm="companyapi", error="invalid_token", error_description="token revoked"` {
			t.Fatalf("%v %s", res.Header, res.Body)
		}
		v.do("GET", "/api/users/me", nil, other).expect(t, 200)
		// Expired revocations are purged; live ones stay.
		if n, err := v.svc.PurgeRevokedTokens(ctx()); err != nil || n != 0 {
			t.Fatalf("purged %d (%v), want 0", n, err)
		}
	})
}

func TestTokenRefusals(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		a := v.register("ann")
		claims := func(exp time.Time) jwt.RegisteredClaims {
			return jwt.RegisteredClaims{Issuer: auth.Issuer, Subject: "User:" + strconv.Itoa(a.ID), ID: "x1",
				IssuedAt: jwt.NewNumericDate(time.Now().Add(-2 * time.Hour)), ExpiresAt: jwt.NewNumericDate(exp)}
		}
		sign := func(m jwt.SigningMethod, key any, c jwt.Claims) string {
			s, err := jwt.NewWithClaims(m, c).SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		good := sign(jwt.SigningMethodHS256, testSecret, claims(time.Now().Add(time.Hour)))
		v.do("GET", "/api/users/me", nil, good).expect(t, 200)
		noIss := claims(time.Now().Add(time.Hour))
		noIss.Issuer = "Someone"
		ghost := claims(time.Now().Add(time.Hour))
		ghost.Subject = "User:999999"
		cases := map[string]struct{ token, word string }{
			"alg none":     {sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(time.Now().Add(time.Hour))), "invalid token"},
			"alg HS512":    {sign(jwt.SigningMethodHS512, testSecret, claims(time.Now().Add(time.Hour))), "invalid token"},
			"other secret": {sign(jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdefghij"), claims(time.Now().Add(time.Hour))), "invalid token"},
			"expired":      {sign(jwt.SigningMethodHS256, testSecret, claims(time.Now().Add(-time.Hour))), "token expired"},
			"wrong issuer": {sign(jwt.SigningMethodHS256, testSecret, noIss), "invalid token"},
			"unknown user": {sign(jwt.SigningMethodHS256, testSecret, ghost), "invalid token"},
			"garbage":      {"not.a.jwt", "invalid token"},
			"tampered":     {good[:len(good)-4] + strings.Repeat("A", 4), "invalid token"},
		}
		for name, c := range cases {
			t.Run("nok, "+name, func(t *testing.T) {
				res := v.do("GET", "/api/users/me", nil, c.token).expect(t, 401)
				want := `Bearer realm="companyapi", error="invalid_token", error_description="` + c.word + `"`
				if res.JSON(t)["message"] != c.word || res.Header.Get("WWW-Authenticate") != want {
					t.Fatalf("%v %s, want %q", res.Header, res.Body, c.word)
				}
			})
		}
		t.Run("nok, not bearer", func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/users/me", nil)
			req.Header.Set("Authorization", "Basic YTpi")
			rec := httptest.NewRecorder()
			v.e.ServeHTTP(rec, req)
			if rec.Code != 401 || rec.Body.String() != `{"message":"missing token"}`+"\n" || rec.Header().Get("WWW-Authenticate") != `Bearer realm="companyapi"` {
				t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
			}
		})
	})
}

func TestRateLimit(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		limited := newEnv(t, v.st, withRateLimit(3))
		body := map[string]any{"creds": map[string]any{"email": "x@example.com", "password": "y"}}
		for range 3 {
			limited.do("POST", "/api/login", body, "").expect(t, 401)
		}
		res := limited.do("POST", "/api/login", body, "").expect(t, 429)
		if res.Header.Get("Retry-After") == "" || res.JSON(t)["message"] != "too many requests" {
			t.Fatalf("429 without Retry-After or message: %v %s", res.Header, res.Body)
		}
		// Login, registration and password change share one budget per IP.
		limited.do("POST", "/api/users", map[string]any{"user": map[string]any{}}, "").expect(t, 429)
		// Unlimited routes are not counted.
		limited.do("GET", "/healthz", nil, "").expect(t, 200)
	})
}

// TestRateLimitHoldsForTheCluster: two API nodes on one store spend one
// budget, where per-process limits let N nodes allow N times as much.
func TestRateLimitHoldsForTheCluster(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		nodes := []*env{newEnv(t, st, withRateLimit(4)), newEnv(t, st, withRateLimit(4))}
		body := map[string]any{"creds": map[string]any{"email": "x@example.com", "password": "y"}}
		for i := range 4 {
			nodes[i%2].do("POST", "/api/login", body, "").expect(t, 401)
		}
		nodes[0].do("POST", "/api/login", body, "").expect(t, 429)
		nodes[1].do("POST", "/api/login", body, "").expect(t, 429)
	})
}

// TestLegacyTokens: a token issued before tokens carried a generation (no
// gen claim) keeps working after the upgrade, and a password change ends
// it as it ends the others.
func TestLegacyTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		v := newEnv(t, st)
		a := v.register("ann")
		legacy, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
			Issuer: auth.Issuer, Subject: "User:" + strconv.Itoa(a.ID), ID: "legacy1",
			IssuedAt: jwt.NewNumericDate(time.Now().Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
		}).SignedString(testSecret)
		if err != nil {
			t.Fatal(err)
		}
		v.do("GET", "/api/users/me", nil, legacy).expect(t, 200)
		v.do("PUT", "/api/users/me/password", map[string]any{"password": map[string]any{"current": a.Password, "new": "a-new-long-password"}}, a.Token).expect(t, 204)
		if body := v.do("GET", "/api/users/me", nil, legacy).expect(t, 401).JSON(t); body["message"] != "token revoked" {
			t.Fatalf("legacy token after a change: %v", body)
		}
	})
}
