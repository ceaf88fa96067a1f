package gencheck

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

// TestEntClientUpToDate regenerates the client from ent/schema into a
// temporary directory and compares it file by file with ent/.
func TestEntClientUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("generating the Ent client takes a while")
	}
	root, err := filepath.Abs("../../ent")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// The same features as ent/generate.go's //go:generate line.
	feats := []gen.Feature{gen.FeatureVersionedMigration, gen.FeatureUpsert, gen.FeatureExecQuery, gen.FeatureLock}
	if err := entc.Generate(filepath.Join(root, "schema"), &gen.Config{
		Target:   tmp,
		Package:  "github.com/companyapi/companyapi/ent",
		Features: feats,
	}); err != nil {
		t.Fatalf("generate: %v", err)
	}
	want := files(t, tmp)
	got := files(t, root)
	for name, content := range want {
		if have, ok := got[name]; !ok {
			t.Errorf("ent/%s is missing: run make generate", name)
		} else if !bytes.Equal(have, content) {
			t.Errorf("ent/%s differs from what ent/schema generates: run make generate (never edit it by hand)\n%s", name, firstDiff(have, content))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("ent/%s is not generated from ent/schema: remove it or run make generate", name)
		}
	}
}

// files reads every generated file below dir, skipping the hand-written
// schema/ and generate.go.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if rel == "schema" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == "generate.go" || !strings.HasSuffix(rel, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		out[rel] = stripVersion(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stripVersion drops runtime.go's codegen version block, which exists only
// when the generator knows its own module version (go run), not in a test.
func stripVersion(b []byte) []byte {
	if i := bytes.Index(b, []byte("\nconst (\n\tVersion = ")); i >= 0 {
		return b[:i]
	}
	return b
}

// firstDiff shows the first differing line, to say what drifted.
func firstDiff(have, want []byte) string {
	h, w := bytes.Split(have, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range min(len(h), len(w)) {
		if !bytes.Equal(h[i], w[i]) {
			return "line " + strconv.Itoa(i+1) + ":\n  ent/:      " + string(h[i]) + "\n  generated: " + string(w[i])
		}
	}
	return "lengths differ: " + strconv.Itoa(len(h)) + " vs " + strconv.Itoa(len(w)) + " lines"
}
