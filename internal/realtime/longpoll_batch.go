package realtime

import (
	"bytes"
	"errors"
	"mime"
)

// maxBatch is phoenix.js's MAX_LONGPOLL_BATCH_SIZE: the most frames one
// POST carries.
const maxBatch = 100

// maxBatchBody bounds a POST's body: maxBatch frames of the WebSocket's
// largest, each with its line break ("\r\n" at most).
func maxBatchBody(maxFrame int64) int64 { return maxBatch * (maxFrame + 2) }

// Why a POST's body is refused; each closes the session, as the same
// frame would close a WebSocket.
var (
	errBatchTooLarge  = errors.New(closeTooLarge)
	errBatchTooLong   = errors.New("too many frames")
	errBatchBinary    = errors.New(closeBinary)
	errBatchMalformed = errors.New(closeInvalidFrame)
)

// splitBatch splits a POST's body into its frames. phoenix.js ≥ 1.8 sends
// application/x-ndjson, one frame a line; older clients one frame as the
// whole body, under any other type. Blank lines are skipped. A line that
// is no JSON text is, to Phoenix, a binary frame in base64, which no
// channel here accepts (a WebSocket is closed for binary frames too). The
// frames alias body.
func splitBatch(body []byte, contentType string, maxFrame int64) ([][]byte, error) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/x-ndjson" {
		if int64(len(body)) > maxFrame {
			return nil, errBatchTooLarge
		}
		return [][]byte{body}, nil
	}
	var frames [][]byte
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		switch {
		case len(line) == 0:
			continue
		case int64(len(line)) > maxFrame:
			return nil, errBatchTooLarge
		case len(frames) == maxBatch:
			return nil, errBatchTooLong
		case line[0] != '[' && line[0] != '{':
			return nil, errBatchBinary
		}
		frames = append(frames, line)
	}
	if len(frames) == 0 {
		return nil, errBatchMalformed
	}
	return frames, nil
}
