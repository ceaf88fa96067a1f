package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func postMsg(v *env, from user, conv int, content any) response {
	return v.do("POST", fmt.Sprintf("/api/conversations/%d/messages", conv), map[string]any{"message": map[string]any{"content": content}}, from.Token)
}

type page struct {
	ids    []int
	before any
	after  any
}

func history(t *testing.T, v *env, who user, conv int, q string) page {
	t.Helper()
	body := v.do("GET", fmt.Sprintf("/api/conversations/%d/messages%s", conv, q), nil, who.Token).expect(t, 200).JSON(t)
	var p page
	for _, m := range body["data"].([]any) {
		p.ids = append(p.ids, int(m.(map[string]any)["id"].(float64)))
	}
	paging := body["paging"].(map[string]any)
	p.before, p.after = paging["before"], paging["after"]
	return p
}

func num(x any) int {
	f, _ := x.(float64)
	return int(f)
}

func TestMessages(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		a, b, c := v.register("ann"), v.register("bob"), v.register("cid")
		conv, _ := openConv(t, v, a, b.ID)
		other, _ := openConv(t, v, a, c.ID)
		t.Run("ok, message JSON", func(t *testing.T) {
			before := time.Now().UTC().Add(-time.Second)
			d := postMsg(v, a, conv, "Hi! This is message").expect(t, 201).JSON(t)["data"].(map[string]any)
			if d["content"] != "Hi! This is message" || num(d["sender_id"]) != a.ID || num(d["conversation_id"]) != conv || len(d) != 5 {
				t.Fatalf("message %v", d)
			}
			date, err := time.Parse(time.RFC3339, d["date"].(string))
			if err != nil || !strings.HasSuffix(d["date"].(string), "Z") || date.Before(before) {
				t.Fatalf("date %v (%v)", d["date"], err)
			}
		})
		t.Run("nok, content rules", func(t *testing.T) {
			assertErrors(t, postMsg(v, a, conv, "  ").expect(t, 422), "content", "can't be blank")
			assertErrors(t, postMsg(v, a, conv, nil).expect(t, 422), "content", "can't be blank")
			assertErrors(t, postMsg(v, a, conv, strings.Repeat("é", 4001)).expect(t, 422), "content", "should be at most 4000 character(s)")
			assertErrors(t, postMsg(v, a, conv, 42).expect(t, 422), "content", "is invalid")
			assertErrors(t, postMsg(v, a, conv, "a\u0000b").expect(t, 422), "content", "is invalid")
			postMsg(v, a, conv, strings.Repeat("é", 4000)).expect(t, 201)
		})
		t.Run("nok, a third user sees nothing", func(t *testing.T) {
			postMsg(v, c, conv, "intruder").expect(t, 404)
			v.do("GET", fmt.Sprintf("/api/conversations/%d/messages", conv), nil, c.Token).expect(t, 404)
			v.do("GET", fmt.Sprintf("/api/conversations/%d", conv), nil, c.Token).expect(t, 404)
			postMsg(v, a, 999999, "nowhere").expect(t, 404)
		})
		t.Run("ok, pages both ways", func(t *testing.T) {
			var ids []int
			for i := range 7 {
				from := a
				if i%2 == 1 {
					from = b
				}
				ids = append(ids, num(postMsg(v, from, conv, fmt.Sprintf("m%d", i)).expect(t, 201).JSON(t)["data"].(map[string]any)["id"]))
			}
			all := history(t, v, b, conv, "")
			if len(all.ids) != 9 || all.ids[0] != ids[6] || all.before != nil {
				t.Fatalf("latest page %+v", all)
			}
			p1 := history(t, v, b, conv, "?limit=3")
			if fmt.Sprint(p1.ids) != fmt.Sprint([]int{ids[6], ids[5], ids[4]}) || num(p1.before) != ids[4] {
				t.Fatalf("page 1 %+v", p1)
			}
			p2 := history(t, v, a, conv, fmt.Sprintf("?limit=3&before=%d", num(p1.before)))
			if fmt.Sprint(p2.ids) != fmt.Sprint([]int{ids[3], ids[2], ids[1]}) {
				t.Fatalf("page 2 %+v", p2)
			}
			f1 := history(t, v, a, conv, fmt.Sprintf("?limit=4&after=%d", ids[1]))
			if fmt.Sprint(f1.ids) != fmt.Sprint(ids[2:6]) || num(f1.after) != ids[5] {
				t.Fatalf("forward page %+v", f1)
			}
			f2 := history(t, v, a, conv, fmt.Sprintf("?limit=4&after=%d", num(f1.after)))
			if fmt.Sprint(f2.ids) != fmt.Sprint(ids[6:]) || f2.after != nil {
				t.Fatalf("forward page 2 %+v", f2)
			}
		})
		t.Run("nok, cursors from another conversation", func(t *testing.T) {
			foreign := num(postMsg(v, a, other, "elsewhere").expect(t, 201).JSON(t)["data"].(map[string]any)["id"])
			assertErrors(t, v.do("GET", fmt.Sprintf("/api/conversations/%d/messages?before=%d", conv, foreign), nil, b.Token).expect(t, 422), "before", "is not a message of this conversation")
			assertErrors(t, v.do("GET", fmt.Sprintf("/api/conversations/%d/messages?after=%d", conv, foreign), nil, b.Token).expect(t, 422), "after", "is not a message of this conversation")
		})
		t.Run("ok, after=0 reads from the first message, oldest first", func(t *testing.T) {
			all := history(t, v, a, conv, "?limit=200")
			first := history(t, v, a, conv, "?after=0&limit=2")
			n := len(all.ids)
			if fmt.Sprint(first.ids) != fmt.Sprint([]int{all.ids[n-1], all.ids[n-2]}) || num(first.after) != all.ids[n-2] || first.before != nil {
				t.Fatalf("after=0: %+v; all %v", first, all.ids)
			}
			empty, _ := openConv(t, v, b, c.ID)
			if p := history(t, v, b, empty, "?after=0"); len(p.ids) != 0 || p.after != nil {
				t.Fatalf("empty conversation after=0: %+v", p)
			}
		})
		t.Run("nok, every bad parameter at once", func(t *testing.T) {
			assertFieldErrors(t, v.do("GET", fmt.Sprintf("/api/conversations/%d/messages?limit=0&before=x", conv), nil, a.Token).expect(t, 422),
				map[string][]string{"limit": {"is invalid"}, "before": {"is invalid"}})
			assertFieldErrors(t, v.do("GET", fmt.Sprintf("/api/conversations/%d/messages?before=3&after=0", conv), nil, a.Token).expect(t, 422),
				map[string][]string{"after": {"cannot be combined with before"}})
		})
		t.Run("nok, missing content and envelope", func(t *testing.T) {
			assertFieldErrors(t, v.do("POST", fmt.Sprintf("/api/conversations/%d/messages", conv), map[string]any{"message": map[string]any{}}, a.Token).expect(t, 422),
				map[string][]string{"content": {"can't be blank"}})
			assertFieldErrors(t, v.do("POST", fmt.Sprintf("/api/conversations/%d/messages", conv), map[string]any{"content": "hi"}, a.Token).expect(t, 422),
				map[string][]string{"message": {"can't be blank"}})
		})
		for _, q := range []string{"limit=0", "limit=201", "before=x", "before=0", "after=-1", "limit=1.5"} {
			t.Run("nok, "+q, func(t *testing.T) {
				field := strings.SplitN(q, "=", 2)[0]
				res := v.do("GET", fmt.Sprintf("/api/conversations/%d/messages?%s", conv, q), nil, a.Token).expect(t, 422)
				if _, ok := res.JSON(t)["errors"].(map[string]any)[field]; !ok {
					t.Fatalf("error does not name %s: %s", field, res.Body)
				}
			})
		}
	})
}

// TestPostWithClientID: a post repeated with its client_id is answered 200
// with the message stored the first time, and stores nothing new.
func TestPostWithClientID(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		a, b := v.register("ann"), v.register("bob")
		conv, _ := openConv(t, v, a, b.ID)
		post := func(content string) response {
			return v.do("POST", fmt.Sprintf("/api/conversations/%d/messages", conv),
				map[string]any{"message": map[string]any{"content": content, "client_id": "k-1"}}, a.Token)
		}
		first := post("hello").expect(t, 201).JSON(t)["data"].(map[string]any)
		if first["client_id"] != "k-1" {
			t.Fatalf("message %v lacks its client_id", first)
		}
		again := post("hello").expect(t, 200).JSON(t)["data"].(map[string]any)
		if num(again["id"]) != num(first["id"]) {
			t.Fatalf("repeat answered %v, want message %v", again, first["id"])
		}
		if h := history(t, v, b, conv, ""); len(h.ids) != 1 {
			t.Fatalf("history %v, want one message", h.ids)
		}
		bad := v.do("POST", fmt.Sprintf("/api/conversations/%d/messages", conv),
			map[string]any{"message": map[string]any{"content": "x", "client_id": strings.Repeat("k", 65)}}, a.Token)
		assertErrors(t, bad.expect(t, 422), "client_id", "should be 1 to 64 printable characters")
	})
}
