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
		prev, err := lastMessages(ctx, tx, batch)
		if err != nil {
			return err
		}
		rows, err := tx.Message.CreateBulk(builders...).Save(ctx)
		if err != nil {
			return fromEnt(err)
		}
		last := map[int]int{}
		for j, row := range rows {
			m := messageOf(row)
			m.Prev, prev[m.ConversationID] = prev[m.ConversationID], m.ID
			outs[created[j]].msg = m
			if m.ClientID != "" {
				found[clientKey{m.SenderID, m.ClientID}] = m
			}
			last[row.ConversationID] = max(last[row.ConversationID], row.ID)
		}
		for _, i := range repeats {
			outs[i] = repeatOutcome(batch[i], found, nil)
		}
		return touchConversations(ctx, tx, last, date)
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// lastMessages reads the newest message of each of the batch's
// conversations before it is written.
func lastMessages(ctx context.Context, tx *ent.Tx, batch []*writeReq) (map[int]int, error) {
	ids := make([]int, 0, len(batch))
	for _, r := range batch {
		ids = append(ids, r.m.conversationID)
	}
	convs, err := tx.Conversation.Query().
		Where(conversation.IDIn(slices.Compact(slices.Sorted(slices.Values(ids)))...)).
		Select(conversation.FieldID, conversation.FieldLastMessageID).
		All(ctx)
	if err != nil {
		return nil, err
	}
	prev := make(map[int]int, len(convs))
	for _, c := range convs {
		if c.LastMessageID != nil {
			prev[c.ID] = *c.LastMessageID
		}
	}
	return prev, nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// touchConversations moves each conversation's activity to its newest
// message, for the most-recent-first conversation list, and only forwards.
// In-process and one writer, a statement per conversation costs no round
// trip (PostgreSQL does it in insertBatchPG).
func touchConversations(ctx context.Context, tx *ent.Tx, last map[int]int, at time.Time) error {
	for _, convID := range slices.Sorted(maps.Keys(last)) {
		msgID := last[convID]
		if _, err := tx.Conversation.Update().
			Where(conversation.ID(convID), conversation.Or(
				conversation.LastMessageIDIsNil(),
				conversation.LastMessageIDLT(msgID))).
			SetLastActivityAt(at).
			SetLastMessageID(msgID).
			Save(ctx); err != nil {
			return fromEnt(err)
		}
	}
	return nil
}
