// For people who have the Atlas CLI (https://atlasgo.io); nothing in this
// repository needs it: make migration and the store tests use Atlas as a Go
// library. Examples:
//
//   atlas migrate diff add_avatar --env sqlite
//   atlas migrate validate --env postgres
//   atlas migrate lint --env postgres --latest 1

env "sqlite" {
  src = "ent://ent/schema"
  dev = "sqlite://dev?mode=memory"
  migration {
    dir = "file://migrations/sqlite"
  }
}

env "postgres" {
  src = "ent://ent/schema"
  dev = "docker://postgres/15/dev"
  migration {
    dir = "file://migrations/postgres"
  }
}
