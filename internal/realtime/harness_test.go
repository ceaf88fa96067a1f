package realtime

// The test harness: backends, a server on httptest, and a Phoenix client
// built on coder/websocket's Dial. Every helper a scenario needs is in this file.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/broker"
	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/events"
	"go.uber.org/goleak"
)

// The store backends share one admin pool to the PostgreSQL server for the
// whole test binary (internal/storetest); its opener goroutine is expected.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// waitTimeout bounds every wait in these tests. It is generous on purpose:
// tests assert what happens, never how fast.
const waitTimeout = 10 * time.Second

// backend is what the channel scenarios need from the domain. The fake one
// is below; to run the same scenarios against the real chat service, append
// a store-backed entry to backends from an init func in another _test file.
type backend struct {
	Auth Authenticator
	Chat Sender
	// Bind makes a the chat service's announcer, unless one was bound
	// before: with several nodes, the domain runs on the first.
	Bind func(a chat.Announcer)
	// announce announces events as the domain would after a commit,
	// through the bus Bind was given.
	announce func(evs ...chat.Event)
	// NewUser creates a user and a token that Auth accepts for it.
	NewUser func(t testing.TB) (id int, token string)
	// NewToken issues another token for a user, valid for an hour, and
	// returns it with its Session.TokenID.
	NewToken func(t testing.TB, userID int) (token, tokenID string)
	// EndQuietly, on the store backends, logs out a token (tokenID) or,
	// with "", ends every token of the user (a password change) in the
	// store without announcing it: the announcement lost in a broker gap.
	EndQuietly func(t testing.TB, userID int, tokenID string)
	// NewConversation opens a conversation between users a and b.
	NewConversation func(t testing.TB, a, b int) (id int)
	// Stored reads a message back from the store; nil for the fake.
	Stored func(t testing.TB, id int) (content string, ok bool)
}

var backends = []struct {
	name string
	new  func(t testing.TB) backend
}{
	{"fake", newFakeBackend},
}

// forEachBackend runs scenario once per backend, as a subtest.
func forEachBackend(t *testing.T, scenario func(t *testing.T, b backend)) {
	t.Helper()
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) { scenario(t, bk.new(t)) })
	}
}

// fakeAuth accepts the tokens it issued.
type fakeAuth struct {
	mu     sync.Mutex
	tokens map[string]Session
	n      int
}

func (a *fakeAuth) Authenticate(_ context.Context, token string) (Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sess, ok := a.tokens[token]
	if !ok {
		return Session{}, &chat.Error{Kind: chat.KindUnauthenticated, Message: "invalid token"}
	}
	return sess, nil
}

// issue makes a token for userID that expires at exp (zero: never) and
// returns it with its token id.
func (a *fakeAuth) issue(userID int, exp time.Time) (token, tokenID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	token, tokenID = "token-"+strconv.Itoa(a.n), "jti-"+strconv.Itoa(a.n)
	a.tokens[token] = Session{UserID: userID, TokenID: tokenID, ExpiresAt: exp}
	return token, tokenID
}

// issueSession makes a token for sess.
func (a *fakeAuth) issueSession(sess Session) (token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	token = "token-" + strconv.Itoa(a.n)
	a.tokens[token] = sess
	return token
}

// fakeClock is Config.now for tests that move time: real time plus an
// offset that only grows.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// fakeChat keeps conversations and messages in memory and announces after
// "committing", as the chat service does.
type fakeChat struct {
	mu     sync.Mutex
	pub    relay
	convs  map[int][2]int
	msgs   map[int]chat.Message
	marks  map[[2]int]int // (conversation, user) → read mark
	nextID int
}

// relay is an Announcer that forwards to the first one bound.
type relay struct {
	mu sync.Mutex
	to chat.Announcer
}

func (r *relay) bind(a chat.Announcer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.to == nil {
		r.to = a
	}
}

func (r *relay) Announce(evs ...chat.Event) {
	r.mu.Lock()
	to := r.to
	r.mu.Unlock()
	if to != nil {
		to.Announce(evs...)
	}
}

// Recover is chat.Service.Recover's rule on the messages in memory, without
// its bounds.
func (c *fakeChat) Recover(_ context.Context, userID int, q chat.RecoverQuery) (chat.Recovered, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	since := q.Since
	for _, cur := range q.Cursors {
		since = max(since, cur)
	}
	var out chat.Recovered
	for _, id := range slices.Sorted(maps.Keys(c.msgs)) {
		m := c.msgs[id]
		conv := c.convs[m.ConversationID]
		if conv[0] != userID && conv[1] != userID {
			continue
		}
		after, known := q.Cursors[m.ConversationID]
		if !known {
			after = since
		}
		if m.ID > after {
			out.Messages = append(out.Messages, m)
		}
	}
	slices.SortStableFunc(out.Messages, func(a, b chat.Message) int { return a.ConversationID - b.ConversationID })
	return out, nil
}

// MarkRead keeps marks in memory, forwards only, and announces them.
func (c *fakeChat) MarkRead(_ context.Context, userID, convID, messageID int, origin string) error {
	c.mu.Lock()
	conv, ok := c.convs[convID]
	if !ok || (conv[0] != userID && conv[1] != userID) {
		c.mu.Unlock()
		return chat.ErrNotFound
	}
	if c.marks == nil {
		c.marks = map[[2]int]int{}
	}
	k := [2]int{convID, userID}
	if c.marks[k] >= messageID {
		c.mu.Unlock()
		return nil
	}
	c.marks[k] = messageID
	other := conv[0]
	if other == userID {
		other = conv[1]
	}
	c.mu.Unlock()
	c.pub.Announce(chat.ReadMarked{ConversationID: convID, UserID: userID, MessageID: messageID, To: []int{other, userID}, Origin: origin})
	return nil
}

func (c *fakeChat) Typing(_ context.Context, userID, convID int) error {
	c.mu.Lock()
	conv, ok := c.convs[convID]
	c.mu.Unlock()
	if !ok || (conv[0] != userID && conv[1] != userID) {
		return chat.ErrNotFound
	}
	other := conv[0]
	if other == userID {
		other = conv[1]
	}
	c.pub.Announce(chat.Typing{ConversationID: convID, UserID: userID, To: []int{other}})
	return nil
}

func (c *fakeChat) Contacts(_ context.Context, userID int) ([]int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for _, conv := range c.convs {
		switch userID {
		case conv[0]:
			out = append(out, conv[1])
		case conv[1]:
			out = append(out, conv[0])
		}
	}
	return out, nil
}

func (c *fakeChat) MessagesByID(_ context.Context, ids []int) ([]chat.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []chat.Message
	for _, id := range ids {
		if m, ok := c.msgs[id]; ok {
			out = append(out, m)
		}
	}
	return out, nil
}

func (c *fakeChat) SendMessage(ctx context.Context, in chat.SendInput) (chat.Message, error) {
	c.mu.Lock()
	conv, ok := c.convs[in.ConversationID]
	if !ok || (conv[0] != in.SenderID && conv[1] != in.SenderID) {
		c.mu.Unlock()
		return chat.Message{}, chat.ErrNotFound
	}
	other := conv[0]
	if other == in.SenderID {
		other = conv[1]
	}
	fe := chat.FieldErrors{}
	if in.RecipientID != 0 && in.RecipientID != other {
		fe.Add("user", "is not a participant")
	}
	if strings.TrimSpace(in.Content) == "" {
		fe.Add("content", "can't be blank")
	}
	if err := fe.Err(); err != nil {
		c.mu.Unlock()
		return chat.Message{}, err
	}
	c.nextID++
	m := chat.Message{
		ID:             c.nextID,
		Content:        in.Content,
		Date:           time.Now().UTC().Truncate(time.Second),
		SenderID:       in.SenderID,
		ConversationID: in.ConversationID,
	}
	c.msgs[m.ID] = m
	c.mu.Unlock()
	c.pub.Announce(chat.MessageStored{Message: m, To: []int{other, in.SenderID}, Origin: in.Origin})
	return m, nil
}

func newFakeBackend(testing.TB) backend {
	auth := &fakeAuth{tokens: map[string]Session{}}
	fc := &fakeChat{convs: map[int][2]int{}, msgs: map[int]chat.Message{}}
	var users, convs int
	var mu sync.Mutex
	return backend{
		Auth:     auth,
		Chat:     fc,
		Bind:     fc.pub.bind,
		announce: fc.pub.Announce,
		NewUser: func(testing.TB) (int, string) {
			mu.Lock()
			users++
			id := users
			mu.Unlock()
			token, _ := auth.issue(id, time.Now().Add(time.Hour))
			return id, token
		},
		NewToken: func(_ testing.TB, userID int) (string, string) {
			return auth.issue(userID, time.Now().Add(time.Hour))
		},
		NewConversation: func(_ testing.TB, a, b int) int {
			mu.Lock()
			convs++
			id := 100 + convs
			mu.Unlock()
			fc.mu.Lock()
			fc.convs[id] = [2]int{a, b}
			fc.mu.Unlock()
			fc.pub.Announce(chat.ConversationCreated{Conversation: chat.Conversation{ID: id, SenderID: a, RecipientID: b}, To: []int{b, a}})
			return id
		},
	}
}

// testServer is a Server mounted at /socket/websocket on httptest.
type testServer struct {
	srv       *Server
	ts        *httptest.Server
	b         backend
	transport *http.Transport
}

// startServer starts a server for b with cfg (Auth and Chat are taken from
// b) and shuts it down when the test ends. Its events come from a bus of
// its own, alone unless cfg.Events is a bus on a broker (see nodeBus);
// the backend announces through the first server's bus.
func startServer(t testing.TB, b backend, cfg Config) *testServer {
	t.Helper()
	cfg.Auth, cfg.Chat = b.Auth, b.Chat
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Events == nil {
		cfg.Events = nodeBus(t, nil)
	}
	bus := cfg.Events.(*events.Bus)
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	b.Bind(bus)
	mux := http.NewServeMux()
	mux.Handle("/socket/websocket", srv)
	mux.Handle("/socket/longpoll", srv.LongPoll())
	ts := &testServer{srv: srv, ts: httptest.NewServer(mux), b: b, transport: &http.Transport{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.ts.Close()
		ts.transport.CloseIdleConnections()
	})
	return ts
}

var nodeSeq atomic.Int64

// nodeBus is a node's event bus on brk (nil: the node is alone).
func nodeBus(t testing.TB, brk broker.Broker) *events.Bus {
	bus := events.New(events.Config{Node: fmt.Sprintf("node-%d", nodeSeq.Add(1)), Broker: brk, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	return bus
}

// publish pushes m to users' sockets on this node, as a commit would.
func (ts *testServer) publish(m chat.Message, users ...int) {
	ts.srv.Handle([]chat.Event{chat.MessageStored{Message: m, To: users}})
}

// endSessions announces on this node that sessions ended (a logout with
// tokenID, or with "" a password change, which moves the user's token
// generation from the tests' 0 to 1).
func (ts *testServer) endSessions(userID int, tokenID string) {
	e := chat.SessionsEnded{UserID: userID, TokenID: tokenID}
	if tokenID == "" {
		e.Generation = 1
	}
	ts.srv.Handle([]chat.Event{e})
}

// socketURL is the endpoint with query parameters.
func (ts *testServer) socketURL(q url.Values) string {
	return "ws" + strings.TrimPrefix(ts.ts.URL, "http") + "/socket/websocket?" + q.Encode()
}

func query(token string, v vsn) url.Values {
	q := url.Values{}
	if token != "" {
		q.Set("token", token)
	}
	if v == vsn2 {
		q.Set("vsn", "2.0.0")
	} else {
		q.Set("vsn", "1.0.0")
	}
	return q
}

// tryDial opens a socket and returns the handshake response too.
func (ts *testServer) tryDial(q url.Values, header http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, ts.socketURL(q), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: ts.transport},
		HTTPHeader: header,
	})
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return conn, resp, err
}

// dial connects with token and serializer v.
func (ts *testServer) dial(t testing.TB, token string, v vsn) *client {
	t.Helper()
	conn, _, err := ts.tryDial(query(token, v), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	conn.SetReadLimit(1 << 20)
	c := &client{t: t, conn: conn, v: v}
	t.Cleanup(func() { conn.CloseNow() })
	return c
}

// user creates a user on the backend and connects it.
func (ts *testServer) user(t testing.TB, v vsn) (id int, token string, c *client) {
	t.Helper()
	id, token = ts.b.NewUser(t)
	return id, token, ts.dial(t, token, v)
}

// client is a Phoenix client speaking serializer v.
type client struct {
	t    testing.TB
	conn *websocket.Conn
	// lp, instead of conn, is a LongPoll session (longpoll_test.go): the
	// same scenarios run over either transport.
	lp  *lpConn
	v   vsn
	ref int
	// presence: read presence_state and presence_diff pushes too.
	presence bool
}

// tframe is a decoded server frame; refs are nil, a string, or a number.
type tframe struct {
	JoinRef any
	Ref     any
	Topic   string
	Event   string
	Payload json.RawMessage
}

func (f tframe) String() string {
	return fmt.Sprintf("[%v %v %q %q %s]", f.JoinRef, f.Ref, f.Topic, f.Event, f.Payload)
}

// reply decodes a phx_reply payload.
func (f tframe) reply() (status string, response json.RawMessage) {
	var p struct {
		Status   string          `json:"status"`
		Response json.RawMessage `json:"response"`
	}
	_ = json.Unmarshal(f.Payload, &p)
	return p.Status, p.Response
}

func (c *client) nextRef() string {
	c.ref++
	return strconv.Itoa(c.ref)
}

// sendFrame writes one frame in the client's serializer.
func (c *client) sendFrame(joinRef, ref any, topic, event string, payload any) {
	c.t.Helper()
	var msg any = []any{joinRef, ref, topic, event, payload}
	if c.v == vsn1 {
		msg = map[string]any{"topic": topic, "event": event, "payload": payload, "ref": ref, "join_ref": joinRef}
	}
	b, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatalf("encode: %v", err)
	}
	c.writeRaw(websocket.MessageText, b)
}

func (c *client) writeRaw(typ websocket.MessageType, b []byte) {
	c.t.Helper()
	if c.lp != nil {
		c.lp.send(b)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, typ, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// push sends event on topic (joined as joinRef) and returns its ref.
func (c *client) push(joinRef any, topic, event string, payload any) string {
	c.t.Helper()
	ref := c.nextRef()
	c.sendFrame(joinRef, ref, topic, event, payload)
	return ref
}

// readRaw reads the next message. Presence pushes are skipped unless the
// client watches presence: most scenarios are about something else.
func (c *client) readRaw() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		var typ websocket.MessageType
		var b []byte
		var err error
		if c.lp != nil {
			typ = websocket.MessageText
			b, err = c.lp.next()
		} else {
			typ, b, err = c.conn.Read(ctx)
		}
		if err == nil && typ != websocket.MessageText {
			err = fmt.Errorf("got a %v message, want text", typ)
		}
		if err == nil && !c.presence {
			if f, perr := parseServerFrame(c.v, b); perr == nil && (f.Event == eventPresenceState || f.Event == eventPresenceDiff) {
				continue
			}
		}
		return b, err
	}
}

// read reads and decodes the next frame, checking the serializer's shape.
func (c *client) read() tframe {
	c.t.Helper()
	b, err := c.readRaw()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	f, err := parseServerFrame(c.v, b)
	if err != nil {
		c.t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

// parseServerFrame decodes what the server wrote, independently of the
// server's own codec.
func parseServerFrame(v vsn, b []byte) (tframe, error) {
	var f tframe
	if v == vsn2 {
		var a []json.RawMessage
		if err := json.Unmarshal(b, &a); err != nil || len(a) != 5 {
			return f, fmt.Errorf("not a 5-element array (%v)", err)
		}
		if json.Unmarshal(a[0], &f.JoinRef) != nil || json.Unmarshal(a[1], &f.Ref) != nil ||
			json.Unmarshal(a[2], &f.Topic) != nil || json.Unmarshal(a[3], &f.Event) != nil {
			return f, errors.New("bad element types")
		}
		f.Payload = a[4]
		return f, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return f, err
	}
	keys := slices.Sorted(maps.Keys(m))
	if want := []string{"event", "join_ref", "payload", "ref", "topic"}; !slices.Equal(keys, want) {
		return f, fmt.Errorf("keys %v, want %v", keys, want)
	}
	if json.Unmarshal(m["join_ref"], &f.JoinRef) != nil || json.Unmarshal(m["ref"], &f.Ref) != nil ||
		json.Unmarshal(m["topic"], &f.Topic) != nil || json.Unmarshal(m["event"], &f.Event) != nil {
		return f, errors.New("bad field types")
	}
	f.Payload = m["payload"]
	return f, nil
}

// expect reads the next frame and checks its refs, topic and event; a nil
// want ref means JSON null.
func (c *client) expect(joinRef, ref any, topic, event string) tframe {
	c.t.Helper()
	f := c.read()
	if !sameRef(f.JoinRef, joinRef) || !sameRef(f.Ref, ref) || f.Topic != topic || f.Event != event {
		c.t.Fatalf("got %v, want [%v %v %q %q]", f, joinRef, ref, topic, event)
	}
	return f
}

// expectReply reads a phx_reply and checks its status; it returns the
// response.
func (c *client) expectReply(joinRef, ref any, topic, status string) json.RawMessage {
	c.t.Helper()
	f := c.expect(joinRef, ref, topic, eventReply)
	got, resp := f.reply()
	if got != status {
		c.t.Fatalf("reply %v: status %q, want %q", f, got, status)
	}
	return resp
}

func sameRef(got, want any) bool {
	if want == nil {
		return got == nil
	}
	if n, ok := want.(int); ok {
		g, ok := got.(float64)
		return ok && g == float64(n)
	}
	return got == want
}

// join joins topic and returns the join_ref, failing unless the reply is ok.
func (c *client) join(topic string) string {
	c.t.Helper()
	ref := c.nextRef()
	c.sendFrame(ref, ref, topic, eventJoin, map[string]any{})
	c.expectReply(ref, ref, topic, "ok")
	return ref
}

// heartbeat round-trips a heartbeat. Frames are answered in order, so it
// also proves that nothing was queued before it.
func (c *client) heartbeat() {
	c.t.Helper()
	ref := c.push(nil, topicPhoenix, eventHeartbeat, map[string]any{})
	c.expectReply(nil, ref, topicPhoenix, "ok")
}

// sendMsg pushes send_msg and returns its ref.
func (c *client) sendMsg(joinRef string, to, conv int, text string) string {
	c.t.Helper()
	return c.push(joinRef, topicChat, eventSendMsg, map[string]any{"user": to, "conv": conv, "message": text})
}

// expectMessage reads a receive_msg push on room:chat and returns the
// message.
func (c *client) expectMessage(joinRef string) chat.Message {
	c.t.Helper()
	f := c.expect(joinRef, nil, topicChat, eventReceiveMsg)
	return decodeMessage(c.t, f.Payload)
}

func decodeMessage(t testing.TB, b json.RawMessage) chat.Message {
	t.Helper()
	var p struct {
		Message *chat.Message `json:"message"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Message == nil {
		t.Fatalf("payload %s: no message (%v)", b, err)
	}
	return *p.Message
}

// expectClose reads, discarding data, until the connection ends, and checks
// the close code.
func (c *client) expectClose(codes ...websocket.StatusCode) {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if _, err := c.readRaw(); err != nil {
			if got := websocket.CloseStatus(err); !slices.Contains(codes, got) {
				c.t.Fatalf("closed with %v (%v), want one of %v", got, err, codes)
			}
			return
		}
	}
	c.t.Fatalf("socket still open after %v", waitTimeout)
}

// expectClosedWith reads, discarding data, until the connection ends, and
// checks the close code and reason.
func (c *client) expectClosedWith(code websocket.StatusCode, reason string) {
	c.t.Helper()
	for {
		if _, err := c.readRaw(); err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
				c.t.Fatalf("closed with %v, want %v %q", err, code, reason)
			}
			return
		}
	}
}

// expectCloseNow checks that the next thing the socket reads is the close
// frame, with code and reason: no reply or push came before it.
func (c *client) expectCloseNow(code websocket.StatusCode, reason string) {
	c.t.Helper()
	b, err := c.readRaw()
	if err == nil {
		c.t.Fatalf("read %s, want close %v %q", b, code, reason)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
		c.t.Fatalf("closed with %v, want %v %q", err, code, reason)
	}
}

// errorResponseOf decodes a reply's error response.
func errorResponseOf(t testing.TB, resp json.RawMessage) errorReply {
	t.Helper()
	var e errorReply
	if err := json.Unmarshal(resp, &e); err != nil {
		t.Fatalf("error response %s: %v", resp, err)
	}
	return e
}

// eventually polls cond until it holds or waitTimeout passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hubEmpty reports whether the server holds no user and no socket.
func (ts *testServer) hubEmpty() bool {
	users, sockets := ts.srv.hub.counts()
	return users == 0 && sockets == 0
}

// socketsOf returns the server's sockets of a user that joined room:chat.
func (ts *testServer) socketsOf(userID int) []*socket {
	var out []*socket
	for _, ch := range ts.srv.hub.appendChannels(nil, userID, topicChat) {
		out = append(out, ch.sock)
	}
	return out
}

var vsns = []struct {
	name string
	v    vsn
}{{"V1", vsn1}, {"V2", vsn2}}

// messageFixture is a message as the chat service would return it.
func messageFixture(id int) chat.Message {
	return chat.Message{ID: id, Content: "hello", Date: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), SenderID: 1, ConversationID: 3}
}

// rawJoin opens a socket over plain TCP and joins room:chat with a
// hand-written handshake and frame: a client that costs almost nothing in
// this process, for measuring the server's memory per socket. With
// pipelined, the join goes out with the handshake, before the 101.
func rawJoin(addr, token string, pipelined bool) (net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	join := []byte(`["1","1","room:chat","phx_join",{}]`)
	// Client frames must be masked; a zero key leaves the payload as is.
	frame := append([]byte{0x81, 0x80 | byte(len(join)), 0, 0, 0, 0}, join...)
	handshake := fmt.Appendf(nil, "GET /socket/websocket?vsn=2.0.0&token=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", url.QueryEscape(token), addr)
	if pipelined {
		handshake = append(handshake, frame...)
	}
	if _, err := conn.Write(handshake); err != nil {
		conn.Close()
		return nil, err
	}
	// The server sends nothing after its 101 until the join reply, so
	// reading up to the blank line consumes exactly the response.
	var resp []byte
	for !bytes.HasSuffix(resp, []byte("\r\n\r\n")) {
		var b [1]byte
		if _, err := conn.Read(b[:]); err != nil {
			conn.Close()
			return nil, err
		}
		resp = append(resp, b[0])
	}
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) {
		conn.Close()
		return nil, fmt.Errorf("handshake: %s", resp)
	}
	if !pipelined {
		if _, err := conn.Write(frame); err != nil {
			conn.Close()
			return nil, err
		}
	}
	// The join reply, then presence_state.
	for range 2 {
		if _, err := readServerFrame(conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

// readServerFrame reads one unmasked server text frame of up to 64 KiB.
func readServerFrame(conn net.Conn) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil || hdr[0] != 0x81 || hdr[1] > 126 {
		return nil, fmt.Errorf("frame header %x: %v", hdr, err)
	}
	n := int(hdr[1])
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(conn, ext[:]); err != nil {
			return nil, err
		}
		n = int(ext[0])<<8 | int(ext[1])
	}
	b := make([]byte, n)
	_, err := io.ReadFull(conn, b)
	return b, err
}

func anyClosing(ss []*socket) bool {
	for _, s := range ss {
		if s.isClosing() {
			return true
		}
	}
	return false
}

// equalFields compares two {"errors": {field: [msg]}} maps.
func equalFields(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// sameMessage compares messages as clients see them.
func sameMessage(a, b chat.Message) bool {
	return a.ID == b.ID && a.Content == b.Content && a.SenderID == b.SenderID &&
		a.ConversationID == b.ConversationID && a.Date.Equal(b.Date)
}

// memStats collects garbage and reads the memory statistics.
func memStats() runtime.MemStats {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms
}
