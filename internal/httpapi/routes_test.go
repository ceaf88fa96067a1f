package httpapi_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/companyapi/companyapi/api"
	"github.com/companyapi/companyapi/internal/apitest"
	"github.com/companyapi/companyapi/internal/store"
	"github.com/companyapi/companyapi/internal/storetest"
)

// TestOpenAPIMatchesRoutes fails when a route is registered but not in
// api/openapi.yaml, or documented but not registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{(\w+)\}`)
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+param.ReplaceAllString(path, ":$1"))
		}
	}
	// Served by other packages, mounted only when configured.
	optional := []string{"GET /sent_mails", "GET /sent_mails/:n", "GET /socket/websocket",
		"GET /socket/longpoll", "POST /socket/longpoll", "OPTIONS /socket/longpoll"}
	var registered []string
	for _, r := range v.e.Routes() {
		if r.Method == "echo_route_not_found" || strings.HasSuffix(r.Path, "/*") {
			continue
		}
		registered = append(registered, r.Method+" "+r.Path)
	}
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not documented in api/openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) && !slices.Contains(optional, d) {
			t.Errorf("api/openapi.yaml documents %s, which is not registered", d)
		}
	}
}

// TestOpenAPISecurity holds each operation's stated security to the
// server: one that needs the bearer token answers 401 without it, with
// WWW-Authenticate; one marked public (security: []) does not.
func TestOpenAPISecurity(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	echoParam, docParam := regexp.MustCompile(`:\w+`), regexp.MustCompile(`\{\w+\}`)
	registered := map[string]bool{}
	for _, r := range v.e.Routes() {
		if r.Method != "echo_route_not_found" {
			registered[r.Method+" "+echoParam.ReplaceAllString(r.Path, ":")] = true
		}
	}
	checked := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !registered[method+" "+docParam.ReplaceAllString(path, ":")] {
				continue // mounted only when configured
			}
			checked++
			public := op.Security != nil && len(*op.Security) == 0
			res := v.do(method, docParam.ReplaceAllString(path, "1"), nil, "")
			switch {
			case public && res.Code == 401:
				t.Errorf("%s %s is documented public but answers 401", method, path)
			case !public && (res.Code != 401 || res.Header.Get("WWW-Authenticate") == ""):
				t.Errorf("%s %s is documented as needing the bearer token but answers %d without one", method, path, res.Code)
			}
		}
	}
	if checked != len(registered) {
		t.Errorf("checked %d operations, %d routes are registered", checked, len(registered))
	}
}

func TestPlumbing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		v := newEnv(t, st)
		if res := v.do("GET", "/healthz", nil, "").expect(t, 200); string(res.Body) != `{"status":"ok"}`+"\n" {
			t.Fatalf("healthz %s", res.Body)
		}
		v.do("GET", "/readyz", nil, "").expect(t, 200)
		if res := v.do("GET", "/api/openapi.yaml", nil, "").expect(t, 200); !strings.HasPrefix(string(res.Body), "openapi:") {
			t.Fatalf("openapi %q", res.Body[:20])
		}
		for _, c := range []struct {
			method, path string
			code         int
			word         string
		}{{"GET", "/nope", 404, "not found"}, {"DELETE", "/api/login", 405, "method not allowed"}} {
			res := v.do(c.method, c.path, nil, "").expect(t, c.code)
			if res.JSON(t)["message"] != c.word || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("%s %s: %v %s", c.method, c.path, res.Header, res.Body)
			}
		}
		if res := v.do("GET", "/healthz", nil, ""); res.Header.Get("X-Request-Id") == "" {
			t.Fatal("no request id")
		}
		st.Close()
		res := v.do("GET", "/readyz", nil, "").expect(t, 503)
		if res.JSON(t)["status"] != "unavailable" {
			t.Fatal("ready with a closed store")
		}
	})
}
