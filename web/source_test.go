package web

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var comments = regexp.MustCompile(`(?m)^\s*//.*$|/\*(?s:.*?)\*/`)

// TestSourceRendersTextOnly: the page's own code (app/src) never parses a
// string as HTML or code, and keeps the token only in sessionStorage. The
// browser test shows one message staying text; this holds every place.
func TestSourceRendersTextOnly(t *testing.T) {
	banned := map[string]*regexp.Regexp{
		"HTML parsing":             regexp.MustCompile(`\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|srcdoc`),
		"code from strings":        regexp.MustCompile(`\beval\(|new Function\(|setTimeout\(\s*["'` + "`" + `]`),
		"storage other than a tab": regexp.MustCompile(`localStorage|document\.cookie|indexedDB`),
		"inline style":             regexp.MustCompile(`setAttribute\(\s*["']style|\.style\.cssText`),
	}
	files, err := filepath.Glob("app/src/*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources in app/src: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Comments may name what the code must not do.
		code := comments.ReplaceAll(src, nil)
		for what, re := range banned {
			if m := re.Find(code); m != nil {
				t.Errorf("%s: %s (%q)", f, what, m)
			}
		}
	}
}
