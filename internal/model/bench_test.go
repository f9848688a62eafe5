package model

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
)

// synthFlow builds a flow of about size bytes from the golden cases' own
// actions (never the corpus): the actions of every case are copied under
// numbered names until the definition is big enough, with their
// connection references and secrets.
func synthFlow(tb testing.TB, size int, seq int) (api.Flow, []api.Permission) {
	tb.Helper()
	base := loadInput(tb, filepath.Join("testdata", "normalize", "button"))
	var actions []canon.Member
	refs := map[string]api.ConnectionReference{}
	for _, dir := range goldenCases(tb) {
		in := loadInput(tb, dir)
		def, err := canon.Parse(in.Flow.Properties.Definition)
		if err != nil {
			tb.Fatal(err)
		}
		if a := def.Get("actions"); a != nil {
			actions = append(actions, a.Members...)
		}
		for k, r := range in.Flow.Properties.ConnectionReferences {
			refs[k] = r
		}
	}
	def, err := canon.Parse(base.Flow.Properties.Definition)
	if err != nil {
		tb.Fatal(err)
	}
	var unit int
	for _, a := range actions {
		b, _ := a.Value.Encode()
		unit += len(b) + len(a.Key)
	}
	copies := max(1, size/max(1, unit))
	all := &canon.Value{Kind: canon.Object}
	for i := range copies {
		for _, a := range actions {
			all.Members = append(all.Members, canon.Member{Key: fmt.Sprintf("%s_%04d", a.Key, i), Value: a.Value})
		}
	}
	for i := range def.Members {
		if def.Members[i].Key == "actions" {
			def.Members[i].Value = all
		}
	}
	raw, err := def.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	f := base.Flow
	f.Name = api.FlowName(fmt.Sprintf("00000000-0000-4000-8000-%012d", seq))
	f.Properties.Definition = raw
	f.Properties.ConnectionReferences = refs
	return f, base.Permissions
}

func BenchmarkNormalize(b *testing.B) {
	for _, size := range []int{35 << 10, 350 << 10} {
		f, perms := synthFlow(b, size, 1)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(f.Properties.Definition)))
			b.ReportAllocs()
			for b.Loop() {
				n, _, err := Normalize(testEnv, f, perms, NormalizeOptions{KeepSecretValues: true})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Files(n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNormalizeTenThousand pushes 10,000 flows (one in ten of 350 KB,
// the rest of 35 KB) through Normalize and Files one at a time, as an
// export does, and reports the peak heap seen between flows.
func BenchmarkNormalizeTenThousand(b *testing.B) {
	small, perms := synthFlow(b, 35<<10, 1)
	large, _ := synthFlow(b, 350<<10, 2)
	b.ReportAllocs()
	var peak uint64
	var ms runtime.MemStats
	for b.Loop() {
		var total int64
		for i := range 10000 {
			f := small
			if i%10 == 0 {
				f = large
			}
			f.Name = api.FlowName(fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
			n, _, err := Normalize(testEnv, f, perms, NormalizeOptions{KeepSecretValues: true})
			if err != nil {
				b.Fatal(err)
			}
			files, err := Files(n)
			if err != nil {
				b.Fatal(err)
			}
			for _, v := range files {
				total += int64(len(v))
			}
			if i%50 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		b.SetBytes(total)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// TestNormalizeDoesNotRetain checks that normalizing many flows keeps no
// memory from one flow to the next: the heap after a run of flows stays
// near the heap after the first few.
func TestNormalizeDoesNotRetain(t *testing.T) {
	f, perms := synthFlow(t, 100<<10, 1)
	run := func(n int) {
		for i := range n {
			f.Name = api.FlowName(fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
			nf, _, err := Normalize(testEnv, f, perms, NormalizeOptions{KeepSecretValues: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Files(nf); err != nil {
				t.Fatal(err)
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	run(5)
	before := heap()
	run(200) // about 20 MB of definitions
	after := heap()
	if after > before+8<<20 {
		t.Errorf("heap grew from %d to %d bytes over 200 flows", before, after)
	}
}

func TestSynthFlowIsRealistic(t *testing.T) {
	f, _ := synthFlow(t, 350<<10, 1)
	if n := len(f.Properties.Definition); n < 300<<10 || n > 500<<10 {
		t.Errorf("synthetic definition is %d bytes", n)
	}
	var def map[string]json.RawMessage
	if err := json.Unmarshal(f.Properties.Definition, &def); err != nil {
		t.Fatal(err)
	}
	n, rep, err := Normalize(testEnv, f, nil, NormalizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 || strings.Contains(string(n.Definition), "FAKE-basic-password-not-real") {
		t.Errorf("synthetic flow lost its secrets or kept them: %d findings", len(rep.Findings))
	}
}
