package chat

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
)

// insertBatchPG writes a whole batch in one statement, so one round trip
// and PostgreSQL's implicit transaction commit it:
//
//   - locked takes the batch's conversation rows, in id order, skipping any
//     that another transaction holds (another node's batch, or a stuck
//     transaction): their messages are not written now but retried, so one
//     locked conversation never holds up the others.
//   - ins inserts the messages of the locked conversations in the batch's
//     order (WITH ORDINALITY ... ORDER BY ord, so their ids follow it). A
//     conversation's ids are drawn only while its row is locked, and the
//     lock is held until the commit, so whichever node writes them, a
//     conversation's messages become visible in the order of their ids and
//     ?after=<id> never skips one. A client_id already used by the sender
//     inserts nothing (ON CONFLICT DO NOTHING); the stored message is looked
//     up afterwards.
//   - touched moves each conversation to its newest message, and keeps
//     each participant's read mark and unread count: sending marks the
//     sender's side read up to its message, and the other's messages after
//     that are unread.
//
// The result lists the locked conversations with their newest message
// before this batch (kind 0), then the inserted messages (kind 1) in id
// order. Prepared once, the plan serves every batch.
const insertBatchPG = `WITH locked AS MATERIALIZED (
	SELECT id, last_message_id FROM conversations WHERE id = ANY($5::bigint[]) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED
), ins AS (
	INSERT INTO messages (content, date, conversation_id, sender_id, client_id)
	SELECT u.content, $1::timestamptz, u.conversation_id, u.sender_id, u.client_id
	FROM unnest($2::text[], $3::bigint[], $4::bigint[], $6::text[]) WITH ORDINALITY AS u(content, conversation_id, sender_id, client_id, ord)
	WHERE u.conversation_id IN (SELECT id FROM locked)
	ORDER BY u.ord
	ON CONFLICT (sender_id, client_id) DO NOTHING
	RETURNING id, conversation_id, sender_id, client_id
), agg AS (
	SELECT i.conversation_id AS cid, max(i.id) AS last_id,
		max(i.id) FILTER (WHERE i.sender_id = c.sender_id) AS last_s,
		max(i.id) FILTER (WHERE i.sender_id = c.recipient_id) AS last_r
	FROM ins i JOIN conversations c ON c.id = i.conversation_id
	GROUP BY i.conversation_id
), cnt AS (
	SELECT a.cid, a.last_id, a.last_s, a.last_r,
		count(*) FILTER (WHERE i.sender_id = c.recipient_id AND (a.last_s IS NULL OR i.id > a.last_s)) AS new_for_s,
		count(*) FILTER (WHERE i.sender_id = c.sender_id AND (a.last_r IS NULL OR i.id > a.last_r)) AS new_for_r
	FROM agg a JOIN ins i ON i.conversation_id = a.cid JOIN conversations c ON c.id = a.cid
	GROUP BY a.cid, a.last_id, a.last_s, a.last_r
), touched AS (
	UPDATE conversations c
	SET last_activity_at = $1, updated_at = $1, last_message_id = cnt.last_id,
		sender_read_id = greatest(c.sender_read_id, cnt.last_s),
		sender_unread = CASE WHEN cnt.last_s IS NULL THEN c.sender_unread ELSE 0 END + cnt.new_for_s,
		recipient_read_id = greatest(c.recipient_read_id, cnt.last_r),
		recipient_unread = CASE WHEN cnt.last_r IS NULL THEN c.recipient_unread ELSE 0 END + cnt.new_for_r
	FROM cnt
	WHERE c.id = cnt.cid AND (c.last_message_id IS NULL OR c.last_message_id < cnt.last_id)
)
SELECT 0, id, coalesce(last_message_id, 0), NULL::text FROM locked
UNION ALL
SELECT 1, id, sender_id, client_id FROM ins
ORDER BY 1, 2`

// repeatsPG loads the messages that (sender, client_id) pairs already name.
const repeatsPG = `SELECT m.id, m.content, m.date, m.conversation_id, m.sender_id, m.client_id,
  COALESCE((SELECT max(p.id) FROM messages p WHERE p.conversation_id = m.conversation_id AND p.id < m.id), 0)
FROM messages m JOIN unnest($1::bigint[], $2::text[]) AS k(sender_id, client_id)
ON m.sender_id = k.sender_id AND m.client_id = k.client_id`

type pgBatch struct {
	stmt *sql.Stmt
	db   *sql.DB
}

func preparePGBatch(ctx context.Context, db *sql.DB) (*pgBatch, error) {
	stmt, err := db.PrepareContext(ctx, insertBatchPG)
	if err != nil {
		return nil, fmt.Errorf("prepare message batch: %w", err)
	}
	return &pgBatch{stmt: stmt, db: db}, nil
}

// clientKey names a message by its sender's client_id.
type clientKey struct {
	sender   int
	clientID string
}

func (p *pgBatch) insert(ctx context.Context, batch []*writeReq, date time.Time) ([]outcome, error) {
	contents := make([]string, len(batch))
	convs := make([]int64, len(batch))
	senders := make([]int64, len(batch))
	clientIDs := make([]sql.NullString, len(batch))
	for i, r := range batch {
		contents[i], convs[i], senders[i] = r.m.content, int64(r.m.conversationID), int64(r.m.senderID)
		clientIDs[i] = sql.NullString{String: r.m.clientID, Valid: r.m.clientID != ""}
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(convs)))
	rows, err := p.stmt.QueryContext(ctx, date, pq.Array(contents), pq.Array(convs), pq.Array(senders), pq.Array(distinct), pq.Array(clientIDs))
	if err != nil {
		return nil, fromPG(err)
	}
	defer rows.Close()
	locked := map[int]bool{}
	prev := map[int]int{}        // conversation → its newest message so far
	var plain []int              // ids of messages without client_id, in batch order
	keyed := map[clientKey]int{} // ids of messages with one
	for rows.Next() {
		// aux is the sender of a message (kind 1), or a conversation's
		// newest message before the batch (kind 0).
		var kind, id, aux int
		var clientID sql.NullString
		if err := rows.Scan(&kind, &id, &aux, &clientID); err != nil {
			return nil, err
		}
		switch {
		case kind == 0:
			locked[id], prev[id] = true, aux
		case clientID.Valid:
			keyed[clientKey{aux, clientID.String}] = id
		default:
			plain = append(plain, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fromPG(err)
	}
	outs := make([]outcome, len(batch))
	var repeats []int // batch indexes whose client_id was taken before
	for i, r := range batch {
		m := &r.m
		msg := Message{Content: m.content, Date: date, SenderID: m.senderID, ConversationID: m.conversationID, ClientID: m.clientID}
		switch k := (clientKey{m.senderID, m.clientID}); {
		case !locked[m.conversationID]:
			outs[i].skipped = true
			continue
		case m.clientID == "":
			if len(plain) == 0 {
				return nil, fmt.Errorf("message batch: fewer ids than messages")
			}
			msg.ID, plain = plain[0], plain[1:]
		case keyed[k] != 0:
			msg.ID = keyed[k]
			delete(keyed, k) // a second use in this batch is a repeat
		default:
			repeats = append(repeats, i)
			continue
		}
		msg.Prev, prev[m.conversationID] = prev[m.conversationID], msg.ID
		outs[i].msg = msg
	}
	if len(repeats) > 0 {
		p.loadRepeats(ctx, batch, repeats, outs)
	}
	return outs, nil
}

// loadRepeats fills the outcomes of messages whose client_id their sender
// had used before with the message stored then.
func (p *pgBatch) loadRepeats(ctx context.Context, batch []*writeReq, idx []int, outs []outcome) {
	senders := make([]int64, len(idx))
	clientIDs := make([]string, len(idx))
	for j, i := range idx {
		senders[j], clientIDs[j] = int64(batch[i].m.senderID), batch[i].m.clientID
	}
	found := map[clientKey]Message{}
	rows, err := p.db.QueryContext(ctx, repeatsPG, pq.Array(senders), pq.Array(clientIDs))
	if err == nil {
		for rows.Next() {
			var m Message
			var clientID string
			if err = rows.Scan(&m.ID, &m.Content, &m.Date, &m.ConversationID, &m.SenderID, &clientID, &m.Prev); err != nil {
				break
			}
			m.Date, m.ClientID = m.Date.UTC(), clientID
			found[clientKey{m.SenderID, clientID}] = m
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	for _, i := range idx {
		outs[i] = repeatOutcome(batch[i], found, err)
	}
}

// repeatOutcome answers a message whose client_id was used before: the
// stored message, unless that belongs to another conversation.
func repeatOutcome(r *writeReq, found map[clientKey]Message, lookupErr error) outcome {
	if lookupErr != nil {
		return outcome{err: lookupErr}
	}
	m, ok := found[clientKey{r.m.senderID, r.m.clientID}]
	switch {
	case !ok:
		// The row that held it went away (rolled back): write it anew.
		return outcome{skipped: true}
	case m.ConversationID != r.m.conversationID:
		return outcome{err: FieldError("client_id", "was used for a message in another conversation")}
	}
	m.Repeat = true
	return outcome{msg: m}
}

// fromPG maps constraint violations (a conversation deleted meanwhile) to
// the domain's kinds, as fromEnt does for Ent's errors.
func fromPG(err error) error {
	if pe, ok := err.(*pq.Error); ok && pe.Code.Class() == "23" {
		return &Error{Kind: KindConflict, Message: "conflict"}
	}
	return err
}

func (p *pgBatch) close() error { return p.stmt.Close() }
