package mail

import (
	"bytes"
	"encoding/json"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/companyapi/companyapi/templates"
)

var (
	listPage = template.Must(template.ParseFS(templates.FS, "sent_mails_list.html"))
	mailPage = template.Must(template.ParseFS(templates.FS, "sent_mail.html"))
)

// pageCSP keeps a mail's own content inert: no scripts, no outside fetches
// except images, and the sandboxed srcdoc frame inherits it.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; frame-src 'self'"

// Handler serves the box under prefix (e.g. "/sent_mails"):
//
//	GET prefix      the mails, newest first
//	GET prefix/{n}  the n-th newest mail, numbered from 0 like the list
//
// as HTML pages, or as JSON when the request accepts application/json.
func (b *Mailbox) Handler(prefix string) http.Handler {
	prefix = strings.TrimSuffix(prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, messageBody{Message: "method not allowed"})
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		rest = strings.Trim(rest, "/")
		switch {
		case !ok:
			writeJSON(w, http.StatusNotFound, notFound)
		case rest == "":
			b.serveList(w, r, prefix)
		default:
			b.serveMail(w, r, prefix, rest)
		}
	})
}

func (b *Mailbox) serveList(w http.ResponseWriter, r *http.Request, prefix string) {
	all, err := b.All(r.Context())
	if err != nil {
		slog.ErrorContext(r.Context(), "mailbox", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, messageBody{Message: "unavailable"})
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, all)
		return
	}
	type row struct {
		N                 int
		Link, To, Subject string
		SentAt            string
	}
	rows := make([]row, len(all))
	for i, m := range all {
		rows[i] = row{N: i, Link: prefix + "/" + strconv.Itoa(i), To: m.To, Subject: m.Subject, SentAt: stamp(m.SentAt)}
	}
	writeHTML(w, r, listPage, struct {
		Limit int
		Mails []row
	}{b.limit, rows})
}

func (b *Mailbox) serveMail(w http.ResponseWriter, r *http.Request, prefix, rest string) {
	n, err := strconv.Atoi(rest)
	if err != nil {
		writeJSON(w, http.StatusNotFound, notFound)
		return
	}
	m, ok, err := b.Get(r.Context(), n)
	if err != nil {
		slog.ErrorContext(r.Context(), "mailbox", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, messageBody{Message: "unavailable"})
		return
	}
	if !ok {
		writeJSON(w, http.StatusNotFound, notFound)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, m)
		return
	}
	writeHTML(w, r, mailPage, struct {
		Mail
		SentAt string
		Back   string
	}{m, stamp(m.SentAt), prefix})
}

// wantsJSON is true when any media range of Accept is application/json;
// browsers never send it, API clients and tests do.
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}

type messageBody struct {
	Message string `json:"message"`
}

// notFound is the 404 body the rest of the API uses.
var notFound = messageBody{Message: "not found"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeHTML renders into a buffer first so a template error becomes a 500
// instead of half a page.
func writeHTML(w http.ResponseWriter, r *http.Request, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		slog.ErrorContext(r.Context(), "mailbox page", "template", t.Name(), "err", err)
		writeJSON(w, http.StatusInternalServerError, messageBody{Message: "internal error"})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(buf.Bytes())
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
