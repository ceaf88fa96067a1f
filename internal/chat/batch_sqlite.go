package chat

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/companyapi/companyapi/ent"
	"github.com/companyapi/companyapi/ent/conversation"
	"github.com/companyapi/companyapi/ent/message"
)

// insertBatchSQLite writes a batch in one transaction. SQLite serves one
// process, whose lane orders each conversation, so there is no row to lock;
// a client_id the sender used before is looked up in the same transaction.
func (s *Service) insertBatchSQLite(ctx context.Context, batch []*writeReq, date time.Time) ([]outcome, error) {
	outs := make([]outcome, len(batch))
	err := withTx(ctx, s.client, func(tx *ent.Tx) error {
		found := map[clientKey]Message{}
		var repeats []int
		var builders []*ent.MessageCreate
		var created []int // batch indexes, in the order of builders
		for i, r := range batch {
			if r.m.clientID != "" {
				k := clientKey{r.m.senderID, r.m.clientID}
				if _, seen := found[k]; seen {
					repeats = append(repeats, i)
					continue
				}
				row, err := tx.Message.Query().Where(message.SenderID(k.sender), message.ClientID(k.clientID)).Only(ctx)
				switch {
				case err == nil:
					found[k] = messageOf(row)
					repeats = append(repeats, i)
					continue
				case !ent.IsNotFound(err):
					return err
				}
				found[k] = Message{} // created below; a repeat in this batch reads it then
			}
			builders = append(builders, tx.Message.Create().
				SetContent(r.m.content).
				SetDate(date).
				SetSenderID(r.m.senderID).
				SetConversationID(r.m.conversationID).
				SetNillableClientID(nilIfEmpty(r.m.clientID)))
			created = append(created, i)
		}
		convs, err := batchConversations(ctx, tx, batch)
		if err != nil {
			return err
		}
		prev := map[int]int{}
		for id, c := range convs {
			if c.LastMessageID != nil {
				prev[id] = *c.LastMessageID
			}
		}
		rows, err := tx.Message.CreateBulk(builders...).Save(ctx)
		if err != nil {
			return fromEnt(err)
		}
		for j, row := range rows {
			m := messageOf(row)
			m.Prev, prev[m.ConversationID] = prev[m.ConversationID], m.ID
			outs[created[j]].msg = m
			if m.ClientID != "" {
				found[clientKey{m.SenderID, m.ClientID}] = m
			}
		}
		for _, i := range repeats {
			outs[i] = repeatOutcome(batch[i], found, nil)
		}
		return touchConversations(ctx, tx, convs, rows, date)
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// batchConversations reads the batch's conversations before it is
// written.
func batchConversations(ctx context.Context, tx *ent.Tx, batch []*writeReq) (map[int]*ent.Conversation, error) {
	ids := make([]int, 0, len(batch))
	for _, r := range batch {
		ids = append(ids, r.m.conversationID)
	}
	rows, err := tx.Conversation.Query().
		Where(conversation.IDIn(slices.Compact(slices.Sorted(slices.Values(ids)))...)).
		All(ctx)
	if err != nil {
		return nil, err
	}
	convs := make(map[int]*ent.Conversation, len(rows))
	for _, c := range rows {
		convs[c.ID] = c
	}
	return convs, nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// touchConversations moves each conversation to its newest message and
// keeps each side's read mark and unread count, message by message: a
// participant who sends has read up to their message, and it is unread for
// the other (insertBatchPG does the same in SQL). In-process and one
// writer, a statement per conversation costs no round trip.
func touchConversations(ctx context.Context, tx *ent.Tx, convs map[int]*ent.Conversation, msgs []*ent.Message, at time.Time) error {
	touched := map[int]bool{}
	for _, m := range msgs {
		c := convs[m.ConversationID]
		touched[c.ID] = true
		if c.SenderID == m.SenderID {
			c.SenderReadID, c.SenderUnread = &m.ID, 0
			c.RecipientUnread++
		} else {
			c.RecipientReadID, c.RecipientUnread = &m.ID, 0
			c.SenderUnread++
		}
		c.LastMessageID = &m.ID
	}
	for _, id := range slices.Sorted(maps.Keys(touched)) {
		c := convs[id]
		if err := tx.Conversation.UpdateOneID(id).
			SetLastActivityAt(at).
			SetLastMessageID(*c.LastMessageID).
			SetNillableSenderReadID(c.SenderReadID).
			SetNillableRecipientReadID(c.RecipientReadID).
			SetSenderUnread(c.SenderUnread).
			SetRecipientUnread(c.RecipientUnread).
			Exec(ctx); err != nil {
			return fromEnt(err)
		}
	}
	return nil
}
