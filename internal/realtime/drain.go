package realtime

import (
	"github.com/coder/websocket"

	"github.com/companyapi/companyapi/internal/chat"
)

// refuseDraining answers a frame read after shutdown began without acting
// on it: the client repeats a send elsewhere (with its client_id).
func (s *socket) refuseDraining(f *frame) {
	if f.ref == jsonNull {
		return // nothing waits for an answer
	}
	joinRef := jsonNull
	if ch := s.channel(f.topic); ch != nil {
		joinRef = ch.joinRef
	}
	s.replyValue(joinRef, f.ref, f.topic, "error", errorResponse(chat.ErrUnavailable))
}

// closeAfterFlush closes the connection with code once everything queued
// (the replies to what the socket accepted) is written. It never blocks.
func (s *socket) closeAfterFlush(code websocket.StatusCode, reason string) {
	s.mu.Lock()
	start := false
	if !s.closing {
		s.closing, s.flushing = true, true
		s.closeCode, s.closeReason = code, reason
		start = s.startWriterLocked()
	}
	s.mu.Unlock()
	if start {
		go s.writeLoop()
	}
}
