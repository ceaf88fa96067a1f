// Package api holds the contracts: openapi.yaml (REST) and channels.md
// (the socket protocol). The OpenAPI file is embedded and served.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml, served at GET /api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
