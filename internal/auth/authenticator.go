package auth

import (
	"context"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/companyapi/companyapi/internal/chat"
)

// Accounts is what verifying a token needs from the domain.
type Accounts interface {
	// Principal returns the user and whether the token (jti, generation,
	// issued at) was revoked or ended by a password change or reset.
	Principal(ctx context.Context, userID int, jti string, generation int, issuedAt time.Time) (chat.User, bool, error)
}

// Identity is an authenticated request's user and token.
type Identity struct {
	User   chat.User
	Claims *Claims
	Token  string
}

// ExpiresAt is when the token stops working.
func (i *Identity) ExpiresAt() time.Time { return i.Claims.ExpiresAt.Time }

// Authenticator verifies bearer tokens for REST and WebSocket alike.
type Authenticator struct {
	Tokens   *Tokens
	Accounts Accounts
}

// Unauthenticated errors; their messages are words of the error vocabulary
// (api/errors.md), the same on REST (401) and on the socket (403).
var (
	ErrNoToken      = &chat.Error{Kind: chat.KindUnauthenticated, Message: "missing token"}
	ErrInvalidToken = &chat.Error{Kind: chat.KindUnauthenticated, Message: "invalid token"}
	ErrExpiredToken = &chat.Error{Kind: chat.KindUnauthenticated, Message: "token expired"}
	ErrRevokedToken = &chat.Error{Kind: chat.KindUnauthenticated, Message: "token revoked"}
)

// Verify checks the token (signature, HS256, issuer, expiry), that it was
// not revoked, and loads its user.
func (a *Authenticator) Verify(ctx context.Context, token string) (*Identity, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	c, err := a.Tokens.Parse(token)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return nil, ErrExpiredToken
	}
	if err != nil {
		return nil, ErrInvalidToken
	}
	id, _ := c.UserID()
	u, revoked, err := a.Accounts.Principal(ctx, id, c.ID, c.Generation(), c.IssuedAt.Time)
	switch {
	case chat.KindOf(err) == chat.KindNotFound:
		// A well-signed token of a user that no longer exists.
		return nil, ErrInvalidToken
	case err != nil:
		return nil, err
	case revoked:
		return nil, ErrRevokedToken
	}
	return &Identity{User: u, Claims: c, Token: token}, nil
}
