package chat

import (
	"context"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/conversation"
	"github.com/companyapi/companyapi/ent/message"
	"github.com/companyapi/companyapi/ent/user"
)

// CreateConversation opens the conversation between caller and recipient,
// or returns the one they already share, in either order. created reports
// which. Two concurrent calls yield one row: the unique (user_low,
// user_high) index decides, and the loser reads the winner's row.
//
// Errors: KindInvalid on recipient_id ("can't be yourself", "does not exist").
func (s *Service) CreateConversation(ctx context.Context, callerID, recipientID int) (c Conversation, created bool, err error) {
	if recipientID == callerID {
		return Conversation{}, false, FieldError("recipient_id", "can't be yourself")
	}
	if existing, err := s.findPair(ctx, callerID, recipientID, callerID); err == nil {
		return existing, false, nil
	} else if KindOf(err) != KindNotFound {
		return Conversation{}, false, err
	}
	ok, err := s.client.User.Query().Where(user.ID(recipientID)).Exist(ctx)
	if err != nil {
		return Conversation{}, false, err
	}
	if !ok {
		return Conversation{}, false, FieldError("recipient_id", "does not exist")
	}
	now := s.nowUTC()
	row, err := s.client.Conversation.Create().
		SetSenderID(callerID).
		SetRecipientID(recipientID).
		SetInsertedAt(now).
		SetUpdatedAt(now).
		SetLastActivityAt(now).
		Save(ctx)
	if ent.IsConstraintError(err) {
		existing, ferr := s.findPair(ctx, callerID, recipientID, callerID)
		if KindOf(ferr) == KindNotFound {
			// Not a duplicate: the recipient vanished in between.
			return Conversation{}, false, FieldError("recipient_id", "does not exist")
		}
		return existing, false, ferr
	}
	if err != nil {
		return Conversation{}, false, fromEnt(err)
	}
	s.convs.put(row.ID, participants{row.SenderID, row.RecipientID})
	conv := conversationOf(row, callerID, nil)
	s.events.Announce(ConversationCreated{Conversation: conv, To: []int{recipientID, callerID}})
	return conv, true, nil
}

func (s *Service) findPair(ctx context.Context, a, b, viewer int) (Conversation, error) {
	row, err := s.client.Conversation.Query().
		Where(conversation.UserLow(min(a, b)), conversation.UserHigh(max(a, b))).
		Only(ctx)
	if err != nil {
		return Conversation{}, fromEnt(err)
	}
	return s.withLast(ctx, row, viewer)
}

// GetConversation returns a conversation the caller takes part in; to
// anyone else it does not exist.
//
// Errors: ErrNotFound.
func (s *Service) GetConversation(ctx context.Context, callerID, id int) (Conversation, error) {
	row, err := s.client.Conversation.Query().
		Where(conversation.ID(id), conversation.Or(conversation.SenderID(callerID), conversation.RecipientID(callerID))).
		Only(ctx)
	if err != nil {
		return Conversation{}, fromEnt(err)
	}
	return s.withLast(ctx, row, callerID)
}

func (s *Service) withLast(ctx context.Context, row *ent.Conversation, viewer int) (Conversation, error) {
	if row.LastMessageID == nil {
		return conversationOf(row, viewer, nil), nil
	}
	m, err := s.client.Message.Get(ctx, *row.LastMessageID)
	if err != nil {
		return Conversation{}, fromEnt(err)
	}
	last := messageOf(m)
	return conversationOf(row, viewer, &last), nil
}

// ListConversations returns the caller's conversations, most recent
// activity first, after the cursor (empty for the first page). next is the
// cursor of the following page, empty at the end.
//
// Errors: KindInvalid on "cursor".
func (s *Service) ListConversations(ctx context.Context, callerID int, cursor string, limit int) (list []Conversation, next string, err error) {
	q := s.client.Conversation.Query().
		Where(conversation.Or(conversation.UserLow(callerID), conversation.UserHigh(callerID))).
		Order(ent.Desc(conversation.FieldLastActivityAt), ent.Desc(conversation.FieldID)).
		Limit(limit + 1)
	if cursor != "" {
		at, id, err := decodeActivityCursor(cursor)
		if err != nil {
			return nil, "", FieldError("cursor", MsgInvalid)
		}
		q = q.Where(conversation.Or(
			conversation.LastActivityAtLT(at),
			conversation.And(conversation.LastActivityAt(at), conversation.IDLT(id)),
		))
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, "", err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = encodeActivityCursor(last.LastActivityAt, last.ID)
	}
	lastIDs := make([]int, 0, len(rows))
	for _, r := range rows {
		if r.LastMessageID != nil {
			lastIDs = append(lastIDs, *r.LastMessageID)
		}
	}
	lastByID := map[int]Message{}
	if len(lastIDs) > 0 {
		ms, err := s.client.Message.Query().Where(message.IDIn(lastIDs...)).All(ctx)
		if err != nil {
			return nil, "", err
		}
		for _, m := range ms {
			lastByID[m.ID] = messageOf(m)
		}
	}
	list = make([]Conversation, len(rows))
	for i, r := range rows {
		var last *Message
		if r.LastMessageID != nil {
			if m, ok := lastByID[*r.LastMessageID]; ok {
				last = &m
			}
		}
		list[i] = conversationOf(r, callerID, last)
	}
	return list, next, nil
}

// participantsOf returns who takes part in conversation id, cached.
func (s *Service) participantsOf(ctx context.Context, id int) (participants, error) {
	if p, ok := s.convs.get(id); ok {
		return p, nil
	}
	row, err := s.client.Conversation.Query().
		Where(conversation.ID(id)).
		Select(conversation.FieldSenderID, conversation.FieldRecipientID).
		Only(ctx)
	if err != nil {
		return participants{}, fromEnt(err)
	}
	p := participants{row.SenderID, row.RecipientID}
	s.convs.put(id, p)
	return p, nil
}
