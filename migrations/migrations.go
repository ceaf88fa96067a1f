// Package migrations embeds the Atlas versioned migrations generated from
// ent/schema, one directory per dialect, each with its atlas.sum.
package migrations

import "embed"

// FS holds postgres/ and sqlite/.
//
//go:embed postgres sqlite
var FS embed.FS
