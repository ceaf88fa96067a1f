package chat

import (
	"context"
	"errors"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/schema"
)

// nonASCIIEmails selects the accounts whose email has a character beyond
// ASCII: only those can be spelled otherwise than schema.NormalizeEmail
// spells them now, since earlier versions already stored emails trimmed
// and lower-cased.
const (
	nonASCIIEmailsPG     = `SELECT id, email FROM users WHERE octet_length(email) <> char_length(email) ORDER BY id`
	nonASCIIEmailsSQLite = `SELECT id, email FROM users WHERE length(CAST(email AS BLOB)) <> length(email) ORDER BY id`
)

// EmailConflict is an account whose email, normalized, is another
// account's: two accounts that earlier versions let register with
// look-alike addresses. Which one the person keeps is for an operator.
type EmailConflict struct {
	UserID int
	Email  string // as stored
	Normal string // taken by another account
}

// NormalizeStoredEmails rewrites the emails stored by earlier versions in
// the form NormalizeEmail gives now (NFKC, IDNA), so that their owners
// log in and ask for resets with the address they type. It returns how
// many it rewrote and the accounts it could not, whose normal form another
// account holds. It is cheap when there is nothing to do (one query), and
// safe to run at every start.
func (s *Service) NormalizeStoredEmails(ctx context.Context) (int, []EmailConflict, error) {
	q := nonASCIIEmailsPG
	if s.isSQLite {
		q = nonASCIIEmailsSQLite
	}
	rows, err := s.client.QueryContext(ctx, q)
	if err != nil {
		return 0, nil, err
	}
	type row struct {
		id    int
		email string
	}
	var stale []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.email); err != nil {
			rows.Close()
			return 0, nil, err
		}
		if schema.NormalizeEmail(r.email) != r.email {
			stale = append(stale, r)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, nil, err
	}
	fixed := 0
	var conflicts []EmailConflict
	for _, r := range stale {
		// The user hook writes the normal form.
		err := s.client.User.UpdateOneID(r.id).SetEmail(r.email).Exec(ctx)
		switch {
		case ent.IsConstraintError(err):
			conflicts = append(conflicts, EmailConflict{UserID: r.id, Email: r.email, Normal: schema.NormalizeEmail(r.email)})
		case err != nil:
			return fixed, conflicts, err
		default:
			fixed++
		}
	}
	return fixed, conflicts, nil
}
