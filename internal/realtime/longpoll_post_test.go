package realtime

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

// TestLongPollOnePostAtATime: a session reads one POST at a time, as
// phoenix.js sends them (it waits for a batch's answer before the next).
// A second POST while one is under way is refused before its body is
// read, so that one session cannot hold many bodies of up to 100 frames
// each in memory at once; the session and the first POST go on.
func TestLongPollOnePostAtATime(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	_, _, c := ts.lpUser(t, vsn2)

	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	req, _ := http.NewRequest(http.MethodPost, ts.ts.URL+"/socket/longpoll?"+c.lp.sessionQuery().Encode(), pr)
	req.Header.Set("Content-Type", "application/x-ndjson")
	first := make(chan int, 1)
	go func() {
		res, err := (&http.Client{Transport: ts.transport}).Do(req)
		if err != nil {
			first <- -1
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.HasPrefix(string(b), `{"status":200`) {
			first <- 200
		} else {
			first <- 0
		}
	}()
	_, _ = pw.Write([]byte(`[null,"x1","phoenix",`))
	eventually(t, "the first POST to be read", func() bool { return ts.lpSocket(c).lp.posting.Load() })

	r := c.lp.post(`[null,"2","phoenix","heartbeat",{}]`, "application/x-ndjson")
	if r.Status != http.StatusConflict || r.Message != wordPostUnderWay {
		t.Fatalf("a second POST at once: %+v", r)
	}
	_, _ = pw.Write([]byte(`"heartbeat",{}]` + "\n"))
	_ = pw.Close()
	if s := <-first; s != 200 {
		t.Fatalf("the first POST: %d", s)
	}
	if s := ts.lpSocket(c); s == nil || s.isClosing() {
		t.Fatal("the session ended")
	}
	c.expectReply(nil, "x1", topicPhoenix, "ok")
	c.heartbeat()
}

// TestLongPollPostStreams: a POST's frames are handled as their lines
// arrive, as a WebSocket's are, so that a POST holds one frame in memory
// rather than its whole body (up to 100 frames of MaxFrame): the first
// frame's reply is polled while the body is still coming.
func TestLongPollPostStreams(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	_, _, c := ts.lpUser(t, vsn2)

	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	req, _ := http.NewRequest(http.MethodPost, ts.ts.URL+"/socket/longpoll?"+c.lp.sessionQuery().Encode(), pr)
	req.Header.Set("Content-Type", "application/x-ndjson")
	first := make(chan string, 1)
	go func() {
		res, err := (&http.Client{Transport: ts.transport}).Do(req)
		if err != nil {
			first <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		first <- string(b)
	}()
	_, _ = pw.Write([]byte(`[null,"x1","phoenix","heartbeat",{}]` + "\n"))
	c.expectReply(nil, "x1", topicPhoenix, "ok")
	_, _ = pw.Write([]byte(`[null,"x2","phoenix","heartbeat",{}]`))
	_ = pw.Close()
	if s := <-first; s != `{"status":200}` {
		t.Fatalf("the POST: %s", s)
	}
	c.expectReply(nil, "x2", topicPhoenix, "ok")
}

// TestLongPollUnreadableBody: a body that cannot be read to its end is
// answered 400 in errors.md's word for it, "invalid json", after the
// frames before the fault were handled; the session goes on.
func TestLongPollUnreadableBody(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	_, _, c := ts.lpUser(t, vsn2)
	body := io.MultiReader(strings.NewReader(`[null,"x1","phoenix","heartbeat",{}]`+"\n"), iotest.ErrReader(errors.New("connection reset")))
	req := httptest.NewRequest(http.MethodPost, "/socket/longpoll?"+c.lp.sessionQuery().Encode(), body)
	req.Header.Set("Content-Type", "application/x-ndjson")
	rec := httptest.NewRecorder()
	ts.srv.LongPoll().ServeHTTP(rec, req)
	if got := rec.Body.String(); got != `{"status":400,"message":"invalid json"}` {
		t.Fatalf("answer %s", got)
	}
	c.expectReply(nil, "x1", topicPhoenix, "ok")
	c.heartbeat()
}

// TestLongPollOneIdleTimer: re-arming a session's idle timer stops the one
// it replaces. Two polls at once (one answered at once, the other woken
// by the same frames) both re-arm it; the timer replaced was left running
// until it fired, one per such poll.
func TestLongPollOneIdleTimer(t *testing.T) {
	b := newFakeBackend(t)
	mt := &manualTimers{}
	ts := startServer(t, b, Config{afterFunc: mt.afterFunc})
	_, _, c := ts.lpUser(t, vsn2)
	s := ts.lpSocket(c)
	s.mu.Lock()
	s.lp.armIdleLocked()
	s.lp.armIdleLocked()
	s.mu.Unlock()
	mt.mu.Lock()
	defer mt.mu.Unlock()
	running := 0
	for _, tm := range mt.timers {
		if !tm.stopped {
			running++
		}
	}
	if running != 1 {
		t.Fatalf("%d idle timers running, want 1", running)
	}
}
