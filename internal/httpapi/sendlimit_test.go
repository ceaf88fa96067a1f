package httpapi_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestSendLimit: over the sender's budget a post is answered 429 "rate
// limited" with Retry-After and nothing is stored (a socket alone sent
// 21 461 messages in 10 s before); the other participant still posts.
func TestSendLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		v := newEnv(t, st, withSendLimit(1, 3))
		a, b := v.register("ann"), v.register("bob")
		conv := int(v.do("POST", "/api/conversations", map[string]any{"conversation": map[string]any{"recipient_id": b.ID}}, a.Token).
			expect(t, 201).JSON(t)["data"].(map[string]any)["id"].(float64))
		path := fmt.Sprintf("/api/conversations/%d/messages", conv)
		post := func(token string, i int) response {
			return v.do("POST", path, map[string]any{"message": map[string]any{"content": fmt.Sprint("hi ", i)}}, token)
		}
		for i := range 3 {
			post(a.Token, i).expect(t, 201)
		}
		res := post(a.Token, 3).expect(t, 429)
		if res.JSON(t)["message"] != "rate limited" {
			t.Fatalf("body %s", res.Body)
		}
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s != 1 {
			t.Fatalf("Retry-After %q, want 1", res.Header.Get("Retry-After"))
		}
		post(b.Token, 0).expect(t, 201)
		if n := v.st.Client.Message.Query().CountX(ctx()); n != 4 {
			t.Fatalf("%d messages stored, want the 4 allowed", n)
		}
	})
}
