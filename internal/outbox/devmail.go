package outbox

import (
	"context"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/devmail"
	"github.com/companyapi/companyapi/internal/mail"
)

// DevMailStore keeps the development mailbox (/sent_mails) in the
// database, so it outlives a restart like the outbox that fills it.
type DevMailStore struct {
	Client *ent.Client
}

var _ mail.MailboxStore = DevMailStore{}

// Append stores m and deletes all but the newest keep mails.
func (s DevMailStore) Append(ctx context.Context, m mail.Mail, keep int) error {
	row, err := s.Client.DevMail.Create().
		SetTo(m.To).
		SetFrom(m.From).
		SetSubject(m.Subject).
		SetText(m.Text).
		SetHTML(m.HTML).
		SetSentAt(m.SentAt.UTC()).
		Save(ctx)
	if err != nil {
		return err
	}
	_, err = s.Client.DevMail.Delete().Where(devmail.IDLTE(row.ID - keep)).Exec(ctx)
	return err
}

// Newest returns up to limit mails, newest first.
func (s DevMailStore) Newest(ctx context.Context, limit int) ([]mail.Mail, error) {
	rows, err := s.Client.DevMail.Query().Order(ent.Desc(devmail.FieldID)).Limit(limit).All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]mail.Mail, len(rows))
	for i, r := range rows {
		out[i] = mail.Mail{To: r.To, From: r.From, Subject: r.Subject, Text: r.Text, HTML: r.HTML, SentAt: r.SentAt.UTC()}
	}
	return out, nil
}
