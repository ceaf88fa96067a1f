package realtime

import (
	"bufio"
	"bytes"
	"errors"
	"io"
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

// batchReader reads a POST's body frame by frame, so that a POST holds
// one frame in memory, as a WebSocket's read does, not its whole body.
// phoenix.js ≥ 1.8 sends application/x-ndjson, one frame a line; older
// clients one frame as the whole body, under any other type. Blank lines
// are skipped. A line that is no JSON text is, to Phoenix, a binary frame
// in base64, which no channel here accepts (a WebSocket is closed for
// binary frames too).
type batchReader struct {
	r        *bufio.Reader
	buf      *bytes.Buffer
	maxFrame int64
	ndjson   bool
	n        int // frames read
	done     bool
}

func newBatchReader(body io.Reader, contentType string, maxFrame int64, buf *bytes.Buffer) *batchReader {
	mt, _, err := mime.ParseMediaType(contentType)
	return &batchReader{r: bufio.NewReaderSize(body, 4096), buf: buf, maxFrame: maxFrame, ndjson: err == nil && mt == "application/x-ndjson"}
}

// next returns the next frame, valid until the next call, or io.EOF after
// the last; any other error refuses the body from there on.
func (b *batchReader) next() ([]byte, error) {
	if b.done {
		return nil, io.EOF
	}
	if !b.ndjson {
		b.done = true
		b.buf.Reset()
		if _, err := b.buf.ReadFrom(io.LimitReader(b.r, b.maxFrame+1)); err != nil {
			return nil, err
		}
		if int64(b.buf.Len()) > b.maxFrame {
			return nil, errBatchTooLarge
		}
		return b.buf.Bytes(), nil
	}
	for {
		line, err := b.line()
		if err != nil {
			if err == io.EOF && b.n == 0 {
				return nil, errBatchMalformed
			}
			return nil, err
		}
		switch {
		case len(line) == 0:
			continue
		case b.n == maxBatch:
			return nil, errBatchTooLong
		case line[0] != '[' && line[0] != '{':
			return nil, errBatchBinary
		}
		b.n++
		return line, nil
	}
}

// line reads one line without its "\n" or "\r\n"; io.EOF when the body
// has no more bytes.
func (b *batchReader) line() ([]byte, error) {
	b.buf.Reset()
	for {
		chunk, err := b.r.ReadSlice('\n')
		b.buf.Write(chunk)
		if int64(b.buf.Len()) > b.maxFrame+2 {
			return nil, errBatchTooLarge
		}
		switch {
		case err == nil:
			line := bytes.TrimSuffix(bytes.TrimSuffix(b.buf.Bytes(), []byte{'\n'}), []byte{'\r'})
			return b.checkLen(line)
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && b.buf.Len() > 0:
			b.done = true
			return b.checkLen(bytes.TrimSuffix(b.buf.Bytes(), []byte{'\r'}))
		default:
			return nil, err
		}
	}
}

func (b *batchReader) checkLen(line []byte) ([]byte, error) {
	if int64(len(line)) > b.maxFrame {
		return nil, errBatchTooLarge
	}
	return line, nil
}

// splitBatch reads every frame of body at once (tests).
func splitBatch(body []byte, contentType string, maxFrame int64) ([][]byte, error) {
	b := newBatchReader(bytes.NewReader(body), contentType, maxFrame, new(bytes.Buffer))
	var frames [][]byte
	for {
		f, err := b.next()
		if err == io.EOF {
			return frames, nil
		}
		if err != nil {
			return nil, err
		}
		frames = append(frames, bytes.Clone(f))
	}
}
