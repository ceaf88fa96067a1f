package chat

import (
	"context"
	"slices"

	"github.com/companyapi/companyapi/ent/revokedtoken"
	"github.com/companyapi/companyapi/ent/user"
)

// SessionRef names a token held by a live connection.
type SessionRef struct {
	UserID int
	// TokenID is the token's jti; "" for none.
	TokenID string
	// Generation is the user's token generation the token was issued in;
	// LegacyGeneration tokens are checked for logout only.
	Generation int
}

// SessionState is what became of a session.
type SessionState uint8

const (
	SessionLive SessionState = iota
	// SessionLoggedOut: its token was logged out.
	SessionLoggedOut
	// SessionSignedOut: a password change or reset ended every earlier
	// token of its user, or the user is gone.
	SessionSignedOut
)

// sessionsChunk bounds the ids of one query.
const sessionsChunk = 1000

// Sessions reports, for each of refs, whether it is still live. It is what
// a node asks of its connections' tokens after it may have missed the
// announcements that would have ended them (chat.SessionsEnded lost in a
// broker gap): a few queries for many connections, not one each.
func (s *Service) Sessions(ctx context.Context, refs []SessionRef) ([]SessionState, error) {
	out := make([]SessionState, len(refs))
	for start := 0; start < len(refs); start += sessionsChunk {
		chunk := refs[start:min(start+sessionsChunk, len(refs))]
		if err := s.sessions(ctx, chunk, out[start:]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) sessions(ctx context.Context, refs []SessionRef, out []SessionState) error {
	var users []int
	var jtis []string
	for _, r := range refs {
		users = append(users, r.UserID)
		if r.TokenID != "" {
			jtis = append(jtis, r.TokenID)
		}
	}
	slices.Sort(users)
	users = slices.Compact(users)
	rows, err := s.client.User.Query().Where(user.IDIn(users...)).Select(user.FieldID, user.FieldTokenGeneration).All(ctx)
	if err != nil {
		return err
	}
	generation := make(map[int]int, len(rows))
	for _, u := range rows {
		generation[u.ID] = u.TokenGeneration
	}
	revoked := map[string]bool{}
	if len(jtis) > 0 {
		ids, err := s.client.RevokedToken.Query().Where(revokedtoken.JtiIn(jtis...)).Select(revokedtoken.FieldJti).Strings(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			revoked[id] = true
		}
	}
	for i, r := range refs {
		g, ok := generation[r.UserID]
		switch {
		case !ok || (r.Generation != LegacyGeneration && r.Generation < g):
			out[i] = SessionSignedOut
		case revoked[r.TokenID]:
			out[i] = SessionLoggedOut
		}
	}
	return nil
}
