// Package apitest holds api/openapi.yaml up against what the server really
// answers: tests pass every REST exchange they make through Check (or a
// client built with Transport), so a handler that answers a status, header
// or body the document does not describe fails a test. The binary never
// imports it.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/companyapi/companyapi/api"
)

// Load parses and validates api/openapi.yaml as an OpenAPI 3.0 document.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml is not valid OpenAPI: %w", err)
	}
	return doc, nil
}

// checker is the document loaded once per test binary, routed by path.
type checker struct {
	router routers.Router
}

var load = sync.OnceValues(func() (*checker, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	// Any host: tests serve on httptest's addresses, not the documented one.
	doc.Servers = nil
	closeResponseObjects(doc)
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &checker{router: r}, nil
})

// Check validates one response to req against the document: its status
// must be documented for the operation, and its headers and body must
// match. Requests the document has no operation for (unknown paths, other
// methods) are not checked: there is nothing to hold them to.
func Check(req *http.Request, status int, header http.Header, body []byte) error {
	c, err := load()
	if err != nil {
		return err
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		var re *routers.RouteError
		if errors.As(err, &re) {
			return nil
		}
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
		},
		Status: status,
		Header: header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			// The body is in the error already; the schema is in the file.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d %s, which api/openapi.yaml does not describe: %w",
			req.Method, req.URL.Path, status, clip(body), err)
	}
	return nil
}

// clip shortens a body for an error message.
func clip(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "…"...)
	}
	return b
}

// Transport wraps base (http.DefaultTransport if nil) so that every
// response is checked; a response the document does not describe becomes
// the request's error.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return checkingTransport{base}
}

type checkingTransport struct{ base http.RoundTripper }

func (t checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err != nil || res.StatusCode == http.StatusSwitchingProtocols {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err := Check(req, res.StatusCode, res.Header, body); err != nil {
		return nil, err
	}
	return res, nil
}

// closeResponseObjects makes every object schema that lists its properties
// refuse others, in responses only: the document leaves them open so that
// clients tolerate fields added later, but a field the server sends today
// must be in it.
func closeResponseObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, res := range op.Responses.Map() {
				if res.Value == nil {
					continue
				}
				for _, mt := range res.Value.Content {
					closeSchema(mt.Schema, seen)
				}
			}
		}
	}
}

func closeSchema(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
		s.AdditionalProperties.Has = openapi3.Ptr(false)
	}
	for _, p := range s.Properties {
		closeSchema(p, seen)
	}
	closeSchema(s.Items, seen)
	closeSchema(s.AdditionalProperties.Schema, seen)
	for _, list := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		for _, sub := range list {
			closeSchema(sub, seen)
		}
	}
}
