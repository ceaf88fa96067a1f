package httpapi_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/companyapi/companyapi/ent/conversation"
)

func openConv(t testing.TB, v *env, from user, to int) (int, response) {
	t.Helper()
	res := v.do("POST", "/api/conversations", map[string]any{"conversation": map[string]any{"recipient_id": to}}, from.Token)
	if res.Code != 201 && res.Code != 200 {
		t.Fatalf("open conversation: %d %s", res.Code, res.Body)
	}
	return int(res.JSON(t)["data"].(map[string]any)["id"].(float64)), res
}

func TestConversations(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		a, b, c := v.register("ann"), v.register("bob"), v.register("cid")
		id, res := openConv(t, v, a, b.ID)
		res.expect(t, 201)
		d := res.JSON(t)["data"].(map[string]any)
		for _, k := range []string{"id", "sender_id", "recipient_id", "status", "inserted_at", "last_message"} {
			if _, ok := d[k]; !ok {
				t.Fatalf("conversation has no %q: %v", k, d)
			}
		}
		if int(d["sender_id"].(float64)) != a.ID || int(d["recipient_id"].(float64)) != b.ID || d["last_message"] != nil {
			t.Fatalf("conversation %v", d)
		}
		t.Run("ok, same pair either order is the same conversation", func(t *testing.T) {
			again, res := openConv(t, v, a, b.ID)
			res.expect(t, 200)
			back, res := openConv(t, v, b, a.ID)
			res.expect(t, 200)
			if again != id || back != id {
				t.Fatalf("ids %d %d, want %d", again, back, id)
			}
		})
		t.Run("nok, recipient is the caller", func(t *testing.T) {
			assertErrors(t, v.do("POST", "/api/conversations", map[string]any{"conversation": map[string]any{"recipient_id": a.ID}}, a.Token).expect(t, 422), "recipient_id", "can't be yourself")
		})
		t.Run("nok, unknown recipient", func(t *testing.T) {
			assertErrors(t, v.do("POST", "/api/conversations", map[string]any{"conversation": map[string]any{"recipient_id": 999999}}, a.Token).expect(t, 422), "recipient_id", "does not exist")
		})
		t.Run("nok, recipient missing", func(t *testing.T) {
			assertFieldErrors(t, v.do("POST", "/api/conversations", map[string]any{"conversation": map[string]any{}}, a.Token).expect(t, 422),
				map[string][]string{"recipient_id": {"can't be blank"}})
		})
		t.Run("nok, recipient wrong type", func(t *testing.T) {
			assertErrors(t, v.do("POST", "/api/conversations", map[string]any{"conversation": map[string]any{"recipient_id": "2"}}, a.Token).expect(t, 422), "recipient_id", "is invalid")
		})
		t.Run("ok, get as participant, 404 for others", func(t *testing.T) {
			v.do("GET", fmt.Sprintf("/api/conversations/%d", id), nil, b.Token).expect(t, 200)
			res := v.do("GET", fmt.Sprintf("/api/conversations/%d", id), nil, c.Token).expect(t, 404)
			missing := v.do("GET", "/api/conversations/999999", nil, c.Token).expect(t, 404)
			if string(res.Body) != string(missing.Body) {
				t.Fatalf("a stranger can tell an existing conversation from a missing one: %s vs %s", res.Body, missing.Body)
			}
		})
		t.Run("ok, list most recent activity first, paged", func(t *testing.T) {
			ac, _ := openConv(t, v, c, a.ID)
			list := func(q string) ([]int, any) {
				body := v.do("GET", "/api/conversations"+q, nil, a.Token).expect(t, 200).JSON(t)
				var ids []int
				for _, x := range body["data"].([]any) {
					ids = append(ids, int(x.(map[string]any)["id"].(float64)))
				}
				return ids, body["paging"].(map[string]any)["cursor"]
			}
			ids, _ := list("")
			if fmt.Sprint(ids) != fmt.Sprint([]int{ac, id}) {
				t.Fatalf("list %v, want [%d %d]", ids, ac, id)
			}
			v.do("POST", fmt.Sprintf("/api/conversations/%d/messages", id), map[string]any{"message": map[string]any{"content": "hi"}}, b.Token).expect(t, 201)
			first, cursor := list("?limit=1")
			if fmt.Sprint(first) != fmt.Sprint([]int{id}) || cursor == nil {
				t.Fatalf("first page %v cursor %v", first, cursor)
			}
			second, end := list("?limit=1&cursor=" + cursor.(string))
			if fmt.Sprint(second) != fmt.Sprint([]int{ac}) || end != nil {
				t.Fatalf("second page %v cursor %v", second, end)
			}
			assertErrors(t, v.do("GET", "/api/conversations?cursor=@@", nil, a.Token).expect(t, 422), "cursor", "is invalid")
			assertFieldErrors(t, v.do("GET", "/api/conversations?cursor=@@&limit=x", nil, a.Token).expect(t, 422),
				map[string][]string{"cursor": {"is invalid"}, "limit": {"is invalid"}})
			got := v.do("GET", fmt.Sprintf("/api/conversations/%d", id), nil, a.Token).expect(t, 200).JSON(t)["data"].(map[string]any)
			if lm, _ := got["last_message"].(map[string]any); lm == nil || lm["content"] != "hi" {
				t.Fatalf("last_message %v", got["last_message"])
			}
		})
		t.Run("nok, stranger's list has none of them", func(t *testing.T) {
			d := v.register("dan")
			if n := len(v.do("GET", "/api/conversations", nil, d.Token).expect(t, 200).JSON(t)["data"].([]any)); n != 0 {
				t.Fatalf("stranger sees %d conversations", n)
			}
		})
	})
}

func TestConversationConcurrentCreate(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		for round := range 5 {
			a, b := v.register(fmt.Sprintf("a%d", round)), v.register(fmt.Sprintf("b%d", round))
			var wg sync.WaitGroup
			ids := make([]int, 8)
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					from, to := a, b.ID
					if i%2 == 1 {
						from, to = b, a.ID
					}
					res := v.do("POST", "/api/conversations", map[string]any{"conversation": map[string]any{"recipient_id": to}}, from.Token)
					if res.Code != 200 && res.Code != 201 {
						t.Errorf("status %d: %s", res.Code, res.Body)
						return
					}
					ids[i] = int(res.JSON(t)["data"].(map[string]any)["id"].(float64))
				}()
			}
			wg.Wait()
			for _, id := range ids {
				if id != ids[0] {
					t.Fatalf("concurrent creates gave ids %v", ids)
				}
			}
			n, err := v.st.Client.Conversation.Query().Where(conversation.UserLow(min(a.ID, b.ID)), conversation.UserHigh(max(a.ID, b.ID))).Count(ctx())
			if err != nil || n != 1 {
				t.Fatalf("%d rows for the pair (%v)", n, err)
			}
		}
	})
}

// TestReadMarks: PUT …/read moves the caller's mark, the list carries the
// unread counts and marks, and /users/me the unread total.
func TestReadMarks(t *testing.T) {
	each(t, func(t *testing.T, v *env) {
		a, b, c := v.register("ann"), v.register("bob"), v.register("cid")
		conv, _ := openConv(t, v, a, b.ID)
		var ids []int
		for _, text := range []string{"one", "two", "three"} {
			ids = append(ids, num(postMsg(v, b, conv, text).expect(t, 201).JSON(t)["data"].(map[string]any)["id"]))
		}
		read := func(who user, body any) response {
			return v.do("PUT", fmt.Sprintf("/api/conversations/%d/read", conv), body, who.Token)
		}
		me := func(who user) int {
			return num(v.do("GET", "/api/users/me", nil, who.Token).expect(t, 200).JSON(t)["data"].(map[string]any)["unread_total"])
		}
		if n := me(a); n != 3 {
			t.Fatalf("ann's unread total %d, want 3", n)
		}
		read(a, map[string]any{"message_id": ids[1]}).expect(t, 204)
		got := v.do("GET", fmt.Sprintf("/api/conversations/%d", conv), nil, a.Token).expect(t, 200).JSON(t)["data"].(map[string]any)
		if num(got["unread_count"]) != 1 || num(got["last_read_id"]) != ids[1] || num(got["other_last_read_id"]) != ids[2] {
			t.Fatalf("ann's conversation %v", got)
		}
		read(a, map[string]any{"message_id": ids[0]}).expect(t, 204) // older: accepted, no change
		if n := me(a); n != 1 {
			t.Fatalf("ann's unread total %d, want 1", n)
		}
		list := v.do("GET", "/api/conversations", nil, b.Token).expect(t, 200).JSON(t)["data"].([]any)
		if m := list[0].(map[string]any); num(m["other_last_read_id"]) != ids[1] || num(m["unread_count"]) != 0 {
			t.Fatalf("bob's list %v", m)
		}
		assertErrors(t, read(a, map[string]any{"message_id": "x"}).expect(t, 422), "message_id", "is invalid")
		assertErrors(t, read(a, map[string]any{}).expect(t, 422), "message_id", "can't be blank")
		read(c, map[string]any{"message_id": ids[0]}).expect(t, 404)
		other, _ := openConv(t, v, c, a.ID)
		foreign := num(postMsg(v, c, other, "x").expect(t, 201).JSON(t)["data"].(map[string]any)["id"])
		assertErrors(t, read(a, map[string]any{"message_id": foreign}).expect(t, 422), "message_id", "is not a message of this conversation")
	})
}
