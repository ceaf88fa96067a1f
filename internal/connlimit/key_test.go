package connlimit

import (
	"net"
	"testing"
)

// TestAddrKey: IPv4 addresses count one by one; IPv6 ones by their /64.
func TestAddrKey(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
	} {
		if same := AddrKey(net.ParseIP(c.a)) == AddrKey(net.ParseIP(c.b)); same != c.same {
			t.Errorf("%s and %s share a key: %v, want %v", c.a, c.b, same, c.same)
		}
	}
}
