package chat

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/conversation"
	"github.com/companyapi/companyapi/ent/message"
	"github.com/companyapi/companyapi/ent/predicate"
)

// Bounds of a recovery: past them, a client pages the rest over REST.
const (
	MaxRecoverPerConversation = 100
	MaxRecover                = 500
	// MaxRecoverCursors bounds the conversations a client may name.
	MaxRecoverCursors = 1000
)

// RecoverQuery is what a rejoining client holds: per conversation, the
// last message id it has (0: none), and the highest id it has anywhere.
type RecoverQuery struct {
	Cursors map[int]int
	// Since selects the conversations not in Cursors (opened, or first
	// written to, while the client was away): their messages after Since.
	// 0 means the highest cursor.
	Since int
}

// Recovered is what a client missed: per conversation, oldest first,
// conversations in id order. Truncated lists the conversations that have
// more than was returned; the client pages them with ?after=<the last id it
// holds>.
type Recovered struct {
	Messages  []Message
	Truncated []int
	// ReadMarks is each participant's read mark in the conversations the
	// client named or recovered: {"<conversation>": {"<user>": id}}, so a
	// rejoining client learns the marks it missed.
	ReadMarks map[string]map[string]int
}

// Recover returns the messages a rejoining user missed (see RecoverQuery),
// at most MaxRecoverPerConversation per conversation and MaxRecover in all.
// Conversations the user is not in are ignored: they name nothing the
// user may read.
//
// Errors: KindInvalid on "cursors" when more than MaxRecoverCursors are
// named.
func (s *Service) Recover(ctx context.Context, userID int, q RecoverQuery) (Recovered, error) {
	if len(q.Cursors) > MaxRecoverCursors {
		return Recovered{}, FieldError("cursors", "names too many conversations")
	}
	cursors := make(map[int]int, len(q.Cursors))
	highest := 0
	for conv, c := range q.Cursors {
		cursors[conv] = c
		highest = max(highest, c)
	}
	if q.Since == 0 {
		q.Since = highest
	}
	mine := conversation.Or(conversation.UserLow(userID), conversation.UserHigh(userID))
	known := slices.Sorted(maps.Keys(cursors))
	isKnown := make(map[int]bool, len(known))
	for _, id := range known {
		isKnown[id] = true
	}
	var convs []*ent.Conversation
	if len(known) > 0 {
		rows, err := s.client.Conversation.Query().
			Where(mine, conversation.IDIn(known...), conversation.LastMessageIDNotNil()).
			Select(conversation.FieldID, conversation.FieldLastMessageID).
			All(ctx)
		if err != nil {
			return Recovered{}, err
		}
		for _, c := range rows {
			if *c.LastMessageID > cursors[c.ID] {
				convs = append(convs, c)
			}
		}
	}
	unknown, err := s.client.Conversation.Query().
		Where(mine, conversation.IDNotIn(known...), conversation.LastMessageIDGT(q.Since)).
		Select(conversation.FieldID, conversation.FieldLastMessageID).
		All(ctx)
	if err != nil {
		return Recovered{}, err
	}
	for _, c := range unknown {
		cursors[c.ID] = q.Since
	}
	convs = append(convs, unknown...)
	slices.SortFunc(convs, func(a, b *ent.Conversation) int { return a.ID - b.ID })

	var out Recovered
	marks, err := s.readMarks(ctx, mine, append(known, idsOf(unknown)...))
	if err != nil {
		return Recovered{}, err
	}
	out.ReadMarks = marks
	for _, c := range convs {
		room := min(MaxRecoverPerConversation, MaxRecover-len(out.Messages))
		if room <= 0 {
			out.Truncated = append(out.Truncated, c.ID)
			continue
		}
		rows, err := s.client.Message.Query().
			Where(s.inConversation(c.ID), message.IDGT(cursors[c.ID])).
			Order(ent.Asc(message.FieldConversationID), ent.Asc(message.FieldID)).
			Limit(room + 1).
			All(ctx)
		if err != nil {
			return Recovered{}, err
		}
		if len(rows) > room {
			rows = rows[:room]
			out.Truncated = append(out.Truncated, c.ID)
		}
		prev, err := s.messageBefore(ctx, c.ID, cursors[c.ID], isKnown[c.ID], rows)
		if err != nil {
			return Recovered{}, err
		}
		for _, r := range rows {
			m := messageOf(r)
			m.Prev, prev = prev, m.ID
			out.Messages = append(out.Messages, m)
		}
	}
	return out, nil
}

// messageBefore is the message of conv before the first of rows, so that
// recovered messages carry their Prev like live pushes. In a conversation
// the client named, that is its cursor (a message it holds, or 0: none);
// in one it did not, it is read.
func (s *Service) messageBefore(ctx context.Context, conv, cursor int, known bool, rows []*ent.Message) (int, error) {
	if known || len(rows) == 0 {
		return cursor, nil
	}
	before, err := s.client.Message.Query().
		Where(s.inConversation(conv), message.IDLT(rows[0].ID)).
		Order(ent.Desc(message.FieldConversationID), ent.Desc(message.FieldID)).
		First(ctx)
	switch {
	case ent.IsNotFound(err):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return before.ID, nil
}

func idsOf(convs []*ent.Conversation) []int {
	ids := make([]int, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
	}
	return ids
}

// readMarks reads both participants' marks in conversations ids of the
// user (mine selects them).
func (s *Service) readMarks(ctx context.Context, mine predicate.Conversation, ids []int) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.client.Conversation.Query().
		Where(mine, conversation.IDIn(ids...)).
		Select(conversation.FieldID, conversation.FieldSenderID, conversation.FieldRecipientID,
			conversation.FieldSenderReadID, conversation.FieldRecipientReadID).
		All(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range rows {
		m := map[string]int{}
		if c.SenderReadID != nil {
			m[strconv.Itoa(c.SenderID)] = *c.SenderReadID
		}
		if c.RecipientReadID != nil {
			m[strconv.Itoa(c.RecipientID)] = *c.RecipientReadID
		}
		out[strconv.Itoa(c.ID)] = m
	}
	return out, nil
}
