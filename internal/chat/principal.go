package chat

import (
	"context"
	"database/sql"
	"time"
)

// principalQuery loads a token's user and whether the token was revoked in
// one round trip: every authenticated request asks both.
const principalQuery = `SELECT u.id, u.name, u.subname, u.email, u.job, u.token_generation, u.tokens_valid_after,
	EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = %s)
FROM users u WHERE u.id = %s`

// LegacyGeneration is the generation of a token issued before tokens
// carried one: Principal judges it by its issue time instead.
const LegacyGeneration = -1

// Principal returns the user a token names and whether the token is no
// longer valid: logged out (its jti revoked), or issued in an earlier token
// generation than the user's (a password change or reset since). A token
// of LegacyGeneration is ended when issuedAt is before tokens_valid_after,
// as before generations existed.
//
// Errors: ErrNotFound when the user does not exist.
func (s *Service) Principal(ctx context.Context, userID int, jti string, generation int, issuedAt time.Time) (User, bool, error) {
	q := s.principalSQL
	rows, err := s.client.QueryContext(ctx, q, jti, userID)
	if err != nil {
		return User{}, false, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return User{}, false, err
		}
		return User{}, false, ErrNotFound
	}
	var (
		u          User
		validAfter sql.NullTime
		revoked    bool
	)
	if err := rows.Scan(&u.ID, &u.Name, &u.Subname, &u.Email, &u.Job, &u.TokenGeneration, &validAfter, &revoked); err != nil {
		return User{}, false, err
	}
	switch {
	case generation == LegacyGeneration:
		revoked = revoked || (validAfter.Valid && issuedAt.Before(validAfter.Time))
	case generation < u.TokenGeneration:
		revoked = true
	}
	return u, revoked, rows.Close()
}
