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

// TestHijackBuffers: the library gets small buffers, and bytes net/http
// read ahead survive the swap, visible to the library as Buffered.
func TestHijackBuffers(t *testing.T) {
	for _, pending := range []string{"", "frame", strings.Repeat("x", 3*readBufferSize)} {
		server, client := net.Pipe()
		h := &hijack{ResponseWriter: hijackable{conn: server, pending: pending}}
		_, brw, err := h.Hijack()
		if err != nil {
			t.Fatal(err)
		}
		if h.pending != (pending != "") || h.br != brw.Reader || h.conn != server {
			t.Errorf("%d bytes pending: hijack kept pending=%v, its reader %v, its conn %v",
				len(pending), h.pending, h.br == brw.Reader, h.conn == server)
		}
		if got := brw.Reader.Buffered(); got != len(pending) {
			t.Errorf("%d bytes buffered, want %d", got, len(pending))
		}
		if got, want := brw.Reader.Size(), max(readBufferSize, len(pending)); got != want {
			t.Errorf("reader buffer %d, want %d", got, want)
		}
		if brw.Writer.Size() != writeBufferSize {
			t.Errorf("writer buffer %d, want %d", brw.Writer.Size(), writeBufferSize)
		}
		go func() { _, _ = client.Write([]byte("more")); client.Close() }()
		got, _ := io.ReadAll(brw.Reader)
		if string(got) != pending+"more" {
			t.Errorf("read %d bytes, want %d", len(got), len(pending)+4)
		}
		server.Close()
	}
}
