// Package workspace runs the orchestrator's git operations with the real git
// binary: a repository per workspace path, a worktree and branch per task
// attempt, and merges of those branches into the base branch under a lock,
// instrumented with gitmetrics.
//
// The server uses only repositories it created: it records their base branch
// in their local git config (BaseKey), so that a restart reuses them (and
// recognises those an earlier version made by their first commit), and
// refuses any other repository, since merging would commit onto whatever
// branch that one has checked out. Writes into a worktree and the conflict
// resolutions in the repository go through an os.Root, so no symbolic link
// can take them out of it.
package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/agentorchestrator/observability/otelobs/gitmetrics"
)

// ErrOutsideRoot is returned for a workspace path outside the root.
var ErrOutsideRoot = errors.New("outside the workspace root")

// ErrForeignRepository is returned for a workspace path that is a git
// repository the server did not create (no BaseKey in its local config).
var ErrForeignRepository = errors.New("is a git repository the server did not create")

// ErrNotOnBase is returned by Merge when the repository has another branch
// than its base branch checked out (or a detached HEAD): the merge would
// land on that branch.
var ErrNotOnBase = errors.New("the base branch is not checked out")

// BaseKey is the local git config key with which the server marks the
// repositories it creates; its value is the base branch merges go into.
const BaseKey = "agent-orchestrator.base"

// The server's identity on its commits, and its first commit's subject.
const (
	authorName   = "Agent Orchestrator"
	authorEmail  = "orchestrator@localhost"
	firstSubject = "Initialise the workspace"
	// legacyBase is the base branch of the workspaces earlier versions
	// made (they set init.defaultBranch=main) before BaseKey existed.
	legacyBase = "main"
)

// Manager hands out one Repo per workspace path under a root directory.
type Manager struct {
	root string // with symlinks resolved
	git  *gitmetrics.Metrics

	mu    sync.Mutex
	repos map[string]*Repo
}

// NewManager checks that root is an existing directory and that git is
// installed.
func NewManager(root string, git *gitmetrics.Metrics) (*Manager, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("workspace root %q is not an absolute path", root)
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("workspace root: %w", err)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("workspace root %q is not a directory", root)
	}
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("the git binary is needed: %w", err)
	}
	return &Manager{root: real, git: git, repos: map[string]*Repo{}}, nil
}

// Root returns the workspace root, with symlinks resolved.
func (m *Manager) Root() string { return m.root }

// Resolve checks a requested workspace path: absolute, free of control
// characters, and inside the root (not the root itself) once cleaned and
// with the symlinks of its existing part resolved, so that neither ".." nor
// a symlink leads out. It looks at the path only; Check also looks at what
// is there.
func (m *Manager) Resolve(path string) (string, error) {
	if path == "" {
		return "", errors.New("is empty")
	}
	if i := strings.IndexFunc(path, unicode.IsControl); i >= 0 {
		c, _ := utf8.DecodeRuneInString(path[i:])
		return "", fmt.Errorf("contains the control character %U; only printable characters are accepted", c)
	}
	if !filepath.IsAbs(path) {
		return "", errors.New("is not an absolute path")
	}
	clean := filepath.Clean(path)
	// Resolve symlinks in the longest prefix that exists.
	existing, rest := clean, ""
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", err
	}
	real = filepath.Join(real, rest)
	rel, err := filepath.Rel(m.root, real)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w %s", ErrOutsideRoot, m.root)
	}
	return real, nil
}

// Check is Resolve, and checks that what is at the path can be a
// workspace: nothing yet, an empty directory, or a repository the server
// created (see Open). The API asks it before accepting a run, so that a
// path the run would refuse is a 400 at once.
func (m *Manager) Check(ctx context.Context, path string) (string, error) {
	dir, err := m.Resolve(path)
	if err != nil {
		return "", err
	}
	// Under the lock: a repository Open is creating is not yet marked.
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.repos[dir]; ok {
		return dir, nil
	}
	if _, err := inspect(ctx, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// Open returns the repository at path (see Resolve), creating and
// initialising it when the path is missing or an empty directory. A
// repository is reused only if the server created it (BaseKey in its local
// config names its base branch); any other repository, and a non-empty
// directory that is not one, is refused.
func (m *Manager) Open(ctx context.Context, path string) (*Repo, error) {
	dir, err := m.Resolve(path)
	if err != nil {
		return nil, fmt.Errorf("workspace %q %w", path, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.repos[dir]; ok {
		return r, nil
	}
	base, err := inspect(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("workspace %s %w", dir, err)
	}
	// Its name, for the merge span and the merge lock's accounting
	// (gitmetrics counts two merges of one repository at once as a lock
	// violation): its path under the root, unique where base names are not.
	name, err := filepath.Rel(m.root, dir)
	if err != nil {
		name = dir
	}
	r := &Repo{dir: dir, name: name, base: base, git: m.git}
	if err := r.init(ctx); err != nil {
		return nil, fmt.Errorf("workspace %s: %w", dir, err)
	}
	m.repos[dir] = r
	return r, nil
}

// inspect looks at a resolved workspace directory: it returns the base
// branch of a repository the server created, "" for a directory to create
// one in (missing or empty), or an error saying why the directory cannot be
// a workspace, phrased to follow its path.
func inspect(ctx context.Context, dir string) (string, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", nil
	case err != nil:
		return "", err
	case !fi.IsDir():
		return "", errors.New("is not a directory")
	}
	gitDir := filepath.Join(dir, ".git")
	gfi, err := os.Lstat(gitDir)
	if errors.Is(err, os.ErrNotExist) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", err
		}
		if len(entries) > 0 {
			return "", errors.New("exists, is not empty and is not a git repository")
		}
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !gfi.IsDir() {
		return "", fmt.Errorf("%w (its .git is not a directory: a linked worktree or a submodule); name a new or empty directory", ErrForeignRepository)
	}
	out, err := output(ctx, dir, "config", "--file", filepath.Join(gitDir, "config"), "--get", BaseKey)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		if madeByEarlierVersion(ctx, dir) {
			return legacyBase, nil
		}
		return "", fmt.Errorf("%w (its .git/config has no %s): the server merges only into repositories it created, never onto a branch someone else has checked out; name a new or empty directory",
			ErrForeignRepository, BaseKey)
	}
	if err != nil {
		return "", err
	}
	base := strings.TrimSpace(out)
	if _, err := output(ctx, dir, "check-ref-format", "--branch", base); err != nil || strings.HasPrefix(base, "-") {
		return "", fmt.Errorf("has %s = %q in its .git/config, which is not a branch name", BaseKey, base)
	}
	return base, nil
}

// madeByEarlierVersion reports whether the repository in dir is a
// workspace an earlier version of the server made, before it recorded
// BaseKey: its one root commit is the server's first commit, and it has the
// branch legacyBase.
func madeByEarlierVersion(ctx context.Context, dir string) bool {
	roots, err := output(ctx, dir, "log", "--max-parents=0", "--all", "--format=%an%x00%ae%x00%s")
	if err != nil || strings.TrimSpace(roots) != authorName+"\x00"+authorEmail+"\x00"+firstSubject {
		return false
	}
	_, err = output(ctx, dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+legacyBase)
	return err == nil
}

// Repo is a workspace repository. Its merge lock serialises merges into the
// base branch; its admin lock serialises worktree and branch bookkeeping.
type Repo struct {
	dir  string
	name string
	base string
	git  *gitmetrics.Metrics

	mergeMu sync.Mutex
	adminMu sync.Mutex
}

// Dir returns the repository's directory.
func (r *Repo) Dir() string { return r.dir }

// Base returns the branch merges go into.
func (r *Repo) Base() string { return r.base }

// command is git in dir with the server's identity, no hooks, no system
// config and literal pathspecs (a file named "*.md" is that file).
func command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{
		"-c", "user.name=" + authorName, "-c", "user.email=" + authorEmail,
		"-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", "-c", "init.defaultBranch=main",
	}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_CONFIG_NOSYSTEM=1", "GIT_LITERAL_PATHSPECS=1")
	return cmd
}

// run runs git in dir and returns its combined output.
func run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := command(ctx, dir, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// output runs git in dir and returns its standard output alone, for a
// caller to parse; the error carries its standard error.
func output(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := command(ctx, dir, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// init creates the repository when r.base is empty (a new or empty
// directory): git init, the base branch recorded under BaseKey at once
// (which also marks a workspace of an earlier version), then a first
// commit. A marked repository whose base branch has no commit yet (a
// creation cut short) gets its first commit now.
func (r *Repo) init(ctx context.Context) error {
	if r.base == "" {
		if err := os.MkdirAll(r.dir, 0o755); err != nil {
			return fmt.Errorf("create workspace: %w", err)
		}
		if _, err := run(ctx, r.dir, "init", "-q"); err != nil {
			return err
		}
		head, err := output(ctx, r.dir, "symbolic-ref", "--short", "HEAD")
		if err != nil {
			return err
		}
		r.base = strings.TrimSpace(head)
	}
	if _, err := run(ctx, r.dir, "config", "--local", BaseKey, r.base); err != nil {
		return err
	}
	if _, err := output(ctx, r.dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+r.base); err != nil {
		if head, _ := output(ctx, r.dir, "symbolic-ref", "--short", "HEAD"); strings.TrimSpace(head) != r.base {
			return fmt.Errorf("its base branch %q (%s) does not exist", r.base, BaseKey)
		}
		if err := r.writeReadme(); err != nil {
			return err
		}
		if _, err := run(ctx, r.dir, "add", "--", "README.md"); err != nil {
			return err
		}
		if _, err := run(ctx, r.dir, "commit", "-q", "-m", firstSubject); err != nil {
			return err
		}
	}
	// Keep the worktrees out of the base branch's status.
	exclude := filepath.Join(r.dir, ".git", "info", "exclude")
	if b, _ := os.ReadFile(exclude); !bytes.Contains(b, []byte("/.worktrees/")) {
		if err := os.MkdirAll(filepath.Dir(exclude), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(exclude, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_, err = f.WriteString("\n/.worktrees/\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeReadme writes the first commit's README.md, through an os.Root.
func (r *Repo) writeReadme() error {
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return writeRegular(root, "README.md", "# Agent Orchestrator workspace\n")
}

// Worktree is a branch checked out in its own directory, for one task
// attempt to write files in.
type Worktree struct {
	repo   *Repo
	dir    string
	branch string
}

// Branch returns the worktree's branch.
func (w *Worktree) Branch() string { return w.branch }

// NewWorktree creates branch from the base branch, checked out in its own
// directory under .worktrees (which must be a real directory, not a
// symbolic link to elsewhere).
func (r *Repo) NewWorktree(ctx context.Context, branch string) (*Worktree, error) {
	parent := filepath.Join(r.dir, ".worktrees")
	dir := filepath.Join(parent, strings.NewReplacer("/", "_", "..", "_").Replace(branch))
	r.adminMu.Lock()
	defer r.adminMu.Unlock()
	if fi, err := os.Lstat(parent); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("worktree %s: %s is a %s, not a directory", branch, parent, kind(fi.Mode()))
	}
	if _, err := run(ctx, r.dir, "worktree", "add", "-q", "-b", branch, dir, r.base); err != nil {
		return nil, err
	}
	return &Worktree{repo: r, dir: dir, branch: branch}, nil
}

// WriteFile writes a regular file of the worktree. rel is cleaned as if
// rooted at the worktree, so ".." cannot climb out of it; names into .git
// are refused. Every step goes through an os.Root on the worktree, so a
// symbolic link (committed on the base branch, say) that leads out of it
// makes the write fail instead of landing outside; a name that is itself a
// symbolic link is refused too, so a write never goes through one.
func (w *Worktree) WriteFile(rel, content string) error {
	name := strings.TrimPrefix(filepath.Clean("/"+rel), "/")
	if name == "" || strings.Contains(rel, ".git") {
		return fmt.Errorf("file %q is outside the worktree", rel)
	}
	root, err := os.OpenRoot(w.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("file %q: %w", rel, err)
		}
	}
	if err := writeRegular(root, name, content); err != nil {
		return fmt.Errorf("file %q: %w", rel, err)
	}
	return nil
}

// writeRegular writes name in root, refusing a name that is not a regular
// file (a symbolic link, a directory) when it exists.
func writeRegular(root *os.Root, name, content string) error {
	if fi, err := root.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("is a %s, not a regular file", kind(fi.Mode()))
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return root.WriteFile(name, []byte(content), 0o644)
}

// kind names a file mode's type for an error.
func kind(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}

// Commit commits every change of the worktree.
func (w *Worktree) Commit(ctx context.Context, msg string) error {
	if _, err := run(ctx, w.dir, "add", "-A"); err != nil {
		return err
	}
	_, err := run(ctx, w.dir, "commit", "-q", "--allow-empty", "-m", msg)
	return err
}

// Remove deletes the worktree and its branch. It uses its own context so
// that a cancelled task still cleans up.
func (w *Worktree) Remove() error {
	ctx := context.Background()
	w.repo.adminMu.Lock()
	defer w.repo.adminMu.Unlock()
	_, err1 := run(ctx, w.repo.dir, "worktree", "remove", "--force", w.dir)
	_, err2 := run(ctx, w.repo.dir, "branch", "-D", w.branch)
	return errors.Join(err1, err2)
}

// Resolver returns the resolved content of a file with conflict markers, or
// an error to give up the merge.
type Resolver func(ctx context.Context, file, conflicted string) (string, error)

// Merge merges branch into the base branch under the merge lock, timing the
// wait and the merge with gitmetrics, and returns the merge's result. On a
// conflict, resolve is asked for each conflicted file; when it resolves them
// all the merge is committed (result conflict, no error), otherwise it is
// aborted and the error wraps gitmetrics.ErrConflict.
func (r *Repo) Merge(ctx context.Context, branch string, resolve Resolver) (result gitmetrics.Result, err error) {
	w := r.git.StartLockWait(ctx)
	r.mergeMu.Lock()
	w.End()
	defer r.mergeMu.Unlock()

	ctx, op := r.git.StartMerge(ctx, gitmetrics.MergeInfo{Repository: r.name, Base: r.base, Head: branch})
	conflict := false
	defer func() {
		op.End(&err)
		switch {
		case errors.Is(err, gitmetrics.ErrConflict) || err == nil && conflict:
			result = gitmetrics.ResultConflict
		case err != nil:
			result = gitmetrics.ResultError
		default:
			result = gitmetrics.ResultSuccess
		}
	}()

	// The merge lands on whatever is checked out: never on a foreign branch.
	if head, herr := output(ctx, r.dir, "symbolic-ref", "-q", "--short", "HEAD"); herr != nil || strings.TrimSpace(head) != r.base {
		got := "a detached HEAD"
		if herr == nil {
			got = fmt.Sprintf("branch %q", strings.TrimSpace(head))
		}
		return "", fmt.Errorf("merge %s: %w: %s has %s checked out, not its base branch %q; check %q out there for runs to merge",
			branch, ErrNotOnBase, r.dir, got, r.base, r.base)
	}
	out, mergeErr := run(ctx, r.dir, "merge", "--no-ff", "--no-edit", "-m", "Merge "+branch, branch)
	if mergeErr == nil {
		return "", nil
	}
	if !strings.Contains(out, "CONFLICT") {
		_, _ = run(context.Background(), r.dir, "merge", "--abort")
		return "", mergeErr
	}
	op.MarkConflict()
	conflict = true
	if err := r.resolveAll(ctx, resolve); err != nil {
		_, _ = run(context.Background(), r.dir, "merge", "--abort")
		return "", fmt.Errorf("merge %s: %w", branch, err)
	}
	if _, err := run(ctx, r.dir, "commit", "-q", "--no-edit"); err != nil {
		_, _ = run(context.Background(), r.dir, "merge", "--abort")
		return "", fmt.Errorf("merge %s: %w: commit of the resolution: %w", branch, gitmetrics.ErrConflict, err)
	}
	return "", nil
}

// resolveAll has resolve resolve each conflicted file of a merge in
// progress and stages it. The names come NUL-separated from git (any
// character is allowed in them) and are read and written through an
// os.Root on the repository, as regular files only: a conflicted symbolic
// link is not written through. An error about a file wraps
// gitmetrics.ErrConflict and names the file.
func (r *Repo) resolveAll(ctx context.Context, resolve Resolver) error {
	names, err := output(ctx, r.dir, "diff", "--name-only", "-z", "--diff-filter=U")
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for f := range strings.SplitSeq(names, "\x00") {
		if f == "" {
			continue
		}
		if err := r.resolveFile(ctx, root, f, resolve); err != nil {
			return fmt.Errorf("%w in %q: %w", gitmetrics.ErrConflict, f, err)
		}
	}
	return nil
}

// resolveFile resolves and stages one conflicted file.
func (r *Repo) resolveFile(ctx context.Context, root *os.Root, f string, resolve Resolver) error {
	if resolve == nil {
		return errors.New("no resolver")
	}
	fi, err := root.Lstat(f)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("is a %s, not a regular file", kind(fi.Mode()))
	}
	content, err := root.ReadFile(f)
	if err != nil {
		return err
	}
	resolved, err := resolve(ctx, f, string(content))
	if err != nil {
		return err
	}
	if err := writeRegular(root, f, resolved); err != nil {
		return err
	}
	_, err = run(ctx, r.dir, "add", "--", f)
	return err
}
