package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/outboxmail"
	"github.com/companyapi/companyapi/ent/user"
	"github.com/companyapi/companyapi/internal/mail"
)

// noPassword is the hash of an account whose password is not made yet: no
// password verifies against it.
const noPassword = "!"

// AccountMails makes the mails that the outbox's rows stand for, and the
// secrets they carry (internal/outbox.Preparer).
type AccountMails struct {
	client  *ent.Client
	hasher  PasswordHasher
	genPass func() (string, error)
	from    string
}

// NewAccountMails returns the outbox's Preparer for the account mails,
// sent from the address from.
func NewAccountMails(client *ent.Client, hasher PasswordHasher, genPass func() (string, error), from string) (*AccountMails, error) {
	if client == nil || hasher == nil || genPass == nil || from == "" {
		return nil, errors.New("chat: NewAccountMails needs a client, a hasher, a password generator and a sender")
	}
	return &AccountMails{client: client, hasher: hasher, genPass: genPass, from: from}, nil
}

// PrepareMail makes the mail a claimed outbox row stands for. For a welcome
// mail that is a new generated password, whose hash replaces the account's,
// unless the user has chosen a password since (send is then false). A
// welcome mail tried again gets a new password: only the last one sent
// works.
func (a *AccountMails) PrepareMail(ctx context.Context, row *ent.OutboxMail) (mail.Mail, bool, error) {
	switch row.Kind {
	case outboxmail.KindWelcome:
		password, err := a.genPass()
		if err != nil {
			return mail.Mail{}, false, err
		}
		hash, err := a.hasher.Hash(ctx, password)
		if err != nil {
			return mail.Mail{}, false, err
		}
		n, err := a.client.User.Update().
			Where(user.ID(row.UserID), user.PasswordSetAtIsNil()).
			SetPasswordHash(hash).
			Save(ctx)
		if err != nil || n == 0 {
			return mail.Mail{}, false, err
		}
		m, err := mail.RenderWelcome(a.from, row.To, password)
		return m, err == nil, err
	default:
		return mail.Mail{}, false, fmt.Errorf("chat: no mail of kind %q", row.Kind)
	}
}
