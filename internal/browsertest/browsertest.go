// Package browsertest drives headless Chromium for the chat page's tests
// (chromedp; Debian's chromium package, which with-chromium.sh installs
// for make test). A tab opens in a browser context of its own — its own
// storage, so another person — and fails its test on an uncaught
// exception or a Content-Security-Policy violation in the page.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Step bounds one action of a test: a page that has not done what is
// awaited by then is broken, not slow.
const Step = 20 * time.Second

// Path finds Chromium: $CHROMIUM, or one of the usual names on PATH.
func Path() (string, bool) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// Start starts a headless Chromium for t and returns its context. Without
// Chromium the test skips, or fails under CI=true.
func Start(t *testing.T) context.Context {
	t.Helper()
	path, ok := Path()
	if !ok {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium (install Debian's chromium, or set CHROMIUM): the browser tests cannot run")
		}
		t.Skip("no Chromium (install Debian's chromium, or set CHROMIUM): browser tests skipped")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // as root, in a container
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		// Nothing but the page under test on the network: no updates, no
		// sync, no field trials (there is no network but loopback here).
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-field-trial-config", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1280, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// Tab is one person's browser: a tab in a browser context of its own.
type Tab struct {
	Ctx  context.Context
	t    *testing.T
	name string

	mu       sync.Mutex
	dialogs  []string
	problems []string
	console  []string
}

// NewTab opens a tab in a new browser context of browser, with a viewport
// of width×height CSS pixels (mobile: a phone's, touch and all).
func NewTab(t *testing.T, browser context.Context, name string, width, height int64, mobile bool) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tab := &Tab{Ctx: ctx, t: t, name: name}
	viewport := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if mobile {
		viewport = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height, viewport...)); err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	// A dialog would stall the page until answered: note it, dismiss it.
	err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			tab.mu.Lock()
			tab.dialogs = append(tab.dialogs, string(d.Type)+": "+d.Message)
			tab.mu.Unlock()
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			line := string(m.Type) + ": " + m.Text
			tab.mu.Lock()
			tab.console = append(tab.console, line)
			if m.Type == chromedp.ConsoleException || strings.Contains(m.Text, "Content Security Policy") {
				tab.problems = append(tab.problems, line)
			}
			tab.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		tab.mu.Lock()
		defer tab.mu.Unlock()
		for _, p := range tab.problems {
			t.Errorf("%s: the page reported %s", name, p)
		}
		if t.Failed() && len(tab.console) > 0 {
			t.Logf("%s: console:\n  %s", name, strings.Join(tab.console, "\n  "))
		}
	})
	return tab
}

// Dialogs are the alert, confirm and prompt dialogs the page opened.
func (tab *Tab) Dialogs() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.dialogs...)
}

// Do runs actions, failing the test (with a screenshot) on an error or
// after Step.
func (tab *Tab) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, Step)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tab.fail(what, err)
	}
}

// Until waits for a JavaScript expression to be truthy.
func (tab *Tab) Until(what, expr string) {
	tab.t.Helper()
	tab.Do(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(Step)))
}

// Eval evaluates a JavaScript expression in tab.
func Eval[T any](tab *Tab, expr string) T {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, Step)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tab.fail("evaluate "+expr, err)
	}
	return v
}

// Screenshot saves the viewport as name.png in the test's artifact
// directory (go test -artifacts keeps it) and returns its path.
func (tab *Tab) Screenshot(name string) string {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, Step)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tab.t.Fatalf("%s: screenshot: %v", tab.name, err)
	}
	path := filepath.Join(tab.t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tab.t.Fatal(err)
	}
	return path
}

func (tab *Tab) fail(what string, err error) {
	tab.t.Helper()
	shot := ""
	ctx, cancel := context.WithTimeout(tab.Ctx, 5*time.Second)
	defer cancel()
	if png, serr := chromedp.Run(ctx, chromedp.CaptureScreenshot()); serr == nil {
		shot = filepath.Join(tab.t.ArtifactDir(), "failed-"+tab.name+".png")
		_ = os.WriteFile(shot, png, 0o644)
	}
	tab.t.Fatalf("%s: %s: %v (screenshot: %s)", tab.name, what, err, shot)
}
