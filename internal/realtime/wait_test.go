package realtime

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// TestFramesBehindOneAnother: frames that reach the server together, in
// one write, are all answered, whether they come with the handshake or
// after it. The second one of a write is already in the library's buffer,
// where waiting on the connection would never find it.
func TestFramesBehindOneAnother(t *testing.T) {
	b := newFakeBackend(t)
	ts := startServer(t, b, Config{})
	_, tok := b.NewUser(t)
	addr := strings.TrimPrefix(ts.ts.URL, "http://")
	for _, pipelined := range []bool{false, true} {
		conn, err := rawJoin(addr, tok, pipelined)
		if err != nil {
			t.Fatalf("pipelined %v: %v", pipelined, err)
		}
		defer conn.Close()
		hb := rawFrame(`[null,"2","phoenix","heartbeat",{}]`)
		if _, err := conn.Write(append(hb, rawFrame(`[null,"3","phoenix","heartbeat",{}]`)...)); err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{`"2"`, `"3"`} {
			got := rawRead(t, conn)
			if want := `[null,` + ref + `,"phoenix","phx_reply",{"status":"ok","response":{}}]`; got != want {
				t.Errorf("pipelined %v: got %s, want %s", pipelined, got, want)
			}
		}
	}
}

// rawFrame is a masked client text frame (a zero key leaves the payload as
// is) of a short payload.
func rawFrame(payload string) []byte {
	return append([]byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
}

// rawRead reads one unmasked server text frame, skipping presence pushes.
func rawRead(t *testing.T, conn net.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	defer conn.SetReadDeadline(time.Time{})
	for {
		b, err := readServerFrame(conn)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"presence_`)) {
			return string(bytes.TrimSpace(b))
		}
	}
}
