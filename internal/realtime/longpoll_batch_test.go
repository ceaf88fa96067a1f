package realtime

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestSplitBatch: a POST's body is its frames, a line each under
// application/x-ndjson (blank lines and "\r\n" tolerated), else one frame;
// each bound and fault is its own error.
func TestSplitBatch(t *testing.T) {
	hb := `[null,"1","phoenix","heartbeat",{}]`
	for _, c := range []struct {
		name, body, contentType string
		want                    []string
		err                     error
	}{
		{"ok, ndjson", hb + "\n" + hb, "application/x-ndjson", []string{hb, hb}, nil},
		{"ok, CRLF and blank lines", "\r\n" + hb + "\r\n\n" + hb + "\n", "application/x-ndjson; charset=utf-8", []string{hb, hb}, nil},
		{"ok, V1 objects", `{"topic":"phoenix"}` + "\n", "application/x-ndjson", []string{`{"topic":"phoenix"}`}, nil},
		{"ok, one frame", "[1,\n2]", "text/plain", []string{"[1,\n2]"}, nil},
		{"ok, no type", hb, "", []string{hb}, nil},
		{"ok, the most frames", strings.Repeat(hb+"\n", maxBatch), "application/x-ndjson", slices.Repeat([]string{hb}, maxBatch), nil},
		{"nok, too many frames", strings.Repeat(hb+"\n", maxBatch+1), "application/x-ndjson", nil, errBatchTooLong},
		{"nok, a frame too large", hb + "\n" + strings.Repeat("[", 65), "application/x-ndjson", nil, errBatchTooLarge},
		{"nok, one frame too large", strings.Repeat("[", 65), "text/plain", nil, errBatchTooLarge},
		{"nok, base64", hb + "\nAAEC", "application/x-ndjson", nil, errBatchBinary},
		{"nok, nothing", "\n \n", "application/x-ndjson", nil, errBatchBinary},
		{"nok, empty", "", "application/x-ndjson", nil, errBatchMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			frames, err := splitBatch([]byte(c.body), c.contentType, 64)
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			var got []string
			for _, f := range frames {
				got = append(got, string(f))
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("frames %q, want %q", got, c.want)
			}
		})
	}
}

// FuzzSplitBatch: any body splits without panicking, into frames within
// the bounds, or is refused.
func FuzzSplitBatch(f *testing.F) {
	f.Add([]byte("[1]\n{}\r\n\n[2]"), true)
	f.Add([]byte("x"), false)
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		ct := "text/plain"
		if ndjson {
			ct = "application/x-ndjson; charset=utf-8"
		}
		frames, err := splitBatch(body, ct, 64)
		if err != nil {
			return
		}
		if len(frames) == 0 || len(frames) > maxBatch {
			t.Fatalf("%d frames", len(frames))
		}
		for _, fr := range frames {
			if len(fr) > 64 {
				t.Fatalf("frame of %d bytes", len(fr))
			}
		}
	})
}
