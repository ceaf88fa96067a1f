// Package ent holds the typed client generated from ent/schema; only schema/
// is written by hand.
package ent

//go:generate go tool ent generate --feature sql/versioned-migration,sql/upsert,sql/execquery,sql/lock ./schema
