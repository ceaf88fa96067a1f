package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// readmeBlock returns the fenced code block that follows marker in
// README.md, so a test runs the documentation as a reader would.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("README.md has no %q", marker)
	}
	_, rest, _ = strings.Cut(rest, "```")
	_, rest, _ = strings.Cut(rest, "\n") // the fence's language
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("README.md: no code block after %q", marker)
	}
	return block
}

// TestReadmeWalkthrough runs the README's walk-through, line by line as
// written, against a fresh server: each command must succeed, and the
// conversation read from its start must hold the message.
func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the walk-through needs %s: %v", tool, err)
		}
	}
	script := readmeBlock(t, "TestReadmeWalkthrough runs this block")
	base, stop := startServer(t, sqliteEnv(t))
	defer stop()
	script = strings.ReplaceAll(script, "localhost:4000", strings.TrimPrefix(base, "http://"))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// -e: a failing line fails the test; -u: so does an unset variable;
	// pipefail: so does a failing curl piped into jq.
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script+"\necho \"TOKEN=$TOKEN\"")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through failed: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	history := lines[len(lines)-2]
	if !strings.Contains(history, `"content":"Hi Bob!"`) || !strings.Contains(history, `"after":null`) {
		t.Fatalf("the last command printed %s, want the conversation holding \"Hi Bob!\"\n%s", history, out)
	}
	if token := strings.TrimPrefix(lines[len(lines)-1], "TOKEN="); strings.Count(token, ".") != 2 {
		t.Fatalf("TOKEN is %q, want a JWT", token)
	}
}

// TestReadmePasswordReset runs the README's password reset after its
// walk-through (which registers Ann): the reset answers 204 and Ann logs
// in with the new password.
func TestReadmePasswordReset(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the walk-through needs %s: %v", tool, err)
		}
	}
	script := readmeBlock(t, "TestReadmeWalkthrough runs this block") + readmeBlock(t, "TestReadmePasswordReset runs this block") +
		"curl -s localhost:4000/api/users/me -H \"authorization: Bearer $TOKEN\" -o /dev/null -w '%{http_code}\\n'\n"
	base, stop := startServer(t, sqliteEnv(t))
	defer stop()
	script = strings.ReplaceAll(script, "localhost:4000", strings.TrimPrefix(base, "http://"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("password reset failed: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 || lines[len(lines)-2] != "204" || lines[len(lines)-1] != "200" {
		t.Fatalf("want the reset's 204, then the new token's 200 from /api/users/me:\n%s", out)
	}
}
