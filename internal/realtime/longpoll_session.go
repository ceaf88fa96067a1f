package realtime

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// longPoll is a socket served by Phoenix's LongPoll transport: the
// socket's channels, hub entry, outbound queue and rules are those of a
// WebSocket; only the way frames come and go differs. POSTs hand frames
// to the socket, in order (publish); a GET takes what the queue holds, or
// waits for it (poll). Nothing runs between requests but two timers and
// one parked goroutine (serve), which ends the session.
type longPoll struct {
	sock   *socket
	token  string // the session's name, 144 random bits (newSessionToken)
	client string // the address it is counted against (clientOf)

	// in orders the POSTs' frames, as a WebSocket's one reading goroutine
	// does; serve takes it too, so that no frame is being handled while
	// the socket's channels go.
	in sync.Mutex
	// posting is set while a POST is read and handled: phoenix.js sends
	// one at a time, and a session holds at most one body in memory.
	posting atomic.Bool

	// The rest is guarded by sock.mu.
	//
	// waiter wakes the poll that waits, nil when none does.
	waiter chan struct{}
	// idle closes the session when no poll has waited on it for 1.5
	// windows (Phoenix's factor): the client is gone. idleGen tells a
	// timer that fired late from the current one.
	idle    stopper
	idleGen uint64
	// over is closed when the session has nothing more for any poll: it
	// is closing and its queue is dropped, or flushed (Shutdown).
	over  chan struct{}
	ended bool
	// flushing: Shutdown's flush gave the client flushGrace to poll.
	flushing bool
}

// pollAnswer is what a poll answers: 200 with frames, 204 with none, or
// 410 with the reason the session ended.
type pollAnswer struct {
	status int
	frames []outFrame
	reason string
}

// newLongPoll makes s a LongPoll session with a fresh token.
func newLongPoll(s *socket, client string) *longPoll {
	lp := &longPoll{sock: s, token: newSessionToken(), client: client, over: make(chan struct{})}
	s.lp = lp
	s.mu.Lock()
	lp.armIdleLocked()
	s.mu.Unlock()
	return lp
}

// sessionTokenPrefix marks a session token, so that it is told apart from
// a JWT in the same ?token= parameter (see sessionToken).
const sessionTokenPrefix = "lp."

// newSessionToken names a session: 144 random bits that only this node's
// registry knows, so a token can be neither guessed nor forged, and it
// names one session of one user.
func newSessionToken() string {
	var b [18]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return sessionTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func isSessionToken(s string) bool {
	return len(s) == len(sessionTokenPrefix)+24 && strings.HasPrefix(s, sessionTokenPrefix)
}

// serve waits for the session's end and then releases what it holds, as
// a WebSocket's serve does when its connection ends.
func (lp *longPoll) serve() {
	<-lp.over
	s := lp.sock
	s.mu.Lock()
	lp.stopIdleLocked()
	s.mu.Unlock()
	lp.in.Lock()
	defer lp.in.Unlock()
	s.finish()
}

// wake signals a poll's channel without waiting: one signal pending is
// as good as many.
func wake(w chan struct{}) {
	select {
	case w <- struct{}{}:
	default:
	}
}

// notifyLocked tells the waiting poll that the queue or the session
// changed, and serve when the session is over. Every path that queues a
// frame or closes the socket comes through here (startWriterLocked).
func (lp *longPoll) notifyLocked() {
	if lp.waiter != nil {
		wake(lp.waiter)
	}
	s := lp.sock
	switch {
	case lp.ended || !s.closing:
	case !s.flushing || s.q == nil || s.q.len() == 0:
		lp.ended = true
		close(lp.over)
	case lp.waiter == nil && !lp.flushing:
		// Shutdown's flush waits for the next poll to take the queue, but
		// briefly: phoenix.js polls again as soon as a poll is answered,
		// and a client that does not is gone.
		lp.flushing = true
		lp.stopIdleLocked()
		lp.armLocked(flushGrace)
	}
}

// flushGrace is how long Shutdown waits for a session's next poll when
// none is waiting.
const flushGrace = 2 * time.Second

// poll answers a GET: what is queued, at once; otherwise the first frames
// queued within the window (200), or nothing (204). A session that ends
// meanwhile answers 410 and why. A newer poll takes over from one still
// waiting (its client gave up on it), which answers 204. A poll whose
// client goes away ends the session, as a closed WebSocket does:
// phoenix.js never polls again on a session whose poll failed.
func (lp *longPoll) poll(ctx context.Context) pollAnswer {
	s := lp.sock
	if s.expired(s.srv.cfg.now()) {
		// No heartbeats over LongPoll: the polls, every window at least,
		// are when expiry is checked.
		s.closeWith(websocket.StatusPolicyViolation, closeTokenExpired)
	}
	s.mu.Lock()
	lp.stopIdleLocked()
	if a, ok := lp.answerLocked(); ok {
		lp.armIdleLocked()
		s.mu.Unlock()
		return a
	}
	w := make(chan struct{}, 1)
	if old := lp.waiter; old != nil {
		wake(old)
	}
	lp.waiter = w
	// Armed before the lock goes, so that whoever sees the poll waiting
	// sees its window running.
	t := s.srv.cfg.afterFunc(s.srv.cfg.LongPollWindow, func() { wake(w) })
	s.mu.Unlock()

	gone := false
	select {
	case <-w:
	case <-ctx.Done():
		// Canceled: the client closed the request. (A deadline is only a
		// timeout, answered 204 below.)
		gone = ctx.Err() == context.Canceled
	}
	t.Stop()

	s.mu.Lock()
	defer s.mu.Unlock()
	if lp.waiter != w {
		return pollAnswer{status: 204} // a newer poll took over
	}
	lp.waiter = nil
	lp.armIdleLocked()
	if gone && !s.closing {
		s.peerCode = int16(websocket.StatusNormalClosure)
		s.beginCloseLocked(websocket.StatusNormalClosure, "")
	}
	if a, ok := lp.answerLocked(); ok {
		return a
	}
	return pollAnswer{status: 204}
}

// answerLocked is a poll's answer when it need not wait: the frames
// queued, or the reason the session ended.
func (lp *longPoll) answerLocked() (pollAnswer, bool) {
	s := lp.sock
	if s.q != nil && s.q.len() > 0 && (!s.closing || s.flushing) {
		frames := make([]outFrame, 0, s.q.len())
		for s.q.len() > 0 {
			frames = append(frames, s.q.pop())
		}
		s.releaseQueueLocked()
		lp.notifyLocked() // a flushing session is over once its queue is out
		return pollAnswer{status: 200, frames: frames}, true
	}
	if s.closing {
		return pollAnswer{status: 410, reason: s.closeReason}, true
	}
	return pollAnswer{}, false
}

// publish handles a POST's frames in order, as next reads them, as a
// WebSocket handles the messages it reads. It reports whether the session
// ended before taking them all, and why: the frames after its end are
// not read. A session that one of the frames ended (an invalid one)
// counts too; one that ended after the last was handled (Shutdown) took
// them all. err is next's, other than io.EOF: the body is refused from
// that frame on, the ones before it having been handled.
func (lp *longPoll) publish(next func() ([]byte, error)) (closed bool, why string, err error) {
	s := lp.sock
	for {
		var data []byte
		if data, err = next(); err != nil {
			break
		}
		if closed, why = lp.handle(data); closed {
			return closed, why, nil
		}
	}
	if err == io.EOF {
		err = nil
	}
	if closed, why = s.closingReason(); closed && (why == closeInvalidFrame || why == closeInternal) {
		return closed, why, nil
	}
	return false, "", err
}

// handle handles one frame unless the session has ended, which it
// reports, and why. lp.in is held per frame: serve waits for it, not for
// the rest of a slow body.
func (lp *longPoll) handle(data []byte) (closed bool, why string) {
	s := lp.sock
	lp.in.Lock()
	defer lp.in.Unlock()
	if s.expired(s.srv.cfg.now()) {
		s.closeWith(websocket.StatusPolicyViolation, closeTokenExpired)
	}
	if closed, why = s.closingReason(); closed {
		return closed, why
	}
	s.process(data)
	return false, ""
}

// closingReason reports whether the socket is closing, and why.
func (s *socket) closingReason() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing, s.closeReason
}

// armIdleLocked starts the idle timer: it runs while no poll waits on a
// session that is not over.
func (lp *longPoll) armIdleLocked() { lp.armLocked(lp.sock.srv.cfg.LongPollWindow * 3 / 2) }

func (lp *longPoll) armLocked(d time.Duration) {
	if lp.ended {
		return
	}
	lp.stopIdleLocked() // the timer replaced, if any, does not run on
	gen := lp.idleGen
	lp.idle = lp.sock.srv.cfg.afterFunc(d, func() { lp.idleFired(gen) })
}

func (lp *longPoll) stopIdleLocked() {
	lp.idleGen++
	if lp.idle != nil {
		lp.idle.Stop()
		lp.idle = nil
	}
}

// idleFired closes a session that no poll came for. One closing already
// (Shutdown's flush) stops waiting for the poll that would take its queue.
func (lp *longPoll) idleFired(gen uint64) {
	s := lp.sock
	s.mu.Lock()
	if gen != lp.idleGen || lp.waiter != nil {
		s.mu.Unlock()
		return
	}
	closing := s.closing
	s.mu.Unlock()
	if closing {
		lp.drop()
		return
	}
	s.closeWith(websocket.StatusGoingAway, closeIdle)
}

// drop ends the session without waiting for a poll to take its queue.
func (lp *longPoll) drop() {
	s := lp.sock
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closing {
		s.closing = true
		s.closeCode, s.closeReason = websocket.StatusGoingAway, closeShutdown
	}
	s.flushing = false
	s.releaseQueueLocked()
	lp.notifyLocked()
}

// longPolls is this node's LongPoll sessions by token, and the tokens of
// those that ended in the last window with why, for their next poll. A
// token that reaches another node is unknown there (410), and phoenix.js
// opens a new session and rejoins: no sticky sessions are needed, though
// they save those rejoins.
type longPolls struct {
	mu   sync.RWMutex
	live map[string]*socket
	// perClient counts the live sessions of each client address.
	perClient map[string]int
	// ended holds the sessions that ended lately; gone lists their
	// tokens oldest first, for pruning.
	ended map[string]endedSession
	gone  []string
}

type endedSession struct {
	reason string
	at     time.Time
}

// reserve counts a session more for client, unless it holds max already
// (0: no cap); add then registers it, and its removal uncounts it.
func (l *longPolls) reserve(client string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	if max > 0 && l.perClient[client] >= max {
		return false
	}
	l.perClient[client]++
	return true
}

func (l *longPolls) add(s *socket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.live[s.lp.token] = s
}

func (l *longPolls) init() {
	if l.live == nil {
		l.live = make(map[string]*socket)
		l.ended = make(map[string]endedSession)
		l.perClient = make(map[string]int)
	}
}

// get finds a session: live, or ended within memory of now, and why.
func (l *longPolls) get(token string, now time.Time, memory time.Duration) (s *socket, ended bool, why string) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if s := l.live[token]; s != nil {
		return s, false, ""
	}
	e, ok := l.ended[token]
	if !ok || now.Sub(e.at) > memory {
		return nil, false, ""
	}
	return nil, true, e.reason
}

// remove forgets a session that ended for reason at now; its token is
// remembered for memory, and older ones are forgotten.
func (l *longPolls) remove(lp *longPoll, reason string, now time.Time, memory time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	token := lp.token
	if _, ok := l.live[token]; !ok {
		return // removed already
	}
	delete(l.live, token)
	if l.perClient[lp.client]--; l.perClient[lp.client] <= 0 {
		delete(l.perClient, lp.client)
	}
	n := 0
	for n < len(l.gone) && now.Sub(l.ended[l.gone[n]].at) > memory {
		delete(l.ended, l.gone[n])
		n++
	}
	l.gone = l.gone[n:] // append copies what is left when it grows
	l.ended[token] = endedSession{reason, now}
	l.gone = append(l.gone, token)
}

func (l *longPolls) len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.live)
}
