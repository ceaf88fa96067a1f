package realtime

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/coder/websocket"

	"github.com/companyapi/companyapi/internal/chat"
)

// The headers of Phoenix's LongPoll transport: phoenix.js ≥ 1.8 sends its
// authToken in the first, and phoenix.js ≥ 1.9 the session's token in the
// second (1.8 appends it to the URL as ?token=).
const (
	headerAuthToken     = "X-Phoenix-AuthToken"
	headerLongPollToken = "X-Phoenix-Longpoll-Token"
)

// LongPoll returns the handler of "/socket/longpoll", Phoenix's LongPoll
// transport as phoenix.js speaks it (assets/js/phoenix/longpoll.js), for
// clients whose WebSockets are blocked: the same channels, tokens, limits
// and closes as ServeHTTP's sockets, each session being one of them.
//
//   - GET without a session token opens a session: {"status": 410,
//     "token": T, "messages": []}; refusals are 403 (the token, origin or
//     serializer) or 500 (retry later), with {"message"} saying why.
//   - GET with T polls: {"status": 200, "token": T, "messages": [frame,
//     ...]} as soon as frames are queued, {"status": 204, ...} after
//     LongPollWindow without any, {"status": 410, "message"} once the
//     session has ended or on a node that does not know it.
//   - POST with T carries frames, one per line (application/x-ndjson):
//     {"status": 200} once they are handled.
//
// Every answer is HTTP 200 with the status in the body, as Phoenix
// answers: phoenix.js reads only the body, and a proxy does not replace a
// 200's body with an error page of its own.
func (srv *Server) LongPoll() http.Handler { return longPollHandler{srv} }

type longPollHandler struct{ srv *Server }

func (h longPollHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	srv := h.srv
	// With the token in a header the URL is the same for every session:
	// no cache may keep or share an answer.
	w.Header().Set("Cache-Control", "no-store")
	if !srv.origins.allow(r) {
		writeLongPoll(w, lpAnswer{status: http.StatusForbidden, message: "origin not allowed"})
		return
	}
	if o := r.Header.Get("Origin"); o != "" {
		// XMLHttpRequest and fetch obey CORS, unlike a WebSocket: an origin
		// the socket allows gets the headers that let its page read this.
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Add("Vary", "Origin")
	}
	switch r.Method {
	case http.MethodGet:
		if token, ok := sessionToken(r); ok {
			h.poll(w, r, token)
		} else {
			h.open(w, r)
		}
	case http.MethodPost:
		h.post(w, r)
	case http.MethodOptions:
		w.Header().Set("Allow", "OPTIONS, GET, POST")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
		w.Header().Set("Access-Control-Allow-Headers", "Accept, Content-Type, "+headerAuthToken+", "+headerLongPollToken)
		w.Header().Set("Access-Control-Max-Age", "3600")
		w.WriteHeader(http.StatusNoContent)
	default:
		// As Echo's router answers in front of this handler.
		w.Header().Set("Allow", "OPTIONS, GET, POST")
		writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// open starts a session after the checks a WebSocket's connect passes.
func (h longPollHandler) open(w http.ResponseWriter, r *http.Request) {
	srv := h.srv
	if !srv.enter() {
		writeLongPoll(w, lpAnswer{status: http.StatusInternalServerError, message: chat.KindUnavailable.String()})
		return
	}
	defer srv.wg.Done()
	c, status, word := srv.admit(r, longPollAuthToken(r), nil)
	if status != 0 {
		// phoenix.js's LongPoll knows 403 (refused) and 500 (retry), and
		// stalls on any other status: a full cap (WebSocket: 429) and a
		// token that could not be checked (503) are retried.
		if status != http.StatusForbidden {
			status = http.StatusInternalServerError
		}
		writeLongPoll(w, lpAnswer{status: status, message: word})
		return
	}
	defer c.release()
	client := clientOf(r)
	if !srv.longPolls.reserve(client, srv.cfg.MaxLongPollsPerClient) {
		writeLongPoll(w, lpAnswer{status: http.StatusInternalServerError, message: wordTooManyConns})
		return
	}
	s := srv.newSocket(c)
	lp := newLongPoll(s, client)
	srv.longPolls.add(s)
	srv.start(s, c.sess, lp.serve)
	if closed, why := s.closingReason(); closed {
		// Shutdown began, or the token was logged out, while it opened.
		if why == closeShutdown {
			writeLongPoll(w, lpAnswer{status: http.StatusInternalServerError, message: chat.KindUnavailable.String()})
		} else {
			writeLongPoll(w, lpAnswer{status: http.StatusForbidden, message: wordTokenRevoked})
		}
		return
	}
	// 410 with a token is how Phoenix opens a session; phoenix.js is then
	// connected, and polls with the token.
	writeLongPoll(w, lpAnswer{status: http.StatusGone, token: lp.token, withMessages: true})
}

// poll answers a GET on a session.
func (h longPollHandler) poll(w http.ResponseWriter, r *http.Request, token string) {
	s := h.srv.session(w, token)
	if s == nil {
		return
	}
	a := s.lp.poll(r.Context())
	if a.status == http.StatusGone {
		writeLongPoll(w, lpAnswer{status: a.status, message: goneReason(a.reason)})
		return
	}
	for range a.frames {
		h.srv.cfg.Metrics.FrameOut()
	}
	writeLongPoll(w, lpAnswer{status: a.status, token: token, withMessages: true, frames: a.frames})
}

// post hands a POST's frames to its session.
func (h longPollHandler) post(w http.ResponseWriter, r *http.Request) {
	srv := h.srv
	token, _ := sessionToken(r)
	s := srv.session(w, token)
	if s == nil {
		return
	}
	// Before the body is read: concurrent POSTs on one session would
	// each hold up to maxBatchBody in memory.
	if !s.lp.posting.CompareAndSwap(false, true) {
		writeLongPoll(w, lpAnswer{status: http.StatusConflict, message: wordPostUnderWay})
		return
	}
	defer s.lp.posting.Store(false)
	buf := getReadBuffer()
	defer putReadBuffer(buf)
	batch := newBatchReader(http.MaxBytesReader(w, r.Body, maxBatchBody(srv.cfg.MaxFrame)), r.Header.Get("Content-Type"), srv.cfg.MaxFrame, buf)
	closed, why, err := s.lp.publish(batch.next)
	var tooLarge *http.MaxBytesError
	switch {
	case closed:
		// The session ended before the body did: its end is the answer.
	case errors.As(err, &tooLarge) || errors.Is(err, errBatchTooLarge):
		s.closeWith(websocket.StatusMessageTooBig, closeTooLarge)
		writeLongPoll(w, lpAnswer{status: http.StatusRequestEntityTooLarge, message: closeTooLarge})
		return
	case errors.Is(err, errBatchBinary):
		s.closeWith(websocket.StatusUnsupportedData, closeBinary)
		writeLongPoll(w, lpAnswer{status: http.StatusBadRequest, message: closeBinary})
		return
	case errors.Is(err, errBatchTooLong) || errors.Is(err, errBatchMalformed):
		s.closeWith(websocket.StatusInvalidFramePayloadData, closeInvalidFrame)
		writeLongPoll(w, lpAnswer{status: http.StatusBadRequest, message: err.Error()})
		return
	case err != nil:
		// The client went away mid-body, or sent it too slowly.
		writeLongPoll(w, lpAnswer{status: http.StatusBadRequest, message: wordUnreadableBody})
		return
	}
	switch {
	case !closed:
		writeLongPoll(w, lpAnswer{status: http.StatusOK})
	case why == closeInvalidFrame:
		writeLongPoll(w, lpAnswer{status: http.StatusBadRequest, message: why})
	case why == closeInternal:
		writeLongPoll(w, lpAnswer{status: http.StatusInternalServerError, message: why})
	default:
		writeLongPoll(w, lpAnswer{status: http.StatusGone, message: goneReason(why)})
	}
}

// session finds the live session token names, or answers 410: why it
// ended, if lately, else that it is unknown here.
func (srv *Server) session(w http.ResponseWriter, token string) *socket {
	s, ended, why := srv.longPolls.get(token, srv.cfg.now(), srv.cfg.LongPollWindow)
	switch {
	case s != nil:
		return s
	case ended:
		writeLongPoll(w, lpAnswer{status: http.StatusGone, message: goneReason(why)})
	default:
		writeLongPoll(w, lpAnswer{status: http.StatusGone, message: wordUnknownSession})
	}
	return nil
}

// wordUnknownSession answers a session token this node does not hold: the
// session ended more than a window ago, lives on another node, or never
// existed.
const wordUnknownSession = "unknown session"

// wordPostUnderWay refuses a POST on a session that is reading or
// handling another: phoenix.js waits for a batch's answer before sending
// the next, so only another client does this.
const wordPostUnderWay = "conflict"

// wordUnreadableBody answers a POST whose body could not be read to its
// end: errors.md's word for it.
const wordUnreadableBody = "invalid json"

// goneReason is the message of a 410 for a session that ended with reason
// ("": its client went away).
func goneReason(reason string) string {
	if reason == "" {
		return "closed"
	}
	return reason
}

// sessionToken is the session a request names: the X-Phoenix-Longpoll-Token
// header, or the last ?token= that is a session token. phoenix.js 1.8
// appends it to the socket's URL, whose params may carry a token=<JWT> of
// their own.
func sessionToken(r *http.Request) (string, bool) {
	if t := r.Header.Get(headerLongPollToken); t != "" {
		return t, true
	}
	q := r.URL.Query()["token"]
	for i := len(q) - 1; i >= 0; i-- {
		if isSessionToken(q[i]) {
			return q[i], true
		}
	}
	return "", false
}

// longPollAuthToken is the token a session opens with: phoenix.js's
// authToken from X-Phoenix-AuthToken, else ?token= (params: {token}).
func longPollAuthToken(r *http.Request) string {
	if t := r.Header.Get(headerAuthToken); t != "" {
		return t
	}
	for _, t := range r.URL.Query()["token"] {
		if !isSessionToken(t) {
			return t
		}
	}
	return ""
}

// lpAnswer is the JSON body of every LongPoll answer:
// {"status", "token", "messages"} as Phoenix writes it, and "message"
// saying why, in the WebSocket's words, when it is refused or gone.
type lpAnswer struct {
	status       int
	token        string
	withMessages bool
	frames       []outFrame
	message      string
}

// writeLongPoll writes a as HTTP 200. The frames are JSON strings, each
// one text message, as a WebSocket would carry it.
func writeLongPoll(w http.ResponseWriter, a lpAnswer) {
	b := make([]byte, 0, 64)
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(a.status), 10)
	if a.token != "" {
		b = append(b, `,"token":`...)
		b = appendQuoted(b, a.token)
	}
	if a.withMessages {
		b = append(b, `,"messages":[`...)
		var msg []byte
		for i, f := range a.frames {
			if i > 0 {
				b = append(b, ',')
			}
			msg = append(append(append(msg[:0], f.head...), f.joinRef...), f.tail...)
			b = appendQuoted(b, string(msg))
		}
		b = append(b, ']')
	}
	if a.message != "" {
		b = append(b, `,"message":`...)
		b = appendQuoted(b, a.message)
	}
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
