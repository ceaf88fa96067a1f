package chat

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// insertBatchPG writes a whole batch in one statement, so one round trip
// and PostgreSQL's implicit transaction commit it: the messages are
// inserted in the batch's order (WITH ORDINALITY ... ORDER BY ord, so their
// ids follow it) and each touched conversation moves to its newest message.
// Only this conversation's writer updates its row (see batchWriter), so no
// lock ordering is needed. Prepared once, the plan is reused by every batch.
const insertBatchPG = `WITH ins AS (
	INSERT INTO messages (content, date, conversation_id, sender_id)
	SELECT u.content, $1::timestamptz, u.conversation_id, u.sender_id
	FROM unnest($2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS u(content, conversation_id, sender_id, ord)
	ORDER BY u.ord
	RETURNING id, conversation_id
), last AS (
	SELECT conversation_id, max(id) AS id FROM ins GROUP BY conversation_id
), touched AS (
	UPDATE conversations c
	SET last_activity_at = $1, updated_at = $1, last_message_id = last.id
	FROM last
	WHERE c.id = last.conversation_id AND (c.last_message_id IS NULL OR c.last_message_id < last.id)
)
SELECT id FROM ins ORDER BY id`

type pgBatch struct {
	stmt *sql.Stmt
}

func preparePGBatch(ctx context.Context, db *sql.DB) (*pgBatch, error) {
	stmt, err := db.PrepareContext(ctx, insertBatchPG)
	if err != nil {
		return nil, fmt.Errorf("prepare message batch: %w", err)
	}
	return &pgBatch{stmt: stmt}, nil
}

func (p *pgBatch) insert(ctx context.Context, batch []*writeReq, date time.Time) ([]Message, error) {
	contents := make([]string, len(batch))
	convs := make([]int64, len(batch))
	senders := make([]int64, len(batch))
	for i, r := range batch {
		contents[i], convs[i], senders[i] = r.m.content, int64(r.m.conversationID), int64(r.m.senderID)
	}
	rows, err := p.stmt.QueryContext(ctx, date, pq.Array(contents), pq.Array(convs), pq.Array(senders))
	if err != nil {
		return nil, fromPG(err)
	}
	defer rows.Close()
	msgs := make([]Message, 0, len(batch))
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		r := batch[len(msgs)]
		msgs = append(msgs, Message{ID: id, Content: r.m.content, Date: date, SenderID: r.m.senderID, ConversationID: r.m.conversationID})
	}
	if err := rows.Err(); err != nil {
		return nil, fromPG(err)
	}
	if len(msgs) != len(batch) {
		return nil, fmt.Errorf("message batch: %d ids for %d messages", len(msgs), len(batch))
	}
	return msgs, nil
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
