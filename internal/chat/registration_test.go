package chat_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestRegistrationDomains: with RegistrationDomains set, only addresses in
// those domains register (an IDN domain whatever way it is typed); the
// refusal is on "email", with the other fields' errors.
func TestRegistrationDomains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newServiceWith(t, st, func(c *chat.Config) { c.RegistrationDomains = []string{"example.com", "xn--bcher-kva.de"} })
		for _, email := range []string{"ann@example.com", "bob@BÜCHER.de"} {
			if _, err := svc.Register(ctx, chat.Registration{Name: "n", Subname: "s", Email: email, Job: "j"}); err != nil {
				t.Errorf("%s: %v", email, err)
			}
		}
		for _, c := range []struct {
			reg  chat.Registration
			want map[string][]string
		}{
			{chat.Registration{Name: "n", Subname: "s", Email: "eve@evil.com", Job: "j"},
				map[string][]string{"email": {chat.MsgDomainNotAllowed}}},
			{chat.Registration{Name: "n", Subname: "s", Email: "eve@sub.example.com", Job: "j"},
				map[string][]string{"email": {chat.MsgDomainNotAllowed}}},
			{chat.Registration{Subname: "s", Email: "eve@evil.com", Job: "j"},
				map[string][]string{"email": {chat.MsgDomainNotAllowed}, "name": {chat.MsgBlank}}},
			{chat.Registration{Name: "n", Subname: "s", Email: "nope", Job: "j"},
				map[string][]string{"email": {chat.MsgFormat}}},
		} {
			_, err := svc.Register(ctx, c.reg)
			if got := chat.AsError(err).Fields; !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: %v, want %v", c.reg.Email, err, c.want)
			}
		}
		open := newServiceWith(t, st, nil)
		if _, err := open.Register(ctx, chat.Registration{Name: "n", Subname: "s", Email: "eve@evil.com", Job: "j"}); err != nil {
			t.Errorf("without RegistrationDomains: %v, want any domain", err)
		}
	})
}
