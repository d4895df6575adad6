package contract

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestInstrumentationDocCompiles builds every complete Go file shown
// in docs/metrics-instrumentation-example.md and docs/own-sdk.md (fences
// "```go"; fragments are fenced "```go fragment"), as packages laid over the
// module with -overlay, so the docs cannot drift from the API.
func TestInstrumentationDocCompiles(t *testing.T) {
	for _, d := range []struct {
		file string
		min  int
	}{{"metrics-instrumentation-example.md", 7}, {"own-sdk.md", 1}} {
		t.Run(d.file, func(t *testing.T) { buildDoc(t, d.file, d.min) })
	}
}

func buildDoc(t *testing.T, file string, minBlocks int) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "docs", file))
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllStringSubmatch(string(raw), -1)
	if len(blocks) < minBlocks {
		t.Fatalf("found %d Go files in the doc, want at least %d", len(blocks), minBlocks)
	}
	tmp := t.TempDir()
	replace := map[string]string{}
	var pkgs []string
	for i, b := range blocks {
		if !strings.HasPrefix(b[1], "package ") {
			t.Errorf("block %d is not a complete Go file; fence fragments as ```go fragment", i+1)
			continue
		}
		src := filepath.Join(tmp, fmt.Sprintf("s%d.go", i))
		if err := os.WriteFile(src, []byte(b[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := fmt.Sprintf("internal/docsnippets/%s/s%d", strings.TrimSuffix(file, ".md"), i)
		replace[filepath.Join(root, dir, "snippet.go")] = src
		pkgs = append(pkgs, "./"+dir)
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": replace})
	overlayPath := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"build", "-overlay", overlayPath, "-o", os.DevNull}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the doc's Go files do not build:\n%s", out)
	}
}
