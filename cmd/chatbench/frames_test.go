package main

import (
	"encoding/json"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		f    Frame
		wire string
	}{
		{"ok, join", Frame{JoinRef: "1", Ref: "1", Topic: "room:chat", Event: "phx_join"},
			`["1","1","room:chat","phx_join",{}]`},
		{"ok, heartbeat has a null join_ref", Frame{Ref: "5", Topic: "phoenix", Event: "heartbeat"},
			`[null,"5","phoenix","heartbeat",{}]`},
		{"ok, push has a null ref", Frame{JoinRef: "1", Topic: "room:chat", Event: "receive_msg", Payload: json.RawMessage(`{"message":{"id":41}}`)},
			`["1",null,"room:chat","receive_msg",{"message":{"id":41}}]`},
		{"ok, strings escaped", Frame{JoinRef: "a\"b", Ref: "c\\d", Topic: "t\n\x01", Event: "é"},
			`["a\"b","c\\d","t\n\u0001","é",{}]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(AppendFrame(nil, c.f))
			if got != c.wire {
				t.Fatalf("encoded %s, want %s", got, c.wire)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("not JSON: %s", got)
			}
			back, err := DecodeFrame([]byte(got))
			if err != nil {
				t.Fatal(err)
			}
			if c.f.Payload == nil {
				c.f.Payload = json.RawMessage(`{}`)
			}
			if back.JoinRef != c.f.JoinRef || back.Ref != c.f.Ref || back.Topic != c.f.Topic ||
				back.Event != c.f.Event || string(back.Payload) != string(c.f.Payload) {
				t.Fatalf("decoded %+v, want %+v", back, c.f)
			}
		})
	}
}

func TestDecodeFrame(t *testing.T) {
	ok := []struct {
		name, wire, joinRef, ref string
	}{
		{"ok, number refs kept as text", `[1,7,"room:chat","phx_reply",{"status":"ok","response":{}}]`, "1", "7"},
		{"ok, spaces", ` [ null , "3" , "phoenix" , "phx_reply" , {} ] `, "", "3"},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			f, err := DecodeFrame([]byte(c.wire))
			if err != nil || f.JoinRef != c.joinRef || f.Ref != c.ref {
				t.Fatalf("%+v, %v", f, err)
			}
		})
	}
	for _, wire := range []string{
		``, `{}`, `[]`, `["1","1","t","e"]`, `["1","1","t","e",{},6]`,
		`["1","1",null,"e",{}]`, `["1","1","t",5,{}]`, `[{},"1","t","e",{}]`, `["1",true,"t","e",{}]`,
		`["1","1","t","e",{}`,
	} {
		t.Run("nok, "+wire, func(t *testing.T) {
			if f, err := DecodeFrame([]byte(wire)); err == nil {
				t.Fatalf("decoded %+v", f)
			}
		})
	}
}

func TestReply(t *testing.T) {
	f, err := DecodeFrame([]byte(`["1","7","room:chat","phx_reply",{"status":"error","response":{"reason":"not found"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeReply(f.Payload)
	if err != nil || r.Status != "error" || r.Reason() != "not found" {
		t.Fatalf("%+v %v, reason %q", r, err, r.Reason())
	}
	if r := (Reply{Status: "ok"}); r.Reason() != "ok" {
		t.Fatalf("reason of ok %q", r.Reason())
	}
}

func TestSendMsgFrame(t *testing.T) {
	wire := appendSendMsg(nil, 3, 1234, 42, 7)
	f, err := DecodeFrame(wire)
	if err != nil {
		t.Fatalf("%s: %v", wire, err)
	}
	var p struct {
		User    int    `json:"user"`
		Conv    int    `json:"conv"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(f.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if f.JoinRef != "1" || f.Ref != "3.1234" || f.Topic != "room:chat" || f.Event != "send_msg" ||
		p.User != 42 || p.Conv != 7 || p.Message[:10] != "cb 3.1234 " {
		t.Fatalf("frame %+v payload %+v", f, p)
	}
}
