// Package chat is the domain: accounts, conversations, messages and who may
// see what. It is the one place rules live; REST and WebSocket both call it.
// Every method returns *Error values (see error.go) or internal errors.
package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/ratelimit"
)

// PasswordHasher hashes and verifies passwords (internal/auth).
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, encoded string) error
}

// Notifier is told that a mail was queued in the outbox, so that a sender
// on this node takes it at once (internal/outbox.Worker).
type Notifier interface {
	Notify()
}

// Config wires a Service.
type Config struct {
	Client *ent.Client
	// DB is the pool under Client; on PostgreSQL messages are written
	// through a statement prepared on it (see insertBatchPG).
	DB      *sql.DB
	Dialect string // "sqlite" or "postgres"
	Hasher  PasswordHasher
	// Outbox, when set, is woken after a mail is queued; otherwise the
	// senders find it when they next poll.
	Outbox Notifier
	// SendRate is how many messages a second each sender may send, in
	// bursts of up to SendBurst (kept in this process: see SendMessage);
	// 0 sends without a limit.
	SendRate, SendBurst int
	// RegistrationDomains, when set, are the only mail domains (ASCII
	// form, see schema.NormalizeDomain) that may register.
	RegistrationDomains []string
	// Events hears of what was committed (messages, ended sessions);
	// default: nobody.
	Events Announcer
	Logger *slog.Logger
	// Writers is how many message batches are written at once; default 1.
	// SQLite has one writer anyway; on PostgreSQL more writers mean smaller
	// batches and more commits for the same messages, and on 2 cores one
	// writer sustained the highest rate in chatbench's pairs ramp.
	Writers int
	// MaxBatch caps how many messages one transaction commits.
	MaxBatch int
	// SendTimeout bounds a send: a message the store has not confirmed by
	// then is answered ErrUnavailable. Default 10 s.
	SendTimeout time.Duration
	// ResetAnswerTime is the least time RequestPasswordReset takes, so
	// that its time does not tell whether the account exists; default
	// DefaultResetAnswerTime.
	ResetAnswerTime time.Duration
	// RegisterAnswerTime is the least time Register takes once the input
	// is valid, so that its time does not tell a taken email from a new
	// one; default DefaultRegisterAnswerTime.
	RegisterAnswerTime time.Duration
	// Metrics hears of each commit and send; nil hears nothing.
	Metrics *metrics.Metrics
	Now     func() time.Time
}

// DefaultSendTimeout is Config.SendTimeout's default.
const DefaultSendTimeout = 10 * time.Second

// Service implements the chat rules over an Ent client.
type Service struct {
	client *ent.Client
	hasher PasswordHasher
	outbox Notifier
	events Announcer
	log    *slog.Logger
	now    func() time.Time
	convs  *participantCache
	writer *batchWriter
	// sendTimeout bounds SendMessage (Config.SendTimeout).
	sendTimeout        time.Duration
	resetAnswerTime    time.Duration
	registerAnswerTime time.Duration
	domains            []string
	sendLimit          *ratelimit.Local
	pg                 *pgBatch
	isSQLite           bool
	metrics            *metrics.Metrics
	// principalSQL and unreadTotalSQL are their queries with this
	// dialect's placeholders.
	principalSQL   string
	unreadTotalSQL string
}

// New returns a Service; Close stops its message writer.
func New(cfg Config) (*Service, error) {
	if cfg.Client == nil || cfg.DB == nil || cfg.Hasher == nil {
		return nil, errors.New("chat: Client, DB and Hasher are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Outbox == nil {
		cfg.Outbox = nopNotifier{}
	}
	if cfg.Events == nil {
		cfg.Events = nopAnnouncer{}
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 1
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	if cfg.ResetAnswerTime <= 0 {
		cfg.ResetAnswerTime = DefaultResetAnswerTime
	}
	if cfg.RegisterAnswerTime <= 0 {
		cfg.RegisterAnswerTime = DefaultRegisterAnswerTime
	}
	s := &Service{
		client:             cfg.Client,
		hasher:             cfg.Hasher,
		outbox:             cfg.Outbox,
		events:             cfg.Events,
		log:                cfg.Logger,
		now:                cfg.Now,
		convs:              newParticipantCache(100_000),
		sendTimeout:        cfg.SendTimeout,
		resetAnswerTime:    cfg.ResetAnswerTime,
		registerAnswerTime: cfg.RegisterAnswerTime,
		domains:            cfg.RegistrationDomains,
		sendLimit:          ratelimit.NewLocal(cfg.SendRate, cfg.SendBurst),
		isSQLite:           cfg.Dialect == "sqlite",
		metrics:            cfg.Metrics,
	}
	s.principalSQL = fmt.Sprintf(principalQuery, "$1", "$2")
	s.unreadTotalSQL = fmt.Sprintf(unreadTotalQuery, "$1")
	if s.isSQLite {
		s.principalSQL = fmt.Sprintf(principalQuery, "?", "?")
		s.unreadTotalSQL = fmt.Sprintf(unreadTotalQuery, "?1")
	}
	if !s.isSQLite {
		pg, err := preparePGBatch(context.Background(), cfg.DB)
		if err != nil {
			return nil, err
		}
		s.pg = pg
	}
	s.writer = newBatchWriter(s, cfg.Writers, cfg.MaxBatch)
	return s, nil
}

// Close stops accepting messages and waits for queued writes to finish.
func (s *Service) Close() {
	s.writer.close()
	if s.pg != nil {
		s.pg.close()
	}
}

// nowUTC is truncated to microseconds, what PostgreSQL keeps, so a value
// reads back as it was written on both stores.
func (s *Service) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

type nopNotifier struct{}

func (nopNotifier) Notify() {}
