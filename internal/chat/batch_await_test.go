package chat

import (
	"context"
	"testing"
)

// TestAnswerBeatsGivingUp: the commit's answer and the end of the sender's
// context are both there when the sender looks. select picks either at
// random; before, picking the end told the sender unavailable for a
// message that was stored. Tried often enough that a coin would lose.
func TestAnswerBeatsGivingUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 100 {
		req := &writeReq{done: make(chan writeResult, 1)}
		req.state.Store(reqTaken)
		req.done <- writeResult{msg: Message{ID: 7}}
		if m, err := await(ctx, req); err != nil || m.ID != 7 {
			t.Fatalf("try %d: %+v, %v; want the stored message", i, m, err)
		}
	}
}
