package realtime

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/events"
	"github.com/companyapi/companyapi/internal/metrics"
)

// Session is what a valid token says: whose it is, which token it is and
// when it stops working.
type Session struct {
	// UserID is the token's user; it must be positive.
	UserID int
	// TokenID names the token (a JWT's jti). Server.DisconnectToken closes
	// the sockets opened with it; "" names no token, and such sockets are
	// closed only by expiry or shutdown.
	TokenID string
	// Generation is the user's token generation the token was issued in
	// (chat.LegacyGeneration for none): a socket that registers just after
	// a password change ended that generation is closed.
	Generation int
	// ExpiresAt is when the token stops working; the zero time means never.
	// A socket is closed (1008 "token expired") at its first frame or push
	// after this instant.
	ExpiresAt time.Time
}

// Authenticator turns the socket's token (?token=, or phoenix.js's
// authToken) into a Session. An error refuses the connection before the
// upgrade: a store that could not check the token (chat.KindUnavailable)
// with 503; an unauthenticated *chat.Error with 403 and its message, as
// Phoenix's connect/3 returning :error does; anything else with 500.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Session, error)
}

// SessionChecker is an Authenticator that also checks many sessions at
// once. After events may have been lost (Resync), the server asks it which
// of its sockets' sessions ended meanwhile: a logout's or a password
// change's announcement may have been among them.
type SessionChecker interface {
	Sessions(ctx context.Context, sessions []chat.SessionRef) ([]chat.SessionState, error)
}

// Sender is the slice of the chat service that the sockets need: storing a
// message (it returns only after the commit), loading the messages that
// another node announced without their content, and what a rejoining
// client missed.
type Sender interface {
	SendMessage(ctx context.Context, in chat.SendInput) (chat.Message, error)
	MessagesByID(ctx context.Context, ids []int) ([]chat.Message, error)
	Recover(ctx context.Context, userID int, q chat.RecoverQuery) (chat.Recovered, error)
	MarkRead(ctx context.Context, userID, convID, messageID int, origin string) error
	Typing(ctx context.Context, userID, convID int) error
	Contacts(ctx context.Context, userID int) ([]int, error)
}

// EventSource is the event bus (internal/events.Bus): committed events
// come from it (the server subscribes in New), and the server announces
// its sockets' presence on it.
type EventSource interface {
	Subscribe(events.Subscriber)
	chat.Announcer
}

// Config is what New needs. Auth and Chat are required; every other field
// has a default.
type Config struct {
	Auth Authenticator
	Chat Sender
	// Events, when set, is subscribed to: what the domain committed, on
	// this node and the others, becomes pushes and closes.
	Events EventSource
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics counts sockets, joins, frames, pushes and closes; nil counts
	// nothing.
	Metrics *metrics.Metrics

	// IdleTimeout closes a socket that has sent no frame for this long
	// (phoenix.js heartbeats every 30 s). Default 60 s, Phoenix's default.
	IdleTimeout time.Duration
	// AllowedOrigins lists full browser origins ("https://app.example.com")
	// allowed besides the request's own host.
	AllowedOrigins []string
	// AnyOrigin allows every origin. Only for development: it lets any web
	// page use a visitor's token.
	AnyOrigin bool

	// OutboundQueue bounds the frames waiting to be written to one socket;
	// a socket that falls this far behind is closed (1008). Default 256:
	// queues are pooled and held only while frames wait, so the bound costs
	// an idle socket nothing, and a client starved of CPU for a moment is
	// not cut off for it.
	OutboundQueue int
	// MaxFrame bounds one incoming message; larger ones close the socket
	// (1009). Default 64 KiB.
	MaxFrame int64
	// WriteTimeout bounds one write; a peer that accepts no bytes for this
	// long is dropped. Default 10 s.
	WriteTimeout time.Duration
	// SendTimeout bounds one Chat.SendMessage call, so a slow store cannot
	// stall a socket's heartbeats for long. Default 10 s.
	SendTimeout time.Duration
	// MaxSocketsPerUser caps each user's open sockets on this server; the
	// next connect is refused with 429 "too many sockets". 0: no cap.
	// LongPoll sessions count as sockets.
	MaxSocketsPerUser int
	// LongPollWindow is how long a LongPoll GET waits for something to
	// answer before it is answered empty (204), Phoenix's window_ms. A
	// session that has had no poll waiting for 1.5 times this is closed.
	// Default 10 s: phoenix.js gives up on a poll after 20 s.
	LongPollWindow time.Duration
	// MaxLongPollsPerClient caps the LongPoll sessions one client address
	// (connlimit.WithClient) may hold on this server; the next is refused with
	// 500 "too many connections" (phoenix.js retries). A WebSocket holds a
	// connection, which the listener caps per address; a LongPoll session
	// holds none between its polls, so it is counted here. 0: no cap.
	MaxLongPollsPerClient int

	// now is the clock that token expiry is checked against; tests move it.
	now func() time.Time
	// afterFunc is time.AfterFunc for the LongPoll timers (the poll window,
	// the idle session); tests fire them at will instead of sleeping.
	afterFunc func(time.Duration, func()) stopper
}

// stopper is the part of *time.Timer the LongPoll timers use.
type stopper interface{ Stop() bool }

// Defaults for the zero fields of Config.
const (
	DefaultIdleTimeout   = 60 * time.Second
	DefaultOutboundQueue = 256
	DefaultMaxFrame      = 64 << 10
	DefaultWriteTimeout  = 10 * time.Second
	DefaultSendTimeout   = 10 * time.Second
	// DefaultLongPollWindow is Phoenix's window_ms.
	DefaultLongPollWindow = 10 * time.Second
)

// withDefaults validates c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.Auth == nil {
		return c, errors.New("realtime: Config.Auth is required")
	}
	if c.Chat == nil {
		return c, errors.New("realtime: Config.Chat is required")
	}
	if c.IdleTimeout < 0 || c.WriteTimeout < 0 || c.SendTimeout < 0 || c.OutboundQueue < 0 || c.MaxFrame < 0 || c.MaxSocketsPerUser < 0 || c.LongPollWindow < 0 || c.MaxLongPollsPerClient < 0 {
		return c, errors.New("realtime: Config timeouts and limits must not be negative")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.OutboundQueue == 0 {
		c.OutboundQueue = DefaultOutboundQueue
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.LongPollWindow == 0 {
		c.LongPollWindow = DefaultLongPollWindow
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.afterFunc == nil {
		c.afterFunc = func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }
	}
	return c, nil
}
