package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/companyapi/companyapi/internal/browsertest"
)

// xss is a message that would run script if the page rendered it as HTML.
const xss = `<img src=x onerror=alert(1)>`

// TestBrowserChat drives the chat page (web/) in headless Chromium as two
// people would, Ann on a desktop and Bob on a 360 px phone, each in a
// browser context of their own: they register through the dev mailbox,
// log in, find each other, chat both ways and see presence, typing and
// read ticks; Bob reloads and keeps his history, misses a message while
// his network is down and gets it when it is back; a message of HTML
// stays text; the list orders and counts; sessions end elsewhere.
func TestBrowserChat(t *testing.T) {
	browser := browsertest.Start(t)
	env := sqliteEnv(t)
	env["RATE_LIMIT_LOGIN"] = "0"
	env["RATE_LIMIT_SEND"] = "0" // Cid's 60 messages go at once
	env["LOG_LEVEL"] = "warn"
	base, stop := startServer(t, env)
	defer stop()
	api := rest{t: t, base: base}

	ann := newPerson(t, browser, base, "Ann", "Doe", 1280, 800, false)
	bob := newPerson(t, browser, base, "Bob", "Roe", 360, 740, true)
	for _, p := range []*person{ann, bob} {
		p.open()
		p.usable("the login screen")
		p.register()
		p.logIn()
		p.Until("the empty list", `!document.querySelector("#conversations-empty").hidden`)
		p.usable("the empty list")
	}
	// The token is in the tab's session storage, and nowhere else.
	if !browsertest.Eval[bool](ann.Tab, `sessionStorage.getItem("companyapi.token") !== null && localStorage.length === 0 && document.cookie === ""`) {
		t.Error("the token is not (only) in sessionStorage")
	}

	// Ann finds Bob and opens a conversation; it appears in Bob's list.
	ann.Do("pick Bob",
		chromedp.Click(chromedp.CSS("#new-conversation")),
		chromedp.SendKeys(chromedp.CSS("#picker-filter"), "bob"),
	)
	ann.Until("Bob in the picker", `[...document.querySelectorAll("#picker-list .person-name")].map(e => e.textContent).join() === "Bob Roe"`)
	// Enter in the search box picks the first match (the keyboard's way).
	ann.Do("open the conversation", enter)
	ann.Until("the conversation", `!document.querySelector("#thread-open").hidden && document.querySelector("#thread-title").textContent === "Bob Roe"`)
	bob.Until("Ann in the list", `document.querySelector("#conversations .conv-name")?.textContent === "Ann Doe"`)
	bob.Do("open it", chromedp.Click(chromedp.CSS("#conversations button.conv")))
	bob.Until("the conversation, alone on the phone", `document.body.dataset.view === "thread" && getComputedStyle(document.querySelector(".side")).display === "none"`)

	// Presence: each sees the other online.
	for _, p := range []*person{ann, bob} {
		p.Until("the other online", `document.querySelector("#thread-presence").classList.contains("online") && document.querySelector("#thread-sub").textContent.startsWith("online")`)
	}

	// Typing, then Enter sends; Bob reads it, and Ann's tick turns read.
	ann.Do("type", chromedp.SendKeys(chromedp.CSS("#composer"), "Hello Bob"))
	bob.Until("Ann typing", `document.querySelector("#typing").textContent === "Ann Doe is typing…"`)
	ann.Do("send", enter)
	ann.Until("sent", `document.querySelector("#composer").value === "" && [...document.querySelectorAll("#messages li.mine:not(.pending) .text")].at(-1)?.textContent === "Hello Bob"`)
	bob.sees("Ann's message", "Hello Bob")
	bob.Until("typing over", `document.querySelector("#typing").textContent === ""`)
	ann.Until("the read tick", `document.querySelector("#messages li.mine:last-child .tick")?.getAttribute("aria-label") === "Read"`)

	bob.say("Hi Ann!")
	ann.sees("Bob's answer", "Hi Ann!")

	// HTML in a message is text on both sides, and runs nothing.
	ann.say(xss)
	bob.sees("the message as typed", xss)
	for _, p := range []*person{ann, bob} {
		if n := browsertest.Eval[int](p.Tab, `document.querySelectorAll("#messages img, #conversations img").length`); n != 0 {
			t.Errorf("%s: the message became %d img elements", p.first, n)
		}
	}

	// A reload keeps the session (sessionStorage) and the conversation
	// (#/c/<id>), with its history from the server.
	bob.Do("reload", chromedp.Reload())
	bob.Until("back in the conversation", `document.body.dataset.view === "thread" && document.body.dataset.connection === "live"`)
	bob.Until("the history", fmt.Sprintf(`[...document.querySelectorAll("#messages .text")].map(e => e.textContent).join("|") === %s`, js("Hello Bob|Hi Ann!|"+xss)))
	bob.Until("the start of history", `!document.querySelector("#history-start").hidden`)
	bob.usable("a conversation")
	ann.usable("a conversation")
	phone := bob.Screenshot("phone")

	// Bob's network drops: his page says so, Ann sees him go. Ann writes
	// meanwhile; when the network is back, Bob's page rejoins with its
	// cursors and the server pushes what he missed.
	bob.link.Cut()
	bob.Until("reconnecting", `!document.querySelector("#status").hidden && document.querySelector("#status").textContent === "Reconnecting…"`)
	ann.Until("Bob offline", `!document.querySelector("#thread-presence").classList.contains("online")`)
	ann.say("Are you there?")
	bob.link.Restore()
	bob.sees("the missed message", "Are you there?")
	bob.Until("live again", `document.querySelector("#status").hidden`)
	ann.Until("Bob online", `document.querySelector("#thread-presence").classList.contains("online")`)
	ann.Until("read after the reconnect", `document.querySelector("#messages li.mine:last-child .tick")?.getAttribute("aria-label") === "Read"`)

	// Cid writes to both over REST: 60 messages to Bob, one to Ann. The
	// lists put the newest activity first, with unread counts.
	cid := api.user("Cid", "cid@example.com")
	ids := map[string]int{}
	var users struct {
		Data []struct {
			ID    int
			Email string
		}
	}
	api.do("GET", "/api/users", cid, nil, &users)
	for _, u := range users.Data {
		ids[u.Email] = u.ID
	}
	lunch := make([]string, 60)
	for i := range lunch {
		lunch[i] = fmt.Sprintf("Lunch? (%d)", i+1)
	}
	api.conversation(cid, ids[bob.email], lunch...)
	api.conversation(cid, ids[ann.email], "Hi Ann, welcome aboard!")
	bob.Do("back to the list", chromedp.Click(chromedp.CSS("#back")))
	bob.Until("Cid first, 60 unread", listIs(`Cid Poe:60 unread messages|Ann Doe:`))
	ann.say("One more thing")
	bob.Until("Ann first again, 1 unread", listIs(`Ann Doe:1 unread message|Cid Poe:60 unread messages`))
	bob.Until("the unread total in the title", `document.title === "(61) Chat"`)
	bob.usable("the list")
	ann.Until("Cid in Ann's list", listIs(`Bob Roe:|Cid Poe:1 unread message`))

	// Bob opens Cid's conversation: its latest 50 messages, then the older
	// ones when he scrolls up, the view staying where it was.
	bob.Do("open Cid's", chromedp.Click(chromedp.CSS(`#conversations li:nth-child(2) button`)))
	bob.Until("the latest page", `document.querySelector("#thread-title").textContent === "Cid Poe" && document.querySelectorAll("#messages li").length === 50`)
	bob.Until("read", `document.title === "(1) Chat"`)
	bob.Do("scroll up", chromedp.Evaluate[chromedp.Void](`document.querySelector("#scroller").scrollTop = 0`))
	bob.Until("the older page", `document.querySelectorAll("#messages li").length === 60 && !document.querySelector("#history-start").hidden && document.querySelector("#scroller").scrollTop > 0`)

	desktop := ann.Screenshot("desktop")
	for _, p := range []*person{ann, bob} {
		if d := p.Dialogs(); len(d) > 0 {
			t.Errorf("%s: the page opened dialogs: %q", p.first, d)
		}
	}
	if dir := os.Getenv("SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, from := range map[string]string{"chat-desktop.png": desktop, "chat-phone.png": phone} {
			copyTo(t, from, filepath.Join(dir, name))
		}
	}

	// Bob's password is changed in another session: his page returns to
	// the login screen and says why; the old password no longer works.
	// Since his network dropped, his page may be on LongPoll (phoenix.js
	// falls back when a WebSocket attempt fails): there, the ended session
	// shows as a refused reconnect, and the page learns why from REST,
	// whose word ("token revoked") covers a logout and a password change.
	oldPassword := bob.password
	token := api.login(bob.email, bob.password)
	bob.password = "bob's new password"
	if code := api.do("PUT", "/api/users/me/password", token, map[string]any{"password": map[string]string{"current": oldPassword, "new": bob.password}}, nil); code != 204 {
		t.Fatalf("change Bob's password: %d", code)
	}
	bob.Until("signed out, with the reason", `document.body.dataset.screen === "auth" && /the password was changed/.test(document.querySelector("#auth-notice").textContent) && sessionStorage.length === 0`)
	bob.Do("log in with the old password",
		chromedp.SetValue(chromedp.CSS("#login-email"), bob.email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), oldPassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)))
	bob.Until("refused", `document.querySelector("#login-form .error").textContent === "Wrong email or password."`)
	bob.logIn()

	// The account menu closes on a click elsewhere.
	ann.Do("open the menu", chromedp.Click(chromedp.CSS("#account summary")))
	ann.Until("the menu open", `document.querySelector("#account").open`)
	ann.Do("click elsewhere", chromedp.Click(chromedp.CSS(".brand")))
	ann.Until("the menu closed", `!document.querySelector("#account").open`)

	// Ann changes her password on the page: her socket comes back with the
	// new token, and she goes on chatting.
	ann.Do("change the password",
		chromedp.Click(chromedp.CSS("#account summary")),
		chromedp.Click(chromedp.CSS("#password-open")),
		chromedp.SendKeys(chromedp.CSS("#password-current"), ann.password),
		chromedp.SendKeys(chromedp.CSS("#password-new"), "ann's new password"),
		chromedp.SendKeys(chromedp.CSS("#password-confirm"), "ann's new password"),
		chromedp.Click(chromedp.CSS(`#password-form button[type="submit"]`)))
	ann.Until("changed", `!document.querySelector("#password-dialog").open && document.querySelector("#toast").textContent.startsWith("Password changed")`)
	ann.Until("live again", `document.body.dataset.connection === "live"`)
	ann.password = "ann's new password"
	ann.say("Still here")

	resetPassword(t, api, bob)

	// Ann's session is logged out elsewhere (a duplicated tab shares it):
	// her page returns to the login screen and says so.
	annToken := browsertest.Eval[string](ann.Tab, `sessionStorage.getItem("companyapi.token")`)
	if code := api.do("POST", "/api/logout", annToken, nil, nil); code != 204 {
		t.Fatalf("log Ann's token out: %d", code)
	}
	ann.Until("logged out, with the reason", `document.body.dataset.screen === "auth" && document.querySelector("#auth-notice").textContent.startsWith("This session was logged out")`)
	ann.logIn()

	// Ann logs out: the login screen, and no token left in the tab.
	ann.Do("log out", chromedp.Click(chromedp.CSS("#account summary")), chromedp.Click(chromedp.CSS("#logout")))
	ann.Until("logged out", `document.body.dataset.screen === "auth" && document.querySelector("#auth-notice").textContent === "You are logged out." && sessionStorage.length === 0`)
}

// resetPassword: Bob, logged out, resets his forgotten password with the
// page, with the token mailed to him, and logs in with the new one. It
// needs the password reset routes (issue 12); a server without them
// answers 404, and this part is left out.
func resetPassword(t *testing.T, api rest, bob *person) {
	if api.do("POST", "/api/password_resets", "", map[string]string{"email": "nobody@example.com"}, nil) == 404 {
		t.Log("this server has no POST /api/password_resets: the page's password reset is not driven")
		return
	}
	bob.Do("log out", chromedp.Click(chromedp.CSS("#account summary")), chromedp.Click(chromedp.CSS("#logout")))
	bob.Until("logged out", `document.body.dataset.screen === "auth"`)
	bob.Do("ask for a reset",
		chromedp.Click(chromedp.CSS(`#login-form [data-show="forgot-form"]`)),
		chromedp.SendKeys(chromedp.CSS("#forgot-email"), bob.email),
		chromedp.Click(chromedp.CSS(`#forgot-form button[type="submit"]`)))
	bob.Until("the token form", `!document.querySelector("#reset-form").hidden && document.querySelector("#auth-notice #mailbox-link")`)
	text := bob.readMail(browsertest.Eval[string](bob.Tab, `document.querySelector("#mailbox-link").href`), "Reset your password")
	m := regexp.MustCompile(`reset token is (\S+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no token in the reset mail:\n%s", text)
	}
	bob.password = "bob's reset password"
	bob.Do("reset",
		chromedp.SendKeys(chromedp.CSS("#reset-token"), m[1]),
		chromedp.SendKeys(chromedp.CSS("#reset-password"), bob.password),
		chromedp.Click(chromedp.CSS(`#reset-form button[type="submit"]`)))
	bob.Until("set", `!document.querySelector("#login-form").hidden && document.querySelector("#auth-notice").textContent.startsWith("Your new password is set")`)
	bob.logIn()
}

// listIs is true when the conversation list reads want: "name:badge"
// per conversation, top to bottom, joined by "|".
func listIs(want string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#conversations .conv")].map(b =>
		b.querySelector(".conv-name").textContent + ":" + (b.querySelector(".badge")?.textContent ?? "")).join("|") === %s`, js(want))
}

func copyTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
