package system

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/smtptest"
	"github.com/companyapi/companyapi/internal/storetest"
)

// register creates an account over REST.
func register(t *testing.T, n *node, email string) {
	t.Helper()
	status, _, err := call("POST", n.url("/api/users"), "", map[string]any{"user": map[string]any{
		"name": "N", "subname": "S", "email": email, "job": "J"}}, nil)
	if err != nil || status != 201 {
		t.Fatalf("register %s: %d %v", email, status, err)
	}
}

// TestMailOutage: the SMTP server is down while people register, and
// companyapi restarts in the middle of the outage. Before, welcome mails
// were dropped after 5 tries (about 7 s) and at SIGTERM, leaving accounts
// nobody knew the password of. Now every welcome mail is delivered once
// the server is back, none twice, and its password logs in.
func TestMailOutage(t *testing.T) {
	for _, c := range []struct {
		store  string
		outage time.Duration
	}{
		{"postgres", 60 * time.Second},
		{"sqlite", 20 * time.Second},
	} {
		t.Run(c.store, func(t *testing.T) {
			dbURL := "sqlite://" + filepath.Join(t.TempDir(), "api.db")
			if c.store == "postgres" {
				dbURL = storetest.PostgresURL(t)
			}
			smtp := smtptest.Start(t)
			smtp.Stop(t)
			down := time.Now()
			env := baseEnv(dbURL)
			env["SMTP_URL"] = smtp.URL()
			env["MAIL_RETRY_MAX_INTERVAL"] = "3s"
			n := startNode(t, "a", env)
			const accounts = 40
			var emails []string
			for i := range accounts {
				email := fmt.Sprintf("new%d@example.com", i)
				emails = append(emails, email)
				register(t, n, email)
				if i == accounts/2 {
					// Restart in the middle of the outage, mails queued.
					time.Sleep(c.outage / 2)
					if err := n.stop(); err != nil {
						t.Fatalf("stop: %v", err)
					}
					env["ADDR"] = n.addr
					n = startNode(t, "a2", env)
				}
			}
			time.Sleep(c.outage - time.Since(down))
			smtp.Restart(t)
			back := time.Now()
			smtp.WaitFor(t, accounts, 2*time.Minute)
			all := time.Since(back)
			time.Sleep(2 * time.Second) // room for a duplicate to show
			mails := smtp.Mails()
			per := map[string]int{}
			for _, m := range mails {
				per[m.Recipient()]++
			}
			for _, e := range emails {
				if per[e] != 1 {
					t.Errorf("%s got %d welcome mails, want 1", e, per[e])
				}
			}
			last := mails[len(mails)-1]
			status, _, err := call("POST", n.url("/api/login"), "", map[string]any{"creds": map[string]any{"email": last.Recipient(), "password": last.Password()}}, nil)
			if err != nil || status != 200 {
				t.Fatalf("login with a mailed password: %d %v", status, err)
			}
			t.Logf("FIGURE %s: SMTP down %v with a restart in the middle: %d of %d welcome mails delivered, none twice, all within %v of the server's return",
				c.store, c.outage, len(per), accounts, all.Round(100*time.Millisecond))
		})
	}
}
