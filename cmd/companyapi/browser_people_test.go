package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/companyapi/companyapi/internal/browsertest"
)

// person is one user of the chat page: a tab of their own, reaching the
// server through a link of their own (which the test can cut).
type person struct {
	*browsertest.Tab
	t                  *testing.T
	first, last, email string
	link               *browsertest.Link
	password           string
}

func newPerson(t *testing.T, browser context.Context, base, first, last string, width, height int64, mobile bool) *person {
	t.Helper()
	return &person{
		Tab:   browsertest.NewTab(t, browser, first, width, height, mobile),
		t:     t,
		first: first, last: last,
		email: strings.ToLower(first) + "@example.com",
		link:  browsertest.NewLink(t, strings.TrimPrefix(base, "http://")),
	}
}

// js quotes s as a JavaScript string.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (p *person) open() {
	p.t.Helper()
	p.Do("open the page", chromedp.Navigate(p.link.URL+"/"))
	p.Until("the login form", `!document.querySelector("#login-form").hidden`)
}

// register creates the account with the page's form and reads the
// generated password in the dev mailbox that the page links to.
func (p *person) register() {
	p.t.Helper()
	p.Do("register",
		chromedp.Click(chromedp.CSS(`#login-form [data-show="register-form"]`)),
		chromedp.SendKeys(chromedp.CSS("#register-name"), p.first),
		chromedp.SendKeys(chromedp.CSS("#register-subname"), p.last),
		chromedp.SendKeys(chromedp.CSS("#register-email"), p.email),
		chromedp.SendKeys(chromedp.CSS("#register-job"), "engineer"),
		chromedp.Click(chromedp.CSS(`#register-form button[type="submit"]`)),
	)
	p.Until("the notice with the mailbox link", `document.querySelector("#auth-notice #mailbox-link")`)
	href := browsertest.Eval[string](p.Tab, `document.querySelector("#mailbox-link").href`)
	text := p.readMail(href, "Generated password")
	m := regexp.MustCompile(`generated password ([A-Za-z0-9_-]+)`).FindStringSubmatch(text)
	if m == nil {
		p.t.Fatalf("%s: no password in the welcome mail:\n%s", p.first, text)
	}
	p.password = m[1]
}

// readMail opens the mailbox in a second tab of the person's browser, as
// the link does, waits for the mail to them with this subject, and returns
// its text.
func (p *person) readMail(mailbox, subject string) string {
	p.t.Helper()
	ctx, cancel := chromedp.NewContext(p.Ctx)
	defer cancel()
	// Open the tab on a context without a deadline: the first action's
	// context is the tab's lifetime.
	if err := chromedp.Do(ctx); err != nil {
		p.t.Fatal(err)
	}
	find := fmt.Sprintf(`[...document.querySelectorAll("tbody tr")]
		.filter(tr => tr.cells[1].textContent === %s && tr.cells[2].textContent === %s)
		.map(tr => tr.cells[2].querySelector("a").href)[0] || ""`, js(p.email), js(subject))
	deadline := time.Now().Add(browsertest.Step)
	for {
		// The mail leaves through the outbox a moment after the request.
		link := visit(p.t, ctx, mailbox, find)
		if link != "" {
			return visit(p.t, ctx, link, `document.querySelector("pre").textContent`)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: no mail %q in the mailbox", p.first, subject)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// visit navigates the tab of ctx to url and evaluates expr there.
func visit(t *testing.T, ctx context.Context, url, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, browsertest.Step)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return v
}

// logIn logs in with the form (the email is filled in after a
// registration) and waits for the chat.
func (p *person) logIn() {
	p.t.Helper()
	p.Do("log in",
		chromedp.SetValue(chromedp.CSS("#login-email"), p.email),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#login-password").value = ""`),
		chromedp.SendKeys(chromedp.CSS("#login-password"), p.password),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
	)
	p.Until("the chat", `document.body.dataset.screen === "chat" && document.body.dataset.connection === "live"`)
}

// say types text in the composer and sends it with Enter.
func (p *person) say(text string) {
	p.t.Helper()
	p.Do("type "+text, chromedp.SendKeys(chromedp.CSS("#composer"), text), enter)
	p.Until("the message stored", fmt.Sprintf(`(() => {
		const last = [...document.querySelectorAll("#messages li.mine")].at(-1);
		return last && !last.classList.contains("pending") && last.querySelector(".text").textContent === %s;
	})()`, js(text)))
}

// usable checks the screen as it is: every control has a name a screen
// reader can say (a label, aria-label or text), and nothing is wider than
// the window (at 360 px, no sideways scrolling).
func (p *person) usable(screen string) {
	p.t.Helper()
	unnamed := browsertest.Eval[[]string](p.Tab, `[...document.querySelectorAll("input:not([hidden]), textarea, select, button, summary, a[href]")]
		.filter(e => !(e.labels?.length || e.getAttribute("aria-label") || e.getAttribute("aria-labelledby") || e.textContent.trim()))
		.map(e => e.outerHTML.slice(0, 100))`)
	for _, e := range unnamed {
		p.t.Errorf("%s, %s: a control without a name: %s", p.first, screen, e)
	}
	if wide := browsertest.Eval[bool](p.Tab, `document.documentElement.scrollWidth > window.innerWidth`); wide {
		p.t.Errorf("%s, %s: the page is wider than the window", p.first, screen)
	}
}

// sees waits for text to be the last message of the open conversation.
func (p *person) sees(what, text string) {
	p.t.Helper()
	p.Until(what, fmt.Sprintf(`[...document.querySelectorAll("#messages li .text")].at(-1)?.textContent === %s`, js(text)))
}

// enter presses Enter as a keyboard does: a keydown the page handles, and
// no char event (chromedp's "\n" sends one, which would type a line break
// after the page sent the message).
var enter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		}); err != nil {
			return err
		}
	}
	return nil
})

// rest is the API over plain HTTP, for what happens off the page: another
// user, another session.
type rest struct {
	t    *testing.T
	base string
}

func (r rest) do(method, path, token string, body any, into any) int {
	r.t.Helper()
	var req *http.Request
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(string(raw)))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if into != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(into); err != nil {
			r.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}

// login returns a new token of the user.
func (r rest) login(email, password string) string {
	r.t.Helper()
	var out struct{ Data struct{ Token string } }
	if code := r.do("POST", "/api/login", "", map[string]any{"creds": map[string]string{"email": email, "password": password}}, &out); code != 200 {
		r.t.Fatalf("login %s: %d", email, code)
	}
	return out.Data.Token
}

// user registers someone over REST and logs them in with the mailed
// password; it returns their token.
func (r rest) user(first, email string) string {
	r.t.Helper()
	if code := r.do("POST", "/api/users", "", map[string]any{"user": map[string]string{"name": first, "subname": "Poe", "email": email, "job": "designer"}}, nil); code != 201 {
		r.t.Fatalf("register %s: %d", email, code)
	}
	re := regexp.MustCompile(`generated password ([A-Za-z0-9_-]+)`)
	for deadline := time.Now().Add(browsertest.Step); ; {
		var mails []struct{ To, Text string }
		r.do("GET", "/sent_mails", "", nil, &mails)
		for _, m := range mails {
			if m.To == email {
				return r.login(email, re.FindStringSubmatch(m.Text)[1])
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no welcome mail to %s", email)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// conversation opens a conversation with recipient and posts texts to it.
func (r rest) conversation(token string, recipient int, texts ...string) int {
	r.t.Helper()
	var c struct{ Data struct{ ID int } }
	if code := r.do("POST", "/api/conversations", token, map[string]any{"conversation": map[string]int{"recipient_id": recipient}}, &c); code != 201 && code != 200 {
		r.t.Fatalf("open a conversation: %d", code)
	}
	for _, text := range texts {
		if code := r.do("POST", "/api/conversations/"+strconv.Itoa(c.Data.ID)+"/messages", token, map[string]any{"message": map[string]string{"content": text}}, nil); code != 201 {
			r.t.Fatalf("post: %d", code)
		}
	}
	return c.Data.ID
}
