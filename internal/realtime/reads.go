package realtime

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/companyapi/companyapi/internal/chat"
)

// read marks a conversation read up to a message: {"conv": id,
// "message_id": id}. The reader's other sockets and the other
// participant's hear of it.
func (rc roomChat) read(ctx context.Context, s *socket, payload json.RawMessage) (any, error) {
	m, err := payloadFields(payload)
	if err != nil {
		return nil, err
	}
	fe := chat.FieldErrors{}
	var conv, msg int
	decodeID(m, "conv", &conv, fe)
	decodeID(m, "message_id", &msg, fe)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	if err := rc.chat.MarkRead(ctx, s.userID, conv, msg, s.id); err != nil {
		return nil, asPayloadFields(err)
	}
	return emptyObject, nil
}

// typingEvery is how often one user's typing in one conversation is
// relayed, at most, by one node.
const typingEvery = 2 * time.Second

// typing relays {"conv": id} to the other participant; it is never
// stored. Repeats within typingEvery are answered ok and not relayed.
func (rc roomChat) typing(ctx context.Context, s *socket, payload json.RawMessage) (any, error) {
	m, err := payloadFields(payload)
	if err != nil {
		return nil, err
	}
	fe := chat.FieldErrors{}
	var conv int
	decodeID(m, "conv", &conv, fe)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if !s.srv.typists.allow(s.userID, conv, s.srv.cfg.now()) {
		return emptyObject, nil
	}
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	if err := rc.chat.Typing(ctx, s.userID, conv); err != nil {
		return nil, asPayloadFields(err)
	}
	return emptyObject, nil
}

// typists remembers when each (user, conversation) was last relayed.
type typists struct {
	mu   sync.Mutex
	last map[[2]int]time.Time
}

func (t *typists) allow(user, conv int, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[[2]int]time.Time{}
	}
	k := [2]int{user, conv}
	if at, ok := t.last[k]; ok && now.Sub(at) < typingEvery {
		return false
	}
	if len(t.last) > 10_000 { // a bound: forget the stale
		for k, at := range t.last {
			if now.Sub(at) >= typingEvery {
				delete(t.last, k)
			}
		}
	}
	t.last[k] = now
	return true
}
