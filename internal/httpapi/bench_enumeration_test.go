package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/companyapi/companyapi/internal/store"
)

// BenchmarkRegisterTaken is BenchmarkRegister with an email already taken:
// the two should cost about the same, so that the time of a registration
// does not tell which addresses have accounts (it was 1.2 ms against
// 36.6 ms when the request hashed a password).
//
//	go test -run '^$' -bench 'Register' -benchtime 2000x ./internal/httpapi/
func BenchmarkRegisterTaken(b *testing.B) {
	stores(b, func(b *testing.B, st *store.Store) {
		v := benchEnv(b, st)
		body := `{"user":{"name":"a","subname":"b","email":"taken@example.com","job":"c"}}`
		v.do("POST", "/api/users", body, "").expect(b, 201)
		b.ReportAllocs()
		for b.Loop() {
			if res := v.do("POST", "/api/users", body, ""); res.Code != 422 {
				b.Fatalf("register %d %s", res.Code, res.Body)
			}
		}
	})
}

// BenchmarkPasswordResetRequest is POST /api/password_resets for an
// account and for an address without one: both answer 202 after the same
// least time (chat.DefaultResetAnswerTime), whatever the lookup and the
// queued mail cost.
//
//	go test -run '^$' -bench PasswordResetRequest -benchtime 20x ./internal/httpapi/
func BenchmarkPasswordResetRequest(b *testing.B) {
	stores(b, func(b *testing.B, st *store.Store) {
		v := benchEnv(b, st)
		for _, who := range []string{"account", "no account"} {
			b.Run(who, func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					email := fmt.Sprintf("r%d@example.com", i)
					if who == "account" {
						b.StopTimer()
						v.do("POST", "/api/users", fmt.Sprintf(`{"user":{"name":"a","subname":"b","email":%q,"job":"c"}}`, email), "").expect(b, 201)
						b.StartTimer()
					} else {
						email = "nobody-" + email
					}
					v.do("POST", "/api/password_resets", fmt.Sprintf(`{"email":%q}`, email), "").expect(b, 202)
				}
			})
		}
	})
}
