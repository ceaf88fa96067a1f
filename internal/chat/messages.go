package chat

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/message"
	"github.com/companyapi/companyapi/ent/predicate"
	"github.com/companyapi/companyapi/ent/schema"
	"github.com/companyapi/companyapi/internal/metrics"
)

// MaxContentLen is the longest message, in characters.
const MaxContentLen = schema.MaxContentLen

// maxRefusalPause bounds how long a send over the budget waits for its
// refusal (see SendMessage).
const maxRefusalPause = time.Second

// ValidateSend checks a send's content and client_id without the store.
// SendMessage applies it too; transports call it to report these errors
// together with their own (a field of the wrong type, another field).
func ValidateSend(content, clientID string) error {
	fe := FieldErrors{}
	validateContent(fe, content)
	validateClientID(fe, clientID)
	return fe.Err()
}

// validateContent applies the content rules shared by REST and WebSocket.
func validateContent(fe FieldErrors, content string) {
	switch {
	case strings.TrimSpace(content) == "":
		fe.Add("content", MsgBlank)
	case !storable(content):
		fe.Add("content", MsgInvalid)
	case utf8.RuneCountInString(content) > MaxContentLen:
		fe.Add("content", fmt.Sprintf("should be at most %d character(s)", MaxContentLen))
	}
}

// validateClientID applies the client_id rules: 1 to 64 printable
// characters ("" is no client_id); it is echoed in every push of the
// message.
func validateClientID(fe FieldErrors, id string) {
	if id == "" {
		return
	}
	if !utf8.ValidString(id) || utf8.RuneCountInString(id) > schema.MaxClientIDLen ||
		strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		fe.Add("client_id", fmt.Sprintf("should be 1 to %d printable characters", schema.MaxClientIDLen))
	}
}

// SendMessage stores a message from a participant and, once it is
// committed, delivers it to the other participant's live sockets and to the
// sender's other sockets. Concurrent sends are committed together in one
// transaction (see batchWriter); none is acknowledged before its commit,
// and none waits longer than the send timeout: a message not confirmed by
// then is ErrUnavailable (it may or may not be stored; a repeat with the
// same ClientID answers which, storing nothing twice).
//
// A ClientID the sender used before returns the message stored then, with
// Repeat set, and stores and pushes nothing.
//
// Each sender has a budget of Config.SendRate messages a second, with
// bursts of Config.SendBurst, over every socket and REST together; a send
// over it is refused before anything is stored, so that one user's flood
// costs the store and the other users nothing. The refusal comes once the
// sender's next token is due (at most a second later): a client that does
// not wait for it is slowed to its budget, rather than answered as fast as
// it can ask (a socket refused at 10 000 frames a second took the CPU the
// other users' sends needed).
//
// Errors: ErrNotFound when the conversation does not exist or the sender is
// not in it; KindInvalid on "content", on "client_id", or on "user" when
// RecipientID is set and is not the other participant; KindRateLimited,
// with RetryAfter; ErrUnavailable.
func (s *Service) SendMessage(ctx context.Context, in SendInput) (m Message, err error) {
	defer s.observeSend(time.Now(), &err)
	if err := ValidateSend(in.Content, in.ClientID); err != nil {
		return Message{}, err
	}
	if ok, wait := s.sendLimit.Take(in.SenderID); !ok {
		waitUntil(ctx, time.Now().Add(min(wait, maxRefusalPause)))
		return Message{}, &Error{Kind: KindRateLimited, Message: KindRateLimited.String(), RetryAfter: wait}
	}
	ctx, cancel := context.WithTimeout(ctx, s.sendTimeout)
	defer cancel()
	p, err := s.participantsOf(ctx, in.ConversationID)
	if err != nil {
		return Message{}, err
	}
	if !p.has(in.SenderID) {
		return Message{}, ErrNotFound
	}
	other := p.other(in.SenderID)
	if in.RecipientID != 0 && in.RecipientID != other {
		return Message{}, FieldError("user", "is not the other participant")
	}
	return s.writer.write(ctx, pendingMessage{
		content:        in.Content,
		senderID:       in.SenderID,
		conversationID: in.ConversationID,
		clientID:       in.ClientID,
		to:             []int{other, in.SenderID},
		origin:         in.Origin,
	})
}

// observeSend times a send from its arrival to its answer, by result.
func (s *Service) observeSend(start time.Time, err *error) {
	if s.metrics == nil {
		return
	}
	result := metrics.SendOK
	if *err != nil {
		result = KindOf(*err).String()
	}
	s.metrics.Send(result, time.Since(start))
}

// HistoryQuery selects a page of a conversation's messages. At most one of
// Before and After is set; neither means the latest page. Forward reads
// oldest first after After, which may then be 0: from the first message.
type HistoryQuery struct {
	Before, After int
	Forward       bool
	Limit         int
}

// HistoryPage is a page of messages and the cursors around it. Before is
// the cursor for the next older page (0 at the beginning); After the cursor
// to continue forwards (0 when up to date). Only the one matching the
// direction read is set.
type HistoryPage struct {
	Messages []Message
	Before   int
	After    int
}

// History pages through a conversation by keyset on (conversation_id, id),
// never OFFSET, so a page costs O(limit) however long the conversation is.
// Without After (or Forward), the latest messages come newest first; with
// them, the messages after that id come oldest first.
//
// Errors: ErrNotFound for a non-participant; KindInvalid on "before" or
// "after" when the id is not a message of this conversation.
func (s *Service) History(ctx context.Context, callerID, convID int, q HistoryQuery) (HistoryPage, error) {
	p, err := s.participantsOf(ctx, convID)
	if err != nil {
		return HistoryPage{}, err
	}
	if !p.has(callerID) {
		return HistoryPage{}, ErrNotFound
	}
	for _, c := range []struct {
		name string
		id   int
	}{{"before", q.Before}, {"after", q.After}} {
		if c.id == 0 {
			continue
		}
		ok, err := s.client.Message.Query().Where(message.ID(c.id), message.ConversationID(convID)).Exist(ctx)
		if err != nil {
			return HistoryPage{}, err
		}
		if !ok {
			return HistoryPage{}, FieldError(c.name, "is not a message of this conversation")
		}
	}
	mq := s.client.Message.Query().Where(s.inConversation(convID)).Limit(q.Limit + 1)
	forward := q.Forward || q.After != 0
	switch {
	case forward:
		mq = mq.Where(message.IDGT(q.After)).Order(ent.Asc(message.FieldConversationID), ent.Asc(message.FieldID))
	case q.Before != 0:
		mq = mq.Where(message.IDLT(q.Before)).Order(ent.Desc(message.FieldConversationID), ent.Desc(message.FieldID))
	default:
		mq = mq.Order(ent.Desc(message.FieldConversationID), ent.Desc(message.FieldID))
	}
	rows, err := mq.All(ctx)
	if err != nil {
		return HistoryPage{}, err
	}
	var page HistoryPage
	more := len(rows) > q.Limit
	if more {
		rows = rows[:q.Limit]
	}
	page.Messages = make([]Message, len(rows))
	for i, r := range rows {
		page.Messages[i] = messageOf(r)
	}
	if more {
		last := rows[len(rows)-1].ID
		if forward {
			page.After = last
		} else {
			page.Before = last
		}
	}
	return page, nil
}

// inConversation selects a conversation's messages so that PostgreSQL
// always reads them from the (conversation_id, id) index. With a plain
// "conversation_id = $1" the planner drops conversation_id from ORDER BY
// and may walk the primary key backwards instead, filtering; with stale
// statistics (after a burst of other conversations' messages) that reads
// every newer row of the table. "= ANY(ARRAY[$1])" keeps conversation_id
// in the sort order, which only the composite index provides.
func (s *Service) inConversation(id int) predicate.Message {
	if s.isSQLite {
		return message.ConversationID(id)
	}
	return func(sel *entsql.Selector) {
		sel.Where(entsql.P(func(b *entsql.Builder) {
			b.WriteString(sel.C(message.FieldConversationID)).WriteString(" = ANY(ARRAY[").Arg(id).WriteString("]::bigint[])")
		}))
	}
}

// MessagesByID loads messages by id, in id order, for delivering what
// another node announced without its content. It checks no rights: the
// announcement named the recipients.
func (s *Service) MessagesByID(ctx context.Context, ids []int) ([]Message, error) {
	rows, err := s.client.Message.Query().Where(message.IDIn(ids...)).Order(ent.Asc(message.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = messageOf(r)
	}
	return out, nil
}
