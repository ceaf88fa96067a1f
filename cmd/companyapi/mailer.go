package main

import (
	"log/slog"
	"net/http"

	"github.com/companyapi/companyapi/internal/config"
	"github.com/companyapi/companyapi/internal/mail"
	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/outbox"
	"github.com/companyapi/companyapi/internal/store"
)

// newMailer is where the outbox's mails go: SMTP_URL when set, otherwise
// (dev only: prod requires SMTP_URL) the development mailbox, kept in the
// database and shown at /sent_mails. The mailbox handler is nil with SMTP.
func newMailer(cfg config.Config, st *store.Store) (mail.Mailer, http.Handler, error) {
	if cfg.SMTPURL != "" {
		sc, err := mail.ParseSMTPURL(cfg.SMTPURL)
		if err != nil {
			return nil, nil, &config.Error{Var: "SMTP_URL", Msg: err.Error()}
		}
		s, err := mail.NewSMTP(sc)
		if err != nil {
			return nil, nil, err
		}
		return s, nil, nil
	}
	box := mail.NewMailbox(outbox.DevMailStore{Client: st.Client}, 0)
	return box, box.Handler("/sent_mails"), nil
}

// newOutbox is this node's sender of the outbox's mails.
func newOutbox(cfg config.Config, st *store.Store, m mail.Mailer, prep outbox.Preparer, log *slog.Logger, mx *metrics.Metrics) (*outbox.Worker, error) {
	return outbox.New(outbox.Config{
		Client: st.Client, Dialect: st.Dialect, Mailer: m, Prepare: prep, Logger: log, Metrics: mx,
		RetryFor: cfg.MailRetryFor, MaxBackoff: cfg.MailMaxBackoff,
	})
}
