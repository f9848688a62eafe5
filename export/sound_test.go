package export_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/internal/testrepo"
)

// TestIncrementalSoundCache: an incremental run records, by blob hash, the
// stored definitions it found sound, and the next one trusts that record
// instead of reading them again. The record holds only what the run saw, a
// damaged record is ignored (every definition is checked in full), and a
// definition the record does not name is checked in full.
func TestIncrementalSoundCache(t *testing.T) {
	t.Parallel()
	e := startEmu(t, seed.Demo(), emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev)
	mustExport(t, e.src, rp, o)
	oi := o
	oi.Incremental = true
	cache := filepath.Join(rp.GitDir(), "flowsync", "sound-definitions")

	// The definitions the tree holds, by blob hash.
	defHashes := func() []string {
		out := testgit.Run(t, rp.Dir(), "ls-tree", "-r", "HEAD", "environments/"+string(seed.DemoEnvDev))
		var hs []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasSuffix(line, "/definition.json") {
				hs = append(hs, strings.Fields(line)[2])
			}
		}
		slices.Sort(hs)
		return hs
	}
	readCache := func() []string {
		b, err := os.ReadFile(cache)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(b))
	}

	res := mustExport(t, e.src, rp, oi)
	er := res.Environments[0]
	want := defHashes()
	if got := readCache(); er.Reused != len(want) || !slices.Equal(got, want) {
		t.Fatalf("after the first incremental run (%d reused): cache %v, want the %d stored definitions %v", er.Reused, got, len(want), want)
	}

	// A damaged record is an empty one: every definition is checked in
	// full, found sound, and the record is written anew.
	if err := os.WriteFile(cache, []byte("not a hash\n\x00\xff"+strings.Repeat("z", 40)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = mustExport(t, e.src, rp, oi)
	if er := res.Environments[0]; er.Reused != er.Flows || res.Committed {
		t.Errorf("run with a damaged record: %+v, committed %v", er, res.Committed)
	}
	if got := readCache(); !slices.Equal(got, want) {
		t.Errorf("record after a damaged one: %v, want %v", got, want)
	}

	// The record is trusted: a hand-made, non-canonical definition whose
	// blob the record names is reused, not read again. (Without the record
	// it is read again and repaired: TestIncrementalRereadsDamagedFiles.)
	p := testrepo.FlowDir(seed.DemoEnvDev, seed.DemoFlowInvoiceApproval) + "definition.json"
	full := filepath.Join(rp.Dir(), filepath.FromSlash(p))
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "    "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, pretty.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	testgit.Run(t, rp.Dir(), "commit", "-q", "-a", "-m", "hand edit")
	forged := strings.TrimSpace(testgit.Run(t, rp.Dir(), "rev-parse", "HEAD:"+p))
	if err := os.WriteFile(cache, []byte(strings.Join(append(readCache(), forged), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = mustExport(t, e.src, rp, oi)
	if er := res.Environments[0]; er.Reused != er.Flows || res.Committed {
		t.Errorf("run with the hand edit on record: %+v, committed %v; want it reused", er, res.Committed)
	}
	if got := readCache(); !slices.Contains(got, forged) {
		t.Errorf("the record dropped a definition this run relied on: %v", got)
	}
}
