package realtime

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Buffer sizes for a hijacked connection. Client frames are tiny
// (heartbeats, joins, one chat line) and larger reads bypass bufio; the
// writer holds a typical reply or push, so most frames go out in one write.
const (
	readBufferSize  = 256
	writeBufferSize = 512
)

// hijack is the ResponseWriter that ServeHTTP hands to websocket.Accept.
// Its Hijack does what the library leaves to whoever hijacks, and keeps
// what the socket needs later.
type hijack struct {
	http.ResponseWriter
	conn    net.Conn      // the taken-over connection, once Hijack has run
	br      *bufio.Reader // the reader the library reads frames through
	pending bool          // the client sent bytes right behind its handshake
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (h *hijack) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (h *hijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		// checkHandshake has answered 501 already.
		return nil, nil, errors.New("realtime: ResponseWriter does not implement http.Hijacker")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	// http.Hijacker leaves the server's read and write deadlines to the
	// caller, and the library does not clear them; a socket outlives them
	// by far and has its own idle and write timeouts.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, nil, err
	}
	// net/http hands over its 4 KiB reader and a 4 KiB writer, which the
	// library would keep for the socket's life: most of an idle socket's
	// memory budget. It cannot be told to use others, so it gets small
	// ones here. The 101 reaches the client before the connection is
	// handed over, so net/http's reader may already hold the client's first
	// frame: those bytes move into the new reader's buffer, where the
	// library looks for them.
	var src io.Reader = conn
	size := readBufferSize
	pending := brw.Reader.Buffered()
	if pending > 0 {
		b, _ := brw.Reader.Peek(pending)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)
		size = max(size, pending)
	}
	br := bufio.NewReaderSize(src, size)
	if pending > 0 {
		// Served from the bytes.Reader alone, so this never waits on conn.
		if _, err := br.Peek(pending); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	h.pending = pending > 0
	h.conn, h.br = conn, br
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, writeBufferSize)), nil
}

// rawConn is the connection's file descriptor for serve to wait on, or nil.
// Only plain TCP and Unix connections qualify: a wrapper (TLS, say) may
// hold bytes it has read, which a wait on the descriptor would not see.
func (h *hijack) rawConn() syscall.RawConn {
	switch h.conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		rc, err := h.conn.(syscall.Conn).SyscallConn()
		if err == nil {
			return rc
		}
	}
	return nil
}
