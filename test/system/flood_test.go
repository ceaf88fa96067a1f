package system

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companyapi/companyapi/internal/storetest"
)

// slowBodies opens total connections from 127.0.0.2, at most parallel at a
// time, each a POST whose body dribbles in one byte every 3 s, until ctx
// ends. It counts the connections the server refused at once (429) and
// the ones it held.
func slowBodies(ctx context.Context, addr string, total, parallel int) (refused, held *atomic.Int64) {
	refused, held = &atomic.Int64{}, &atomic.Int64{}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	sem := make(chan struct{}, parallel)
	go func() {
		var wg sync.WaitGroup
		defer wg.Wait()
		for range total {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer func() { <-sem }()
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = c.Write([]byte("POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"))
				// A refused connection answers at once; a held one waits.
				_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				if res, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
					res.Body.Close()
					if res.StatusCode == http.StatusTooManyRequests {
						refused.Add(1)
					}
					return
				}
				held.Add(1)
				for {
					select {
					case <-ctx.Done():
						return
					case <-time.After(3 * time.Second):
					}
					if _, err := c.Write([]byte(" ")); err != nil {
						return // the server gave up on the body
					}
				}
			})
		}
	}()
	return refused, held
}

// TestSlowBodyFlood: 20 000 connections from one address, 5 000 at a time,
// dribble request bodies at a node limited to 4 096 file descriptors.
// Before, such a flood took every descriptor of the process, and /healthz
// and login timed out for everyone (MAX_CONNS_PER_IP=0 shows it). Now the
// address's connections are capped and bodies have a read deadline: logins
// and sends from other clients answer as before.
func TestSlowBodyFlood(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	w := newWorld(t, dbURL)
	env := baseEnv(dbURL)
	// The node gets 4 096 file descriptors, fewer than the flood holds at
	// once, so that a flood without the cap would take them all.
	env["NOFILE"] = "4096"
	n := startNode(t, "a", env)
	_, emails := w.users(1)
	// Each login comes on a new connection, as a new client's would.
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	body := `{"creds":{"email":"` + emails[0] + `","password":"` + password + `"}}`
	login := func() (time.Duration, int) {
		start := time.Now()
		res, err := fresh.Post(n.url("/api/login"), "application/json", strings.NewReader(body))
		if err != nil {
			return time.Since(start), -1
		}
		res.Body.Close()
		return time.Since(start), res.StatusCode
	}
	measure := func(l *load, d time.Duration) (p99send, maxLogin time.Duration, failed int) {
		_, _, _, _, _, lat0 := l.totals()
		for end := time.Now().Add(d); time.Now().Before(end); {
			took, status := login()
			maxLogin = max(maxLogin, took)
			if status != 200 {
				failed++
			}
		}
		_, _, _, _, _, lat := l.totals()
		return p99(lat[len(lat0):]), maxLogin, failed
	}
	l := startLoad(t, w, []*node{n}, 4)
	sendBefore, loginBefore, failedBefore := measure(l, 3*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	refused, held := slowBodies(ctx, n.addr, 20000, 5000)
	time.Sleep(5 * time.Second) // the flood builds up
	sendDuring, loginDuring, failedDuring := measure(l, 5*time.Second)
	healthy, err := 0, error(nil)
	if res, herr := fresh.Get(n.url("/healthz")); herr == nil {
		healthy = res.StatusCode
		res.Body.Close()
	} else {
		err = herr
	}
	cancel()
	l.halt()
	_, unavailable, noReply, closed, _, _ := l.totals()
	t.Logf("FIGURE slow-body flood from one address: %d connections refused at once, %d held; send p99 %v before, %v during; slowest login %v before, %v during",
		refused.Load(), held.Load(), sendBefore.Round(100*time.Microsecond), sendDuring.Round(100*time.Microsecond),
		loginBefore.Round(time.Millisecond), loginDuring.Round(time.Millisecond))
	if failedBefore+failedDuring > 0 || healthy != 200 || err != nil {
		t.Errorf("logins failed: %d before, %d during; /healthz %d %v", failedBefore, failedDuring, healthy, err)
	}
	if unavailable+noReply+closed > 0 {
		t.Errorf("sends: %d unavailable, %d unanswered, %d cut", unavailable, noReply, closed)
	}
	if refused.Load() == 0 {
		t.Error("no flood connection was refused")
	}
	l.checkStored(t, w)
}
