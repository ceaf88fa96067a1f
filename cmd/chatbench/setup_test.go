package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestServerEnvPassesAdminAddr: ADMIN_ADDR set for chatbench reaches the
// server under load, for a dashboard to watch the run; unset, the server
// gets none.
func TestServerEnvPassesAdminAddr(t *testing.T) {
	t.Setenv("ADMIN_ADDR", "127.0.0.1:9090")
	if env := serverEnv("postgres://x", "secret", "prod"); !slices.Contains(env, "ADMIN_ADDR=127.0.0.1:9090") {
		t.Errorf("ADMIN_ADDR not passed on: %q", env)
	}
	os.Unsetenv("ADMIN_ADDR") // t.Setenv restores it after the test
	for _, kv := range serverEnv("postgres://x", "secret", "prod") {
		if strings.HasPrefix(kv, "ADMIN_ADDR=") {
			t.Errorf("the server got %s though chatbench had no ADMIN_ADDR", kv)
		}
	}
}
