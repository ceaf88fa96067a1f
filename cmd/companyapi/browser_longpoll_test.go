package main

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/companyapi/companyapi/internal/browsertest"
)

// TestBrowserChatOverLongPoll: behind a proxy that refuses WebSocket
// upgrades, as many company networks have, the chat page falls back to
// LongPoll by itself (phoenix.js's longPollFallbackMs) and chats live:
// Dan registers and logs in, Eve writes to him over REST, her messages
// reach his open page, and his answer is stored.
func TestBrowserChatOverLongPoll(t *testing.T) {
	browser := browsertest.Start(t)
	env := sqliteEnv(t)
	env["RATE_LIMIT_LOGIN"] = "0"
	env["LOG_LEVEL"] = "warn"
	base, stop := startServer(t, env)
	defer stop()
	api := rest{t: t, base: base}

	dan := newPerson(t, browser, base, "Dan", "Roe", 1024, 768, false)
	dan.link.RefuseWebSockets()
	dan.open()
	dan.register()
	dan.logIn() // waits for the live connection: over LongPoll, or not at all
	if got := browsertest.Eval[string](dan.Tab, `sessionStorage.getItem("phx:fallback:LongPoll") ?? ""`); got != "true" {
		t.Fatalf("phoenix.js did not fall back to LongPoll (sessionStorage phx:fallback:LongPoll = %q)", got)
	}

	eve := api.user("Eve", "eve@example.com")
	var users struct {
		Data []struct {
			ID    int
			Email string
		}
	}
	api.do("GET", "/api/users", eve, nil, &users)
	var danID int
	for _, u := range users.Data {
		if u.Email == dan.email {
			danID = u.ID
		}
	}
	conv := api.conversation(eve, danID, "Hello over LongPoll")
	dan.Until("Eve's conversation, unread", listIs(`Eve Poe:1 unread message`))
	dan.Do("open it", chromedp.Click(chromedp.CSS("#conversations button.conv")))
	dan.sees("Eve's message", "Hello over LongPoll")
	if code := api.do("POST", "/api/conversations/"+strconv.Itoa(conv)+"/messages", eve, map[string]any{"message": map[string]string{"content": "Still there?"}}, nil); code != 201 {
		t.Fatalf("Eve posts: %d", code)
	}
	dan.sees("Eve's live message", "Still there?")
	dan.say("Yes, through the proxy")
	var page struct{ Data []struct{ Content string } }
	api.do("GET", "/api/conversations/"+strconv.Itoa(conv)+"/messages?after=0", eve, nil, &page)
	if n := len(page.Data); n != 3 || page.Data[2].Content != "Yes, through the proxy" {
		t.Errorf("Eve's view of the conversation: %+v", page.Data)
	}
}
