package contract

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

var refuseLine = regexp.MustCompile(`(?m)^// go (build|vet) must refuse it with: (.+)$`)

// TestOperationMisusesAreRefused: each mistake the operations' API once let
// through silently (testdata/misuse: `defer op.End(err)`, which recorded the
// error the defer line saw; an op copied, so that SetUsage or RateLimited
// changed the copy) is now refused by the compiler or by go vet, with the
// message its file names.
func TestOperationMisusesAreRefused(t *testing.T) {
	dirs, err := filepath.Glob("testdata/misuse/*")
	if err != nil || len(dirs) < 5 {
		t.Fatalf("misuse snippets: %v %v", dirs, err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, "snippet.go"))
			if err != nil {
				t.Fatal(err)
			}
			m := refuseLine.FindSubmatch(src)
			if m == nil {
				t.Fatal("no '// go build|vet must refuse it with:' line")
			}
			tool, want := string(m[1]), string(m[2])
			out, err := exec.Command("go", tool, "./"+dir).CombinedOutput()
			if err == nil {
				t.Fatalf("go %s accepted the misuse", tool)
			}
			if !regexp.MustCompile(regexp.QuoteMeta(want)).Match(out) {
				t.Errorf("go %s refused it, but not with %q:\n%s", tool, want, out)
			}
		})
	}
}
