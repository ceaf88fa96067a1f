package store

import "testing"

func TestPGDSN(t *testing.T) {
	cases := map[string]string{
		"postgres://u@h/db?sslmode=disable":                      "postgres://u@h/db?binary_parameters=yes&sslmode=disable",
		"postgres://u@h/db":                                      "postgres://u@h/db?binary_parameters=yes",
		"postgres://u@h/db?binary_parameters=no&sslmode=require": "postgres://u@h/db?binary_parameters=no&sslmode=require",
	}
	for in, want := range cases {
		if got := pgDSN(in); got != want {
			t.Errorf("pgDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
