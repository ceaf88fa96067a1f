package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/metrics/metricstest"
	"github.com/companyapi/companyapi/internal/testlog"
)

// TestLongPollChat: a LongPoll client and a WebSocket client chat over
// room:chat, on every backend: a session's first GET opens it (410 and a
// token), POSTs carry its frames, polls bring back the replies and the
// other's messages.
func TestLongPollChat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		ann, annTok := b.NewUser(t)
		bob, bobTok := b.NewUser(t)
		conv := b.NewConversation(t, ann, bob)
		a := ts.lpDial(t, annTok, vsn2, false)
		c := ts.dial(t, bobTok, vsn2)
		ja := a.join(topicChat)
		jb := c.join(topicChat)

		ref := a.sendMsg(ja, bob, conv, "over long polling")
		sent := decodeMessage(t, a.expectReply(ja, ref, topicChat, "ok"))
		if got := c.expectMessage(jb); !sameMessage(got, sent) || got.Content != "over long polling" || got.SenderID != ann {
			t.Fatalf("bob got %+v, want %+v", got, sent)
		}
		ref = c.sendMsg(jb, ann, conv, "and back")
		c.expectReply(jb, ref, topicChat, "ok")
		if got := a.expectMessage(ja); got.Content != "and back" || got.SenderID != bob {
			t.Fatalf("ann got %+v", got)
		}
		a.heartbeat()
		if b.Stored != nil {
			if content, ok := b.Stored(t, sent.ID); !ok || content != "over long polling" {
				t.Fatalf("stored %q %v", content, ok)
			}
		}
	})
}

// TestLongPollBatch: phoenix.js 1.8 sends every frame pushed in one turn
// of its event loop in one POST, a line each; they are handled in order.
// Older clients POST one frame as the whole body.
func TestLongPollBatch(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	ann, tok := b.NewUser(t)
	bob, _ := b.NewUser(t)
	conv := b.NewConversation(t, ann, bob)
	c := ts.lpDial(t, tok, vsn2, false)
	body := `["1","1","room:chat","phx_join",{}]` + "\n" +
		`[null,"2","phoenix","heartbeat",{}]` + "\r\n" +
		`["1","3","room:chat","send_msg",{"user":` + strconv.Itoa(bob) + `,"conv":` + strconv.Itoa(conv) + `,"message":"batched"}]` + "\n"
	if r := c.lp.post(body, "application/x-ndjson"); r.Status != http.StatusOK || r.Token != nil || r.Messages != nil {
		t.Fatalf("POST: %+v", r)
	}
	c.expectReply("1", "1", topicChat, "ok")
	c.expectReply(nil, "2", topicPhoenix, "ok")
	if m := decodeMessage(t, c.expectReply("1", "3", topicChat, "ok")); m.Content != "batched" {
		t.Fatalf("sent %+v", m)
	}
	if r := c.lp.post(`[null,"4","phoenix","heartbeat",{}]`, "text/plain"); r.Status != http.StatusOK {
		t.Fatalf("POST of one frame: %+v", r)
	}
	c.expectReply(nil, "4", topicPhoenix, "ok")
}

// TestLongPollSessionTokens: a session is named by its token, from the
// X-Phoenix-Longpoll-Token header (phoenix.js ≥ 1.9) or the last ?token=
// (1.8, after the socket's own token=<JWT>). A token this node does not
// hold — forged, malformed, ended, or another node's — is 410 "unknown
// session" on GET and POST: phoenix.js then opens a new session and
// rejoins.
func TestLongPollSessionTokens(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	_, tok := b.NewUser(t)
	c := ts.lpDial(t, tok, vsn2, true)
	c.join(topicChat)

	// The header names the session; the URL has no token at all.
	q := url.Values{"vsn": {"2.0.0"}}
	h := http.Header{headerLongPollToken: {c.lp.token}, "Content-Type": {"application/x-ndjson"}}
	if r := ts.lp(t, http.MethodPost, q, h, `[null,"9","phoenix","heartbeat",{}]`); r.Status != http.StatusOK {
		t.Fatalf("POST with the header: %+v", r)
	}
	if r := ts.lp(t, http.MethodGet, q, h, ""); r.Status != http.StatusOK || len(r.Messages) != 1 || !strings.Contains(r.Messages[0], `"9"`) {
		t.Fatalf("poll with the header: %+v", r)
	}

	other := startServer(t, b, Config{})
	forged := sessionTokenPrefix + strings.Repeat("A", 24)
	for name, req := range map[string]struct {
		ts *testServer
		h  http.Header
		q  url.Values
	}{
		"forged":         {ts, http.Header{headerLongPollToken: {forged}}, q},
		"malformed":      {ts, http.Header{headerLongPollToken: {"nope"}}, q},
		"forged, query":  {ts, nil, url.Values{"vsn": {"2.0.0"}, "token": {tok, forged}}},
		"another node's": {other, http.Header{headerLongPollToken: {c.lp.token}}, q},
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if r := req.ts.lp(t, method, req.q, req.h, "[]"); r.Status != http.StatusGone || r.Message != wordUnknownSession || r.Token != nil {
				t.Errorf("%s, %s: %+v, want 410 %q", name, method, r, wordUnknownSession)
			}
		}
	}
	c.heartbeat() // the session is untouched
}

// TestLongPollRefusals: a session opens after the checks a WebSocket's
// connect passes, refused in the same words; phoenix.js's LongPoll knows
// only 403 (refused) and 500 (retry). Nothing of a refused session stays.
func TestLongPollRefusals(t *testing.T) {
	b := newFakeBackend(t)
	fa := b.Auth.(*fakeAuth)
	clock := &fakeClock{}
	ts := startServer(t, b, Config{now: clock.now, AllowedOrigins: []string{"https://app.example.com"}})
	uid, tok := b.NewUser(t)
	short, _ := fa.issue(uid, clock.now().Add(time.Minute))
	clock.advance(2 * time.Minute)
	v2 := url.Values{"vsn": {"2.0.0"}}
	for _, c := range []struct {
		name   string
		q      url.Values
		h      http.Header
		status int
		word   string
	}{
		{"no token", v2, nil, 403, "missing token"},
		{"bad token", query("nope", vsn2), nil, 403, "invalid token"},
		{"bad authToken", v2, http.Header{headerAuthToken: {"nope"}}, 403, "invalid token"},
		{"expired token", query(short, vsn2), nil, 403, "token expired"},
		{"bad vsn", url.Values{"vsn": {"3.0.0"}, "token": {tok}}, nil, 403, "unsupported vsn"},
		{"other origin", query(tok, vsn2), http.Header{"Origin": {"https://evil.example.com"}}, 403, "origin not allowed"},
	} {
		r := ts.lp(t, http.MethodGet, c.q, c.h, "")
		if r.Status != c.status || r.Message != c.word || r.Token != nil || r.Messages != nil {
			t.Errorf("%s: %+v, want %d %q", c.name, r, c.status, c.word)
		}
	}
	if !ts.hubEmpty() || ts.srv.longPolls.len() != 0 {
		t.Fatal("a refused session was kept")
	}

	// An allowed origin gets CORS: its page's XMLHttpRequest may read the
	// answers, after a preflight for phoenix.js's headers.
	req, _ := http.NewRequest(http.MethodOptions, ts.ts.URL+"/socket/longpoll?vsn=2.0.0", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err := (&http.Client{Transport: ts.transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), headerLongPollToken) {
		t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
	}
	r := ts.lp(t, http.MethodGet, v2, http.Header{headerAuthToken: {tok}, "Origin": {"https://app.example.com"}}, "")
	if r.Status != http.StatusGone || r.Token == nil {
		t.Fatalf("open from an allowed origin: %+v", r)
	}

	req, _ = http.NewRequest(http.MethodPut, ts.ts.URL+"/socket/longpoll", nil)
	if res, err = (&http.Client{Transport: ts.transport}).Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", res.StatusCode)
	}
}

// TestLongPollWindow: a poll with nothing to answer waits for the window,
// then answers 204; a frame queued meanwhile answers it at once. A session
// no poll came for in 1.5 windows is closed, and its presence leaves; its
// next polls learn why for a window, and then that it is unknown.
func TestLongPollWindow(t *testing.T) {
	b := newFakeBackend(t)
	mt := &manualTimers{}
	clock := &fakeClock{}
	ts := startServer(t, b, Config{afterFunc: mt.afterFunc, now: clock.now})
	uid, _, c := ts.lpUser(t, vsn2)
	jr := c.join(topicChat)

	done := c.pollAsync()
	eventually(t, "the poll to wait", func() bool { return ts.polling(c) })
	mt.advance(DefaultLongPollWindow - time.Millisecond)
	ts.publish(messageFixture(5), uid)
	if r := await(t, done); r.Status != http.StatusOK || len(r.Messages) != 1 {
		t.Fatalf("poll with a push: %+v", r)
	}

	done = c.pollAsync()
	eventually(t, "the poll to wait", func() bool { return ts.polling(c) })
	mt.advance(DefaultLongPollWindow)
	if r := await(t, done); r.Status != http.StatusNoContent || len(r.Messages) != 0 {
		t.Fatalf("poll at the window's end: %+v", r)
	}

	// Polls come and go: the session lives on.
	mt.advance(DefaultLongPollWindow)
	ts.publish(messageFixture(6), uid)
	if m := c.expectMessage(jr); m.ID != 6 {
		t.Fatalf("message %d", m.ID)
	}
	mt.advance(DefaultLongPollWindow*3/2 - time.Millisecond)
	if ts.lpSocket(c) == nil || ts.lpSocket(c).isClosing() {
		t.Fatal("closed before its idle time")
	}
	mt.advance(time.Millisecond)
	eventually(t, "the idle session to end", ts.hubEmpty)
	c.expectGone(closeIdle)
	// Why it ended is kept for a window; then the token is unknown.
	clock.advance(DefaultLongPollWindow + time.Millisecond)
	c.expectGone(wordUnknownSession)
}

// TestLongPollClientGone: a poll whose client goes away ends its session
// (phoenix.js never polls again on a session whose poll failed); a newer
// poll on the same session takes over from the one waiting, which gets 204.
func TestLongPollClientGone(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	_, _, c := ts.lpUser(t, vsn2)
	c.join(topicChat)

	first := c.pollAsync()
	eventually(t, "the poll to wait", func() bool { return ts.polling(c) })
	second := c.pollAsync()
	if r := await(t, first); r.Status != http.StatusNoContent {
		t.Fatalf("the poll taken over: %+v", r)
	}
	ref := c.push(nil, topicPhoenix, eventHeartbeat, map[string]any{}) // POSTed; its reply is for the poll
	if r := await(t, second); r.Status != http.StatusOK || len(r.Messages) != 1 || !strings.Contains(r.Messages[0], `"`+ref+`"`) {
		t.Fatalf("the newer poll: %+v", r)
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.ts.URL+"/socket/longpoll?"+c.lp.sessionQuery().Encode(), nil)
	errc := make(chan error, 1)
	go func() {
		res, err := (&http.Client{Transport: ts.transport}).Do(req)
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	eventually(t, "the poll to wait", func() bool { return ts.polling(c) })
	cancel()
	<-errc
	eventually(t, "the session to end", ts.hubEmpty)
}

// TestLongPollCapWithSockets: LongPoll sessions and WebSockets count
// together against MaxSocketsPerUser; over it a session is refused with
// 500 (phoenix.js retries) "too many sockets", a WebSocket with 429.
func TestLongPollCapWithSockets(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{MaxSocketsPerUser: 2})
	_, tok := b.NewUser(t)
	ws := ts.dial(t, tok, vsn2)
	ws.heartbeat()
	lp := ts.lpDial(t, tok, vsn2, false)
	lp.heartbeat()

	if r := ts.lp(t, http.MethodGet, query(tok, vsn2), nil, ""); r.Status != http.StatusInternalServerError || r.Message != wordTooManySockets {
		t.Fatalf("a third, over LongPoll: %+v", r)
	}
	if _, resp, err := ts.tryDial(query(tok, vsn2), nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third, over WebSocket: %v %v", resp, err)
	}
	ws.conn.Close(websocket.StatusNormalClosure, "")
	eventually(t, "a place to free up", func() bool {
		r := ts.lp(t, http.MethodGet, query(tok, vsn2), nil, "")
		return r.Status == http.StatusGone && r.Token != nil
	})
}

// TestLongPollSlowConsumer: frames wait for the next poll within the
// socket's bound; a session that falls OutboundQueue frames behind is
// closed, and its poll says so.
func TestLongPollSlowConsumer(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{OutboundQueue: 4})
	uid, _, c := ts.lpUser(t, vsn2)
	jr := c.join(topicChat)
	for id := 1; id <= 4; id++ {
		ts.publish(messageFixture(id), uid)
	}
	for id := 1; id <= 4; id++ {
		if m := c.expectMessage(jr); m.ID != id {
			t.Fatalf("message %d, want %d", m.ID, id)
		}
	}
	for id := 5; id <= 9; id++ {
		ts.publish(messageFixture(id), uid)
	}
	c.expectGone(closeSlow)
	eventually(t, "the session to end", ts.hubEmpty)
}

// TestLongPollSessionEnds: a logout ends the token's session as it closes
// its WebSockets: the waiting poll is answered 410 "logged out" at once,
// and the new session phoenix.js then opens with that token is refused
// 403 "token revoked", as its WebSocket reconnect would be. A password
// change ends the user's sessions ("signed out"); an expired token's
// session ends at its next poll.
func TestLongPollSessionEnds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clock := &fakeClock{}
		ts := startServer(t, b, Config{now: clock.now})
		uid, _ := b.NewUser(t)
		tok, jti := b.NewToken(t, uid)
		c := ts.lpDial(t, tok, vsn2, false)
		c.join(topicChat)
		done := c.pollAsync()
		eventually(t, "the poll to wait", func() bool { return ts.polling(c) })
		if b.EndQuietly != nil {
			b.EndQuietly(t, uid, jti) // the store refuses it from now on
		}
		ts.endSessions(uid, jti)
		if r := await(t, done); r.Status != http.StatusGone || r.Message != closeLoggedOut {
			t.Fatalf("the waiting poll: %+v", r)
		}
		eventually(t, "the session to end", ts.hubEmpty)
		if r := ts.lp(t, http.MethodGet, query(tok, vsn2), nil, ""); r.Status != http.StatusForbidden || r.Message != wordTokenRevoked {
			t.Fatalf("a new session with the logged-out token: %+v", r)
		}

		// A password change ends every session of the user.
		fid, _, f := ts.lpUser(t, vsn2)
		f.join(topicChat)
		if b.EndQuietly != nil {
			b.EndQuietly(t, fid, "")
		}
		ts.endSessions(fid, "")
		f.expectGone(closeSignedOut)
		eventually(t, "the signed-out session to end", ts.hubEmpty)

		_, _, e := ts.lpUser(t, vsn2)
		e.join(topicChat)
		clock.advance(2 * time.Hour) // every backend's tokens live an hour
		e.expectGone(closeTokenExpired)
		eventually(t, "the expired session to end", ts.hubEmpty)
	})
}

// TestLongPollBadInput: what a POST carries is checked as a WebSocket's
// frames are, and closes the session for the same faults; each is
// answered in JSON, never with a crash.
func TestLongPollBadInput(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{MaxFrame: 256})
	for _, c := range []struct {
		name, body, contentType string
		status                  int
		word                    string
	}{
		{"not JSON", "hello\n", "application/x-ndjson", 400, closeBinary},
		{"not a frame", `["1","1"]`, "application/x-ndjson", 400, closeInvalidFrame},
		{"no frame", "\n\n", "application/x-ndjson", 400, closeInvalidFrame},
		{"too many frames", strings.Repeat(`[null,"1","phoenix","heartbeat",{}]`+"\n", maxBatch+1), "application/x-ndjson", 400, "too many frames"},
		{"a frame too large", `["1","1","room:chat","phx_join",{"x":"` + strings.Repeat("x", 300) + `"}]`, "application/x-ndjson", 413, closeTooLarge},
		{"a body too large", strings.Repeat("x", int(maxBatchBody(256))+1), "text/plain", 413, closeTooLarge},
	} {
		_, _, cl := ts.lpUser(t, vsn2)
		r := cl.lp.post(c.body, c.contentType)
		if r.Status != c.status || r.Message != c.word {
			t.Errorf("%s: %+v, want %d %q", c.name, r, c.status, c.word)
			continue
		}
		if s := ts.lpSocket(cl); s != nil && !s.isClosing() {
			t.Errorf("%s: the session goes on", c.name)
		}
	}
	eventually(t, "every session to end", ts.hubEmpty)
}

// TestLongPollShutdown: Shutdown answers what a session's frames asked,
// as for a WebSocket: a send being stored gets its ok, in the poll that
// was waiting; the session then ends (410 "server shutting down") and no
// new one opens.
func TestLongPollShutdown(t *testing.T) {
	b := newFakeBackend(t)
	g := &gatedSender{Sender: b.Chat, started: make(chan struct{}, 1), release: make(chan struct{})}
	b.Chat = g
	ts := startServer(t, b, Config{})
	uid, tok, c := ts.lpUser(t, vsn2)
	other, _ := b.NewUser(t)
	conv := b.NewConversation(t, uid, other)
	jr := c.join(topicChat)
	_, _, idle := ts.lpUser(t, vsn2)
	idle.join(topicChat)

	send := fmt.Sprintf(`[%q,"100","room:chat","send_msg",{"user":%d,"conv":%d,"message":"in flight"}]`, jr, other, conv)
	posted := make(chan lpBody, 1)
	go func() {
		// Answered once the frame is handled.
		r, err := ts.lpRequest(http.MethodPost, c.lp.sessionQuery(), http.Header{"Content-Type": {"application/x-ndjson"}}, send)
		if err != nil {
			r.Status, r.Message = -1, err.Error()
		}
		posted <- r
	}()
	<-g.started
	waiting := c.pollAsync()
	idleWaiting := idle.pollAsync()
	eventually(t, "the polls to wait", func() bool { return ts.polling(c) && ts.polling(idle) })

	done := make(chan error, 1)
	go func() { done <- ts.srv.Shutdown(context.Background()) }()
	eventually(t, "shutdown to begin draining", ts.srv.draining.Load)
	close(g.release)
	if r := await(t, posted); r.Status != http.StatusOK {
		t.Fatalf("the POST in flight: %+v", r)
	}
	r := await(t, waiting)
	if r.Status != http.StatusOK || len(r.Messages) != 1 || !strings.Contains(r.Messages[0], `"100","room:chat","phx_reply",{"status":"ok"`) {
		t.Fatalf("the poll waiting at shutdown: %+v", r)
	}
	if r := await(t, idleWaiting); r.Status != http.StatusGone || r.Message != closeShutdown {
		t.Fatalf("a session with nothing queued: %+v", r)
	}
	c.expectGone(closeShutdown)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Shutdown did not return")
	}
	if r := ts.lp(t, http.MethodGet, query(tok, vsn2), nil, ""); r.Status != http.StatusInternalServerError || r.Message != "unavailable" {
		t.Fatalf("a session opened after shutdown: %+v", r)
	}
}

// TestLongPollObserved: a session counts as a socket, under its own
// transport label: opened, frames in and out, its close and its log line.
func TestLongPollObserved(t *testing.T) {
	b := newFakeBackend(t)
	m := metrics.New("test")
	logs := &testlog.Buffer{}
	mt := &manualTimers{}
	ts := startServer(t, b, Config{Metrics: m, Logger: slog.New(slog.NewJSONHandler(logs, nil)), afterFunc: mt.afterFunc})
	m.Sockets(ts.srv.Counts)
	uid, _, c := ts.lpUser(t, vsn2)
	c.join(topicChat)
	c.heartbeat()
	s := metricstest.Get(t, m)
	for _, want := range []struct {
		name   string
		labels []string
		value  float64
	}{
		{"companyapi_sockets_open", nil, 1},
		{"companyapi_sockets_joined", nil, 1},
		{"companyapi_sockets_opened_total", []string{"transport", metrics.TransportLongPoll}, 1},
		{"companyapi_sockets_opened_total", []string{"transport", metrics.TransportWebSocket}, 0},
		{"companyapi_socket_frames_received_total", nil, 2},
		{"companyapi_socket_frames_sent_total", nil, 3}, // join reply, presence_state, heartbeat reply
	} {
		if got := s.Value(t, want.name, want.labels...); got != want.value {
			t.Errorf("%s%v = %v, want %v", want.name, want.labels, got, want.value)
		}
	}
	mt.advance(DefaultLongPollWindow * 3 / 2)
	eventually(t, "the idle session to end", ts.hubEmpty)
	if v := metricstest.Get(t, m).Value(t, "companyapi_socket_closes_total", "reason", metrics.CloseIdleTimeout); v != 1 {
		t.Errorf("idle closes %v, want 1", v)
	}
	eventually(t, "the end to be logged", func() bool { return strings.Contains(logs.String(), `"msg":"socket closed"`) })
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err == nil && rec["msg"] == "socket closed" {
			if rec["transport"] != metrics.TransportLongPoll || rec["user"] != float64(uid) || rec["reason"] != metrics.CloseIdleTimeout {
				t.Errorf("the session's end logged as %v", rec)
			}
		}
	}
}

// TestLongPollCapPerClient: one client address holds at most
// MaxLongPollsPerClient sessions whatever the users (a WebSocket holds a
// connection, which the listener caps per address; a session holds none
// between polls); over it a session is refused 500 (phoenix.js retries)
// "too many connections", and a session that ends frees its place.
func TestLongPollCapPerClient(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{MaxLongPollsPerClient: 2})
	_, tok1 := b.NewUser(t)
	_, tok2 := b.NewUser(t)
	_, tok3 := b.NewUser(t)
	first := ts.lpDial(t, tok1, vsn2, false)
	first.heartbeat()
	ts.lpDial(t, tok2, vsn2, false).heartbeat()

	if r := ts.lp(t, http.MethodGet, query(tok3, vsn2), nil, ""); r.Status != http.StatusInternalServerError || r.Message != wordTooManyConns {
		t.Fatalf("a third session from the address, another user's: %+v", r)
	}
	// A frame that is not one ends the first session, as it would close a
	// WebSocket.
	first.lp.post("not a frame", "application/x-ndjson")
	eventually(t, "a place to free up", func() bool {
		r := ts.lp(t, http.MethodGet, query(tok3, vsn2), nil, "")
		return r.Status == http.StatusGone && r.Token != nil
	})
}
