package httpapi_test

import (
	"strings"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestPasswordReset: a user who lost the welcome mail gets a token by mail
// and sets a password with it; the answer to the request is the same for
// an address without an account; the token works once; the reset ends
// every earlier session as a password change does.
func TestPasswordReset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		v := newEnv(t, st)
		a := v.register("ann")
		other := v.login(a.Email, a.Password)

		known := v.do("POST", "/api/password_resets", map[string]any{"email": "Ann@Example.com"}, "").expect(t, 202)
		unknown := v.do("POST", "/api/password_resets", map[string]any{"email": "nobody@example.com"}, "").expect(t, 202)
		if string(known.Body) != string(unknown.Body) {
			t.Fatalf("answers differ: %s and %s", known.Body, unknown.Body)
		}
		if tok := v.mail.resetToken(t, "nobody@example.com"); tok != "" {
			t.Fatal("a reset mail to an address without an account")
		}
		token := v.mail.resetToken(t, a.Email)
		if token == "" {
			t.Fatal("no reset mail")
		}

		put := func(tok string, body any) response {
			return v.do("PUT", "/api/password_resets/"+tok, body, "")
		}
		for _, c := range []struct {
			password any
			msg      string
		}{
			{"short", chat.MsgPasswordShort},
			{strings.Repeat(" ", 12), chat.MsgPasswordWhitespace},
			{strings.Repeat("\u200b", 12), chat.MsgPasswordWhitespace},
			{strings.Repeat("x", 1025), chat.MsgPasswordLong},
			{" ANN@example.com ", chat.MsgPasswordIsEmail},
			{nil, chat.MsgBlank},
			{12, chat.MsgInvalid},
		} {
			assertFieldErrors(t, put(token, map[string]any{"password": c.password}).expect(t, 422), map[string][]string{"password": {c.msg}})
		}
		put(token, map[string]any{"password": strings.Repeat("é", 1024)}).expect(t, 204)

		v.do("POST", "/api/login", map[string]any{"creds": map[string]any{"email": a.Email, "password": a.Password}}, "").expect(t, 401)
		v.login(a.Email, strings.Repeat("é", 1024))
		for _, old := range []string{a.Token, other} {
			if body := v.do("GET", "/api/users/me", nil, old).expect(t, 401).JSON(t); body["message"] != "token revoked" {
				t.Fatalf("a token from before the reset: %v", body)
			}
		}
		if ended := v.events.ended(); len(ended) != 1 || ended[0] != (chat.SessionsEnded{UserID: a.ID, Generation: 1}) {
			t.Fatalf("announced %v, want the user's earlier sessions ended", ended)
		}
		for _, tok := range []string{token, "unknown", strings.Repeat("A", 43)} {
			res := put(tok, map[string]any{"password": "yet-another-password"}).expect(t, 404)
			if res.JSON(t)["message"] != "not found" {
				t.Fatalf("body %s", res.Body)
			}
		}
	})
}

func TestPasswordResetRefusals(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		for _, c := range []struct {
			name  string
			body  any
			field string
			msg   string
		}{
			{"nok, no email", map[string]any{}, "email", chat.MsgBlank},
			{"nok, email not a string", map[string]any{"email": 5}, "email", chat.MsgInvalid},
			{"nok, not an address", map[string]any{"email": "nope"}, "email", chat.MsgFormat},
		} {
			t.Run(c.name, func(t *testing.T) {
				assertFieldErrors(t, v.do("POST", "/api/password_resets", c.body, "").expect(t, 422), map[string][]string{c.field: {c.msg}})
			})
		}
		t.Run("nok, not JSON", func(t *testing.T) {
			v.do("POST", "/api/password_resets", "[]", "").expect(t, 400)
		})
		t.Run("nok, rate-limited with login", func(t *testing.T) {
			limited := newEnv(t, v.st, withRateLimit(2))
			limited.do("POST", "/api/login", map[string]any{"creds": map[string]any{"email": "x@example.com", "password": "y"}}, "").expect(t, 401)
			limited.do("POST", "/api/password_resets", map[string]any{"email": "x@example.com"}, "").expect(t, 202)
			limited.do("POST", "/api/password_resets", map[string]any{"email": "x@example.com"}, "").expect(t, 429)
			limited.do("PUT", "/api/password_resets/abc", map[string]any{"password": "a-long-password"}, "").expect(t, 429)
		})
	})
}
