package realtime

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		name string
		v    vsn
		in   string
		want frame
		ok   bool
	}{
		{"ok, V2 join", vsn2, `["1","1","room:chat","phx_join",{}]`,
			frame{`"1"`, `"1"`, "room:chat", "phx_join", json.RawMessage(`{}`)}, true},
		{"ok, V2 heartbeat with null join_ref", vsn2, `[null,"5","phoenix","heartbeat",{}]`,
			frame{"null", `"5"`, "phoenix", "heartbeat", json.RawMessage(`{}`)}, true},
		{"ok, V2 numeric refs and spaces", vsn2, ` [ 1 , -2.5e3 , "a" , "b" , [1] ] `,
			frame{"1", "-2.5e3", "a", "b", json.RawMessage(`[1]`)}, true},
		{"ok, V2 escaped ref is normalised", vsn2, `["\u0031","1","a","b",null]`,
			frame{`"1"`, `"1"`, "a", "b", json.RawMessage(`null`)}, true},
		{"ok, V1 without join_ref", vsn1, `{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"3"}`,
			frame{"null", `"3"`, "phoenix", "heartbeat", json.RawMessage(`{}`)}, true},
		{"ok, V1 full", vsn1, `{"join_ref":"1","ref":"2","topic":"room:chat","event":"send_msg","payload":{"a":1}}`,
			frame{`"1"`, `"2"`, "room:chat", "send_msg", json.RawMessage(`{"a":1}`)}, true},
		{"nok, V2 four elements", vsn2, `["1","1","room:chat","phx_join"]`, frame{}, false},
		{"nok, V2 six elements", vsn2, `["1","1","room:chat","phx_join",{},1]`, frame{}, false},
		{"nok, V2 null", vsn2, `null`, frame{}, false},
		{"nok, V2 bool ref", vsn2, `[true,"1","a","b",{}]`, frame{}, false},
		{"nok, V2 object ref", vsn2, `[{},"1","a","b",{}]`, frame{}, false},
		{"nok, V2 numeric topic", vsn2, `["1","1",1,"b",{}]`, frame{}, false},
		{"nok, V2 null event", vsn2, `["1","1","a",null,{}]`, frame{}, false},
		{"nok, V2 trailing garbage", vsn2, `["1","1","a","b",{}]x`, frame{}, false},
		{"nok, V1 missing payload", vsn1, `{"topic":"a","event":"b","ref":"1"}`, frame{}, false},
		{"nok, V1 missing ref", vsn1, `{"topic":"a","event":"b","payload":{}}`, frame{}, false},
		{"nok, V1 wrong-case key", vsn1, `{"Topic":"a","event":"b","payload":{},"ref":null}`, frame{}, false},
		{"nok, V1 array", vsn1, `["1","1","a","b",{}]`, frame{}, false},
		{"nok, invalid UTF-8", vsn2, "[null,\"1\",\"\xff\",\"b\",{}]", frame{}, false},
		{"nok, empty", vsn1, ``, frame{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeFrame(tt.v, []byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok = %v", err, tt.ok)
			}
			if tt.ok && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestPushParts: splicing a join_ref between head and tail gives exactly
// the frame appendFrame writes, in both serializers.
func TestPushParts(t *testing.T) {
	payload := []byte(`{"message":{"id":1}}`)
	for _, v := range []vsn{vsn1, vsn2} {
		for _, jr := range []string{`"1"`, "null", "42"} {
			head, tail := pushParts(v, "room:chat", "receive_msg", payload)
			got := append(append(append([]byte{}, head...), jr...), tail...)
			want := appendFrame(nil, v, &frame{joinRef: jr, ref: "null", topic: "room:chat", event: "receive_msg", payload: payload})
			if !bytes.Equal(got, want) {
				t.Errorf("vsn %d join_ref %s: spliced %s, want %s", v, jr, got, want)
			}
		}
	}
}

// TestAppendQuoted: our JSON strings decode to what was encoded.
func TestAppendQuoted(t *testing.T) {
	for _, s := range []string{"", "room:chat", `"quoted" \ back`, "tab\tnl\ncr\r\x00\x1f", "é ü 😀 \u2028", "bad \xff utf8", "<&>"} {
		var got string
		b := appendQuoted(nil, s)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q encoded as %s: %v", s, b, err)
			continue
		}
		want := string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
		if got != want {
			t.Errorf("%q round-tripped to %q", s, got)
		}
	}
}

func TestParseVsn(t *testing.T) {
	tests := []struct {
		in   string
		want vsn
		ok   bool
	}{
		{"", vsn1, true}, {"1.0.0", vsn1, true}, {"2.0.0", vsn2, true}, {"2.0.1", vsn2, true},
		{"2.1.0", 0, false}, {"3.0.0", 0, false}, {"2", 0, false},
	}
	for _, tt := range tests {
		if got, ok := parseVsn(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("parseVsn(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzDecodeFrame: no input panics the decoder, and whatever decodes
// re-encodes to a frame that decodes to the same value and the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte(`["1","1","room:chat","phx_join",{}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []vsn{vsn1, vsn2} {
			fr, err := decodeFrame(v, data)
			if err != nil {
				continue
			}
			enc := appendFrame(nil, v, &fr)
			if !json.Valid(enc) {
				t.Fatalf("vsn %d: %q encoded as invalid JSON %q", v, data, enc)
			}
			again, err := decodeFrame(v, enc)
			if err != nil {
				t.Fatalf("vsn %d: re-encoded %q does not decode: %v", v, enc, err)
			}
			if !reflect.DeepEqual(fr, again) {
				t.Fatalf("vsn %d: %+v re-decoded as %+v", v, fr, again)
			}
			if enc2 := appendFrame(nil, v, &again); !bytes.Equal(enc, enc2) {
				t.Fatalf("vsn %d: encodings differ: %q vs %q", v, enc, enc2)
			}
		}
	})
}
