package web

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestBundleUpToDate builds app/ into a temporary directory, from its
// package-lock with `npm ci`, and compares the bundle with the committed
// static/app.js, as internal/gencheck does for ent/: the bundle is never
// edited by hand, and a change to app/src without `make assets` fails.
// Without Node it skips, except under CI=true, where it fails.
func TestBundleUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("npm ci and a build take a while")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed: cannot check static/app.js against app/", tool)
			}
			t.Skipf("%s is not installed: static/app.js is not checked against app/", tool)
		}
	}
	tmp := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "build.mjs"} {
		copyFile(t, filepath.Join("app", name), filepath.Join(tmp, name))
	}
	srcs, err := filepath.Glob("app/src/*.js")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no app/src/*.js: %v", err)
	}
	for _, f := range srcs {
		copyFile(t, f, filepath.Join(tmp, "src", filepath.Base(f)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(name string, args ...string) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	// --ignore-scripts: esbuild finds its platform binary without its
	// postinstall, and no dependency's script runs on this machine.
	run("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	out := filepath.Join(tmp, "app.js")
	run("node", "build.mjs", out)

	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Errorf("static/app.js differs from what app/ builds: run make assets (never edit it by hand)\n%s", firstDiff(have, want))
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstDiff shows the first differing line, to say what drifted.
func firstDiff(have, want []byte) string {
	h, w := bytes.Split(have, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range min(len(h), len(w)) {
		if !bytes.Equal(h[i], w[i]) {
			return "line " + strconv.Itoa(i+1) + ":\n  static/app.js: " + string(h[i]) + "\n  built:         " + string(w[i])
		}
	}
	return "lengths differ: " + strconv.Itoa(len(h)) + " vs " + strconv.Itoa(len(w)) + " lines"
}
