package repo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/testgit"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Benchmarks for a 10,000-flow store: 10,000 directories × 5 files of 2–20 KB
// of synthetic JSON-like content (about 550 MB). Run them one iteration at a
// time:
//
//	go test ./repo -run '^$' -bench . -benchtime 1x -timeout 60m
const (
	benchDirs  = 10_000
	benchFiles = 5
)

var (
	benchWords = []string{"Compose", "Condition", "Apply_to_each", "Send_an_email", "Get_items",
		"Initialize_variable", "Parse_JSON", "HTTP", "Scope", "Switch", "Create_item", "Delay"}
	benchTypes = []string{"OpenApiConnection", "If", "Foreach", "Compose", "Http", "InitializeVariable"}
)

func benchPath(dir, file int) string {
	return fmt.Sprintf("envs/bench/flows/f%05d/part%d.json", dir, file)
}

// benchCorpus is JSON-like text that synthContent slices file contents from,
// so generating 550 MB of content costs little more than copying it and the
// benchmarks measure the store, not the generator.
var benchCorpus = func() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b []byte
	for len(b) < 1<<20 {
		b = fmt.Appendf(b, "    {\"name\": \"%s_%d\", \"type\": \"%s\", \"inputs\": {\"value\": \"%x\"}},\n",
			benchWords[rng.IntN(len(benchWords))], rng.IntN(1000), benchTypes[rng.IntN(len(benchTypes))], rng.Uint64())
	}
	return b
}()

// synthContent appends file (dir, file)'s content at revision rev to buf[:0]:
// 2–20 KB, distinct per file.
func synthContent(buf []byte, dir, file, rev int) []byte {
	rng := rand.New(rand.NewPCG(uint64(dir), uint64(file)))
	size := 2048 + rng.IntN(18*1024)
	off := rng.IntN(len(benchCorpus) - size)
	buf = fmt.Appendf(buf[:0], "{\n  \"flow\": %d,\n  \"part\": %d,\n  \"rev\": %d,\n  \"actions\": [\n", dir, file, rev)
	buf = append(buf, benchCorpus[off:off+size]...)
	return append(buf, "  ]\n}\n"...)
}

// heapPeak samples the live heap; ReadMemStats stops the world, so it is
// called every few hundred files only.
type heapPeak struct{ max uint64 }

func (h *heapPeak) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.max = max(h.max, ms.HeapInuse)
}

// report records the peak and fails when streaming did not keep the heap
// far below the 300 MB a 10,000-flow export must stay under.
func (h *heapPeak) report(b *testing.B) {
	mb := float64(h.max) / (1 << 20)
	b.ReportMetric(mb, "peak-heap-MB")
	if mb > 150 {
		b.Errorf("peak heap %.0f MB: content is being retained", mb)
	}
}

// exportAll streams every file into a builder replacing envs/bench; files
// whose dir is in changed get revision rev, the others revision 0.
func exportAll(tb testing.TB, r *Repo, base plumbing.Hash, changed map[int]bool, rev int, peak *heapPeak) Result {
	res, _ := exportAllTimed(tb, r, base, changed, rev, peak)
	return res
}

// exportAllTimed also returns how long the Commit call alone took (tree
// building, commit, branch update and, in a non-bare repository, the
// working tree and index update).
func exportAllTimed(tb testing.TB, r *Repo, base plumbing.Hash, changed map[int]bool, rev int, peak *heapPeak) (Result, time.Duration) {
	ctx := context.Background()
	bld, err := r.NewBuilder(ctx, base)
	if err != nil {
		tb.Fatal(err)
	}
	if err := bld.ReplaceSubtree("envs/bench"); err != nil {
		tb.Fatal(err)
	}
	var buf []byte
	for d := range benchDirs {
		for f := range benchFiles {
			v := 0
			if changed[d] && f == 0 {
				v = rev
			}
			buf = synthContent(buf, d, f, v)
			if err := bld.Put(benchPath(d, f), buf); err != nil {
				tb.Fatal(err)
			}
		}
		if peak != nil && d%500 == 0 {
			peak.sample()
		}
	}
	start := time.Now()
	res, err := bld.Commit(ctx, CommitOptions{Branch: "main", Message: fmt.Sprintf("export rev %d", rev), Author: testSig()})
	took := time.Since(start)
	if err != nil {
		tb.Fatal(err)
	}
	if peak != nil {
		peak.sample()
	}
	return res, took
}

func changedSet(rev int) map[int]bool {
	m := map[int]bool{}
	for i := range 10 {
		m[(rev*7919+i*997)%benchDirs] = true
	}
	return m
}

// BenchmarkCommit10k: a first export of 10,000 flows into an empty bare
// repository (all blobs and trees written).
func BenchmarkCommit10k(b *testing.B) {
	peak := &heapPeak{}
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		r := openRepo(b, filepath.Join(b.TempDir(), fmt.Sprint(i)), OpenOptions{Bare: true})
		runtime.GC()
		b.StartTimer()
		res := exportAll(b, r, plumbing.ZeroHash, nil, 0, peak)
		if res.Stats.Added != benchDirs*benchFiles {
			b.Fatalf("stats %+v", res.Stats)
		}
	}
	peak.report(b)
}

// BenchmarkCommit10kWorktree: the same first export into an empty non-bare
// repository, so the working files and the index are written too.
func BenchmarkCommit10kWorktree(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		r := openRepo(b, filepath.Join(b.TempDir(), fmt.Sprint(i)), OpenOptions{})
		runtime.GC()
		b.StartTimer()
		res := exportAll(b, r, plumbing.ZeroHash, nil, 0, nil)
		if res.Stats.Added != benchDirs*benchFiles {
			b.Fatalf("stats %+v", res.Stats)
		}
	}
}

// BenchmarkCommit10kChanged10: a repeated full export (every file Put again)
// where 10 of 10,000 flows changed.
func BenchmarkCommit10kChanged10(b *testing.B) {
	benchChanged10(b, OpenOptions{Bare: true})
}

// BenchmarkCommit10kChanged10Incremental: the --incremental way: the 10
// changed flows are Put, the 9,990 others reuse their blobs from the base
// tree with PutBlob (nothing re-read or re-hashed).
func BenchmarkCommit10kChanged10Incremental(b *testing.B) {
	ctx := context.Background()
	r := openRepo(b, b.TempDir(), OpenOptions{Bare: true})
	head := exportAll(b, r, plumbing.ZeroHash, nil, 0, nil).Commit
	peak := &heapPeak{}
	runtime.GC()
	for rev := 1; b.Loop(); rev++ {
		tree, err := r.ReadTree(ctx, head)
		if err != nil {
			b.Fatal(err)
		}
		bld, err := r.NewBuilder(ctx, head)
		if err != nil {
			b.Fatal(err)
		}
		if err := bld.ReplaceSubtree("envs/bench"); err != nil {
			b.Fatal(err)
		}
		changed := changedSet(rev)
		var buf []byte
		for d := range benchDirs {
			for f := range benchFiles {
				p := benchPath(d, f)
				if changed[d] && f == 0 {
					buf = synthContent(buf, d, f, rev)
					err = bld.Put(p, buf)
				} else {
					var h plumbing.Hash
					if h, err = tree.Lookup(p); err == nil {
						err = bld.PutBlob(p, h)
					}
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			if d%500 == 0 {
				peak.sample()
			}
		}
		res, err := bld.Commit(ctx, CommitOptions{Branch: "main", Message: "incremental", Author: testSig()})
		if err != nil || res.Stats.Modified != 10 {
			b.Fatalf("commit %+v, %v", res, err)
		}
		head = res.Commit
	}
	peak.report(b)
}

// BenchmarkCommit10kChanged10Worktree: the same in a non-bare repository, so
// the 10 changed files are also written to the working tree and the index.
func BenchmarkCommit10kChanged10Worktree(b *testing.B) {
	benchChanged10(b, OpenOptions{})
}

func benchChanged10(b *testing.B, opts OpenOptions) {
	r := openRepo(b, b.TempDir(), opts)
	head := exportAll(b, r, plumbing.ZeroHash, nil, 0, nil).Commit
	peak := &heapPeak{}
	runtime.GC()
	var commitTime time.Duration
	n := 0
	for rev := 1; b.Loop(); rev++ {
		res, took := exportAllTimed(b, r, head, changedSet(rev), rev, peak)
		if !res.Changed || res.Stats.Modified == 0 || res.Stats.Added+res.Stats.Deleted != 0 {
			b.Fatalf("result %+v", res)
		}
		head = res.Commit
		commitTime += took
		n++
	}
	peak.report(b)
	b.ReportMetric(float64(commitTime.Milliseconds())/float64(n), "commit-ms")
	if !r.Bare() {
		if out := testgit.Run(b, r.Dir(), "status", "--porcelain"); out != "" {
			b.Fatalf("worktree not clean:\n%.500s", out)
		}
	}
}

// BenchmarkGoGitResetHard10kChanged10 times the alternative worktree update
// this package does not use: go-git's Worktree.Reset(HardReset) to a commit
// that changed 10 of 50,000 files.
func BenchmarkGoGitResetHard10kChanged10(b *testing.B) {
	ctx := context.Background()
	r := openRepo(b, b.TempDir(), OpenOptions{})
	head := exportAll(b, r, plumbing.ZeroHash, nil, 0, nil).Commit
	g, err := git.PlainOpen(r.Dir())
	if err != nil {
		b.Fatal(err)
	}
	wt, err := g.Worktree()
	if err != nil {
		b.Fatal(err)
	}
	for rev := 1; b.Loop(); rev++ {
		b.StopTimer()
		// Commit on a branch that is not checked out, so nothing syncs.
		if rev == 1 {
			testgit.Run(b, r.Dir(), "branch", "side", head.String())
		}
		bld, err := r.NewBuilder(ctx, head)
		if err != nil {
			b.Fatal(err)
		}
		var buf []byte
		for d := range changedSet(rev) {
			buf = synthContent(buf, d, 0, rev)
			if err := bld.Put(benchPath(d, 0), buf); err != nil {
				b.Fatal(err)
			}
		}
		res, err := bld.Commit(ctx, CommitOptions{Branch: "side", Message: "side", Author: testSig()})
		if err != nil {
			b.Fatal(err)
		}
		head = res.Commit
		b.StartTimer()
		if err := wt.Reset(&git.ResetOptions{Commit: head, Mode: git.HardReset}); err != nil {
			b.Fatal(err)
		}
	}
}

// The git CLI on the same files, for comparison: the files are written to the
// working tree untimed, then `git add -A && git commit` is timed.

func BenchmarkGitCLICommit10k(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
		testgit.Run(b, b.TempDir(), "init", "-q", "-b", "main", dir)
		writeBenchFiles(b, dir, nil, 0, true)
		b.StartTimer()
		testgit.Run(b, dir, "add", "-A")
		testgit.Run(b, dir, "commit", "-q", "-m", "export")
	}
}

func BenchmarkGitCLICommit10kChanged10(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "w")
	testgit.Run(b, b.TempDir(), "init", "-q", "-b", "main", dir)
	writeBenchFiles(b, dir, nil, 0, true)
	testgit.Run(b, dir, "add", "-A")
	testgit.Run(b, dir, "commit", "-q", "-m", "export")
	for rev := 1; b.Loop(); rev++ {
		b.StopTimer()
		writeBenchFiles(b, dir, changedSet(rev), rev, false)
		b.StartTimer()
		testgit.Run(b, dir, "add", "-A")
		testgit.Run(b, dir, "commit", "-q", "-m", fmt.Sprint("export ", rev))
	}
}

func writeBenchFiles(b *testing.B, dir string, changed map[int]bool, rev int, all bool) {
	b.Helper()
	var buf []byte
	for d := range benchDirs {
		if !all && !changed[d] {
			continue
		}
		for f := range benchFiles {
			v := 0
			if changed[d] && f == 0 {
				v = rev
			}
			if !all && f != 0 {
				continue
			}
			buf = synthContent(buf, d, f, v)
			p := filepath.Join(dir, filepath.FromSlash(benchPath(d, f)))
			if f == 0 && all {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					b.Fatal(err)
				}
			}
			if err := os.WriteFile(p, buf, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPush10k: pushing a first export of 10,000 flows to an empty bare
// file remote (go-git builds the pack; git-receive-pack stores it).
func BenchmarkPush10k(b *testing.B) {
	r := openRepo(b, b.TempDir(), OpenOptions{Bare: true})
	exportAll(b, r, plumbing.ZeroHash, nil, 0, nil)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		remote := filepath.Join(b.TempDir(), fmt.Sprint(i))
		testgit.Run(b, b.TempDir(), "init", "-q", "--bare", "-b", "main", remote)
		b.StartTimer()
		if _, err := r.Push(context.Background(), PushOptions{Remote: remote, Branch: "main"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPush10kChanged10: pushing a commit that changed 10 of 10,000
// flows to a file remote that has the previous one.
func BenchmarkPush10kChanged10(b *testing.B) {
	ctx := context.Background()
	r := openRepo(b, b.TempDir(), OpenOptions{Bare: true})
	head := exportAll(b, r, plumbing.ZeroHash, nil, 0, nil).Commit
	remote := filepath.Join(b.TempDir(), "remote.git")
	testgit.Run(b, b.TempDir(), "init", "-q", "--bare", "-b", "main", remote)
	if _, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
		b.Fatal(err)
	}
	for rev := 1; b.Loop(); rev++ {
		b.StopTimer()
		head = exportAll(b, r, head, changedSet(rev), rev, nil).Commit
		b.StartTimer()
		if _, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
			b.Fatal(err)
		}
	}
}
