package httpapi_test

import (
	"testing"

	entuser "github.com/companyapi/companyapi/ent/user"
	"github.com/companyapi/companyapi/internal/chat"
)

// TestLookAlikeEmails: addresses that look alike are one address (NFKC,
// lower case, the domain in ASCII), so the second is taken; addresses
// holding characters that hide or reorder text are refused.
func TestLookAlikeEmails(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		register := func(email string) response {
			return v.do("POST", "/api/users", map[string]any{"user": map[string]any{
				"name": "Ann", "subname": "Doe", "email": email, "job": "engineer"}}, "")
		}
		register("ann@example.com").expect(t, 201)
		for _, alike := range []string{"ａnn@example.com", "ANN@ＥＸＡＭＰＬＥ.com", "ann＠example.com"} {
			t.Run("nok, taken: "+alike, func(t *testing.T) {
				assertFieldErrors(t, register(alike).expect(t, 422), map[string][]string{"email": {chat.MsgTaken}})
			})
		}
		t.Run("ok, an IDN domain stored in ASCII", func(t *testing.T) {
			body := register("Bob@Bücher.de").expect(t, 201).JSON(t)
			if body["email"] != "bob@xn--bcher-kva.de" {
				t.Fatalf("stored %v, want bob@xn--bcher-kva.de", body["email"])
			}
			assertFieldErrors(t, register("bob@xn--bcher-kva.DE").expect(t, 422), map[string][]string{"email": {chat.MsgTaken}})
			pw := v.mail.password(t, "bob@xn--bcher-kva.de")
			v.login("bob@bücher.de", pw)
		})
		for name, email := range map[string]string{
			"right-to-left override": "ann\u202e@example.com",
			"left-to-right mark":     "an\u200en@example.com",
			"zero-width space":       "an\u200bn@example.com",
			"zero-width joiner":      "ann@exa\u200dmple.com",
			"soft hyphen":            "an\u00adn@example.com",
			"no-break space":         "an\u00a0n@example.com",
			"byte order mark":        "\ufeffann@example.com",
			"variation selector":     "ann\ufe0f@example.com",
			"Hangul filler":          "ann\u3164@example.com",
			"tab":                    "an\tn@example.com",
		} {
			t.Run("nok, "+name, func(t *testing.T) {
				assertFieldErrors(t, register(email).expect(t, 422), map[string][]string{"email": {chat.MsgHiddenChars}})
			})
		}
		t.Run("nok, a domain IDNA refuses", func(t *testing.T) {
			assertFieldErrors(t, register("ann@exa_mple.com").expect(t, 422), map[string][]string{"email": {chat.MsgFormat}})
		})
		if n := v.st.Client.User.Query().Where(entuser.EmailHasPrefix("ann")).CountX(ctx()); n != 1 {
			t.Fatalf("%d accounts for ann, want 1", n)
		}
	})
}
