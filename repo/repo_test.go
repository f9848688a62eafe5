package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, dir string) // prepares dir (which does not exist yet)
		opts       OpenOptions
		wantBare   bool
		wantBranch string
		wantErr    error
	}{
		{name: "create non-bare", wantBranch: "main"},
		{name: "create bare", opts: OpenOptions{Bare: true}, wantBare: true, wantBranch: "main"},
		{name: "create with initial branch", opts: OpenOptions{InitialBranch: "trunk"}, wantBranch: "trunk"},
		{
			name:       "empty directory is initialized",
			setup:      func(t *testing.T, dir string) { mkdir(t, dir) },
			wantBranch: "main",
		},
		{
			name: "existing bare made by git",
			setup: func(t *testing.T, dir string) {
				testgit.Run(t, filepath.Dir(dir), "init", "--bare", "-b", "prod", dir)
			},
			opts:       OpenOptions{Bare: false}, // ignored for existing repositories
			wantBare:   true,
			wantBranch: "prod",
		},
		{
			name: "existing non-bare made by git",
			setup: func(t *testing.T, dir string) {
				testgit.Run(t, filepath.Dir(dir), "init", "-b", "dev", dir)
				writeFile(t, filepath.Join(dir, "README"), "x")
			},
			opts:       OpenOptions{Bare: true},
			wantBranch: "dev",
		},
		{
			name: "non-empty directory that is not a repository",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "notes.txt"), "hello")
			},
			wantErr: ErrNotRepository,
		},
		{
			name:    "a file",
			setup:   func(t *testing.T, dir string) { writeFile(t, dir, "x") },
			wantErr: ErrNotRepository,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			r, err := Open(context.Background(), dir, tc.opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Open error = %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), dir) {
					t.Errorf("error %q does not name the directory %s", err, dir)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if r.Bare() != tc.wantBare {
				t.Errorf("Bare() = %v, want %v", r.Bare(), tc.wantBare)
			}
			got := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "--is-bare-repository"))
			if want := fmt.Sprint(tc.wantBare); got != want {
				t.Errorf("git rev-parse --is-bare-repository = %s, want %s", got, want)
			}
			if b, err := r.CurrentBranch(); err != nil || b != tc.wantBranch {
				t.Errorf("CurrentBranch() = %q, %v; want %q", b, err, tc.wantBranch)
			}
			// It is usable: commit, and git agrees.
			res := commitFilesOn(t, r, tc.wantBranch, map[string]string{"a/b.json": "{}\n"})
			if got := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", tc.wantBranch)); got != res.Commit.String() {
				t.Errorf("git rev-parse %s = %s, want %s", tc.wantBranch, got, res.Commit)
			}
			testgit.FsckStrict(t, dir)
			// Reopening finds the same kind of repository.
			r2 := openRepo(t, dir, OpenOptions{Bare: !tc.wantBare})
			if r2.Bare() != tc.wantBare {
				t.Errorf("reopened Bare() = %v, want %v", r2.Bare(), tc.wantBare)
			}
		})
	}
}

func commitFilesOn(t *testing.T, r *Repo, branch string, files map[string]string) Result {
	t.Helper()
	ctx := context.Background()
	base, err := r.Head(ctx, branch)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.NewBuilder(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sortedKeys(files) {
		if err := b.Put(p, []byte(files[p])); err != nil {
			t.Fatal(err)
		}
	}
	opts := commitOpts("test")
	opts.Branch = branch
	res, err := b.Commit(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestBuildCommitReadBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	files := map[string]string{
		"envs/e1/flows/f1/definition.json": `{"a":1}`,
		"envs/e1/flows/f1/meta.json":       `{"n":"one"}`,
		"envs/e1/flows/f2/definition.json": `{"a":2}`,
		"envs/e2/flows/f3/definition.json": `{"a":3}`,
		"README.md":                        "# store\n",
	}
	res := commitFiles(t, r, nil, files, "first export")
	if !res.Changed || res.Commit.IsZero() {
		t.Fatalf("first commit: %+v", res)
	}
	if diff := cmp.Diff(Stats{Added: 5}, res.Stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	testgit.FsckStrict(t, dir)

	if diff := cmp.Diff(files, readAllFiles(t, r, res.Commit)); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	// git agrees on content and modes.
	lsTree := testgit.Run(t, dir, "ls-tree", "-r", "main")
	for p := range files {
		if !strings.Contains(lsTree, "100644 blob ") || !strings.Contains(lsTree, "\t"+p+"\n") {
			t.Errorf("git ls-tree lacks %s:\n%s", p, lsTree)
		}
	}
	if got := testgit.Run(t, dir, "show", "main:envs/e1/flows/f1/meta.json"); got != files["envs/e1/flows/f1/meta.json"] {
		t.Errorf("git show = %q", got)
	}
	if got := testgit.Run(t, dir, "log", "--format=%an <%ae> %aI %s", "main"); got != "Flow Sync <flowsync@example.invalid> 2025-03-04T05:06:07+00:00 first export\n" {
		t.Errorf("git log = %q", got)
	}

	tr, err := r.ReadTree(ctx, res.Commit)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.Files("envs/e1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"envs/e1/flows/f1/definition.json", "envs/e1/flows/f1/meta.json", "envs/e1/flows/f2/definition.json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Files(envs/e1) (-want +got):\n%s", diff)
	}
	if got, err := tr.Files("envs/nope"); err != nil || len(got) != 0 {
		t.Errorf("Files(absent) = %v, %v; want none", got, err)
	}
	if h, err := tr.SubtreeHash("envs/e2"); err != nil || h.IsZero() {
		t.Errorf("SubtreeHash(envs/e2) = %v, %v", h, err)
	}

	list, err := tr.List("envs")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "e1" || !list[0].IsDir || list[1].Name != "e2" {
		t.Errorf("List(envs) = %+v", list)
	}
	if list, err := tr.List("envs/absent"); err != nil || len(list) != 0 {
		t.Errorf("List(absent) = %v, %v", list, err)
	}
	for rev, want := range map[string]plumbing.Hash{"main": res.Commit, res.Commit.String()[:10]: res.Commit, "HEAD": res.Commit} {
		if got, err := r.ResolveCommit(ctx, rev); err != nil || got != want {
			t.Errorf("ResolveCommit(%q) = %v, %v; want %v", rev, got, err, want)
		}
	}
	if _, err := r.ResolveCommit(ctx, "no-such-branch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveCommit(unknown) = %v, want ErrNotFound", err)
	}

	for _, p := range []string{"envs/e1/flows/nope.json", "envs/e1", "README.md/x"} {
		if _, err := r.ReadFile(ctx, res.Commit, p); !errors.Is(err, ErrNotFound) {
			t.Errorf("ReadFile(%s) error = %v, want ErrNotFound", p, err)
		}
	}
	if _, err := r.ReadBlob(ctx, plumbing.NewHash("0123456789012345678901234567890123456789")); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReadBlob(missing) error = %v, want ErrNotFound", err)
	}
	if h, err := r.Head(ctx, "nope"); err != nil || !h.IsZero() {
		t.Errorf("Head(absent branch) = %v, %v; want zero hash", h, err)
	}
	empty, err := r.ReadTree(ctx, plumbing.ZeroHash)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := empty.Files(""); len(got) != 0 {
		t.Errorf("zero commit has files %v", got)
	}
}

func TestReplaceSubtreeAndDelete(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	commitFiles(t, r, nil, map[string]string{
		"envs/e1/f1.json": "1", "envs/e1/f2.json": "2", "envs/e1/sub/f3.json": "3",
		"envs/e2/g1.json": "g1", "keep.txt": "k",
	}, "first")

	// The second export of e1 has f1 (changed) and f4 (new); f2 and sub/ are gone.
	res := commitFiles(t, r, []string{"envs/e1"}, map[string]string{
		"envs/e1/f1.json": "1b", "envs/e1/f4.json": "4",
	}, "second")
	want := map[string]string{
		"envs/e1/f1.json": "1b", "envs/e1/f4.json": "4",
		"envs/e2/g1.json": "g1", "keep.txt": "k",
	}
	if diff := cmp.Diff(want, readAllFiles(t, r, res.Commit)); diff != "" {
		t.Errorf("after replace (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{Added: 1, Modified: 1, Deleted: 2}, res.Stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	testgit.FsckStrict(t, dir)

	// Replacing with nothing removes the directory; Delete removes a file.
	ctx := context.Background()
	b, err := r.NewBuilder(ctx, res.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ReplaceSubtree("envs/e2"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete("keep.txt"); err != nil {
		t.Fatal(err)
	}
	res, err = b.Commit(ctx, commitOpts("third"))
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"envs/e1/f1.json": "1b", "envs/e1/f4.json": "4"}
	if diff := cmp.Diff(want, readAllFiles(t, r, res.Commit)); diff != "" {
		t.Errorf("after delete (-want +got):\n%s", diff)
	}
	if got := testgit.Run(t, dir, "ls-tree", "--name-only", "main", "envs/"); got != "envs/e1\n" {
		t.Errorf("git ls-tree envs/ = %q, want only envs/e1", got)
	}
	testgit.FsckStrict(t, dir)
}

func TestUnchangedMakesNoCommit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	files := map[string]string{"envs/e1/a.json": "a", "envs/e1/b.json": "b", "x": "x"}
	first := commitFiles(t, r, []string{"envs/e1"}, files, "first")
	before := looseObjects(t, r.GitDir())

	second := commitFiles(t, r, []string{"envs/e1"}, files, "second")
	if second.Changed || second.Commit != first.Commit || second.Stats != (Stats{}) {
		t.Errorf("unchanged run = %+v, want no commit at %s", second, first.Commit)
	}
	if got := testgit.Run(t, dir, "rev-list", "--count", "main"); got != "1\n" {
		t.Errorf("commit count = %q, want 1", got)
	}
	if after := looseObjects(t, r.GitDir()); len(after) != len(before) {
		t.Errorf("unchanged run wrote %d objects", len(after)-len(before))
	}

	// AllowEmpty commits anyway.
	b, err := r.NewBuilder(ctx, first.Commit)
	if err != nil {
		t.Fatal(err)
	}
	opts := commitOpts("empty")
	opts.AllowEmpty = true
	res, err := b.Commit(ctx, opts)
	if err != nil || !res.Changed || res.Commit == first.Commit {
		t.Fatalf("AllowEmpty commit = %+v, %v", res, err)
	}

	// A first build with nothing in it makes no commit either.
	r2 := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	b, err = r2.NewBuilder(ctx, plumbing.ZeroHash)
	if err != nil {
		t.Fatal(err)
	}
	res, err = b.Commit(ctx, commitOpts("nothing"))
	if err != nil || res.Changed || !res.Commit.IsZero() {
		t.Errorf("empty first build = %+v, %v; want no commit", res, err)
	}
}

func TestOnlyChangedObjectsWritten(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	files := map[string]string{}
	for d := range 100 {
		for f := range 10 {
			files[fmt.Sprintf("envs/e1/flows/f%03d/part%d.json", d, f)] = fmt.Sprintf(`{"flow":%d,"part":%d}`, d, f)
		}
	}
	commitFiles(t, r, []string{"envs/e1"}, files, "first")
	before := looseObjects(t, r.GitDir())

	files["envs/e1/flows/f042/part7.json"] = `{"changed":true}`
	res := commitFiles(t, r, []string{"envs/e1"}, files, "second")
	if diff := cmp.Diff(Stats{Modified: 1}, res.Stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	after := looseObjects(t, r.GitDir())
	var added []string
	for h := range after {
		if !before[h] {
			added = append(added, strings.TrimSpace(testgit.Run(t, dir, "cat-file", "-t", h)))
		}
	}
	// 1 blob + trees for f042, flows, e1, envs and the root + 1 commit.
	want := map[string]int{"blob": 1, "tree": 5, "commit": 1}
	got := map[string]int{}
	for _, typ := range added {
		got[typ]++
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects written for a 1-file change (-want +got):\n%s", diff)
	}
	testgit.FsckStrict(t, dir)
}

// TestTreeOrderingMatchesGit builds names whose order differs between plain
// byte order and Git's (directories compare as name+"/"), and checks the tree
// hash equals the one git add + git write-tree produces for the same files.
func TestTreeOrderingMatchesGit(t *testing.T) {
	tests := []struct {
		name  string
		files []string
	}{
		{"file and dir prefixes", []string{"a", "a.b", "a-b", "a0", "b/a", "b.c", "b-c", "b0"}},
		{"dir before dot-named file", []string{"a/x", "a.b", "a-b", "a0", "a_b"}},
		{"nested", []string{"x/a/b", "x/a.b/c", "x/a-b", "x/a0/d", "x/ab", "x/A", "x/~", "x/a b"}},
		{"deep and wide", []string{"e/f/g/h/i.json", "e/f/g.json", "e/f-g/h", "e/f0", "e/f.g/x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			r := openRepo(t, dir, OpenOptions{Bare: true})
			b, err := r.NewBuilder(ctx, plumbing.ZeroHash)
			if err != nil {
				t.Fatal(err)
			}
			scratch := t.TempDir()
			testgit.Run(t, scratch, "init", "-q")
			for _, p := range tc.files {
				content := "content of " + p + "\n"
				if err := b.Put(p, []byte(content)); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(scratch, filepath.FromSlash(p)), content)
			}
			res, err := b.Commit(ctx, commitOpts("order"))
			if err != nil {
				t.Fatal(err)
			}
			testgit.Run(t, scratch, "add", "-A")
			wantTree := strings.TrimSpace(testgit.Run(t, scratch, "write-tree"))
			gotTree := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main^{tree}"))
			if gotTree != wantTree {
				t.Errorf("tree = %s, git add made %s\nours:\n%s\ngit's:\n%s", gotTree, wantTree,
					testgit.Run(t, dir, "ls-tree", "-r", "-t", "main"), testgit.Run(t, scratch, "ls-tree", "-r", "-t", wantTree))
			}
			if got, want := testgit.Run(t, dir, "ls-tree", "-r", "-t", "main"), testgit.Run(t, scratch, "ls-tree", "-r", "-t", wantTree); got != want {
				t.Errorf("git ls-tree differs:\n%s\nwant:\n%s", got, want)
			}
			testgit.FsckStrict(t, dir)
			_ = res
		})
	}
}

func TestPathValidation(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"a", true},
		{"envs/e1/flows/f.json", true},
		{"a b/c d.json", true},
		{".gitignore", true},
		{"x/.github/y", true},
		{"", false},
		{"/abs", false},
		{"a/../b", false},
		{"..", false},
		{"./a", false},
		{"a/./b", false},
		{"a//b", false},
		{"a/", false},
		{".git", false},
		{"x/.git/config", false},
		{"x/.GIT/hooks/pre-commit", false},
		{"x/.Git", false},
		{"x/.git./y", false},
		{".GIT /y", false},
		{"GIT~1/config", false},
		{".g\u200cit/hooks", false},
		{".gitx", true},
		{"git~2", true},
		{"a\\b", false},
		{"a\x00b", false},
	}
	ctx := context.Background()
	r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.path), func(t *testing.T) {
			b, err := r.NewBuilder(ctx, plumbing.ZeroHash)
			if err != nil {
				t.Fatal(err)
			}
			err = b.Put(tc.path, []byte("x"))
			if tc.ok {
				if err != nil {
					t.Fatalf("Put(%q) = %v, want ok", tc.path, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("Put(%q) = %v, want ErrInvalidPath", tc.path, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.path)) {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
}

func TestPathConflicts(t *testing.T) {
	ctx := context.Background()
	r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	base := commitFiles(t, r, nil, map[string]string{"file": "f", "dir/x": "x"}, "base")

	t.Run("put under a put file", func(t *testing.T) {
		b, _ := r.NewBuilder(ctx, base.Commit)
		if err := b.Put("a", []byte("1")); err != nil {
			t.Fatal(err)
		}
		if err := b.Put("a/b", []byte("2")); !errors.Is(err, ErrPathConflict) {
			t.Errorf("Put(a/b) after Put(a) = %v, want ErrPathConflict", err)
		}
	})
	t.Run("put a file over put files", func(t *testing.T) {
		b, _ := r.NewBuilder(ctx, base.Commit)
		if err := b.Put("a/b", []byte("1")); err != nil {
			t.Fatal(err)
		}
		if err := b.Put("a", []byte("2")); !errors.Is(err, ErrPathConflict) {
			t.Errorf("Put(a) after Put(a/b) = %v, want ErrPathConflict", err)
		}
	})
	t.Run("put under a base file", func(t *testing.T) {
		b, _ := r.NewBuilder(ctx, base.Commit)
		if err := b.Put("file/y", []byte("1")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Commit(ctx, commitOpts("x")); !errors.Is(err, ErrPathConflict) {
			t.Errorf("Commit = %v, want ErrPathConflict", err)
		}
	})
	t.Run("put over a base directory", func(t *testing.T) {
		b, _ := r.NewBuilder(ctx, base.Commit)
		if err := b.Put("dir", []byte("1")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Commit(ctx, commitOpts("x")); !errors.Is(err, ErrPathConflict) {
			t.Errorf("Commit = %v, want ErrPathConflict", err)
		}
	})
	t.Run("delete then put turns a file into a directory", func(t *testing.T) {
		testgit.Run(t, r.Dir(), "branch", "other", base.Commit.String())
		b, _ := r.NewBuilder(ctx, base.Commit)
		if err := b.Delete("file"); err != nil {
			t.Fatal(err)
		}
		if err := b.Put("file/y", []byte("y")); err != nil {
			t.Fatal(err)
		}
		res, err := b.Commit(ctx, CommitOptions{Branch: "other", Message: "m", Author: testSig()})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"file/y": "y", "dir/x": "x"}
		if diff := cmp.Diff(want, readAllFiles(t, r, res.Commit)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("builder is done after commit", func(t *testing.T) {
		b, _ := r.NewBuilder(ctx, base.Commit)
		if _, err := b.Commit(ctx, commitOpts("noop")); err != nil {
			t.Fatal(err)
		}
		if err := b.Put("z", []byte("z")); !errors.Is(err, ErrBuilderDone) {
			t.Errorf("Put after Commit = %v, want ErrBuilderDone", err)
		}
	})
}

func TestConcurrentUpdateDetected(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	base := commitFiles(t, r, nil, map[string]string{"a": "a"}, "base")

	other := openRepo(t, dir, OpenOptions{}) // a second writer on the same repository
	b1, err := r.NewBuilder(ctx, base.Commit)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := other.NewBuilder(ctx, base.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if err := b1.Put("one", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := b2.Put("two", []byte("2")); err != nil {
		t.Fatal(err)
	}
	first, err := b1.Commit(ctx, commitOpts("one"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b2.Commit(ctx, commitOpts("two")); !errors.Is(err, ErrConcurrentUpdate) {
		t.Fatalf("second commit error = %v, want ErrConcurrentUpdate", err)
	}
	if got, _ := r.Head(ctx, "main"); got != first.Commit {
		t.Errorf("branch = %s, want the first commit %s", got, first.Commit)
	}

	// Two first commits on a new branch: only one may create it.
	c1, _ := r.NewBuilder(ctx, plumbing.ZeroHash)
	c2, _ := other.NewBuilder(ctx, plumbing.ZeroHash)
	_ = c1.Put("x", []byte("1"))
	_ = c2.Put("x", []byte("2"))
	opts := CommitOptions{Branch: "fresh", Message: "m", Author: testSig()}
	if _, err := c1.Commit(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Commit(ctx, opts); !errors.Is(err, ErrConcurrentUpdate) {
		t.Fatalf("second creation error = %v, want ErrConcurrentUpdate", err)
	}
	testgit.FsckStrict(t, dir)
}

func TestDeterministicCommitHash(t *testing.T) {
	files := map[string]string{"envs/e/f1.json": "{}", "envs/e/f2.json": "[]", "top": "t"}
	var hashes []plumbing.Hash
	for range 2 {
		r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
		first := commitFiles(t, r, nil, files, "export")
		files2 := map[string]string{"envs/e/f1.json": `{"v":2}`}
		second := commitFiles(t, r, nil, files2, "export 2")
		hashes = append(hashes, first.Commit, second.Commit)
	}
	if hashes[0] != hashes[2] || hashes[1] != hashes[3] {
		t.Errorf("commit hashes differ across runs: %v", hashes)
	}
}

func TestRebaseReplaysOperations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	base := commitFiles(t, r, nil, map[string]string{"envs/a/1": "a1", "envs/a/2": "a2", "envs/b/1": "b1"}, "base")

	b, _ := r.NewBuilder(ctx, base.Commit)
	_ = b.ReplaceSubtree("envs/a")
	_ = b.Put("envs/a/1", []byte("a1-new"))
	mine, err := b.Commit(ctx, commitOpts("mine"))
	if err != nil {
		t.Fatal(err)
	}

	// Someone else's commit on base, touching envs/b (made on another branch
	// here; Push fetches it the same way).
	testgit.Run(t, dir, "branch", "theirs", base.Commit.String())
	o, _ := r.NewBuilder(ctx, base.Commit)
	_ = o.ReplaceSubtree("envs/b")
	_ = o.Put("envs/b/1", []byte("b1-new"))
	_ = o.Put("envs/b/2", []byte("b2"))
	theirs, err := o.Commit(ctx, CommitOptions{Branch: "theirs", Message: "theirs", Author: testSig()})
	if err != nil {
		t.Fatal(err)
	}

	nb, err := b.Rebase(ctx, theirs.Commit)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := nb.Commit(ctx, commitOpts("mine"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"envs/a/1": "a1-new", "envs/b/1": "b1-new", "envs/b/2": "b2"}
	if diff := cmp.Diff(want, readAllFiles(t, r, rebuilt.Commit)); diff != "" {
		t.Errorf("rebased tree (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{Modified: 1, Deleted: 1}, rebuilt.Stats); diff != "" {
		t.Errorf("rebased stats (-want +got):\n%s", diff)
	}
	parent := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main^"))
	if parent != theirs.Commit.String() {
		t.Errorf("rebased parent = %s, want %s", parent, theirs.Commit)
	}
	if mine.Commit == rebuilt.Commit {
		t.Error("rebased commit equals the original")
	}
	if err := b.Put("x", nil); !errors.Is(err, ErrBuilderDone) {
		t.Errorf("Put on a rebased builder = %v, want ErrBuilderDone", err)
	}
	testgit.FsckStrict(t, dir)
}
