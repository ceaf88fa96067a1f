// Package web is the chat page served at / : static/ (index.html, app.css,
// and app.js, the bundle of app/src with the phoenix client that `make
// assets` builds), embedded in the binary so that serving it needs no
// Node and no files beside the binary.
package web
