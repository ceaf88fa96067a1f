//go:build !unix

package realtime

// waitReadable does not wait where there is no MSG_PEEK: readFrames then
// waits in the library, on a second goroutine.
func (s *socket) waitReadable() bool { return true }
