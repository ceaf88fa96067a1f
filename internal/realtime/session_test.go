package realtime

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/companyapi/companyapi/internal/broker"
	"github.com/companyapi/companyapi/internal/chat"
)

// TestTokenExpiryOnFrame: once its token has expired, a socket's next frame
// (a heartbeat) is not answered; the socket is closed with 1008 "token
// expired". The token no longer opens sockets either.
func TestTokenExpiryOnFrame(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clock := &fakeClock{}
		ts := startServer(t, b, Config{now: clock.now})
		_, tok, c := ts.user(t, vsn2)
		c.join(topicChat)
		c.heartbeat()

		clock.advance(2 * time.Hour) // every backend's tokens live an hour
		c.push(nil, topicPhoenix, eventHeartbeat, map[string]any{})
		c.expectCloseNow(websocket.StatusPolicyViolation, "token expired")
		eventually(t, "the socket to leave the hub", ts.hubEmpty)

		_, resp, err := ts.tryDial(query(tok, vsn2), nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("dial with the expired token: %v %v, want 403", resp, err)
		}
	})
}

// TestTokenExpiryOnPush: a push to a socket whose token has expired closes
// that socket instead; a socket of the same user with a live token gets
// the push.
func TestTokenExpiryOnPush(t *testing.T) {
	b := newFakeBackend(t)
	fa := b.Auth.(*fakeAuth)
	clock := &fakeClock{}
	ts := startServer(t, b, Config{now: clock.now})
	uid, _ := b.NewUser(t)
	short, _ := fa.issue(uid, clock.now().Add(time.Minute))
	long, _ := fa.issue(uid, clock.now().Add(time.Hour))
	cs, cl := ts.dial(t, short, vsn2), ts.dial(t, long, vsn1)
	cs.join(topicChat)
	jl := cl.join(topicChat)

	clock.advance(2 * time.Minute)
	ts.publish(messageFixture(8), uid)
	cs.expectCloseNow(websocket.StatusPolicyViolation, "token expired")
	if m := cl.expectMessage(jl); m.ID != 8 {
		t.Errorf("live socket got message %d, want 8", m.ID)
	}
	cl.heartbeat()
	eventually(t, "the expired socket to leave the hub", func() bool { return len(ts.socketsOf(uid)) == 1 })
}

// TestNoExpiry: a session without ExpiresAt never expires.
func TestNoExpiry(t *testing.T) {
	b := newFakeBackend(t)
	clock := &fakeClock{}
	ts := startServer(t, b, Config{now: clock.now})
	uid, _ := b.NewUser(t)
	tok, _ := b.Auth.(*fakeAuth).issue(uid, time.Time{})
	c := ts.dial(t, tok, vsn2)
	jr := c.join(topicChat)
	clock.advance(100 * 365 * 24 * time.Hour)
	c.heartbeat()
	ts.publish(messageFixture(3), uid)
	c.expectMessage(jr)
}

// TestDisconnectToken: logging out one token closes every socket opened
// with it, joined or not, with 1008 "logged out"; the user's socket on
// another token and other users' sockets stay.
func TestDisconnectToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		uid, _ := b.NewUser(t)
		tok1, jti1 := b.NewToken(t, uid)
		tok2, jti2 := b.NewToken(t, uid)
		if jti1 == "" || jti1 == jti2 {
			t.Fatalf("token ids %q and %q", jti1, jti2)
		}
		first := ts.dial(t, tok1, vsn2)
		first.join(topicChat)
		idle := ts.dial(t, tok1, vsn1) // joined nothing
		idle.heartbeat()
		second := ts.dial(t, tok2, vsn2)
		j2 := second.join(topicChat)
		otherID, _, other := ts.user(t, vsn2)
		jo := other.join(topicChat)

		ts.endSessions(uid, jti1)
		first.expectCloseNow(websocket.StatusPolicyViolation, "logged out")
		idle.expectCloseNow(websocket.StatusPolicyViolation, "logged out")

		second.heartbeat()
		other.heartbeat()
		ts.publish(messageFixture(4), uid, otherID)
		second.expectMessage(j2)
		other.expectMessage(jo)
		eventually(t, "closed sockets to leave the hub", func() bool {
			_, sockets := ts.srv.hub.counts()
			return sockets == 2
		})

		// Another user's id with the same token id closes nothing.
		ts.endSessions(otherID, jti2)
		second.heartbeat()
		other.heartbeat()
	})
}

// TestDisconnectTokenAcrossNodes: ended sessions travel between nodes, so
// a logout handled by one node closes the token's sockets on another.
func TestDisconnectTokenAcrossNodes(t *testing.T) {
	b := newFakeBackend(t)
	brk := broker.NewLocal()
	startServer(t, b, Config{Events: nodeBus(t, brk)})
	n2 := startServer(t, b, Config{Events: nodeBus(t, brk)})
	uid, _ := b.NewUser(t)
	tok, jti := b.NewToken(t, uid)
	c := n2.dial(t, tok, vsn2)
	c.join(topicChat)
	// The domain runs on the first node: it announces there.
	b.announce(chat.SessionsEnded{UserID: uid, TokenID: jti})
	c.expectCloseNow(websocket.StatusPolicyViolation, "logged out")
}

// noUserAuth accepts every token but names no user: a broken
// Authenticator, which must not open a socket for user 0.
type noUserAuth struct{}

func (noUserAuth) Authenticate(context.Context, string) (Session, error) {
	return Session{TokenID: "x"}, nil
}

func TestSessionWithoutUser(t *testing.T) {
	b := newFakeBackend(t)
	b.Auth = noUserAuth{}
	ts := startServer(t, b, Config{})
	_, resp, err := ts.tryDial(query("anything", vsn2), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("dial: %v %v, want 403", resp, err)
	}
}

// TestSendMsgIDs: user and conv must be positive integers; 0 in particular
// must not reach the chat service, where it would skip the recipient check.
func TestSendMsgIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		a, _, ca := ts.user(t, vsn2)
		bID, _ := b.NewUser(t)
		conv := b.NewConversation(t, a, bID)
		jr := ca.join(topicChat)
		tests := []struct {
			name    string
			payload map[string]any
			want    map[string][]string
		}{
			{"nok, user 0", map[string]any{"user": 0, "conv": conv, "message": "hi"}, map[string][]string{"user": {"is invalid"}}},
			{"nok, negative user", map[string]any{"user": -bID, "conv": conv, "message": "hi"}, map[string][]string{"user": {"is invalid"}}},
			{"nok, user as a string", map[string]any{"user": "2", "conv": conv, "message": "hi"}, map[string][]string{"user": {"is invalid"}}},
			{"nok, user missing", map[string]any{"conv": conv, "message": "hi"}, map[string][]string{"user": {"can't be blank"}}},
			{"nok, conv 0", map[string]any{"user": bID, "conv": 0, "message": "hi"}, map[string][]string{"conv": {"is invalid"}}},
			{"nok, negative conv", map[string]any{"user": bID, "conv": -conv, "message": "hi"}, map[string][]string{"conv": {"is invalid"}}},
			{"nok, conv missing", map[string]any{"user": bID, "message": "hi"}, map[string][]string{"conv": {"can't be blank"}}},
			{"nok, both 0", map[string]any{"user": 0, "conv": 0, "message": "hi"}, map[string][]string{"user": {"is invalid"}, "conv": {"is invalid"}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ca.t = t
				ref := ca.push(jr, topicChat, eventSendMsg, tt.payload)
				e := errorResponseOf(t, ca.expectReply(jr, ref, topicChat, "error"))
				if e.Reason != "invalid" || !equalFields(e.Errors, tt.want) {
					t.Errorf("got %+v, want invalid %v", e, tt.want)
				}
			})
		}
		// The valid payload still goes through.
		ca.t = t
		ref := ca.sendMsg(jr, bID, conv, "hi")
		if m := decodeMessage(t, ca.expectReply(jr, ref, topicChat, "ok")); m.ConversationID != conv || m.SenderID != a {
			t.Errorf("sent %+v", m)
		}
	})
}

// TestConnectDuringLogout: a token verified just before its logout was
// committed must not keep a socket. Here the fake authenticator never
// learns of the logout, as one that verified the token a moment before the
// revocation: the server refuses the token itself for a minute, and that
// memory is then dropped.
func TestConnectDuringLogout(t *testing.T) {
	b := newFakeBackend(t)
	clock := &fakeClock{}
	ts := startServer(t, b, Config{now: clock.now})
	uid, _ := b.NewUser(t)
	tok, jti := b.NewToken(t, uid)
	other, _ := b.NewToken(t, uid)

	ts.endSessions(uid, jti)
	_, resp, err := ts.tryDial(query(tok, vsn2), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("dial with the logged-out token: %v %v, want 403", resp, err)
	}
	ts.dial(t, other, vsn2).heartbeat()

	clock.advance(logoutMemory + time.Second)
	ts.endSessions(uid, "another") // prunes the old entry
	ts.dial(t, tok, vsn2).heartbeat()
	ts.srv.logouts.mu.Lock()
	n := len(ts.srv.logouts.m)
	ts.srv.logouts.mu.Unlock()
	if n != 1 {
		t.Errorf("%d logouts remembered, want 1", n)
	}
}

// TestDisconnectUser: every socket of the user closes, whatever its token;
// other users' sockets stay.
func TestDisconnectUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ts := startServer(t, b, Config{})
		uid, _ := b.NewUser(t)
		tok1, _ := b.NewToken(t, uid)
		tok2, _ := b.NewToken(t, uid)
		first := ts.dial(t, tok1, vsn2)
		first.join(topicChat)
		second := ts.dial(t, tok2, vsn1)
		_, _, other := ts.user(t, vsn2)
		other.join(topicChat)

		ts.endSessions(uid, "")
		first.expectCloseNow(websocket.StatusPolicyViolation, "signed out")
		second.expectCloseNow(websocket.StatusPolicyViolation, "signed out")
		other.heartbeat()
	})
}

// TestConnectDuringPasswordChange: a token of a generation that a password
// change ended, verified just before the change committed, must not keep a
// socket that registers after the change's sockets were closed. The fake
// authenticator never learns of the change, as one that verified the token
// a moment before: the server refuses that generation itself for a minute.
// A token of the new generation connects meanwhile.
func TestConnectDuringPasswordChange(t *testing.T) {
	b := newFakeBackend(t)
	fa := b.Auth.(*fakeAuth)
	clock := &fakeClock{}
	ts := startServer(t, b, Config{now: clock.now})
	uid, old := b.NewUser(t)
	fresh := fa.issueSession(Session{UserID: uid, TokenID: "jti-fresh", Generation: 1})
	legacy := fa.issueSession(Session{UserID: uid, TokenID: "jti-legacy", Generation: chat.LegacyGeneration})

	ts.srv.Handle([]chat.Event{chat.SessionsEnded{UserID: uid, Generation: 1}})
	for _, tok := range []string{old, legacy} {
		_, resp, err := ts.tryDial(query(tok, vsn2), nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("dial with a token of an ended generation: %v %v, want 403", resp, err)
		}
	}
	ts.dial(t, fresh, vsn2).heartbeat()

	// An older node's announcement carries no generation: it closes the
	// sockets there are, and refuses nothing later.
	ts.srv.Handle([]chat.Event{chat.SessionsEnded{UserID: uid}})
	clock.advance(logoutMemory + time.Second)
	ts.dial(t, old, vsn2).heartbeat()
}

// TestSessionsCheckedAfterAResync: a logout or a password change whose
// announcement was lost (a broker gap) still ends its sockets: a Resync
// checks every socket's session against the store.
func TestSessionsCheckedAfterAResync(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		if b.EndQuietly == nil {
			t.Skip("the fake backend keeps no sessions")
		}
		ts := startServer(t, b, Config{})
		ann, annTok := b.NewUser(t)
		bob, bobTok := b.NewUser(t)
		_, cidTok := b.NewUser(t)
		out, outID := b.NewToken(t, ann)
		a, aOut, bb, c := ts.dial(t, annTok, vsn2), ts.dial(t, out, vsn2), ts.dial(t, bobTok, vsn2), ts.dial(t, cidTok, vsn2)
		for _, cl := range []*client{a, aOut, bb, c} {
			cl.join(topicChat)
		}
		b.EndQuietly(t, ann, outID)
		b.EndQuietly(t, bob, "")
		ts.srv.Resync()
		aOut.expectClosedWith(websocket.StatusPolicyViolation, closeLoggedOut)
		bb.expectClosedWith(websocket.StatusPolicyViolation, closeSignedOut)
		// The others only rejoin.
		for _, cl := range []*client{a, c} {
			f := cl.read()
			if f.Event != eventError {
				t.Fatalf("got %v, want phx_error", f)
			}
			cl.join(topicChat)
		}
	})
}
