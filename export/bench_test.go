// The benchmarks measure processor time with getrusage and shell out to
// tar: Unix only.

//go:build unix

package export_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/testcorpus"
	"github.com/flowsync/flowsync/repo"
)

// Performance of issue #3: normalize and commit 10,000 flows, against
// `git add -A && git commit` by the git CLI on the same files, a run where
// 10 of them changed, and the peak memory of both. Run them one iteration
// each (about 5 minutes on 2 cores; pass -timeout 30m on a busy machine):
//
//	FLOWSYNC_CORPUS=/path/to/corpus/flows \
//	go test -run '^$' -bench 'Export10k|GitCLI' -benchtime 1x -benchmem ./export/
//
// FLOWSYNC_BENCH_FLOWS overrides the number of flows (default 10000) for a
// quick local run. Without FLOWSYNC_CORPUS the flows are derived from the
// demo seed's own definitions; the metric named "corpus-bases" or
// "demo-bases" says which, and how many distinct definitions there were.
//
// The source is an in-memory fake at the edge (no HTTP): these benchmarks
// measure normalization and the object store, not the API client. Elapsed
// times on a shared machine vary by a factor of two from run to run;
// cpu-s/op (processor time of the export, or of the git processes) varies
// less. The git CLI's timed part starts with the files already written, so
// it compares with the "bare" export (objects only); the "worktree" export
// also writes every working file and the index.

const (
	benchDefaultFlows = 10_000
	benchPageSize     = 250 // flows per listing page, as the service pages
	benchConcurrency  = 4
	benchChanged      = 10
)

// benchEnvName is the one environment the synthetic source serves.
const benchEnvName api.EnvName = "7d1f0c2e-5b8a-4c3e-9f61-2a4b6c8d0e1f"

// benchWhen is the author time of every benchmark commit.
var benchWhen = time.Date(2025, 7, 1, 9, 30, 0, 0, time.UTC)

// benchBase is one real definition the synthetic flows are derived from,
// split around the place where the per-flow text goes.
type benchBase struct {
	displayName    string
	state          string
	templateName   string
	solution       bool
	managed        bool
	prefix, suffix []byte          // definition = prefix + per-flow text + suffix
	refs           json.RawMessage // the references dictionary, decoded per read
	// props are the base's other properties, decoded as the client decodes
	// them: known ones in their fields (flowFailureAlertSubscribed…),
	// unknown ones in Extra.
	props            api.FlowProperties
	definitionLength int // len(prefix) + len(suffix)
}

// benchSource is an export.Source that derives flow i of n from base
// i mod len(bases) on every read, so it never holds n definitions. Flow i
// differs from every other flow in its name, display name and definition
// (its base definition's description carries "bench flow i rev v"), and its
// lastModifiedTime follows its revision v, which bump raises.
type benchSource struct {
	env   api.Environment
	bases []benchBase
	// rev is each flow's revision. It is written only by bump, between
	// exports; the readers of a run only read it.
	rev []uint32
}

var _ export.Source = (*benchSource)(nil)

func newBenchSource(bases []benchBase, n int) *benchSource {
	return &benchSource{
		env: api.Environment{
			Name:     benchEnvName,
			ID:       "/providers/Microsoft.ProcessSimple/environments/" + string(benchEnvName),
			Type:     "Microsoft.ProcessSimple/environments",
			Location: "unitedstates",
			Properties: api.EnvironmentProperties{
				DisplayName: "Benchmark", EnvironmentSku: "Production", CreatedTime: "2024-01-15T08:00:00Z",
			},
		},
		bases: bases,
		rev:   make([]uint32, n),
	}
}

// bump gives flow i a new revision: a new lastModifiedTime and definition.
// Not safe while an export runs.
func (s *benchSource) bump(i int) { s.rev[i]++ }

// definitionBytes is the total size of the definitions a full export reads.
func (s *benchSource) definitionBytes() int64 {
	var n int64
	for i := range s.rev {
		n += int64(s.bases[i%len(s.bases)].definitionLength + len(benchNote(i, s.rev[i])))
	}
	return n
}

// benchFlowName is flow i's GUID: 64 mixed bits of i, then i itself in the
// last group, so that a name leads back to its index without a map.
func benchFlowName(i int) api.FlowName {
	h := uint64(i) + 0x9e3779b97f4a7c15
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	h ^= h >> 31
	return api.FlowName(fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x",
		uint32(h>>32), uint16(h>>16), uint16(h)&0xfff, uint16(h>>4)&0xfff, i))
}

// index finds the flow a name denotes.
func (s *benchSource) index(name api.FlowName) (int, bool) {
	str := strings.ToLower(string(name))
	if len(str) != 36 {
		return 0, false
	}
	i, err := strconv.ParseUint(str[24:], 16, 48)
	if err != nil || i >= uint64(len(s.rev)) || benchFlowName(int(i)) != api.FlowName(str) {
		return 0, false
	}
	return int(i), true
}

// benchNote is the per-flow text spliced into a definition.
func benchNote(i int, rev uint32) string { return fmt.Sprintf("bench flow %d rev %d", i, rev) }

func benchTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// summary is flow i as a listing shows it: no definition, no references.
func (s *benchSource) summary(i int) api.Flow {
	b := &s.bases[i%len(s.bases)]
	name := benchFlowName(i)
	created := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	p := b.props
	p.Extra = nil // added by Flow: the listing needs none
	p.APIID = "/providers/Microsoft.PowerApps/apis/shared_logicflows"
	p.DisplayName = fmt.Sprintf("%s #%d", b.displayName, i)
	p.State = b.state
	p.CreatedTime = benchTime(created)
	p.LastModifiedTime = benchTime(created.Add(time.Duration(s.rev[i]) * time.Hour))
	p.TemplateName = b.templateName
	p.Environment = &api.EnvironmentRef{Name: s.env.Name, Type: s.env.Type, ID: s.env.ID}
	p.Creator = &api.Creator{TenantID: seed.DemoTenant, ObjectID: seed.DemoPriya, UserID: seed.DemoPriya, UserType: "ActiveDirectory"}
	f := api.Flow{
		Name:       name,
		ID:         "/providers/Microsoft.ProcessSimple/environments/" + string(s.env.Name) + "/flows/" + string(name),
		Type:       "Microsoft.ProcessSimple/environments/flows",
		Properties: p,
	}
	if b.solution {
		f.Properties.WorkflowEntityID = string(name)
	}
	if b.managed {
		managed := true
		f.Properties.IsManaged = &managed
	}
	return f
}

// Environments implements export.Source.
func (s *benchSource) Environments(context.Context) ([]api.Environment, error) {
	return []api.Environment{s.env}, nil
}

// Flows implements export.Source: pages of benchPageSize summaries.
func (s *benchSource) Flows(ctx context.Context, env api.EnvName, fn func([]api.Flow) error) error {
	if env != s.env.Name {
		return fmt.Errorf("list flows of %s: %w", env, api.ErrEnvironmentNotFound)
	}
	for start := 0; start < len(s.rev); start += benchPageSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		page := make([]api.Flow, 0, min(benchPageSize, len(s.rev)-start))
		for i := start; i < start+cap(page); i++ {
			page = append(page, s.summary(i))
		}
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

// Flow implements export.Source: the summary with the derived definition
// and the base's references and extra properties.
func (s *benchSource) Flow(ctx context.Context, env api.EnvName, name api.FlowName) (api.Flow, error) {
	i, ok := s.index(name)
	if env != s.env.Name || !ok {
		return api.Flow{}, fmt.Errorf("get flow %s: %w", name, api.ErrFlowNotFound)
	}
	b := &s.bases[i%len(s.bases)]
	f := s.summary(i)
	note := benchNote(i, s.rev[i])
	def := make([]byte, 0, b.definitionLength+len(note))
	def = append(append(append(def, b.prefix...), note...), b.suffix...)
	f.Properties.Definition = def
	if err := json.Unmarshal(b.refs, &f.Properties.ConnectionReferences); err != nil {
		return api.Flow{}, fmt.Errorf("get flow %s: references: %w", name, err)
	}
	f.Properties.Extra = maps.Clone(b.props.Extra)
	return f, nil
}

// Permissions implements export.Source: the creator's Owner role, and for
// two flows in three a co-owner group, for one in three a run-only user.
func (s *benchSource) Permissions(ctx context.Context, env api.EnvName, name api.FlowName) ([]api.Permission, error) {
	i, ok := s.index(name)
	if env != s.env.Name || !ok {
		return nil, fmt.Errorf("list permissions of flow %s: %w", name, api.ErrFlowNotFound)
	}
	perm := func(id api.PrincipalID, typ, role string) api.Permission {
		return api.Permission{
			Name: string(id),
			ID:   "/providers/Microsoft.ProcessSimple/environments/" + string(env) + "/flows/" + string(benchFlowName(i)) + "/permissions/" + string(id),
			Type: "Microsoft.ProcessSimple/environments/flows/permissions",
			Properties: api.PermissionProperties{
				RoleName: role, PermissionType: "Principal",
				Principal: api.Principal{ID: id, Type: typ, TenantID: seed.DemoTenant},
			},
		}
	}
	perms := []api.Permission{perm(seed.DemoPriya, "User", "Owner")}
	if i%3 >= 1 {
		perms = append(perms, perm(seed.DemoFinanceApprovers, "Group", "CanEdit"))
	}
	if i%3 == 2 {
		perms = append(perms, perm(seed.DemoSofia, "User", "CanView"))
	}
	return perms, nil
}

// benchSplit cuts a definition (compacted, member order kept) at the end
// of its top-level description, adding an empty one first when it has
// none: a description is free text, so the per-flow note changes nothing a
// flow does.
func benchSplit(def json.RawMessage) (prefix, suffix []byte, err error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, def); err != nil {
		return nil, nil, err
	}
	c := buf.Bytes()
	if len(c) < 2 || c[0] != '{' {
		return nil, nil, errors.New("definition is not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(c))
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if key != "description" {
			continue
		}
		end := int(dec.InputOffset())
		if len(v) < 2 || v[0] != '"' || c[end-1] != '"' {
			return nil, nil, fmt.Errorf("description is %.20s, not a string", v)
		}
		return append(bytes.Clone(c[:end-1]), ' '), bytes.Clone(c[end-1:]), nil
	}
	prefix = []byte(`{"description":"`)
	if len(c) == 2 {
		return prefix, []byte(`"}`), nil
	}
	return prefix, append([]byte(`",`), c[1:]...), nil
}

// benchBasesFrom turns loaded flows into bases, skipping soft-deleted
// flows and repeated definitions.
func benchBasesFrom(tb testing.TB, flows []emulator.Flow) []benchBase {
	tb.Helper()
	seen := map[string]bool{}
	var out []benchBase
	for _, f := range flows {
		if f.DeletedTime != nil || seen[string(f.Definition)] {
			continue
		}
		seen[string(f.Definition)] = true
		prefix, suffix, err := benchSplit(f.Definition)
		if err != nil {
			tb.Fatalf("flow %s (%q): %v", f.Name, f.DisplayName, err)
		}
		refs := f.ConnectionReferences
		if len(bytes.TrimSpace(refs)) == 0 {
			refs = json.RawMessage(`{}`)
		}
		state := f.State
		if state == "" {
			state = api.StateStarted
		}
		var props api.FlowProperties
		if len(f.Extra) > 0 {
			raw, err := json.Marshal(f.Extra)
			if err == nil {
				err = json.Unmarshal(raw, &props)
			}
			if err != nil {
				tb.Fatalf("flow %s (%q): properties: %v", f.Name, f.DisplayName, err)
			}
		}
		out = append(out, benchBase{
			displayName: f.DisplayName, state: state, templateName: f.TemplateName,
			solution: f.WorkflowEntityID != "", managed: f.IsManaged,
			prefix: prefix, suffix: suffix, refs: refs, props: props,
			definitionLength: len(prefix) + len(suffix),
		})
	}
	if len(out) == 0 {
		tb.Fatal("no base flows")
	}
	return out
}

// benchDemoBases are the demo seed's own definitions.
func benchDemoBases(tb testing.TB) []benchBase {
	tb.Helper()
	return benchBasesFrom(tb, seed.Demo().Flows)
}

// benchCorpusBases are the corpus flows at dir.
func benchCorpusBases(tb testing.TB, dir string) []benchBase {
	tb.Helper()
	snap, err := seed.FromCorpus(dir, benchEnvName, nil)
	if err != nil {
		tb.Fatalf("load corpus %s: %v", dir, err)
	}
	return benchBasesFrom(tb, snap.Flows)
}

// benchSetup builds the benchmark's source: n flows (FLOWSYNC_BENCH_FLOWS,
// default 10,000) from the corpus when FLOWSYNC_CORPUS is set, else from the
// demo seed.
func benchSetup(b *testing.B) (*benchSource, string) {
	b.Helper()
	n := benchDefaultFlows
	if v := os.Getenv("FLOWSYNC_BENCH_FLOWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < benchChanged {
			b.Fatalf("FLOWSYNC_BENCH_FLOWS=%q: want a number of at least %d", v, benchChanged)
		}
	}
	label := "demo"
	var bases []benchBase
	if os.Getenv(testcorpus.EnvVar) != "" {
		label, bases = "corpus", benchCorpusBases(b, testcorpus.Dir(b))
	} else {
		bases = benchDemoBases(b)
	}
	src := newBenchSource(bases, n)
	b.Logf("%d flows derived from %d %s definitions, %.1f MB of definition", n, len(bases), label, float64(src.definitionBytes())/1e6)
	return src, label
}

func benchOptions(incremental bool) export.Options {
	return export.Options{
		Envs:        []string{string(benchEnvName)},
		Author:      repo.Signature{Name: "Bench", Email: "bench@example.invalid", When: benchWhen},
		Concurrency: benchConcurrency,
		Incremental: incremental,
	}
}

// benchExport opens (or creates) the repository at dir and exports src
// into it under the repository lock, as the CLI does.
func benchExport(ctx context.Context, src export.Source, dir string, bare, incremental bool) (*export.Result, *repo.Repo, error) {
	rp, err := repo.Open(ctx, dir, repo.OpenOptions{Bare: bare})
	if err != nil {
		return nil, nil, err
	}
	defer rp.Close() // the caller only asks for its directories
	unlock, err := rp.Lock(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	res, _, err := export.Run(ctx, src, rp, benchOptions(incremental), nil)
	return res, rp, err
}

// benchObjects counts the objects of a repository: loose ones and those in
// packs (a large run writes one pack; see repo/internal/odb).
func benchObjects(tb testing.TB, gitDir string) int {
	tb.Helper()
	dirs, err := os.ReadDir(filepath.Join(gitDir, "objects"))
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		if _, err := strconv.ParseUint(d.Name(), 16, 8); err != nil {
			continue
		}
		files, err := os.ReadDir(filepath.Join(gitDir, "objects", d.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range files {
			if !strings.HasPrefix(f.Name(), "tmp_") {
				n++
			}
		}
	}
	idxs, err := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "pack-*.idx"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range idxs {
		b, err := os.ReadFile(p)
		// A version 2 index: magic, version, then 256 cumulative counts.
		if err != nil || len(b) < 8+256*4 || string(b[:4]) != "\xfftOc" {
			tb.Fatalf("pack index %s: unreadable (%v)", p, err)
		}
		n += int(binary.BigEndian.Uint32(b[8+255*4:]))
	}
	return n
}

// benchObjectBound is the most objects an export may write when changed
// flows of one environment changed: per flow its four files and its
// directory's tree; the trees of flows/, the environment, environments/ and
// the root; the environment's README.md and environment.json; the commit.
func benchObjectBound(changed int) int { return changed*(4+1) + 4 + 2 + 1 }

// benchPeak samples the heap while a run goes on. runtime/metrics does not
// stop the world, so it can sample every few milliseconds.
type benchPeak struct {
	stop, done chan struct{}
	heap, held uint64 // peak live+unswept heap objects; peak memory mapped and not returned to the OS
}

func startBenchPeak() *benchPeak {
	runtime.GC() // garbage of the setup is not the run's
	p := &benchPeak{stop: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	sample := func() {
		metrics.Read(samples)
		p.heap = max(p.heap, samples[0].Value.Uint64())
		p.held = max(p.held, samples[1].Value.Uint64()-samples[2].Value.Uint64())
	}
	sample()
	go func() {
		defer close(p.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				sample()
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	return p
}

func (p *benchPeak) finish() {
	close(p.stop)
	<-p.done
}

func (p *benchPeak) report(b *testing.B) {
	b.ReportMetric(float64(p.heap)/(1<<20), "peak-MB")
	b.ReportMetric(float64(p.held)/(1<<20), "peak-sys-MB")
}

// benchCPU is the processor time (user and system) this process used so
// far: unlike the elapsed time, it hardly depends on what else the machine
// is running.
func benchCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchReportFlows reports the throughput of flows per operation.
func benchReportFlows(b *testing.B, flows int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(flows*b.N)/s, "flows/s")
	}
}

// BenchmarkExport10k exports every flow into a fresh repository per
// iteration: "worktree" is the CLI's default layout (objects, then the
// working files and the index of every changed path), "bare" the object
// store only.
func BenchmarkExport10k(b *testing.B) {
	src, label := benchSetup(b)
	n := len(src.rev)
	for _, layout := range []struct {
		name string
		bare bool
	}{{"worktree", false}, {"bare", true}} {
		b.Run(layout.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(src.definitionBytes())
			peak := &benchPeak{}
			var cpu time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), "backup")
				p := startBenchPeak()
				cpu0 := benchCPU(b)
				b.StartTimer()
				res, _, err := benchExport(ctx, src, dir, layout.bare, false)
				b.StopTimer()
				cpu += benchCPU(b) - cpu0
				p.finish()
				if err != nil {
					b.Fatalf("export: %v", err)
				}
				if len(res.Added) != n || !res.Committed || len(res.Failed) != 0 {
					b.Fatalf("export added %d of %d flows (committed %v, failed %d)", len(res.Added), n, res.Committed, len(res.Failed))
				}
				peak.heap, peak.held = max(peak.heap, p.heap), max(peak.held, p.held)
				if err := os.RemoveAll(dir); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.StopTimer()
			benchReportFlows(b, n)
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			peak.report(b)
			b.ReportMetric(float64(src.definitionBytes())/1e6, "def-MB")
			b.ReportMetric(float64(len(src.bases)), label+"-bases")
		})
	}
}

// benchGitEnv isolates the git CLI from the machine's configuration.
func benchGitEnv(home string) []string {
	env := make([]string, 0, len(os.Environ())+4)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_CONFIG_NOSYSTEM=1", "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_TERMINAL_PROMPT=0")
}

// benchGit runs the git CLI in dir and returns its trimmed output.
func benchGit(home, dir string, args ...string) (string, error) {
	out, _, err := benchGitCPU(home, dir, args...)
	return out, err
}

// benchGitCPU is benchGit that also returns the processor time git used.
func benchGitCPU(home, dir string, args ...string) (string, time.Duration, error) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"}, args...)...)
	cmd.Dir, cmd.Env = dir, benchGitEnv(home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", 0, fmt.Errorf("git %s (in %s): %v: %s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// benchCheckout writes the files of branch main of the repository at
// gitDir into dir (git archive | tar -x).
func benchCheckout(home, gitDir, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	archive := exec.Command("git", "--git-dir", gitDir, "archive", "--format=tar", "main")
	archive.Env = benchGitEnv(home)
	untar := exec.Command("tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	var aerr, terr bytes.Buffer
	archive.Stderr, untar.Stderr = &aerr, &terr
	if err := untar.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		_ = untar.Wait()
		return fmt.Errorf("git archive: %v: %s", err, aerr.String())
	}
	if err := untar.Wait(); err != nil {
		return fmt.Errorf("tar -x: %v: %s", err, terr.String())
	}
	return nil
}

// benchGitAddCommit is the git CLI's whole job: a new repository holding
// the files of dir, committed. It returns the processor time git used.
func benchGitAddCommit(home, dir string) (time.Duration, error) {
	var cpu time.Duration
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "x"}} {
		_, c, err := benchGitCPU(home, dir, args...)
		if err != nil {
			return cpu, err
		}
		cpu += c
	}
	return cpu, nil
}

// BenchmarkGitCLIAddCommit10k commits the files of a 10,000-flow export
// with the git CLI, for comparison with BenchmarkExport10k: the files are
// those the export wrote (its tree, checked out before the timer starts),
// and the commit's tree must come out identical to the export's. Writing
// those files (git archive | tar, untimed) is reported as files-s, for
// comparison with the working-clone export, which writes them too.
func BenchmarkGitCLIAddCommit10k(b *testing.B) {
	src, label := benchSetup(b)
	n := len(src.rev)
	ctx := context.Background()
	home := b.TempDir()
	exported := filepath.Join(b.TempDir(), "export.git")
	if _, _, err := benchExport(ctx, src, exported, true, false); err != nil {
		b.Fatalf("export: %v", err)
	}
	wantTree, err := benchGit(home, exported, "rev-parse", "main^{tree}")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(src.definitionBytes())
	var cpu, files time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "work")
		start := time.Now()
		if err := benchCheckout(home, exported, dir); err != nil {
			b.Fatal(err)
		}
		files += time.Since(start)
		b.StartTimer()
		c, err := benchGitAddCommit(home, dir)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		cpu += c
		gotTree, err := benchGit(home, dir, "rev-parse", "HEAD^{tree}")
		if err != nil {
			b.Fatal(err)
		}
		if gotTree != wantTree {
			b.Fatalf("git CLI committed tree %s, the export %s: not the same files", gotTree, wantTree)
		}
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	benchReportFlows(b, n)
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(files.Seconds()/float64(b.N), "files-s/op")
	b.ReportMetric(float64(src.definitionBytes())/1e6, "def-MB")
	b.ReportMetric(float64(len(src.bases)), label+"-bases")
}

// benchChangedFlows are the flows an iteration changes: spread over the
// listing, different in every iteration.
func benchChangedFlows(n, iter int) []int {
	out := make([]int, benchChanged)
	for k := range out {
		out[k] = (k*(n/benchChanged) + iter) % n
	}
	return out
}

// benchCheckChanged insists that an export changed exactly the given flows
// and wrote no more objects than they need.
func benchCheckChanged(res *export.Result, changed []int, objects int) error {
	want := make([]string, 0, len(changed))
	for _, i := range changed {
		want = append(want, string(benchFlowName(i)))
	}
	got := make([]string, 0, len(res.Changed))
	for _, c := range res.Changed {
		got = append(got, string(c.Flow))
	}
	slices.Sort(want) // Result.Changed is sorted by flow name
	if diff := cmp.Diff(want, got); diff != "" {
		return fmt.Errorf("changed flows (-want +got):\n%s", diff)
	}
	if len(res.Added) != 0 || len(res.Removed) != 0 || len(res.Failed) != 0 || !res.Committed {
		return fmt.Errorf("export added %d, removed %d, failed %d flows, committed %v; want only changes",
			len(res.Added), len(res.Removed), len(res.Failed), res.Committed)
	}
	if bound := benchObjectBound(len(changed)); objects > bound {
		return fmt.Errorf("export wrote %d objects for %d changed flows, want at most %d", objects, len(changed), bound)
	}
	return nil
}

// BenchmarkExport10kChanged10 exports, with --incremental, a repository
// holding a full export in which 10 flows changed since. It fails unless
// exactly those 10 flows are reported changed and the object store grew by
// no more than they need; "x-full" is its time as a fraction of the full
// export made in the setup.
func BenchmarkExport10kChanged10(b *testing.B) {
	src, label := benchSetup(b)
	n := len(src.rev)
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "backup")
	start := time.Now()
	res, rp, err := benchExport(ctx, src, dir, false, false)
	if err != nil {
		b.Fatalf("full export: %v", err)
	}
	full := time.Since(start)
	if len(res.Added) != n {
		b.Fatalf("full export added %d of %d flows", len(res.Added), n)
	}
	gitDir := rp.GitDir()
	b.Logf("setup: full export of %d flows in %v, %d objects", n, full.Round(time.Millisecond), benchObjects(b, gitDir))
	// A nightly job runs --incremental every night, so the run before the
	// measured one was incremental too and left its record of the stored
	// definitions it found sound (export/sound.go). The first incremental
	// run after a full export has no record and checks every stored
	// definition: reported apart as cold-incr-s.
	start = time.Now()
	if _, _, err := benchExport(ctx, src, dir, false, true); err != nil {
		b.Fatalf("first incremental export: %v", err)
	}
	cold := time.Since(start)
	b.Logf("setup: first incremental export (no change, no record yet) in %v", cold.Round(time.Millisecond))
	b.ReportAllocs()
	peak := &benchPeak{}
	written := 0
	var cpu time.Duration
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		changed := benchChangedFlows(n, iter)
		for _, i := range changed {
			src.bump(i)
		}
		before := benchObjects(b, gitDir)
		p := startBenchPeak()
		cpu0 := benchCPU(b)
		b.StartTimer()
		res, _, err := benchExport(ctx, src, dir, false, true)
		b.StopTimer()
		cpu += benchCPU(b) - cpu0
		p.finish()
		if err != nil {
			b.Fatalf("incremental export: %v", err)
		}
		objects := benchObjects(b, gitDir) - before
		if err := benchCheckChanged(res, changed, objects); err != nil {
			b.Fatal(err)
		}
		written += objects
		peak.heap, peak.held = max(peak.heap, p.heap), max(peak.held, p.held)
		b.StartTimer()
	}
	b.StopTimer()
	benchReportFlows(b, n)
	peak.report(b)
	b.ReportMetric(float64(written)/float64(b.N), "objects/op")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/full.Seconds(), "x-full")
	b.ReportMetric(cold.Seconds(), "cold-incr-s")
	b.ReportMetric(float64(len(src.bases)), label+"-bases")
}

// TestBenchSynthSource checks the benchmarks' fake: it is deterministic,
// pages like the service, derives distinct valid definitions that
// normalize, changes exactly the flows it bumps, and its exports are what
// the benchmarks assume (every flow added; a change run that writes few
// objects; a tree the git CLI reproduces from the checked-out files).
func TestBenchSynthSource(t *testing.T) {
	cases := []struct {
		name  string
		bases func(t *testing.T) []benchBase
	}{
		{"demo", func(t *testing.T) []benchBase { return benchDemoBases(t) }},
		{"corpus", func(t *testing.T) []benchBase {
			return benchCorpusBases(t, testcorpus.Dir(t))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bases := tc.bases(t)
			t.Run("source", func(t *testing.T) { testBenchSource(t, bases) })
			t.Run("export", func(t *testing.T) { testBenchExport(t, bases) })
		})
	}
}

func testBenchSource(t *testing.T, bases []benchBase) {
	ctx := context.Background()
	const n = benchPageSize + 17
	src := newBenchSource(bases, n)

	var pages []int
	var names []api.FlowName
	err := src.Flows(ctx, benchEnvName, func(page []api.Flow) error {
		pages = append(pages, len(page))
		for _, f := range page {
			if f.Properties.Definition != nil || f.Properties.ConnectionReferences != nil {
				t.Errorf("listing of %s carries a definition or references", f.Name)
			}
			names = append(names, f.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{benchPageSize, 17}, pages); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}

	read := func(s *benchSource, name api.FlowName) ([]byte, []byte) {
		t.Helper()
		f, err := s.Flow(ctx, benchEnvName, name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Permissions(ctx, benchEnvName, name)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return fb, pb
	}

	again := newBenchSource(bases, n)
	seenName := map[api.FlowName]int{}
	seenDef := map[string]int{}
	for i, name := range names {
		if want := benchFlowName(i); name != want {
			t.Fatalf("listing position %d is %s, want %s", i, name, want)
		}
		if c, err := model.CanonicalFlowName(name); err != nil || c != name {
			t.Fatalf("flow name %s is no canonical GUID: %v", name, err)
		}
		if j, dup := seenName[name]; dup {
			t.Fatalf("flows %d and %d share the name %s", j, i, name)
		}
		seenName[name] = i
		f, err := src.Flow(ctx, benchEnvName, name)
		if err != nil {
			t.Fatal(err)
		}
		def := f.Properties.Definition
		if !json.Valid(def) {
			t.Fatalf("flow %d: definition is not valid JSON", i)
		}
		if _, err := canon.Parse(def); err != nil {
			t.Fatalf("flow %d: definition: %v", i, err)
		}
		if j, dup := seenDef[string(def)]; dup {
			t.Fatalf("flows %d and %d have the same definition", j, i)
		}
		seenDef[string(def)] = i
		perms, err := src.Permissions(ctx, benchEnvName, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(perms) < 1 || len(perms) > 3 {
			t.Fatalf("flow %d: %d permissions, want 1 to 3", i, len(perms))
		}
		if _, _, err := model.Normalize(benchEnvName, f, perms, model.NormalizeOptions{}); err != nil {
			t.Fatalf("flow %d: %v", i, err)
		}
		// Deterministic: a second source, and a second read, say the same.
		f1, p1 := read(src, name)
		f2, p2 := read(again, name)
		if !bytes.Equal(f1, f2) || !bytes.Equal(p1, p2) {
			t.Fatalf("flow %d reads differently from two sources", i)
		}
	}
	if got, want := len(seenName), n; got != want {
		t.Errorf("listed %d flows, want %d", got, want)
	}

	// A bump changes that flow's lastModifiedTime and definition only.
	const bumped = 42
	before := make(map[api.FlowName][]byte, n)
	for _, name := range names {
		before[name], _ = read(src, name)
	}
	src.bump(bumped)
	for i, name := range names {
		after, _ := read(src, name)
		if changed := !bytes.Equal(before[name], after); changed != (i == bumped) {
			t.Errorf("flow %d: changed %v after bumping flow %d", i, changed, bumped)
		}
	}
	old, _ := again.Flow(ctx, benchEnvName, names[bumped])
	now, _ := src.Flow(ctx, benchEnvName, names[bumped])
	if old.Properties.LastModifiedTime >= now.Properties.LastModifiedTime {
		t.Errorf("bump moved lastModifiedTime from %s to %s", old.Properties.LastModifiedTime, now.Properties.LastModifiedTime)
	}
	if bytes.Equal(old.Properties.Definition, now.Properties.Definition) {
		t.Error("bump left the definition as it was")
	}
	lookups := []struct {
		name  string
		flow  api.FlowName
		found bool
	}{
		{"upper case is the same flow", api.FlowName(strings.ToUpper(string(names[3]))), true},
		{"index 0 with another prefix", "00000000-0000-4000-8000-000000000000", false},
		{"past the end", benchFlowName(n), false},
		{"no GUID", "not-a-guid", false},
	}
	for _, l := range lookups {
		_, err := src.Flow(ctx, benchEnvName, l.flow)
		if l.found && err != nil || !l.found && !errors.Is(err, api.ErrFlowNotFound) {
			t.Errorf("%s: Flow(%s) = %v, want found %v", l.name, l.flow, err, l.found)
		}
	}
}

func testBenchExport(t *testing.T, bases []benchBase) {
	ctx := context.Background()
	const n = 60
	src := newBenchSource(bases, n)
	home := t.TempDir()

	// A full export adds every flow; the git CLI, given its files, commits
	// the same tree.
	bare := filepath.Join(t.TempDir(), "export.git")
	res, _, err := benchExport(ctx, src, bare, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != n || len(res.Failed) != 0 || !res.Committed {
		t.Fatalf("export added %d of %d flows (failed %d, committed %v)", len(res.Added), n, len(res.Failed), res.Committed)
	}
	wantTree, err := benchGit(home, bare, "rev-parse", "main^{tree}")
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	if err := benchCheckout(home, bare, work); err != nil {
		t.Fatal(err)
	}
	if _, err := benchGitAddCommit(home, work); err != nil {
		t.Fatal(err)
	}
	if got, err := benchGit(home, work, "rev-parse", "HEAD^{tree}"); err != nil || got != wantTree {
		t.Errorf("git CLI committed tree %s (%v), the export %s", got, err, wantTree)
	}

	// Changing a few flows: an incremental export reports exactly them and
	// writes few objects.
	dir := filepath.Join(t.TempDir(), "backup")
	if _, _, err := benchExport(ctx, src, dir, false, false); err != nil {
		t.Fatal(err)
	}
	changed := benchChangedFlows(n, 3)
	for _, i := range changed {
		src.bump(i)
	}
	rp, err := repo.Open(ctx, dir, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	before := benchObjects(t, rp.GitDir())
	res, _, err = benchExport(ctx, src, dir, false, true)
	if err != nil {
		t.Fatal(err)
	}
	objects := benchObjects(t, rp.GitDir()) - before
	if err := benchCheckChanged(res, changed, objects); err != nil {
		t.Error(err)
	}
	if objects < len(changed)*2+1 {
		t.Errorf("export wrote %d objects for %d changed flows: too few to hold their new definitions", objects, len(changed))
	}
	t.Logf("%d changed flows of %d: %d objects written", len(changed), n, objects)

	// Unchanged: nothing is committed and nothing written.
	before = benchObjects(t, rp.GitDir())
	res, _, err = benchExport(ctx, src, dir, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed || len(res.Changed) != 0 {
		t.Errorf("unchanged export committed %v, changed %d flows", res.Committed, len(res.Changed))
	}
	if got := benchObjects(t, rp.GitDir()) - before; got != 0 {
		t.Errorf("unchanged export wrote %d objects", got)
	}
}
