package realtime

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// Buffer sizes for a hijacked connection. net/http hands over 4 KiB for
// each direction; an idle socket keeps both for its whole life, which would
// be most of the per-socket memory budget. Client frames are tiny
// (heartbeats, joins, one chat line) and larger reads bypass bufio; the
// writer holds a typical reply or push, so most frames go out in one write.
const (
	readBufferSize  = 256
	writeBufferSize = 512
)

// smallBuffers wraps a ResponseWriter so that websocket.Accept hijacks the
// connection with smaller bufio buffers.
type smallBuffers struct{ http.ResponseWriter }

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("realtime: ResponseWriter does not implement http.Hijacker")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	// net/http clears its ReadTimeout/WriteTimeout deadlines today, but its
	// documentation does not promise to; a socket outlives them by far and
	// has its own idle and write timeouts.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, nil, err
	}
	// A client may send frames right behind its handshake; net/http's reader
	// may already hold them. Move them into the new reader's buffer, where
	// the library looks for them.
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
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, writeBufferSize)), nil
}
