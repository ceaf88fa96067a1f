package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/companyapi/companyapi/internal/chat"
)

// Issuer is the iss claim, as the seed's Guardian config.
const Issuer = "CompanyApi"

// Claims are a token's registered claims, sub "User:<id>" as the seed's
// subject_for_token, and gen: the user's token generation when it was
// issued (see chat.Service.Principal).
type Claims struct {
	jwt.RegisteredClaims
	// Gen is nil in tokens issued before generations existed.
	Gen *int `json:"gen,omitempty"`
}

// Generation returns the gen claim, or chat.LegacyGeneration for a token
// that has none.
func (c *Claims) Generation() int {
	if c.Gen == nil || *c.Gen < 0 {
		return chat.LegacyGeneration
	}
	return *c.Gen
}

// UserID returns the id in sub.
func (c *Claims) UserID() (int, error) {
	id, ok := strings.CutPrefix(c.Subject, "User:")
	if !ok {
		return 0, errors.New("token subject is not a user")
	}
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 {
		return 0, errors.New("token subject is not a user")
	}
	return n, nil
}

// Tokens issues and verifies HS256 JWTs.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	parser *jwt.Parser
}

// NewTokens returns a token service signing with secret, tokens living ttl.
func NewTokens(secret []byte, ttl time.Duration) *Tokens {
	return &Tokens{
		secret: secret,
		ttl:    ttl,
		now:    time.Now,
		// HS256 only: a token claiming any other alg, "none" included, is
		// refused before its signature is looked at.
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(Issuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(5*time.Second),
		),
	}
}

// Issue signs a token for userID in the user's token generation (the
// chat.User's TokenGeneration) and returns it with its claims.
func (t *Tokens) Issue(userID, generation int) (string, *Claims, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", nil, err
	}
	now := t.now().Truncate(time.Second)
	c := &Claims{jwt.RegisteredClaims{
		Issuer:    Issuer,
		Subject:   "User:" + strconv.Itoa(userID),
		ID:        hex.EncodeToString(jti),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
	}, &generation}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", nil, fmt.Errorf("sign token: %w", err)
	}
	return s, c, nil
}

// Parse verifies signature, algorithm, issuer and expiry. It does not check
// revocation; Authenticator does.
func (t *Tokens) Parse(token string) (*Claims, error) {
	c := &Claims{}
	_, err := t.parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return t.secret, nil })
	if err != nil {
		return nil, err
	}
	if c.ID == "" {
		return nil, errors.New("token has no jti")
	}
	if _, err := c.UserID(); err != nil {
		return nil, err
	}
	return c, nil
}
