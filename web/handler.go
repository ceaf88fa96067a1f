package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"
)

//go:embed static
var static embed.FS

// CSP allows the page only its own files: scripts, styles, images and
// connections (REST and the socket; 'self' covers ws: and wss: on the same
// host) from its origin, no inline script or style, no plugins, no
// framing, no form posts elsewhere.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// types names each kind of file in static/. Not mime.TypeByExtension,
// which the host's mime.types may change (.js as application/x-javascript).
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// asset is one embedded file, ready to serve.
type asset struct {
	name  string
	body  []byte
	ctype string
	etag  string
}

// Page serves the chat page (GET /) and its files (GET /assets/{file}).
type Page struct {
	assets map[string]asset
}

// NewPage reads the embedded files once: their bytes never change while
// the binary runs, so each gets a strong ETag from its content.
func NewPage() *Page {
	p := &Page{assets: map[string]asset{}}
	entries, err := fs.ReadDir(static, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	for _, e := range entries {
		body, err := fs.ReadFile(static, "static/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		ctype, ok := types[path.Ext(e.Name())]
		if !ok {
			panic("web: no content type for static/" + e.Name())
		}
		p.assets[e.Name()] = asset{name: e.Name(), body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return p
}

// Index serves index.html.
func (p *Page) Index(w http.ResponseWriter, r *http.Request) {
	p.serve(w, r, "index.html")
}

// Asset serves the file named by the last path segment, or 404s.
func (p *Page) Asset(w http.ResponseWriter, r *http.Request, name string) bool {
	if name == "index.html" {
		return false
	}
	return p.serve(w, r, name)
}

func (p *Page) serve(w http.ResponseWriter, r *http.Request, name string) bool {
	a, ok := p.assets[name]
	if !ok {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	// Revalidated every time (a 304 is cheap): a new binary's page and
	// script always arrive together, never a cached mix of versions.
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	// ServeContent answers If-None-Match with 304, and HEAD.
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
	return true
}
