package realtime

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// hijackable is a ResponseWriter whose Hijack returns a connection with
// bytes already buffered, as net/http does when a client pipelines frames
// behind its handshake.
type hijackable struct {
	http.ResponseWriter
	conn    net.Conn
	pending string
}

func (h hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	br := bufio.NewReaderSize(io.MultiReader(strings.NewReader(h.pending), h.conn), 4096)
	if _, err := br.Peek(len(h.pending)); err != nil {
		return nil, nil, err
	}
	return h.conn, bufio.NewReadWriter(br, bufio.NewWriter(h.conn)), nil
}

// TestSmallBuffersKeepPending: bytes net/http read ahead survive the swap to
// smaller buffers, and stay visible to the library as Buffered.
func TestSmallBuffersKeepPending(t *testing.T) {
	for _, pending := range []string{"", "frame", strings.Repeat("x", 3*readBufferSize)} {
		server, client := net.Pipe()
		_, brw, err := smallBuffers{hijackable{conn: server, pending: pending}}.Hijack()
		if err != nil {
			t.Fatal(err)
		}
		if got := brw.Reader.Buffered(); got != len(pending) {
			t.Errorf("%d bytes buffered, want %d", got, len(pending))
		}
		go func() { _, _ = client.Write([]byte("more")); client.Close() }()
		got, _ := io.ReadAll(brw.Reader)
		if string(got) != pending+"more" {
			t.Errorf("read %d bytes, want %d", len(got), len(pending)+4)
		}
		if brw.Writer.Size() != writeBufferSize {
			t.Errorf("writer buffer %d, want %d", brw.Writer.Size(), writeBufferSize)
		}
		server.Close()
	}
}
