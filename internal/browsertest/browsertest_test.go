package browsertest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestStartWithoutChromium: with no Chromium to be had, a browser test
// skips, and fails under CI=true (run in a child process with an empty
// PATH, so that the outcome is the child's).
func TestStartWithoutChromium(t *testing.T) {
	if os.Getenv("BROWSERTEST_CHILD") == "1" {
		Start(t)
		t.Fatal("Start returned without a browser")
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStartWithoutChromium$", "-test.v")
		cmd.Env = append(os.Environ(), "BROWSERTEST_CHILD=1", "PATH="+t.TempDir(), "CHROMIUM=", "CI="+ci)
		out, err := cmd.CombinedOutput()
		switch {
		case ci == "true" && (err == nil || !strings.Contains(string(out), "FAIL: TestStartWithoutChromium")):
			t.Errorf("CI=true without Chromium: %v\n%s", err, out)
		case ci == "" && (err != nil || !strings.Contains(string(out), "SKIP: TestStartWithoutChromium")):
			t.Errorf("without Chromium: %v\n%s", err, out)
		}
	}
}

func TestPathFromEnvironment(t *testing.T) {
	t.Setenv("CHROMIUM", "/opt/some/chromium")
	if p, ok := Path(); !ok || p != "/opt/some/chromium" {
		t.Fatalf("Path() = %q, %v", p, ok)
	}
}
