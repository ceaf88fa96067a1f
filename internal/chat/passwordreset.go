package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/outboxmail"
	"github.com/companyapi/companyapi/ent/passwordreset"
	"github.com/companyapi/companyapi/ent/schema"
	"github.com/companyapi/companyapi/ent/user"
)

// resetTokenBytes is the randomness of a reset token: 256 bits, far beyond
// guessing at any rate the rate limit lets through.
const resetTokenBytes = 32

// newResetToken returns a new reset token (43 URL-safe characters) and the
// hash that is stored in its stead.
func newResetToken() (token, hash string, err error) {
	b := make([]byte, resetTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashResetToken(token), nil
}

// hashResetToken is how a token is stored and looked up. A fast hash is
// enough: the token is random, not chosen by a person.
func hashResetToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// resetMailInterval is how often one account may be sent a reset mail, so
// that requests from many addresses cannot flood a mailbox.
const resetMailInterval = time.Minute

// The least times of the answers that must not tell whether an account
// exists: well above what looking an account up and queueing its mail
// take, and what a registration's commit takes (about 1-2 ms), on a
// loaded server too.
const (
	DefaultResetAnswerTime    = 200 * time.Millisecond
	DefaultRegisterAnswerTime = 10 * time.Millisecond
)

// RequestPasswordReset queues a reset mail (internal/outbox) for the
// account of email, if there is one and it was not sent one in the last
// minute. The mail's token is made when the mail is sent (see
// AccountMails.PrepareMail). It answers the same whether or not the
// account exists, and no sooner than Config.ResetAnswerTime after it
// began, so that neither its answer nor its time tells.
//
// Errors: KindInvalid on "email" (blank, or not an address at all),
// ErrUnavailable.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = schema.NormalizeEmail(email)
	switch {
	case email == "":
		return FieldError("email", MsgBlank)
	case !storable(email) || !validEmail(email):
		return FieldError("email", MsgFormat)
	}
	defer waitUntil(ctx, time.Now().Add(s.resetAnswerTime))
	u, err := s.client.User.Query().Where(user.Email(email)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.nowUTC()
	recent, err := s.client.OutboxMail.Query().
		Where(outboxmail.UserID(u.ID), outboxmail.KindEQ(outboxmail.KindPasswordReset), outboxmail.CreatedAtGT(now.Add(-resetMailInterval))).
		Exist(ctx)
	if err != nil || recent {
		return err
	}
	if err := s.client.OutboxMail.Create().
		SetKind(outboxmail.KindPasswordReset).
		SetUserID(u.ID).
		SetTo(u.Email).
		SetCreatedAt(now).
		Exec(ctx); err != nil {
		return err
	}
	s.outbox.Notify()
	return nil
}

// waitUntil returns at t, or when ctx ends.
func waitUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// ErrResetNotFound answers a reset token that is unknown, used, replaced
// by a newer one, or expired: the same answer for each.
var ErrResetNotFound = ErrNotFound

// ResetPassword sets the password of the account a reset token was mailed
// to, uses the token up, and ends every token issued before (the account's
// sessions and their sockets), as a password change does.
//
// Errors: ErrResetNotFound; KindInvalid on "password" (the policy, see
// checkPassword); ErrUnavailable.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	hash := hashResetToken(token)
	r, err := s.client.PasswordReset.Query().
		Where(passwordreset.TokenHash(hash), passwordreset.ExpiresAtGT(s.nowUTC())).
		WithUser().
		Only(ctx)
	if ent.IsNotFound(err) {
		return ErrResetNotFound
	}
	if err != nil {
		return err
	}
	errs := FieldErrors{}
	checkPassword(errs, "password", password, r.Edges.User.Email)
	if err := errs.Err(); err != nil {
		return err
	}
	_, err = s.setPassword(ctx, r.UserID, password, func(tx *ent.Tx) error {
		// Deleted by its hash: of two resets with one token, or a token
		// replaced meanwhile, only one deletes it and goes on.
		n, err := tx.PasswordReset.Delete().Where(passwordreset.ID(r.ID), passwordreset.TokenHash(hash)).Exec(ctx)
		if err == nil && n == 0 {
			return ErrResetNotFound
		}
		return err
	})
	return err
}

// PurgePasswordResets deletes the reset tokens that have expired.
func (s *Service) PurgePasswordResets(ctx context.Context) (int, error) {
	return s.client.PasswordReset.Delete().Where(passwordreset.ExpiresAtLT(s.nowUTC())).Exec(ctx)
}
