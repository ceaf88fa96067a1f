package store

import "testing"

func TestPGDSN(t *testing.T) {
	cases := map[string]string{
		"postgres://u@h/db?sslmode=disable": "postgres://u@h/db?binary_parameters=yes&idle_in_transaction_session_timeout=60s&sslmode=disable&statement_timeout=30s",
		"postgres://u@h/db":                 "postgres://u@h/db?binary_parameters=yes&idle_in_transaction_session_timeout=60s&statement_timeout=30s",
		"postgres://u@h/db?binary_parameters=no&sslmode=require&statement_timeout=0": "postgres://u@h/db?binary_parameters=no&idle_in_transaction_session_timeout=60s&sslmode=require&statement_timeout=0",
	}
	for in, want := range cases {
		if got := pgDSN(in); got != want {
			t.Errorf("pgDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
