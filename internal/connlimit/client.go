package connlimit

import (
	"context"
	"net"
)

type clientKey struct{}

// WithClient names the client address a request comes from, as the HTTP
// layer tells it (behind trusted proxies, from X-Forwarded-For), for caps
// that count requests rather than connections.
func WithClient(ctx context.Context, ip net.IP) context.Context {
	return context.WithValue(ctx, clientKey{}, AddrKey(ip))
}

// Client is the key of the address WithClient named, if it did.
func Client(ctx context.Context) (string, bool) {
	k, ok := ctx.Value(clientKey{}).(string)
	return k, ok
}
