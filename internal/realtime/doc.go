// Package realtime serves the Phoenix Channels protocol over WebSocket,
// and over Phoenix's LongPoll transport where WebSockets are blocked, so
// that the seed app's clients (phoenix.js and its ports) keep working
// against the Go server. The wire contract is api/channels.md.
//
// One socket costs as little as github.com/coder/websocket allows: one
// goroutine on a 2 KiB stack waits for the client, a short-lived one reads
// and handles what arrived, in order, and a writer goroutine exists only
// while the socket has frames queued. Pushes are encoded once per message
// and shared by every target socket; only the join_ref is spliced in per
// socket.
//
// Files, one concern each:
//
//	config.go    Config, the Authenticator (Session) and Sender it depends on
//	server.go    Server: the checks of a new socket (admit), upgrade (ServeHTTP), Shutdown
//	token.go     the token of an upgrade: phoenix.js's authToken or ?token=
//	handshake.go JSON refusals of requests that are no WebSocket handshake
//	origin.go    which browser origins may open a socket
//	hijack.go    smaller buffers for hijacked connections
//	wait.go      an idle socket's wait for its client, on a small stack
//	frame.go     the V1 and V2 JSON serializers
//	socket.go    one connection: reading frames, lifecycle, close codes, expiry
//	longpoll.go  the LongPoll endpoint: sessions opened, polled and posted to
//	longpoll_session.go  a LongPoll session: a socket fed by POSTs, drained by polls
//	longpoll_batch.go    a POST's body into frames
//	outbound.go  the bounded outbound queue and its on-demand writer
//	router.go    Phoenix's socket-level events: heartbeat, join, leave
//	roomchat.go  the seed's "room:chat" channel
//	errors.go    errors to phx_reply error responses and connect refusals
//	hub.go       user id -> joined channels and live sockets, sharded
//	broker.go    the Broker interface, Envelope and the in-process broker
//	publish.go   chat.Publisher: PublishMessage and delivery to sockets
//	session.go   token expiry and DisconnectToken
//	metrics.go   what sockets tell the metrics and the log: counts, closes
package realtime
