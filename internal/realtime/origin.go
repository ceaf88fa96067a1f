package realtime

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// originPolicy decides which browser pages may open a socket. A WebSocket is
// not covered by CORS, so without this check any page could use a visitor's
// token (cross-site WebSocket hijacking).
type originPolicy struct {
	any     bool
	allowed map[string]struct{} // normalised "scheme://host[:port]"
}

func newOriginPolicy(allowed []string, anyOrigin bool) (originPolicy, error) {
	p := originPolicy{any: anyOrigin, allowed: make(map[string]struct{}, len(allowed))}
	for _, o := range allowed {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return p, fmt.Errorf("realtime: AllowedOrigins entry %q is not an origin like https://app.example.com", o)
		}
		p.allowed[normaliseOrigin(o)] = struct{}{}
	}
	return p, nil
}

// allow reports whether r's Origin may connect: no Origin (not a browser),
// any origin when configured, the request's own host, or a listed origin.
func (p originPolicy) allow(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || p.any {
		return true
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	_, ok := p.allowed[normaliseOrigin(origin)]
	return ok
}

func normaliseOrigin(o string) string { return strings.ToLower(strings.TrimSuffix(o, "/")) }
