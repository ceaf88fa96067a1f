package realtime

// The LongPoll side of the test harness: a client that speaks Phoenix's
// LongPoll transport as phoenix.js 1.8 does, behind the same client type
// as the WebSocket's, and timers that tests fire by hand.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// lpBody is a LongPoll answer, decoded strictly: a field the server sends
// that this does not know fails the test.
type lpBody struct {
	Status   int      `json:"status"`
	Token    *string  `json:"token"`
	Messages []string `json:"messages"`
	Message  string   `json:"message"`
}

// lpRequest is one request to /socket/longpoll. Every answer must be HTTP
// 200 with a JSON body: the status is in the body.
func (ts *testServer) lpRequest(method string, q url.Values, h http.Header, body string) (lpBody, error) {
	var out lpBody
	req, err := http.NewRequest(method, ts.ts.URL+"/socket/longpoll?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		return out, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := (&http.Client{Transport: ts.transport, Timeout: 2 * waitTimeout}).Do(req)
	if err != nil {
		return out, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return out, err
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
		res.Header.Get("Cache-Control") != "no-store" {
		return out, fmt.Errorf("%s: HTTP %d %v %s", method, res.StatusCode, res.Header, b)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return out, fmt.Errorf("%s: body %s: %v", method, b, err)
	}
	return out, nil
}

// lp is lpRequest failing the test on a transport error.
func (ts *testServer) lp(t testing.TB, method string, q url.Values, h http.Header, body string) lpBody {
	t.Helper()
	out, err := ts.lpRequest(method, q, h, body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lpConn is one LongPoll session, used as phoenix.js 1.8 uses it: the
// socket's params (vsn, maybe token) on every URL, the session's token
// appended as a second ?token=, frames POSTed as application/x-ndjson.
type lpConn struct {
	t      testing.TB
	ts     *testServer
	params url.Values
	header http.Header // on every request: X-Phoenix-AuthToken with authToken
	token  string
	queue  [][]byte // frames polled and not read yet
}

// lpDial opens a LongPoll session with the token in ?token= (params:
// {token}), or with authToken in X-Phoenix-AuthToken.
func (ts *testServer) lpDial(t testing.TB, token string, v vsn, authToken bool) *client {
	t.Helper()
	l := &lpConn{t: t, ts: ts, params: query(token, v), header: http.Header{}}
	if authToken {
		l.params.Del("token")
		l.header.Set(headerAuthToken, token)
	}
	r := ts.lp(t, http.MethodGet, l.params, l.header, "")
	if r.Status != http.StatusGone || r.Token == nil || !isSessionToken(*r.Token) || r.Messages == nil || len(r.Messages) != 0 {
		t.Fatalf("opening a session: %+v", r)
	}
	l.token = *r.Token
	return &client{t: t, lp: l, v: v}
}

// lpUser creates a user and opens a LongPoll session for it.
func (ts *testServer) lpUser(t testing.TB, v vsn) (id int, token string, c *client) {
	t.Helper()
	id, token = ts.b.NewUser(t)
	return id, token, ts.lpDial(t, token, v, false)
}

// sessionQuery is the URL of a request on the session.
func (l *lpConn) sessionQuery() url.Values {
	q := url.Values{}
	for k, v := range l.params {
		q[k] = append([]string(nil), v...)
	}
	q.Add("token", l.token)
	return q
}

// pollOnce sends one poll and returns its answer.
func (l *lpConn) pollOnce() (lpBody, error) {
	r, err := l.ts.lpRequest(http.MethodGet, l.sessionQuery(), l.header, "")
	if err == nil && (r.Status == http.StatusOK || r.Status == http.StatusNoContent) &&
		(r.Token == nil || *r.Token != l.token || r.Messages == nil) {
		err = fmt.Errorf("poll answered %+v: want the session's token and messages", r)
	}
	return r, err
}

// post POSTs body as contentType and returns the answer.
func (l *lpConn) post(body, contentType string) lpBody {
	l.t.Helper()
	h := http.Header{"Content-Type": {contentType}}
	return l.ts.lp(l.t, http.MethodPost, l.sessionQuery(), h, body)
}

// send POSTs one frame; the session must take it.
func (l *lpConn) send(frame []byte) {
	l.t.Helper()
	if r := l.post(string(frame), "application/x-ndjson"); r.Status != http.StatusOK {
		l.t.Fatalf("POST %s: %+v", frame, r)
	}
}

// errGone is a poll answered 410.
type errGone struct{ reason string }

func (e errGone) Error() string { return "session gone: " + e.reason }

// next returns the next frame, polling until one comes.
func (l *lpConn) next() ([]byte, error) {
	deadline := time.Now().Add(waitTimeout)
	for len(l.queue) == 0 {
		if time.Now().After(deadline) {
			return nil, errors.New("no frame within the wait")
		}
		r, err := l.pollOnce()
		if err != nil {
			return nil, err
		}
		switch r.Status {
		case http.StatusOK:
			for _, m := range r.Messages {
				l.queue = append(l.queue, []byte(m))
			}
		case http.StatusNoContent:
		case http.StatusGone:
			return nil, errGone{r.Message}
		default:
			return nil, fmt.Errorf("poll answered %+v", r)
		}
	}
	b := l.queue[0]
	l.queue = l.queue[1:]
	return b, nil
}

// expectGone reads, discarding frames, until a poll answers 410, and
// checks why.
func (c *client) expectGone(reason string) {
	c.t.Helper()
	for {
		_, err := c.lp.next()
		if err == nil {
			continue
		}
		var g errGone
		if !errors.As(err, &g) || g.reason != reason {
			c.t.Fatalf("poll: %v, want the session gone for %q", err, reason)
		}
		return
	}
}

// lpSocket is the server's socket of a LongPoll client.
func (ts *testServer) lpSocket(c *client) *socket {
	s, _, _ := ts.srv.longPolls.get(c.lp.token, time.Now(), 0)
	return s
}

// polling reports whether a poll of c's session waits on the server.
func (ts *testServer) polling(c *client) bool {
	s := ts.lpSocket(c)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lp.waiter != nil
}

// pollAsync polls on another goroutine; the answer comes on the channel.
func (c *client) pollAsync() <-chan lpBody {
	done := make(chan lpBody, 1)
	go func() {
		r, err := c.lp.pollOnce()
		if err != nil {
			r.Status, r.Message = -1, err.Error()
		}
		done <- r
	}()
	return done
}

// await receives a poll's answer.
func await(t testing.TB, ch <-chan lpBody) lpBody {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitTimeout):
		t.Fatal("the poll was not answered")
		return lpBody{}
	}
}

// manualTimers is Config.afterFunc for tests that move LongPoll's time: a
// timer fires when advance passes its deadline, never by itself.
type manualTimers struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*manualTimer
}

type manualTimer struct {
	m       *manualTimers
	at      time.Duration
	f       func()
	stopped bool
}

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (m *manualTimers) afterFunc(d time.Duration, f func()) stopper {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{m: m, at: m.now + d, f: f}
	m.timers = append(m.timers, t)
	return t
}

// advance moves time on by d and runs the timers that came due, in order.
func (m *manualTimers) advance(d time.Duration) {
	m.mu.Lock()
	m.now += d
	var due []*manualTimer
	keep := m.timers[:0]
	for _, t := range m.timers {
		switch {
		case t.stopped:
		case t.at <= m.now:
			t.stopped = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	clear(m.timers[len(keep):])
	m.timers = keep
	m.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}
