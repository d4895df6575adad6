package workspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
)

func newManager(t *testing.T) (*Manager, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	git, err := gitmetrics.New(gitmetrics.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(t.TempDir(), git)
	if err != nil {
		t.Fatal(err)
	}
	return m, reader
}

func TestResolve(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	root := m.Root()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		ok   bool
	}{
		{filepath.Join(root, "ws"), true},
		{filepath.Join(root, "a", "b", "c"), true},
		{filepath.Join(root, "a", "..", "ws"), true},
		{root, false},
		{filepath.Join(root, ".."), false},
		{filepath.Join(root, "..", "elsewhere"), false},
		{filepath.Join(root, "escape", "ws"), false},
		{"relative/ws", false},
		{"", false},
		{"/etc", false},
		// Control characters: a NUL cuts the path short for the system.
		{filepath.Join(root, "ws\x00evil"), false},
		{filepath.Join(root, "ws\nsecond-line"), false},
		{filepath.Join(root, "ws\x7f"), false},
		{filepath.Join(root, "ws\u0085"), false},
	}
	for _, tt := range tests {
		got, err := m.Resolve(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("Resolve(%q) = %q, %v; want ok=%v", tt.path, got, err, tt.ok)
		}
		if err == nil && !strings.HasPrefix(got, root+string(filepath.Separator)) {
			t.Errorf("Resolve(%q) = %q, outside %s", tt.path, got, root)
		}
	}
}

func TestOpenRefusesNonEmptyNonRepo(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	dir := filepath.Join(m.Root(), "busy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Open(t.Context(), dir); err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Fatalf("Open = %v", err)
	}
}

func mergeResults(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, mm := range sm.Metrics {
			if mm.Name == gitmetrics.MergeCountName {
				for _, dp := range mm.Data.(metricdata.Sum[int64]).DataPoints {
					v, _ := dp.Attributes.Value(gitmetrics.ResultKey)
					out[v.AsString()] += dp.Value
				}
			}
		}
	}
	return out
}

// branch writes content to file on a new worktree branch and commits it.
func branch(t *testing.T, r *Repo, name, file, content string) *Worktree {
	t.Helper()
	w, err := r.NewWorktree(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile(file, content); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), "work on "+name); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestMergesAndConflicts(t *testing.T) {
	t.Parallel()
	m, reader := newManager(t)
	r, err := m.Open(t.Context(), filepath.Join(m.Root(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Base() != "main" {
		t.Errorf("base = %q", r.Base())
	}
	a := branch(t, r, "orch/a", "src/main.go", "package main // a\n")
	b := branch(t, r, "orch/b", "src/main.go", "package main // b\n")
	c := branch(t, r, "orch/c", "src/main.go", "package main // c\n")
	if res, err := r.Merge(t.Context(), a.Branch(), nil); err != nil || res != gitmetrics.ResultSuccess {
		t.Fatal(err)
	}
	// b touches the same file: a real conflict, resolved.
	var seen string
	res, err := r.Merge(t.Context(), b.Branch(), func(_ context.Context, file, conflicted string) (string, error) {
		seen = file
		if !strings.Contains(conflicted, "<<<<<<<") {
			t.Errorf("no conflict markers in %q", conflicted)
		}
		return "package main // a and b\n", nil
	})
	if err != nil || seen != "src/main.go" || res != gitmetrics.ResultConflict {
		t.Fatalf("resolved merge = %v (file %q)", err, seen)
	}
	got, _ := os.ReadFile(filepath.Join(r.Dir(), "src", "main.go"))
	if string(got) != "package main // a and b\n" {
		t.Errorf("main has %q", got)
	}
	// c conflicts too, and the resolver gives up: aborted, base untouched.
	_, err = r.Merge(t.Context(), c.Branch(), func(context.Context, string, string) (string, error) {
		return "", errors.New("the LLM could not resolve it")
	})
	if !errors.Is(err, gitmetrics.ErrConflict) {
		t.Fatalf("unresolved merge = %v, want ErrConflict", err)
	}
	if status, _ := run(t.Context(), r.Dir(), "status", "--porcelain"); strings.TrimSpace(status) != "" {
		t.Errorf("base worktree not clean after the abort: %q", status)
	}
	for _, w := range []*Worktree{a, b, c} {
		if err := w.Remove(); err != nil {
			t.Error(err)
		}
	}
	if res := mergeResults(t, reader); res["success"] != 1 || res["conflict"] != 2 {
		t.Errorf("merge results = %v, want 1 success and 2 conflicts", res)
	}
}

// TestWriteFileStaysInTheWorktree: a model chooses file names, so ".." and
// ".git" must not lead out of the worktree.
func TestWriteFileStaysInTheWorktree(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	r, err := m.Open(t.Context(), filepath.Join(m.Root(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.NewWorktree(t.Context(), "orch/escape")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Remove()
	if err := w.WriteFile("../../../escape.txt", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "escape.txt")); err != nil {
		t.Errorf("the cleaned path is not inside the worktree: %v", err)
	}
	for _, dir := range []string{m.Root(), filepath.Dir(m.Root()), r.Dir()} {
		if _, err := os.Stat(filepath.Join(dir, "escape.txt")); err == nil {
			t.Errorf("WriteFile wrote to %s", dir)
		}
	}
	if err := w.WriteFile(".git/hooks/post-merge", "#!/bin/sh\n"); err == nil {
		t.Error("WriteFile wrote into .git")
	}
}

func TestResolveNamesTheControlCharacter(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	_, err := m.Resolve(filepath.Join(m.Root(), "a\x00b"))
	if err == nil || !strings.Contains(err.Error(), "control character U+0000") {
		t.Fatalf("Resolve with a NUL = %v, want it named", err)
	}
}

// git runs git in dir for a test's own set-up, failing the test on error.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := output(t.Context(), dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// commitOnBase commits every change of r's base checkout, as a person
// working in the repository would.
func commitOnBase(t *testing.T, r *Repo, msg string) {
	t.Helper()
	git(t, r.Dir(), "add", "-A")
	git(t, r.Dir(), "commit", "-q", "-m", msg)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestWriteFileRefusesSymlinksOut: symbolic links committed on the base
// branch, to a directory or a file outside the worktree, must not take a
// write out of it; nothing is created or changed outside.
func TestWriteFileRefusesSymlinksOut(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	r, err := m.Open(t.Context(), filepath.Join(m.Root(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim.txt")
	writeFile(t, victim, "original\n")
	writeFile(t, filepath.Join(r.Dir(), "src", "keep.txt"), "kept\n")
	symlink(t, outside, filepath.Join(r.Dir(), "outdir"))
	symlink(t, victim, filepath.Join(r.Dir(), "outfile"))
	symlink(t, "..", filepath.Join(r.Dir(), "up")) // the worktree's parent
	symlink(t, "src", filepath.Join(r.Dir(), "inner"))
	symlink(t, "README.md", filepath.Join(r.Dir(), "readme-link"))
	commitOnBase(t, r, "links")
	w, err := r.NewWorktree(t.Context(), "orch/links")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Remove()

	for _, rel := range []string{"outdir/new.txt", "outdir/sub/new.txt", "outfile", "up/escape.txt", "up/ws/README.md", "readme-link"} {
		if err := w.WriteFile(rel, "written\n"); err == nil {
			t.Errorf("WriteFile(%q) through a symbolic link succeeded", rel)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Errorf("outside the worktree now holds %v, want victim.txt alone", entries)
	}
	if b, _ := os.ReadFile(victim); string(b) != "original\n" {
		t.Errorf("the file outside has %q", b)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(w.dir), "escape.txt")); err == nil {
		t.Error("WriteFile wrote next to the worktree")
	}
	if b, _ := os.ReadFile(filepath.Join(w.dir, "README.md")); !strings.HasPrefix(string(b), "# Agent Orchestrator") {
		t.Errorf("README.md through its link has %q", b)
	}
	// Normal writes, nested or through a link that stays inside, still work.
	for rel, want := range map[string]string{"a/b/c.txt": "a/b/c.txt", "inner/ok.txt": "src/ok.txt", "top.txt": "top.txt"} {
		if err := w.WriteFile(rel, "content of "+rel); err != nil {
			t.Errorf("WriteFile(%q) = %v", rel, err)
			continue
		}
		if b, err := os.ReadFile(filepath.Join(w.dir, want)); err != nil || string(b) != "content of "+rel {
			t.Errorf("%s = %q, %v", want, b, err)
		}
	}
	if err := w.Commit(t.Context(), "files"); err != nil {
		t.Fatal(err)
	}
}

// TestNewWorktreeRefusesALinkedWorktreesDir: the worktrees directory must
// be a directory of the repository, not a link to elsewhere.
func TestNewWorktreeRefusesALinkedWorktreesDir(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	r, err := m.Open(t.Context(), filepath.Join(m.Root(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	symlink(t, outside, filepath.Join(r.Dir(), ".worktrees"))
	if w, err := r.NewWorktree(t.Context(), "orch/x"); err == nil {
		w.Remove()
		t.Fatal("NewWorktree created a worktree through a symbolic link")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("outside the repository now holds %v", entries)
	}
}

// TestMergeDoesNotWriteThroughAConflictedSymlink: when a symbolic link
// conflicts, git leaves it in the checkout pointing where one side wanted;
// the resolution must not read or write its target.
func TestMergeDoesNotWriteThroughAConflictedSymlink(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	r, err := m.Open(t.Context(), filepath.Join(m.Root(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim.txt")
	writeFile(t, victim, "original\n")
	writeFile(t, filepath.Join(r.Dir(), "a"), "a\n")
	symlink(t, "a", filepath.Join(r.Dir(), "link"))
	commitOnBase(t, r, "a link")
	relink := func(name, target string) *Worktree {
		w, err := r.NewWorktree(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Remove() })
		if err := os.Remove(filepath.Join(w.dir, "link")); err != nil {
			t.Fatal(err)
		}
		symlink(t, target, filepath.Join(w.dir, "link"))
		if err := w.Commit(t.Context(), "relink "+name); err != nil {
			t.Fatal(err)
		}
		return w
	}
	x, y := relink("orch/x", victim), relink("orch/y", "b")
	if _, err := r.Merge(t.Context(), x.Branch(), nil); err != nil {
		t.Fatal(err)
	}
	var seen []string
	_, err = r.Merge(t.Context(), y.Branch(), func(_ context.Context, file, conflicted string) (string, error) {
		seen = append(seen, file+": "+conflicted)
		return "resolved\n", nil
	})
	if !errors.Is(err, gitmetrics.ErrConflict) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("merge of a conflicted symbolic link = %v, want ErrConflict naming the link", err)
	}
	if len(seen) != 0 {
		t.Errorf("the resolver was given %q", seen)
	}
	if b, _ := os.ReadFile(victim); string(b) != "original\n" {
		t.Errorf("the link's target outside has %q", b)
	}
	if status := git(t, r.Dir(), "status", "--porcelain"); status != "" {
		t.Errorf("base checkout not clean after the abort: %q", status)
	}
}

// TestConflictedFileNamesWithOddCharacters: git's names of conflicted files
// reach the resolver exactly, whatever characters they hold, and the
// resolution is committed.
func TestConflictedFileNamesWithOddCharacters(t *testing.T) {
	t.Parallel()
	// Spaces, quoting, glob characters and pathspec magic (":(top)" would
	// make git add look for "notes.md").
	for _, name := range []string{"my notes.md", "naïve ü.md", "[draft] *.md", ":(top)notes.md", "dir with space/tab\there.md", `quote"and\back.md`} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, reader := newManager(t)
			r, err := m.Open(t.Context(), filepath.Join(m.Root(), "ws"))
			if err != nil {
				t.Fatal(err)
			}
			a := branch(t, r, "orch/a", name, "from a\n")
			b := branch(t, r, "orch/b", name, "from b\n")
			defer a.Remove()
			defer b.Remove()
			if _, err := r.Merge(t.Context(), a.Branch(), nil); err != nil {
				t.Fatal(err)
			}
			var seen []string
			res, err := r.Merge(t.Context(), b.Branch(), func(_ context.Context, file, conflicted string) (string, error) {
				seen = append(seen, file)
				if !strings.Contains(conflicted, "<<<<<<<") {
					t.Errorf("no conflict markers in %q", conflicted)
				}
				return "from a and b\n", nil
			})
			if err != nil || res != gitmetrics.ResultConflict {
				t.Fatalf("merge = %s, %v", res, err)
			}
			if len(seen) != 1 || seen[0] != name {
				t.Errorf("the resolver was called for %q, want exactly [%q]", seen, name)
			}
			if got := git(t, r.Dir(), "show", "main:"+name); got != "from a and b" {
				t.Errorf("main:%s = %q", name, got)
			}
			if parents := strings.Fields(git(t, r.Dir(), "rev-list", "--parents", "-n", "1", "main")); len(parents) != 3 {
				t.Errorf("main's last commit is not the merge: %v", parents)
			}
			if status := git(t, r.Dir(), "status", "--porcelain"); status != "" {
				t.Errorf("base checkout not clean: %q", status)
			}
			if res := mergeResults(t, reader); res["success"] != 1 || res["conflict"] != 1 {
				t.Errorf("merge results = %v", res)
			}
		})
	}
}

// foreignRepo makes a repository as a person would, with a commit and a
// feature branch checked out, and returns its refs and config to compare.
func foreignRepo(t *testing.T, dir string) (snapshot func() string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q")
	writeFile(t, filepath.Join(dir, "theirs.txt"), "their work\n")
	git(t, dir, "add", "-A")
	git(t, dir, "-c", "user.name=Someone", "-c", "user.email=someone@localhost", "commit", "-q", "-m", "their commit")
	git(t, dir, "checkout", "-q", "-b", "feature")
	return func() string {
		cfg, _ := os.ReadFile(filepath.Join(dir, ".git", "config"))
		exclude, _ := os.ReadFile(filepath.Join(dir, ".git", "info", "exclude"))
		return git(t, dir, "for-each-ref") + "\n" + git(t, dir, "symbolic-ref", "HEAD") + "\n" +
			git(t, dir, "status", "--porcelain", "--ignored") + "\n" + string(cfg) + string(exclude)
	}
}

// TestForeignRepositoriesAreRefused: a repository the server did not create
// is refused by Check and Open, with an error naming the path and why, and
// is left exactly as it was.
func TestForeignRepositoriesAreRefused(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	dir := filepath.Join(m.Root(), "theirs")
	snapshot := foreignRepo(t, dir)
	before := snapshot()
	if _, err := m.Check(t.Context(), dir); !errors.Is(err, ErrForeignRepository) || !strings.Contains(err.Error(), BaseKey) {
		t.Errorf("Check = %v, want ErrForeignRepository naming %s", err, BaseKey)
	}
	_, err := m.Open(t.Context(), dir)
	if !errors.Is(err, ErrForeignRepository) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "did not create") {
		t.Errorf("Open = %v, want ErrForeignRepository naming %s", err, dir)
	}
	if after := snapshot(); after != before {
		t.Errorf("the repository changed:\n%s\nwas:\n%s", after, before)
	}
	if _, err := os.Stat(filepath.Join(dir, ".worktrees")); err == nil {
		t.Error("a worktree directory was made in their repository")
	}
}

// TestCheck: what may be at a workspace path.
func TestCheck(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	root := m.Root()
	own, err := m.Open(t.Context(), filepath.Join(root, "own"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := own.NewWorktree(t.Context(), "orch/w")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Remove()
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "busy", "notes.txt"), "mine")
	writeFile(t, filepath.Join(root, "a-file"), "x")
	foreignRepo(t, filepath.Join(root, "theirs"))
	earlierVersion(t, filepath.Join(root, "earlier"))
	// An earlier version's workspace with a history of someone else's
	// grafted in is not one.
	grafted := filepath.Join(root, "grafted")
	earlierVersion(t, grafted)
	git(t, grafted, "checkout", "-q", "--orphan", "theirs")
	git(t, grafted, "-c", "user.name=Someone", "commit", "-q", "--allow-empty", "-m", "their root")
	git(t, grafted, "checkout", "-q", "main")
	// A second manager, as after a restart: nothing is cached.
	restarted, err := NewManager(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string // in the error; "" for ok
	}{
		{filepath.Join(root, "new", "ws"), ""},
		{filepath.Join(root, "empty"), ""},
		{filepath.Join(root, "own"), ""},
		{filepath.Join(root, "busy"), "is not empty and is not a git repository"},
		{filepath.Join(root, "a-file"), "is not a directory"},
		{filepath.Join(root, "theirs"), "did not create"},
		{filepath.Join(root, "earlier"), ""},
		{grafted, "did not create"},
		{w.dir, "its .git is not a directory"},
		{"/etc", "outside the workspace root"},
	}
	for _, mgr := range []*Manager{m, restarted} {
		for _, tt := range tests {
			got, err := mgr.Check(t.Context(), tt.path)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Check(%q) = %q, %v; want error containing %q", tt.path, got, err, tt.want)
			}
		}
	}
}

// TestRestartReusesItsWorkspace: a workspace the server created is reused
// by a new Manager (a restart), with its base branch.
func TestRestartReusesItsWorkspace(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	dir := filepath.Join(m.Root(), "ws")
	r, err := m.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	a := branch(t, r, "orch/a", "a.txt", "a\n")
	defer a.Remove()
	if _, err := r.Merge(t.Context(), a.Branch(), nil); err != nil {
		t.Fatal(err)
	}
	if got := git(t, dir, "config", "--local", "--get", BaseKey); got != "main" {
		t.Errorf("%s = %q, want main", BaseKey, got)
	}
	restarted, err := NewManager(m.Root(), r.git)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := restarted.Open(t.Context(), dir)
	if err != nil {
		t.Fatalf("a restarted server refuses its own workspace: %v", err)
	}
	b := branch(t, r2, "orch/b", "b.txt", "b\n")
	defer b.Remove()
	if res, err := r2.Merge(t.Context(), b.Branch(), nil); err != nil || res != gitmetrics.ResultSuccess {
		t.Fatalf("merge after the restart = %s, %v", res, err)
	}
	if got := git(t, dir, "show", "main:a.txt"); got != "a" {
		t.Errorf("main:a.txt = %q", got)
	}
	if got := git(t, dir, "log", "--format=%s", "main"); strings.Count(got, "Initialise the workspace") != 1 {
		t.Errorf("main's history:\n%s", got)
	}
}

// TestOpenFinishesAnInterruptedCreation: a repository marked at git init
// whose first commit was never made is completed, not refused.
func TestOpenFinishesAnInterruptedCreation(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	dir := filepath.Join(m.Root(), "ws")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q")
	git(t, dir, "config", "--local", BaseKey, "main")
	r, err := m.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	w := branch(t, r, "orch/a", "a.txt", "a\n")
	defer w.Remove()
	if res, err := r.Merge(t.Context(), w.Branch(), nil); err != nil || res != gitmetrics.ResultSuccess {
		t.Fatalf("merge = %s, %v", res, err)
	}
}

// TestMergeNeverLandsOnAnotherBranch: someone checks another branch out in
// a workspace; merges are refused (not committed onto that branch) until
// the base branch is back, and a restart keeps the recorded base branch.
func TestMergeNeverLandsOnAnotherBranch(t *testing.T) {
	t.Parallel()
	m, reader := newManager(t)
	dir := filepath.Join(m.Root(), "ws")
	r, err := m.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	a := branch(t, r, "orch/a", "a.txt", "a\n")
	defer a.Remove()
	git(t, dir, "checkout", "-q", "-b", "someone-else")
	refs := git(t, dir, "for-each-ref", "refs/heads/main", "refs/heads/someone-else")
	res, err := r.Merge(t.Context(), a.Branch(), nil)
	if !errors.Is(err, ErrNotOnBase) || res != gitmetrics.ResultError ||
		!strings.Contains(err.Error(), `"someone-else"`) || !strings.Contains(err.Error(), `"main"`) {
		t.Errorf("merge with another branch checked out = %s, %v; want ErrNotOnBase naming both", res, err)
	}
	if got := git(t, dir, "for-each-ref", "refs/heads/main", "refs/heads/someone-else"); got != refs {
		t.Errorf("branches moved:\n%s\nwere:\n%s", got, refs)
	}
	git(t, dir, "checkout", "-q", "--detach", "main")
	if _, err := r.Merge(t.Context(), a.Branch(), nil); !errors.Is(err, ErrNotOnBase) || !strings.Contains(err.Error(), "detached HEAD") {
		t.Errorf("merge on a detached HEAD = %v", err)
	}
	git(t, dir, "checkout", "-q", "someone-else")
	restarted, err := NewManager(m.Root(), r.git)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := restarted.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Base() != "main" {
		t.Errorf("after a restart with someone-else checked out, base = %q; want main", r2.Base())
	}
	git(t, dir, "checkout", "-q", "main")
	if res, err := r.Merge(t.Context(), a.Branch(), nil); err != nil || res != gitmetrics.ResultSuccess {
		t.Fatalf("merge with main back = %s, %v", res, err)
	}
	if got := git(t, dir, "show", "main:a.txt"); got != "a" {
		t.Errorf("main:a.txt = %q", got)
	}
	if res := mergeResults(t, reader); res["error"] != 2 || res["success"] != 1 {
		t.Errorf("merge results = %v, want 2 errors and 1 success", res)
	}
}

// earlierVersion makes a workspace as versions before BaseKey did: the
// server's first commit on main, no mark.
func earlierVersion(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q")
	writeFile(t, filepath.Join(dir, "README.md"), "# Agent Orchestrator workspace\n")
	git(t, dir, "add", "README.md")
	git(t, dir, "commit", "-q", "-m", "Initialise the workspace")
}

// TestOpenMarksAWorkspaceOfAnEarlierVersion: a workspace made before BaseKey
// existed is the server's own: it is reused, with main as its base branch,
// and marked.
func TestOpenMarksAWorkspaceOfAnEarlierVersion(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	dir := filepath.Join(m.Root(), "earlier")
	earlierVersion(t, dir)
	git(t, dir, "checkout", "-q", "-b", "someone-else")
	r, err := m.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Base() != "main" {
		t.Errorf("base = %q, want main", r.Base())
	}
	if got := git(t, dir, "config", "--local", "--get", BaseKey); got != "main" {
		t.Errorf("%s = %q, want main", BaseKey, got)
	}
	git(t, dir, "checkout", "-q", "main")
	w := branch(t, r, "orch/a", "a.txt", "a\n")
	defer w.Remove()
	if res, err := r.Merge(t.Context(), w.Branch(), nil); err != nil || res != gitmetrics.ResultSuccess {
		t.Fatalf("merge = %s, %v", res, err)
	}
}

// TestRepositoriesAreNamedByTheirPath: two workspaces with the same base name
// in different folders are two repositories for the merge lock's
// accounting (gitmetrics counts overlapping merges of one repository as a
// lock violation): each is named by its path under the root.
func TestRepositoriesAreNamedByTheirPath(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	a, err := m.Open(t.Context(), filepath.Join(m.Root(), "team-a", "ws"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Open(t.Context(), filepath.Join(m.Root(), "team-b", "ws"))
	if err != nil {
		t.Fatal(err)
	}
	if a.name != filepath.Join("team-a", "ws") || b.name != filepath.Join("team-b", "ws") {
		t.Errorf("names %q and %q, want team-a/ws and team-b/ws", a.name, b.name)
	}
}
