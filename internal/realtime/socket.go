//lint:file-ignore SA1019 nhooyr.io/websocket is the pinned dependency; its successor github.com/coder/websocket has the same API

package realtime

import (
	"bytes"
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"nhooyr.io/websocket"
)

// socket is one client connection. The read loop (serve) runs on a
// goroutine of its own and handles frames in order; writes go through the
// outbound queue (outbound.go). Per idle socket that is two goroutines:
// the read loop and nhooyr's timeout loop.
type socket struct {
	srv    *Server
	conn   *websocket.Conn
	id     string // sent to the chat service as SendInput.Origin
	userID int
	vsn    vsn
	idle   *time.Timer

	// The session the token named; these fields never change, so the hub
	// and publishers read them without locking. expires is Unix
	// milliseconds (0: never): 8 bytes where a time.Time takes 24.
	tokenID string
	expires int64

	// channels is owned by the frame in process (busy orders them); the
	// hub shares the *channel values, whose fields never change.
	channels []*channel
	busy     sync.WaitGroup // the goroutine processing the current frame

	wg     sync.WaitGroup // the writer goroutine, when there is one
	wtimer *time.Timer    // owned by the writer goroutine

	mu          sync.Mutex
	q           *queue // nil while nothing is queued
	writing     bool   // a writer goroutine is running
	closing     bool   // no more frames; the writer closes the connection
	flushing    bool   // closing, once what is queued is written (shutdown)
	closeCode   websocket.StatusCode
	closeReason string

	// For the log line and metrics of its end (metrics.go): when it opened
	// (Unix ns), and the client's close code (-1: none).
	opened   int64
	peerCode websocket.StatusCode
}

// serve reads frames until the connection ends, then releases everything
// the socket holds. It returns only after the writer goroutine has ended.
func (s *socket) serve() {
	defer s.finish()
	s.idle = time.AfterFunc(s.srv.cfg.IdleTimeout, func() {
		s.closeWith(websocket.StatusGoingAway, "idle timeout")
	})
	for {
		typ, r, err := s.conn.Reader(context.Background())
		if err != nil {
			s.peerCode = websocket.CloseStatus(err)
			return
		}
		buf := getReadBuffer()
		if _, err := buf.ReadFrom(r); err != nil {
			if int64(buf.Len()) > s.srv.cfg.MaxFrame {
				// nhooyr has sent 1009 already; Close still drains the
				// rest of the message, so the peer reads that frame
				// rather than a reset connection.
				s.closeWith(websocket.StatusMessageTooBig, "frame too large")
			}
			putReadBuffer(buf)
			return
		}
		if s.expired(s.srv.cfg.now()) {
			// Any frame will do: phoenix.js heartbeats every 30 s, so an
			// expired socket is found within that without a timer of its
			// own. The frame is not acted upon.
			putReadBuffer(buf)
			s.closeWith(websocket.StatusPolicyViolation, closeTokenExpired)
			return
		}
		if typ != websocket.MessageText {
			// Phoenix's binary frames carry binary payloads, which no
			// channel here accepts.
			putReadBuffer(buf)
			s.closeWith(websocket.StatusUnsupportedData, "binary frames are not supported")
			return
		}
		s.idle.Reset(s.srv.cfg.IdleTimeout)
		// Decoding and handling (encoding/json, the chat service, the
		// store) need deep stacks. On this goroutine that depth would stay
		// for the socket's life: the GC does not shrink a stack that an
		// idle read still uses a quarter of. A short-lived goroutine takes
		// it instead, and waiting for it keeps frames in order.
		s.busy.Add(1)
		go s.process(buf)
		s.busy.Wait()
		// The time spent handling is not the client's silence.
		s.idle.Reset(s.srv.cfg.IdleTimeout)
		if s.isClosing() {
			return
		}
	}
}

// process decodes and handles one text message, then returns its buffer.
func (s *socket) process(buf *bytes.Buffer) {
	defer s.busy.Done()
	defer putReadBuffer(buf)
	defer func() {
		if p := recover(); p != nil {
			s.logger().Error("realtime: panic handling frame", "panic", p, "stack", string(debug.Stack()))
			s.closeWith(websocket.StatusInternalError, "internal error")
		}
	}()
	if s.isClosing() {
		// Closing for another reason: do not act on requests whose replies
		// could not be sent.
		return
	}
	s.srv.inflight.Add(1)
	defer s.srv.inflight.Add(-1)
	f, err := decodeFrame(s.vsn, buf.Bytes())
	if err != nil {
		s.closeWith(websocket.StatusInvalidFramePayloadData, "invalid frame")
		return
	}
	if s.srv.draining.Load() {
		s.refuseDraining(&f)
		return
	}
	s.handle(&f)
}

// finish undoes everything serve set up; nothing of the socket stays in
// the hub.
func (s *socket) finish() {
	if s.idle != nil {
		s.idle.Stop()
	}
	for _, ch := range s.channels {
		s.srv.hub.remove(ch)
	}
	s.channels = nil
	s.closeWith(websocket.StatusNormalClosure, "")
	s.wg.Wait()
	if s.wtimer != nil {
		s.wtimer.Stop()
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
