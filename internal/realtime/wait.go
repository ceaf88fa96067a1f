//go:build unix

package realtime

import (
	"errors"
	"syscall"
)

// waitReadable blocks until the client has sent something, closed the
// connection or broken it, without reading: the frame is left to the
// library. It reports false once the connection is closed on this side.
// Parked here, serve's stack holds only this call and the runtime's wait.
func (s *socket) waitReadable() bool {
	if s.rc == nil {
		return true // nothing to wait on: readFrames waits in the library
	}
	return s.rc.Read(peekReadable) == nil
}

// peekReadable is called with the connection's descriptor until it returns
// true; on false the runtime parks the goroutine until the descriptor is
// readable. A peek that would block is the only reason to wait: data, end
// of stream and errors are all for the library's read to see. It peeks
// after a wake-up too, since the poller may report a readiness whose bytes
// the library has already read; trusting it would leave the next wait to
// the library, deep in a short-lived goroutine that then lives on.
func peekReadable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
	return !errors.Is(err, syscall.EAGAIN)
}
