package store

// MigrateDir exposes migrateDir to the external tests, which apply edited
// copies of the migration directory.
var MigrateDir = migrateDir
