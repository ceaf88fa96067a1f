// Package gencheck holds the test that the generated Ent client in ent/ is
// what ent/schema generates today: generated code is never edited by hand,
// and a schema change without `make generate` fails the build.
package gencheck
