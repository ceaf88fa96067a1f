package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/companyapi/companyapi/internal/apitest"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestChatPageRoutes: the page and its files are served where
// api/openapi.yaml says, with its statuses (a 304 for a known ETag), and
// an unknown file is the API's JSON 404.
func TestChatPageRoutes(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	get := func(path, etag string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		rec := httptest.NewRecorder()
		v.e.ServeHTTP(rec, req)
		if err := apitest.Check(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Error(err)
		}
		return rec
	}
	for path, ctype := range map[string]string{
		"/":               "text/html",
		"/assets/app.js":  "text/javascript",
		"/assets/app.css": "text/css",
	} {
		res := get(path, "")
		if res.Code != 200 || !strings.HasPrefix(res.Header().Get("Content-Type"), ctype) || res.Body.Len() == 0 {
			t.Fatalf("GET %s: %d %q, %d bytes", path, res.Code, res.Header().Get("Content-Type"), res.Body.Len())
		}
		if res.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s has no Content-Security-Policy", path)
		}
		if again := get(path, res.Header().Get("ETag")); again.Code != 304 {
			t.Errorf("GET %s with its ETag: %d, want 304", path, again.Code)
		}
	}
	for _, path := range []string{"/assets/nope.js", "/assets/index.html"} {
		res := get(path, "")
		if res.Code != 404 || !strings.Contains(res.Body.String(), `"not found"`) {
			t.Errorf("GET %s: %d %s, want the JSON 404", path, res.Code, res.Body)
		}
	}
}
