package realtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/companyapi/companyapi/internal/chat"
	"github.com/companyapi/companyapi/internal/metrics"
	"github.com/companyapi/companyapi/internal/metrics/metricstest"
	"github.com/companyapi/companyapi/internal/testlog"
)

// TestSocketsObserved: sockets open and joined are read from the hub;
// joins, frames in and out, pushes and closes are counted as they happen;
// and each socket's end is one log line with its user, how long it lived,
// who closed it, the code and the reason.
func TestSocketsObserved(t *testing.T) {
	b := newFakeBackend(t)
	m := metrics.New("test")
	logs := &testlog.Buffer{}
	ts := startServer(t, b, Config{Metrics: m, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	m.Sockets(ts.srv.Counts)
	ann, _, a1 := ts.user(t, vsn2)
	bob, _, bc := ts.user(t, vsn2)
	_, _, lurker := ts.user(t, vsn2) // connected, never joins
	conv := b.NewConversation(t, ann, bob)
	ja := a1.join(topicChat)
	jb := bc.join(topicChat)
	ref := bc.push(nil, "room:nope", eventJoin, map[string]any{})
	bc.expectReply(nil, ref, "room:nope", "error")
	s := metricstest.Get(t, m)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"companyapi_sockets_open", nil, 3},
		{"companyapi_sockets_joined", nil, 2},
		{"companyapi_sockets_opened_total", nil, 3},
		{"companyapi_socket_joins_total", []string{"result", "ok"}, 2},
		{"companyapi_socket_joins_total", []string{"result", "refused"}, 1},
		{"companyapi_socket_frames_received_total", nil, 3},
		{"companyapi_socket_pushes_total", []string{"result", "dropped"}, 0},
	} {
		if got := s.Value(t, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// One message: a frame in, a reply and a push out. Whatever the joins
	// pushed (presence) has been written once each client's heartbeat is
	// answered, frames being written in order.
	a1.heartbeat()
	bc.heartbeat()
	count := func(name string, labels ...string) float64 { return metricstest.Get(t, m).Value(t, name, labels...) }
	in, out, pushed := count("companyapi_socket_frames_received_total"), count("companyapi_socket_frames_sent_total"),
		count("companyapi_socket_pushes_total", "result", "queued")
	bc.expectReply(jb, bc.sendMsg(jb, ann, conv, "hi"), topicChat, "ok")
	a1.expectMessage(ja)
	// The write that the client has read is counted once Write returns.
	eventually(t, "the reply and the push to be counted", func() bool {
		return count("companyapi_socket_frames_sent_total") >= out+2
	})
	if d := count("companyapi_socket_frames_received_total") - in; d != 1 {
		t.Errorf("frames received rose by %v for one send_msg", d)
	}
	if d := count("companyapi_socket_frames_sent_total") - out; d != 2 {
		t.Errorf("frames sent rose by %v for a reply and a push", d)
	}
	if d := count("companyapi_socket_pushes_total", "result", "queued") - pushed; d != 1 {
		t.Errorf("pushes queued rose by %v for one recipient", d)
	}

	// Bob leaves; the server closes Ann's socket when it shuts down.
	if err := bc.conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's socket to end", func() bool { return ts.srv.hub.appendSockets(nil, bob) == nil })
	// The clients read on, so that the server's close handshakes end at once.
	go drain(a1)
	go drain(lurker)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	s = metricstest.Get(t, m)
	for reason, want := range map[string]float64{metrics.CloseClient: 1, metrics.CloseShutdown: 2, metrics.CloseSlowConsumer: 0} {
		if got := s.Value(t, "companyapi_socket_closes_total", "reason", reason); got != want {
			t.Errorf("closes for %s = %v, want %v", reason, got, want)
		}
	}
	if open := s.Value(t, "companyapi_sockets_open"); open != 0 {
		t.Errorf("%v sockets open after shutdown", open)
	}

	ends := map[float64]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", l)
		}
		if rec["msg"] == "socket closed" {
			ends[rec["user"].(float64)] = rec
		}
	}
	if len(ends) != 3 {
		t.Fatalf("%d users' socket ends logged, want 3:\n%s", len(ends), logs.String())
	}
	if e := ends[float64(bob)]; e["by"] != "client" || e["code"] != float64(1000) || e["reason"] != metrics.CloseClient ||
		e["duration"] == nil || e["socket"] == "" {
		t.Errorf("bob's end logged as %v", e)
	}
	if e := ends[float64(ann)]; e["by"] != "server" || e["code"] != float64(websocket.StatusGoingAway) || e["reason"] != metrics.CloseShutdown {
		t.Errorf("ann's end logged as %v", e)
	}
}

// drain reads c until its connection ends.
func drain(c *client) {
	for {
		if _, err := c.readRaw(); err != nil {
			return
		}
	}
}

// TestSlowConsumerObserved: a socket too far behind has its pushes
// dropped and is counted as a slow-consumer close.
func TestSlowConsumerObserved(t *testing.T) {
	b := newFakeBackend(t)
	m := metrics.New("test")
	ts := startServer(t, b, Config{Metrics: m, OutboundQueue: 8, WriteTimeout: time.Minute})
	uid, _, slow := ts.user(t, vsn2)
	slow.join(topicChat)
	content := strings.Repeat("x", 32<<10)
	for i := 0; !anyClosing(ts.socketsOf(uid)); i++ {
		if i > 10000 {
			t.Fatal("a client that reads nothing was never dropped")
		}
		ts.publish(chat.Message{ID: i + 1, Content: content}, uid)
	}
	ts.publish(chat.Message{ID: 99999, Content: "late"}, uid) // to a closing socket: dropped
	slow.expectClose(websocket.StatusPolicyViolation, websocket.StatusTryAgainLater)
	eventually(t, "the slow socket to end", func() bool { return ts.srv.hub.appendSockets(nil, uid) == nil })
	s := metricstest.Get(t, m)
	if v := s.Value(t, "companyapi_socket_closes_total", "reason", metrics.CloseSlowConsumer); v != 1 {
		t.Errorf("slow-consumer closes %v, want 1", v)
	}
	if v := s.Value(t, "companyapi_socket_pushes_total", "result", "dropped"); v < 1 {
		t.Errorf("dropped pushes %v, want some", v)
	}
}
