package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/mail"
)

// welcomeMailer renders the welcome mail and queues it: registration never
// waits for the mail server.
type welcomeMailer struct {
	from    string
	queue   *mail.Queue
	mailbox *mail.Mailbox
}

// newMailer sends through SMTP_URL when set; otherwise, in dev, into the
// in-memory mailbox shown at /sent_mails.
func newMailer(cfg config.Config, log *slog.Logger) (*welcomeMailer, error) {
	w := &welcomeMailer{from: cfg.MailFrom}
	var m mail.Mailer
	if cfg.SMTPURL != "" {
		sc, err := mail.ParseSMTPURL(cfg.SMTPURL)
		if err != nil {
			return nil, &config.Error{Var: "SMTP_URL", Msg: err.Error()}
		}
		s, err := mail.NewSMTP(sc)
		if err != nil {
			return nil, err
		}
		m = s
	} else {
		w.mailbox = mail.NewMailbox(500)
		m = w.mailbox
	}
	w.queue = mail.NewQueue(mail.QueueConfig{Mailer: m, Logger: log})
	return w, nil
}

func (w *welcomeMailer) SendWelcome(to, password string) error {
	m, err := mail.RenderWelcome(w.from, to, password)
	if err != nil {
		return err
	}
	return w.queue.Enqueue(m)
}

// Mailbox is the /sent_mails handler, or nil when mails go to SMTP.
func (w *welcomeMailer) Mailbox() http.Handler {
	if w.mailbox == nil {
		return nil
	}
	return w.mailbox.Handler("/sent_mails")
}

// Close waits, up to ctx's deadline, for queued mails.
func (w *welcomeMailer) Close(ctx context.Context) error { return w.queue.Close(ctx) }
