package realtime

import (
	"context"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

// TestNoLeak opens and closes 2000 sockets, some joined, some closed by the
// client and some dropped without a handshake; afterwards the hub is empty
// and every goroutine they used has ended.
func TestNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2000 sockets")
	}
	const total, parallel = 2000, 32
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	_, tok := b.NewUser(t)
	ignore := goleak.IgnoreCurrent()

	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	errs := make(chan error, total)
	for i := range total {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			conn, _, err := ts.tryDial(query(tok, vsn(i%2)), nil)
			if err != nil {
				errs <- err
				return
			}
			if i%3 != 0 {
				join := appendFrame(nil, vsn(i%2), &frame{joinRef: `"1"`, ref: `"1"`, topic: topicChat, event: eventJoin, payload: emptyObject})
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				if err := conn.Write(ctx, websocket.MessageText, join); err != nil {
					errs <- err
				} else if _, _, err := conn.Read(ctx); err != nil {
					errs <- err
				}
			}
			if i%5 == 0 {
				conn.CloseNow()
				return
			}
			conn.Close(websocket.StatusNormalClosure, "")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eventually(t, "an empty hub", ts.hubEmpty)
	ts.transport.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}
