package realtime

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// checkHandshake refuses, before websocket.Accept sees it, every request
// that Accept would refuse. It exists because the library answers those
// with text/plain and its own wording, where the endpoint's contract
// (api/channels.md) is JSON with these messages; it repeats the library's
// checks, which TestHandshakeChecksMatchLibrary holds to the library's. It
// returns 0 for a valid WebSocket handshake, or the status and message to
// answer with, having set the headers that go with them. The method is
// checked first thing in ServeHTTP.
func checkHandshake(w http.ResponseWriter, r *http.Request) (status int, msg string) {
	if !r.ProtoAtLeast(1, 1) ||
		!headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Upgrade", "websocket") {
		// A plain GET: a browser tab, curl, a proxy that dropped the
		// hop-by-hop headers. RFC 9110 requires Upgrade on a 426.
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		return http.StatusUpgradeRequired, "websocket upgrade required"
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return http.StatusBadRequest, "unsupported websocket version"
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return http.StatusBadRequest, "invalid websocket key"
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return http.StatusBadRequest, "invalid websocket key"
	}
	if _, ok := w.(http.Hijacker); !ok {
		// HTTP/2 and HTTP/3 connections cannot be taken over.
		return http.StatusNotImplemented, "websocket upgrade not supported on this connection"
	}
	return 0, ""
}

// headerHasToken reports whether a comma-separated header lists token,
// ignoring case, as websocket.Accept checks it (its helper is unexported).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
