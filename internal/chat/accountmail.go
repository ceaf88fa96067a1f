package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/outboxmail"
	"github.com/companyapi/companyapi/ent/passwordreset"
	"github.com/companyapi/companyapi/ent/user"
	"github.com/companyapi/companyapi/internal/mail"
)

// noPassword is the hash of an account whose password is not made yet: no
// password verifies against it.
const noPassword = "!"

// AccountMails makes the mails that the outbox's rows stand for, and the
// secrets they carry (internal/outbox.Preparer).
type AccountMails struct {
	cfg AccountMailsConfig
}

// AccountMailsConfig wires AccountMails; ResetTTL and Now have defaults.
type AccountMailsConfig struct {
	Client           *ent.Client
	Hasher           PasswordHasher
	GeneratePassword func() (string, error)
	// From is the sender of the mails.
	From string
	// ResetTTL is how long a password reset token works after its mail
	// was made; default DefaultResetTTL.
	ResetTTL time.Duration
	Now      func() time.Time
}

// DefaultResetTTL is AccountMailsConfig.ResetTTL's default
// (PASSWORD_RESET_TTL).
const DefaultResetTTL = time.Hour

// NewAccountMails returns the outbox's Preparer for the account mails.
func NewAccountMails(cfg AccountMailsConfig) (*AccountMails, error) {
	if cfg.Client == nil || cfg.Hasher == nil || cfg.GeneratePassword == nil || cfg.From == "" {
		return nil, errors.New("chat: NewAccountMails needs a client, a hasher, a password generator and a sender")
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = DefaultResetTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &AccountMails{cfg: cfg}, nil
}

// PrepareMail makes the mail a claimed outbox row stands for.
//
// For a welcome mail that is a new generated password, whose hash replaces
// the account's, unless the user has chosen a password since (send is then
// false). A welcome mail tried again gets a new password: only the last
// one sent works.
//
// For a password reset mail it is a new reset token, whose hash replaces
// the user's earlier one (see newResetToken): only the last one made works,
// for ResetTTL from now.
func (a *AccountMails) PrepareMail(ctx context.Context, row *ent.OutboxMail) (mail.Mail, bool, error) {
	switch row.Kind {
	case outboxmail.KindWelcome:
		password, err := a.cfg.GeneratePassword()
		if err != nil {
			return mail.Mail{}, false, err
		}
		hash, err := a.cfg.Hasher.Hash(ctx, password)
		if err != nil {
			return mail.Mail{}, false, err
		}
		n, err := a.cfg.Client.User.Update().
			Where(user.ID(row.UserID), user.PasswordSetAtIsNil()).
			SetPasswordHash(hash).
			Save(ctx)
		if err != nil || n == 0 {
			return mail.Mail{}, false, err
		}
		m, err := mail.RenderWelcome(a.cfg.From, row.To, password)
		return m, err == nil, err
	case outboxmail.KindPasswordReset:
		token, hash, err := newResetToken()
		if err != nil {
			return mail.Mail{}, false, err
		}
		now := a.cfg.Now().UTC().Truncate(time.Microsecond)
		err = a.cfg.Client.PasswordReset.Create().
			SetUserID(row.UserID).
			SetTokenHash(hash).
			SetExpiresAt(now.Add(a.cfg.ResetTTL)).
			SetCreatedAt(now).
			OnConflictColumns(passwordreset.FieldUserID).
			UpdateNewValues().
			Exec(ctx)
		if err != nil {
			return mail.Mail{}, false, err
		}
		m, err := mail.RenderPasswordReset(a.cfg.From, row.To, token, a.cfg.ResetTTL)
		return m, err == nil, err
	default:
		return mail.Mail{}, false, fmt.Errorf("chat: no mail of kind %q", row.Kind)
	}
}
