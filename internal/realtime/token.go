package realtime

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// phoenix.js >= 1.8's authToken option opens the socket with the
// subprotocols ["phoenix", "base64url.bearer.phx.<token in base64, no
// padding>"], which keeps the token out of URLs and so out of access logs,
// and expects "phoenix" back.
const (
	phoenixSubprotocol = "phoenix"
	authTokenPrefix    = "base64url.bearer.phx."
)

// subprotocols are the ones the server answers with when offered.
var subprotocols = []string{phoenixSubprotocol}

// errBadAuthToken is an authToken subprotocol whose token is not base64.
var errBadAuthToken = errors.New("realtime: authToken subprotocol is not base64")

// requestToken returns the token of an upgrade request: the authToken from
// Sec-WebSocket-Protocol if there is one, else ?token=; "" when neither.
func requestToken(r *http.Request) (string, error) {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			enc, ok := strings.CutPrefix(strings.TrimSpace(p), authTokenPrefix)
			if !ok {
				continue
			}
			// phoenix.js encodes with btoa, the standard alphabet; Phoenix
			// decodes the same way. A JWT's base64 has neither '+' nor '/',
			// so a client reading the prefix's "base64url" literally is
			// decoded too.
			enc = strings.TrimRight(enc, "=")
			tok, err := base64.RawStdEncoding.DecodeString(enc)
			if err != nil {
				if tok, err = base64.RawURLEncoding.DecodeString(enc); err != nil {
					return "", errBadAuthToken
				}
			}
			return string(tok), nil
		}
	}
	return r.URL.Query().Get("token"), nil
}
