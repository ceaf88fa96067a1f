package realtime

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// socket is one client connection. Its goroutine (serve) waits for the
// client on a small stack and hands each burst of frames to a short-lived
// goroutine (readFrames) that reads and handles them in order; writes go
// through the outbound queue (outbound.go). An idle socket has that one
// goroutine: coder/websocket starts none of its own when Reader is given a
// context that is never done.
type socket struct {
	srv  *Server
	conn *websocket.Conn // nil for a LongPoll session
	// lp is the LongPoll session this socket is, nil for a WebSocket
	// (longpoll_session.go): the same channels, queue and rules, with
	// polls instead of a connection.
	lp     *longPoll
	id     string // sent to the chat service as SendInput.Origin
	userID int
	vsn    vsn
	// For the log line and metrics of its end (metrics.go), in padding
	// that an idle socket has anyway: the client's close code (-1: none),
	// and when it opened (see openedAt).
	peerCode int16
	// generation is the session's token generation (Session.Generation),
	// for the check after a Resync (sessions.go); in the same padding.
	generation int32
	idle       *time.Timer

	// The session the token named; these fields never change, so the hub
	// and publishers read them without locking. expires is Unix
	// milliseconds (0: never): 8 bytes where a time.Time takes 24.
	tokenID string
	expires int64

	// What serve waits on (wait.go): the connection's file descriptor (nil
	// when it has none) and the library's reader, whose buffered bytes need
	// no waiting. readNow: the first bytes arrived with the handshake.
	rc      syscall.RawConn
	br      *bufio.Reader
	readNow bool
	opened  uint32

	// channels is owned by the goroutine reading frames (busy orders
	// them); the hub shares the *channel values, whose fields never change.
	channels []*channel
	busy     sync.WaitGroup // the goroutine reading frames

	wg     sync.WaitGroup // the writer goroutine, when there is one
	wtimer *time.Timer    // owned by the writer goroutine

	mu          sync.Mutex
	q           *queue // nil while nothing is queued
	writing     bool   // a writer goroutine is running
	closing     bool   // no more frames; the writer closes the connection
	flushing    bool   // closing, once what is queued is written (shutdown)
	closeCode   websocket.StatusCode
	closeReason string
}

// serve waits for frames until the connection ends, then releases
// everything the socket holds. It returns only after the writer goroutine
// has ended.
//
// Reading through the library and handling a frame (encoding/json, the
// chat service, the store) need deep stacks. On this goroutine that depth
// would stay for the socket's life: an idle read parked inside the library
// uses more than the quarter of a grown stack below which the GC shrinks
// it. So this goroutine only waits, which fits its starting 2 KiB, and a
// short-lived goroutine takes the depth; waiting for it keeps frames in
// order.
func (s *socket) serve() {
	defer s.finish()
	s.idle = time.AfterFunc(s.srv.cfg.IdleTimeout, func() {
		s.closeWith(websocket.StatusGoingAway, closeIdle)
	})
	for {
		if !s.readNow && !s.waitReadable() {
			return
		}
		s.readNow = false
		s.busy.Add(1)
		go s.readFrames()
		s.busy.Wait()
		if s.isClosing() {
			return
		}
	}
}

// readFrames reads and handles frames in order until the library holds no
// more bytes of the next one.
func (s *socket) readFrames() {
	defer s.busy.Done()
	for s.readFrame() && s.buffered() {
	}
}

// readFrame reads and handles one message. It reports whether the socket
// goes on; if not, it has started closing it.
func (s *socket) readFrame() bool {
	typ, r, err := s.conn.Reader(context.Background())
	if err != nil {
		// The connection is gone or the library has closed it.
		s.peerCode = int16(websocket.CloseStatus(err))
		s.closeWith(websocket.StatusNormalClosure, "")
		return false
	}
	buf := getReadBuffer()
	defer putReadBuffer(buf)
	if _, err := buf.ReadFrom(r); err != nil {
		if int64(buf.Len()) > s.srv.cfg.MaxFrame {
			// The library has sent 1009 already; Close still drains the
			// rest of the message, so the peer reads that frame rather
			// than a reset connection.
			s.closeWith(websocket.StatusMessageTooBig, closeTooLarge)
		} else {
			s.closeWith(websocket.StatusNormalClosure, "")
		}
		return false
	}
	if s.expired(s.srv.cfg.now()) {
		// Any frame will do: phoenix.js heartbeats every 30 s, so an
		// expired socket is found within that without a timer of its own.
		// The frame is not acted upon.
		s.closeWith(websocket.StatusPolicyViolation, closeTokenExpired)
		return false
	}
	if typ != websocket.MessageText {
		// Phoenix's binary frames carry binary payloads, which no channel
		// here accepts.
		s.closeWith(websocket.StatusUnsupportedData, closeBinary)
		return false
	}
	s.idle.Reset(s.srv.cfg.IdleTimeout)
	s.process(buf.Bytes())
	// The time spent handling is not the client's silence.
	s.idle.Reset(s.srv.cfg.IdleTimeout)
	return !s.isClosing()
}

// buffered reports whether the library's reader holds bytes of another
// frame, which the wait would not see. It reads br only while the socket
// is not closing: the close handshake (Close, on the writer goroutine)
// reads br too, and starts only after closing is set under mu.
func (s *socket) buffered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closing && s.br.Buffered() > 0
}

// process decodes and handles one text message, which it does not keep.
func (s *socket) process(data []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.logger().Error("realtime: panic handling frame", "panic", p, "stack", string(debug.Stack()))
			s.closeWith(websocket.StatusInternalError, closeInternal)
		}
	}()
	if s.isClosing() {
		// Closing for another reason: do not act on requests whose replies
		// could not be sent.
		return
	}
	s.srv.inflight.Add(1)
	defer s.srv.inflight.Add(-1)
	f, err := decodeFrame(s.vsn, data)
	if err != nil {
		s.closeWith(websocket.StatusInvalidFramePayloadData, closeInvalidFrame)
		return
	}
	if s.srv.draining.Load() {
		s.refuseDraining(&f)
		return
	}
	s.handle(&f)
}

// finish undoes everything serve set up; nothing of the socket stays in
// the hub. No frame is being handled: the caller has seen to it.
func (s *socket) finish() {
	if s.idle != nil {
		s.idle.Stop()
	}
	for _, ch := range s.channels {
		s.srv.removeChannel(ch)
	}
	s.channels = nil
	s.closeWith(websocket.StatusNormalClosure, "")
	s.wg.Wait()
	if s.wtimer != nil {
		s.wtimer.Stop()
	}
	if s.lp != nil {
		// Before the hub, so that a session gone from the hub is gone
		// here too; its next poll learns why.
		_, why := s.closingReason()
		s.srv.longPolls.remove(s.lp, why, s.srv.cfg.now(), s.srv.cfg.LongPollWindow)
	}
	s.srv.hub.unregister(s)
	s.srv.ended(s)
}

// expired reports whether the socket's token has expired at now.
func (s *socket) expired(now time.Time) bool { return expiredAt(s.expires, now) }

// logger is made when something is logged, rather than kept per socket.
func (s *socket) logger() *slog.Logger {
	return s.srv.log.With("socket", s.id, "user", s.userID)
}

// Close reasons of the socket's own; session.go has the session's.
const (
	closeIdle     = "idle timeout"
	closeShutdown = "server shutting down"
	closeSlow     = "slow consumer"
	// What a client sent that closes its socket.
	closeTooLarge     = "frame too large"
	closeInvalidFrame = "invalid frame"
	closeBinary       = "binary frames are not supported"
	// A bug while handling a frame.
	closeInternal = "internal error"
)

func (s *socket) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// closeWith starts closing the connection with code. It never blocks: the
// close handshake runs on the writer goroutine. The first code wins.
func (s *socket) closeWith(code websocket.StatusCode, reason string) {
	s.mu.Lock()
	start := s.beginCloseLocked(code, reason)
	s.mu.Unlock()
	if start {
		go s.writeLoop()
	}
}

func (s *socket) beginCloseLocked(code websocket.StatusCode, reason string) (startWriter bool) {
	if s.closing {
		return false
	}
	s.closing = true
	s.closeCode, s.closeReason = code, reason
	s.releaseQueueLocked()
	return s.startWriterLocked()
}

// closeNow drops the connection without a handshake, or a LongPoll
// session without waiting for its last poll: Shutdown's last resort.
func (s *socket) closeNow() {
	if s.lp != nil {
		s.lp.drop()
		return
	}
	_ = s.conn.CloseNow()
}

var readBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// getReadBuffer lends a buffer for one incoming message, so that an idle
// socket holds none.
func getReadBuffer() *bytes.Buffer {
	b := readBuffers.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putReadBuffer(b *bytes.Buffer) {
	if b.Cap() <= DefaultMaxFrame+bytes.MinRead {
		readBuffers.Put(b)
	}
}
