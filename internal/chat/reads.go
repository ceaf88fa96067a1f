package chat

import (
	"context"
	"database/sql"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/conversation"
	"github.com/companyapi/companyapi/ent/message"
)

// MarkRead moves userID's read mark in conversation convID up to
// messageID, and recounts userID's unread messages after it. The mark
// never moves backwards: an older id is accepted and changes nothing.
// When it moved, both participants' other sockets hear of it (ReadMarked);
// origin is the socket that asked, which gets its reply instead.
//
// Errors: ErrNotFound for a non-participant; KindInvalid on "message_id"
// when the message is not one of this conversation.
func (s *Service) MarkRead(ctx context.Context, userID, convID, messageID int, origin string) error {
	ctx, cancel := context.WithTimeout(ctx, s.sendTimeout)
	defer cancel()
	p, err := s.participantsOf(ctx, convID)
	if err != nil {
		return err
	}
	if !p.has(userID) {
		return ErrNotFound
	}
	if messageID <= 0 {
		return FieldError("message_id", MsgInvalid)
	}
	ok, err := s.client.Message.Query().Where(message.ID(messageID), message.ConversationID(convID)).Exist(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return FieldError("message_id", "is not a message of this conversation")
	}
	moved := false
	err = withTx(ctx, s.client, func(tx *ent.Tx) error {
		// The row lock orders this against the message writer, which
		// counts unread messages too: nothing commits in between.
		q := tx.Conversation.Query().Where(conversation.ID(convID))
		if !s.isSQLite {
			q = q.ForUpdate()
		}
		c, err := q.Only(ctx)
		if err != nil {
			return fromEnt(err)
		}
		mark := c.RecipientReadID
		if userID == c.SenderID {
			mark = c.SenderReadID
		}
		if mark != nil && *mark >= messageID {
			return nil
		}
		unread, err := tx.Message.Query().
			Where(message.ConversationID(convID), message.IDGT(messageID), message.SenderIDNEQ(userID)).
			Count(ctx)
		if err != nil {
			return err
		}
		upd := tx.Conversation.UpdateOneID(convID).SetRecipientReadID(messageID).SetRecipientUnread(unread)
		if userID == c.SenderID {
			upd = tx.Conversation.UpdateOneID(convID).SetSenderReadID(messageID).SetSenderUnread(unread)
		}
		moved = true
		return fromEnt(upd.Exec(ctx))
	})
	if err != nil || !moved {
		return err
	}
	s.events.Announce(ReadMarked{ConversationID: convID, UserID: userID, MessageID: messageID,
		To: []int{p.other(userID), userID}, Origin: origin})
	return nil
}

// unreadTotalQuery sums a user's unread counts over their conversations:
// O(conversations), never a count over the messages.
const unreadTotalQuery = `SELECT COALESCE(SUM(CASE WHEN sender_id = %[1]s THEN sender_unread ELSE recipient_unread END), 0)
FROM conversations WHERE user_low = %[1]s OR user_high = %[1]s`

// UnreadTotal is how many messages userID has not read, in all their
// conversations.
func (s *Service) UnreadTotal(ctx context.Context, userID int) (int, error) {
	rows, err := s.client.QueryContext(ctx, s.unreadTotalSQL, userID)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var total sql.NullInt64
	if rows.Next() {
		if err := rows.Scan(&total); err != nil {
			return 0, err
		}
	}
	return int(total.Int64), rows.Err()
}

// Contacts are the users who share a conversation with userID: whose
// presence userID sees, and who see userID's.
func (s *Service) Contacts(ctx context.Context, userID int) ([]int, error) {
	rows, err := s.client.Conversation.Query().
		Where(conversation.Or(conversation.UserLow(userID), conversation.UserHigh(userID))).
		Select(conversation.FieldUserLow, conversation.FieldUserHigh).
		All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(rows))
	for i, c := range rows {
		out[i] = c.UserLow
		if c.UserLow == userID {
			out[i] = c.UserHigh
		}
	}
	return out, nil
}

// Typing announces that userID is typing in convID to the other
// participant. Nothing is stored.
//
// Errors: ErrNotFound for a non-participant.
func (s *Service) Typing(ctx context.Context, userID, convID int) error {
	p, err := s.participantsOf(ctx, convID)
	if err != nil {
		return err
	}
	if !p.has(userID) {
		return ErrNotFound
	}
	s.events.Announce(Typing{ConversationID: convID, UserID: userID, To: []int{p.other(userID)}})
	return nil
}
