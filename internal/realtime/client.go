package realtime

import (
	"net"
	"net/http"

	"github.com/companyapi/companyapi/internal/connlimit"
)

// clientOf is what r's client is counted by: the address the HTTP layer
// named (connlimit.WithClient), or else the peer's.
func clientOf(r *http.Request) string {
	if k, ok := connlimit.Client(r.Context()); ok {
		return k
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil {
		return connlimit.AddrKey(ip)
	}
	return host
}
