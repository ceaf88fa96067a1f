package api_test

import (
	"sort"
	"testing"

	"github.com/companyapi/companyapi/internal/apitest"
)

// TestOpenAPIValid: api/openapi.yaml is a valid OpenAPI 3.0 document
// (kin-openapi's loader and Validate), and every operation carries what
// client generators need: an operationId and its security stated.
func TestOpenAPIValid(t *testing.T) {
	doc, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Security) == 0 {
		t.Error("no document-wide security: operations that need the bearer token would say nothing")
	}
	var paths []string
	for p := range doc.Paths.Map() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for method, op := range doc.Paths.Value(p).Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, p)
			}
		}
	}
}
