package web

import (
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestCSP: the policy allows no inline script or style and nothing from
// another origin.
func TestCSP(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:", "data:"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %q: %s", bad, CSP)
		}
	}
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(CSP, want) {
			t.Errorf("CSP lacks %q: %s", want, CSP)
		}
	}
}

// TestIndexNeedsNothingInline: index.html has no inline script, style or
// event handler (the CSP would block them), and every file it names is one
// the page serves.
func TestIndexNeedsNothingInline(t *testing.T) {
	html, err := os.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	for _, tag := range regexp.MustCompile(`(?is)<script[^>]*>.*?</script>`).FindAllString(s, -1) {
		if !regexp.MustCompile(`(?is)^<script[^>]*\ssrc="[^"]+"[^>]*>\s*</script>$`).MatchString(tag) {
			t.Errorf("index.html has an inline script: %q", tag)
		}
	}
	for _, re := range []string{`(?i)<style`, `(?i)\sstyle=`, `(?i)\son[a-z]+=`, `(?i)javascript:`} {
		if m := regexp.MustCompile(re).FindString(s); m != "" {
			t.Errorf("index.html has inline code or style: %q", m)
		}
	}
	p := NewPage()
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(s, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html names %d files, want the script, the style sheet and the icon", len(refs))
	}
	for _, m := range refs {
		name, ok := strings.CutPrefix(m[1], "/assets/")
		if !ok {
			t.Errorf("index.html links to %s, outside /assets/", m[1])
			continue
		}
		rec := httptest.NewRecorder()
		if !p.Asset(rec, httptest.NewRequest("GET", m[1], nil), name) || rec.Code != 200 {
			t.Errorf("index.html names %s, which is not served", m[1])
		}
	}
}

// TestHeaders: each file is served with its type, the policy, nosniff, a
// strong ETag that a revalidation answers with 304, and index.html only
// at / (Index), not as an asset.
func TestHeaders(t *testing.T) {
	p := NewPage()
	cases := map[string]string{"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"}
	for name, ctype := range cases {
		rec := httptest.NewRecorder()
		if !p.Asset(rec, httptest.NewRequest("GET", "/assets/"+name, nil), name) {
			t.Fatalf("%s not served", name)
		}
		h := rec.Header()
		if h.Get("Content-Type") != ctype || h.Get("Content-Security-Policy") != CSP || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", name, h)
		}
		etag := h.Get("ETag")
		if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
			t.Errorf("%s: ETag %q", name, etag)
		}
		req := httptest.NewRequest("GET", "/assets/"+name, nil)
		req.Header.Set("If-None-Match", etag)
		rec = httptest.NewRecorder()
		p.Asset(rec, req, name)
		if rec.Code != 304 || rec.Body.Len() != 0 {
			t.Errorf("%s revalidated: %d with %d bytes, want an empty 304", name, rec.Code, rec.Body.Len())
		}
	}
	rec := httptest.NewRecorder()
	p.Index(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(rec.Body.String(), "<title>Chat</title>") {
		t.Errorf("index: %d %v", rec.Code, rec.Header())
	}
	for _, name := range []string{"index.html", "nope.js", "../handler.go"} {
		if p.Asset(httptest.NewRecorder(), httptest.NewRequest("GET", "/assets/x", nil), name) {
			t.Errorf("asset %q was served", name)
		}
	}
}
