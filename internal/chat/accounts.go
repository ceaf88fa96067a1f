package chat

import (
	"context"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/outboxmail"
	"github.com/companyapi/companyapi/ent/revokedtoken"
	"github.com/companyapi/companyapi/ent/schema"
	"github.com/companyapi/companyapi/ent/user"
)

// Ecto's wording, kept so the seed's clients show the same messages.
const (
	MsgBlank    = "can't be blank"
	MsgFormat   = "has invalid format"
	MsgTaken    = "has already been taken"
	MsgInvalid  = "is invalid"
	maxFieldLen = 255
)

// Registration is the seed's reg_changeset input.
type Registration struct {
	Name, Subname, Email, Job string
}

// MsgHiddenChars refuses an email holding characters that show nothing or
// change how the rest shows (see schema.HasHiddenRunes).
const MsgHiddenChars = "has invisible or control characters"

// MsgDomainNotAllowed refuses an email outside the domains that may
// register (Config.RegistrationDomains).
const MsgDomainNotAllowed = "is not in a domain allowed to register"

// Validate checks the registration as the seed's reg_changeset does, plus
// lengths the seed left unbounded and the email rules of checkEmail; it
// leaves the fields trimmed and the email in its normal form.
func (r *Registration) Validate() error {
	errs := FieldErrors{}
	r.Name, r.Subname, r.Job = strings.TrimSpace(r.Name), strings.TrimSpace(r.Subname), strings.TrimSpace(r.Job)
	r.Email = checkEmail(errs, r.Email)
	for _, f := range []struct{ name, v string }{{"name", r.Name}, {"subname", r.Subname}, {"job", r.Job}} {
		switch {
		case f.v == "":
			errs.Add(f.name, MsgBlank)
		case !storable(f.v):
			errs.Add(f.name, MsgInvalid)
		case utf8.RuneCountInString(f.v) > maxFieldLen:
			errs.Add(f.name, fmt.Sprintf("should be at most %d character(s)", maxFieldLen))
		}
	}
	return errs.Err()
}

// ValidateRegistration is Registration.Validate and this server's rule on
// who may register (Config.RegistrationDomains). Register applies it too;
// transports call it to report its errors together with their own.
func (s *Service) ValidateRegistration(r *Registration) error {
	err := r.Validate()
	if len(s.domains) == 0 || (err != nil && AsError(err).Fields["email"] != nil) ||
		slices.Contains(s.domains, r.Email[strings.LastIndexByte(r.Email, '@')+1:]) {
		return err
	}
	errs := FieldErrors{"email": {MsgDomainNotAllowed}}
	if err != nil {
		maps.Copy(errs, AsError(err).Fields)
	}
	return errs.Err()
}

// checkEmail records on "email" what is wrong with an address typed as raw
// and returns its normal form (schema.NormalizeEmail). Characters that
// hide (bidi controls, zero-width spaces) are refused rather than dropped:
// an address that needs them is a trick, not a typo.
func checkEmail(errs FieldErrors, raw string) string {
	email := schema.NormalizeEmail(raw)
	switch {
	case email == "":
		errs.Add("email", MsgBlank)
	case !storable(raw):
		errs.Add("email", MsgInvalid)
	case schema.HasHiddenRunes(strings.TrimSpace(raw)):
		errs.Add("email", MsgHiddenChars)
	case utf8.RuneCountInString(email) > maxFieldLen:
		errs.Add("email", fmt.Sprintf("should be at most %d character(s)", maxFieldLen))
	case !validEmail(email):
		errs.Add("email", MsgFormat)
	}
	return email
}

// validEmail is the seed's \S+@\S+\.\S+ and, beyond it, a bare address as
// the mailer will read it, whose domain is a valid name in its ASCII form.
// A display-name form such as `"ceo@corp.com"<x@evil.com>` matches the
// seed's pattern but would mail the password to x@evil.com.
func validEmail(s string) bool {
	if !schema.EmailPattern.MatchString(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	domain := s[strings.LastIndexByte(s, '@')+1:]
	ascii, err := schema.NormalizeDomain(domain)
	return err == nil && ascii == domain
}

// storable reports text PostgreSQL can store and both stores treat alike:
// valid UTF-8 without NUL bytes.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Register creates an account and queues its welcome mail in the same
// transaction: the mail outlives any crash, and an account whose mail was
// not queued does not exist. The password is made by the outbox's sender
// just before it sends the mail (PrepareMail); until then the account has
// none, and no password ever rests readable in the database.
//
// It answers no sooner than Config.RegisterAnswerTime after it began,
// whether the email was taken or not: a new account costs a commit that a
// taken email does not (about 0.7 ms on SQLite), which its time would
// tell.
//
// Errors: KindInvalid (fields, including email "has already been taken"
// and MsgDomainNotAllowed).
func (s *Service) Register(ctx context.Context, r Registration) (User, error) {
	if err := s.ValidateRegistration(&r); err != nil {
		return User{}, err
	}
	defer waitUntil(ctx, time.Now().Add(s.registerAnswerTime))
	var u *ent.User
	err := withTx(ctx, s.client, func(tx *ent.Tx) error {
		var err error
		u, err = tx.User.Create().
			SetName(r.Name).
			SetSubname(r.Subname).
			SetEmail(r.Email).
			SetJob(r.Job).
			SetPasswordHash(noPassword).
			Save(ctx)
		if err != nil {
			return err
		}
		return tx.OutboxMail.Create().
			SetKind(outboxmail.KindWelcome).
			SetUserID(u.ID).
			SetTo(u.Email).
			Exec(ctx)
	})
	if ent.IsConstraintError(err) {
		return User{}, FieldError("email", MsgTaken)
	}
	if err != nil {
		return User{}, fromEnt(err)
	}
	s.outbox.Notify()
	return userOf(u), nil
}

// ErrBadCredentials is the one answer to a failed login, whichever part
// was wrong.
var ErrBadCredentials = &Error{Kind: KindUnauthenticated, Message: "invalid email or password"}

// Login checks an email and password. It verifies a hash even when the
// email is unknown, so the answer takes about the same time either way.
//
// Errors: ErrBadCredentials.
func (s *Service) Login(ctx context.Context, email, password string) (User, error) {
	email = schema.NormalizeEmail(email)
	if !storable(email) || utf8.RuneCountInString(password) > MaxPasswordLen {
		// No account has this address or password; still spend a hash.
		_ = s.hasher.Verify(ctx, password, "")
		return User{}, ErrBadCredentials
	}
	u, err := s.client.User.Query().Where(user.Email(email)).Only(ctx)
	hash := ""
	switch {
	case err == nil:
		hash = u.PasswordHash
	case !ent.IsNotFound(err):
		return User{}, err
	}
	if verr := s.hasher.Verify(ctx, password, hash); verr != nil || u == nil {
		if ctx.Err() != nil {
			return User{}, ctx.Err()
		}
		return User{}, ErrBadCredentials
	}
	return userOf(u), nil
}

// ChangePassword replaces the password of userID after checking current,
// and ends every token issued before it (the account's other sessions and
// the caller's): it returns the user's new token generation, which the
// caller's next token is issued in.
//
// Errors: KindInvalid ({"current": ["is invalid"]}, {"new": [...]}),
// KindNotFound.
func (s *Service) ChangePassword(ctx context.Context, userID int, current, next string) (int, error) {
	u, err := s.client.User.Get(ctx, userID)
	if err != nil {
		return 0, fromEnt(err)
	}
	if err := ValidatePasswordChange(current, next, u.Email); err != nil {
		return 0, err
	}
	if err := s.hasher.Verify(ctx, current, u.PasswordHash); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, FieldError("current", MsgInvalid)
	}
	return s.setPassword(ctx, userID, next, nil)
}

// setPassword hashes and stores a user's new password and moves the user's
// token generation on, ending every token issued before; then announces
// it, so that the sockets opened with those tokens close. inTx, when set,
// runs in the same transaction (a reset deleting its token).
func (s *Service) setPassword(ctx context.Context, userID int, password string, inTx func(tx *ent.Tx) error) (int, error) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return 0, err
	}
	now := s.nowUTC()
	var gen int
	err = withTx(ctx, s.client, func(tx *ent.Tx) error {
		if inTx != nil {
			if err := inTx(tx); err != nil {
				return err
			}
		}
		// The generation moves in the database, atomically: a login that
		// read the old one issues a token this ends, whichever node or
		// clock it ran on. tokens_valid_after ends the tokens that carry
		// no generation.
		u, err := tx.User.UpdateOneID(userID).
			SetPasswordHash(hash).
			SetPasswordSetAt(now).
			SetTokensValidAfter(now).
			AddTokenGeneration(1).
			Save(ctx)
		if err != nil {
			return err
		}
		gen = u.TokenGeneration
		return nil
	})
	if err != nil {
		return 0, fromEnt(err)
	}
	s.events.Announce(SessionsEnded{UserID: userID, Generation: gen})
	return gen, nil
}

// GetUser returns one user.
//
// Errors: ErrNotFound.
func (s *Service) GetUser(ctx context.Context, id int) (User, error) {
	u, err := s.client.User.Get(ctx, id)
	if err != nil {
		return User{}, fromEnt(err)
	}
	return userOf(u), nil
}

// Page limits, shared by every list.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// ListUsers returns up to limit users with id > after, ordered by id.
func (s *Service) ListUsers(ctx context.Context, after, limit int) ([]User, error) {
	q := s.client.User.Query().Order(ent.Asc(user.FieldID)).Limit(limit)
	if after > 0 {
		q = q.Where(user.IDGT(after))
	}
	us, err := q.All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(us))
	for i, u := range us {
		out[i] = userOf(u)
	}
	return out, nil
}

// RevokeToken records a logged-out token until it would expire anyway,
// and announces it, so that the sockets opened with it close.
func (s *Service) RevokeToken(ctx context.Context, userID int, jti string, expiresAt time.Time) error {
	err := s.client.RevokedToken.Create().SetJti(jti).SetExpiresAt(expiresAt.UTC()).Exec(ctx)
	if ent.IsConstraintError(err) {
		return nil // already revoked
	}
	if err == nil {
		s.events.Announce(SessionsEnded{UserID: userID, TokenID: jti})
	}
	return err
}

// RevocationGrace outlives the leeway tokens are verified with, so a revoked
// token is never purged while it could still pass as unexpired.
const RevocationGrace = time.Minute

// PurgeRevokedTokens deletes revocations of tokens that have expired.
func (s *Service) PurgeRevokedTokens(ctx context.Context) (int, error) {
	return s.client.RevokedToken.Delete().Where(revokedtoken.ExpiresAtLT(s.nowUTC().Add(-RevocationGrace))).Exec(ctx)
}
