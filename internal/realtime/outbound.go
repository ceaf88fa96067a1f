package realtime

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/companyapi/companyapi/internal/chat"
)

// outFrame is one queued text message: head + joinRef + tail. A push is
// encoded once and its head and tail shared by every target socket; only
// the join_ref differs. A reply is all head.
type outFrame struct {
	head    []byte
	joinRef string
	tail    []byte
	// joining marks a frame a join queues after its reply (recovered
	// messages, held pushes, presence_state): the client asked for them,
	// so they do not count as falling behind on live pushes.
	joining bool
}

// queue is a FIFO of frames. Queues are pooled: a socket holds one only
// while frames wait, so an idle socket holds none and a busy one does not
// allocate per frame.
type queue struct {
	items []outFrame
	next  int
	// joining counts the queued frames marked joining.
	joining int
}

var queues = sync.Pool{New: func() any { return new(queue) }}

func (q *queue) len() int { return len(q.items) - q.next }

func (q *queue) push(f outFrame) {
	if q.next > 0 && len(q.items) == cap(q.items) {
		n := copy(q.items, q.items[q.next:])
		clear(q.items[n:])
		q.items, q.next = q.items[:n], 0
	}
	q.items = append(q.items, f)
	if f.joining {
		q.joining++
	}
}

func (q *queue) pop() outFrame {
	f := q.items[q.next]
	q.items[q.next] = outFrame{}
	q.next++
	if f.joining {
		q.joining--
	}
	if q.next == len(q.items) {
		q.items, q.next = q.items[:0], 0
	}
	return f
}

// reset drops every frame so the shared push bytes can be collected.
func (q *queue) reset() {
	clear(q.items)
	q.items, q.next, q.joining = q.items[:0], 0, 0
}

// scratch buffers assemble spliced frames; one is borrowed per writer run.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// enqueue queues f without ever blocking the caller, who may be delivering
// one message to thousands of sockets. A socket that already has
// OutboundQueue frames waiting is a slow consumer: it is closed with 1008
// and its client catches up over REST after reconnecting. A join's own
// frames have their own bound (joinAllowance), and live frames behind them
// count only themselves: a recovery of hundreds of messages is not a
// client falling behind. queued is false when f was dropped: the socket
// was closing, or fell behind.
func (s *socket) enqueue(f outFrame) (queued bool) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false
	}
	if s.q == nil {
		s.q = queues.Get().(*queue)
	}
	var start, slow bool
	if s.q.len()-s.q.joining >= s.srv.cfg.OutboundQueue || f.joining && s.q.joining >= joinAllowance(s.srv.cfg) {
		slow = true
		start = s.beginCloseLocked(websocket.StatusPolicyViolation, closeSlow)
	} else {
		s.q.push(f)
		start = s.startWriterLocked()
	}
	s.mu.Unlock()
	if slow {
		s.logger().Warn("realtime: closing slow consumer", "queued", s.srv.cfg.OutboundQueue)
	}
	if start {
		go s.writeLoop()
	}
	return !slow
}

// joinAllowance bounds the joining frames queued on one socket: a whole
// recovery, the pushes held meanwhile and the presence state, with room
// for a second join; a client that joins again and again without reading
// is still a slow consumer.
func joinAllowance(c Config) int {
	return 2 * (chat.MaxRecover + c.OutboundQueue + 1)
}

// startWriterLocked reports whether the caller must start a writer
// goroutine for what it queued or for the close. A LongPoll session has
// no writer: its waiting poll is woken instead, and takes the queue.
func (s *socket) startWriterLocked() bool {
	if s.lp != nil {
		s.lp.notifyLocked()
		return false
	}
	if s.writing {
		return false
	}
	s.writing = true
	s.wg.Add(1)
	return true
}

func (s *socket) releaseQueueLocked() {
	if s.q != nil {
		s.q.reset()
		queues.Put(s.q)
		s.q = nil
	}
}

// writeLoop writes queued frames until the queue is empty, then ends; the
// next enqueue starts another. When the socket is closing it performs the
// close handshake instead, so closing never blocks whoever asked for it.
func (s *socket) writeLoop() {
	defer s.wg.Done()
	buf := scratch.Get().(*[]byte)
	defer func() {
		// A rare huge message should not pin its buffer in the pool.
		if cap(*buf) <= DefaultMaxFrame {
			scratch.Put(buf)
		}
	}()
	for {
		s.mu.Lock()
		if s.closing && (!s.flushing || s.q == nil || s.q.len() == 0) {
			code, reason := s.closeCode, s.closeReason
			s.mu.Unlock()
			// writing stays true: this socket gets no other writer.
			_ = s.conn.Close(code, reason)
			return
		}
		if !s.closing && (s.q == nil || s.q.len() == 0) {
			s.writing = false
			s.releaseQueueLocked()
			s.mu.Unlock()
			return
		}
		f := s.q.pop()
		s.mu.Unlock()

		msg := f.head
		if f.joinRef != "" || f.tail != nil {
			*buf = append(append(append((*buf)[:0], f.head...), f.joinRef...), f.tail...)
			msg = *buf
		}
		if err := s.write(msg); err != nil {
			s.mu.Lock()
			s.beginCloseLocked(websocket.StatusInternalError, "write failed")
			s.mu.Unlock()
		}
	}
}

// write sends one message, bounded by WriteTimeout: a peer that accepts no
// bytes for that long is dropped without a handshake, which fails the
// write. The timer is made once per socket and re-armed, rather than a
// context allocated per write.
func (s *socket) write(msg []byte) error {
	if s.wtimer == nil {
		s.wtimer = time.AfterFunc(s.srv.cfg.WriteTimeout, func() { _ = s.conn.CloseNow() })
	} else {
		s.wtimer.Reset(s.srv.cfg.WriteTimeout)
	}
	err := s.conn.Write(context.Background(), websocket.MessageText, msg)
	s.wtimer.Stop()
	if err == nil {
		s.srv.cfg.Metrics.FrameOut()
	}
	return err
}
