package pacer

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRegistryShared(t *testing.T) {
	r, err := NewRegistry(Config{Clock: NewFakeClock(t0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]*Pacer, 32)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = r.For([]string{"a", "b"}[i%2]) })
	}
	wg.Wait()
	for i, p := range got {
		if p != got[i%2] {
			t.Fatalf("For returned different pacers for one identity")
		}
	}
	if got[0] == got[1] {
		t.Fatal("two identities share a pacer")
	}
	if err := r.SaveAll(); err != nil {
		t.Errorf("SaveAll without persistence = %v", err)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
}

func TestRegistryPersistence(t *testing.T) {
	dir := t.TempDir()
	files := func(identity string) (string, error) { return filepath.Join(dir, HistoryFileName(identity)), nil }
	clk := NewFakeClock(t0)
	base := Config{Calls: Limit{5, time.Minute}, Clock: clk}

	r1, err := NewRegistry(base, files)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		mustWait(t, r1.For("a"), false)
	}
	mustWait(t, r1.For("b"), true)
	if err := r1.SaveAll(); err != nil {
		t.Fatalf("SaveAll: %v", err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := os.Stat(filepath.Join(dir, HistoryFileName(id))); err != nil {
			t.Errorf("history of %s not saved: %v", id, err)
		}
	}

	// A broken history is reported, and the pacer still works and is
	// repaired by the next save.
	if err := os.WriteFile(filepath.Join(dir, HistoryFileName("b")), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	r2, err := NewRegistry(base, files)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r2.For("a").ETA(1, 0), t0.Add(time.Minute+DefaultMargin(time.Minute)); !got.Equal(want) {
		t.Errorf("a's history not restored: ETA %v, want %v", got, want)
	}
	b := r2.For("b")
	if err := r2.Err(); err == nil || !strings.Contains(err.Error(), HistoryFileName("b")) {
		t.Errorf("Err = %v, want the broken file named", err)
	}
	mustWait(t, b, false)
	if err := r2.SaveAll(); err != nil {
		t.Fatalf("SaveAll: %v", err)
	}
	if _, err := New(Config{Clock: clk, HistoryFile: filepath.Join(dir, HistoryFileName("b")), Identity: "b"}); err != nil {
		t.Errorf("history not repaired: %v", err)
	}
}

func TestNewRegistryInvalid(t *testing.T) {
	if _, err := NewRegistry(Config{Calls: Limit{N: -1, Per: time.Second}}, nil); err == nil {
		t.Error("NewRegistry accepted an invalid limit")
	}
}
