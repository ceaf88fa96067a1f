// Package auth generates and hashes passwords, issues and verifies JWTs, and
// provides the Echo middleware that loads the current user.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// GeneratedPasswordLen is the length of a generated password: 24 URL-safe
// characters carry 144 bits from crypto/rand.
const GeneratedPasswordLen = 24

// GeneratePassword returns a new random URL-safe password.
func GeneratePassword() (string, error) {
	b := make([]byte, GeneratedPasswordLen*3/4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Argon2Params are the argon2id cost parameters; Default follows OWASP's
// password storage cheat sheet (m=19 MiB, t=2, p=1).
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// DefaultArgon2 is OWASP's recommended argon2id configuration.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("password does not match")

// Hasher hashes and verifies passwords on a bounded pool: each hash takes
// Memory KiB and a core for tens of milliseconds, so a login flood must
// queue instead of exhausting memory and CPU for everyone else.
type Hasher struct {
	params Argon2Params
	slots  chan struct{}
	// dummy is verified against when an email is unknown so that a login
	// takes about the same time whether or not the account exists.
	dummy string
}

// NewHasher returns a Hasher running at most workers hashes at once
// (GOMAXPROCS when workers ≤ 0).
func NewHasher(p Argon2Params, workers int) *Hasher {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: p, slots: make(chan struct{}, workers)}
	h.dummy = h.hash([]byte("dummy password for unknown accounts"), make([]byte, p.SaltLen))
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC-format argon2id hash of password with a new salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash([]byte(password), salt), nil
}

func (h *Hasher) hash(password, salt []byte) string {
	p := h.params
	key := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Verify checks password against encoded, which carries its own parameters,
// so hashes made with older costs keep verifying. An empty or unusable
// encoded hash (an account whose password is not made yet, "!") verifies
// against a dummy and fails, taking the same time, so the answer's time
// does not tell such an account from others.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) error {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		p, salt, key, _ = decodeHash(h.dummy)
		password += "\x00never"
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	h.release()
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

func decodeHash(encoded string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("unknown password hash format")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errors.New("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("argon2 parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("argon2 salt: %w", err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("argon2 key: %w", err)
	}
	return p, salt, key, nil
}
