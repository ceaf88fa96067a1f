// Package templates embeds the mail bodies and the dev mailbox pages, so the
// binary carries them and no deployment has to ship a directory beside it.
package templates

import "embed"

// FS holds every template; internal/mail parses the ones it needs by name.
//
//go:embed *.html *.txt
var FS embed.FS
