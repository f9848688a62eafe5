package pacer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func historyPacer(t *testing.T, clk *FakeClock, file, identity string) *Pacer {
	t.Helper()
	p, err := New(Config{Calls: Limit{5, time.Minute}, Writes: Limit{3, time.Hour}, Clock: clk, HistoryFile: file, Identity: identity})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func writeHistory(t *testing.T, file string, h history) {
	t.Helper()
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func windows(p *Pacer) (calls, writes []time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.calls.held()...), append([]time.Time(nil), p.writes.held()...)
}

func TestHistoryRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", HistoryFileName("user@example.test"))
	clk := NewFakeClock(t0)
	a := historyPacer(t, clk, file, "user@example.test")
	for i, write := range []bool{true, false, true, false} {
		clk.AdvanceTo(t0.Add(time.Duration(i) * time.Second))
		mustWait(t, a, write)
	}
	a.Pause(t0.Add(30 * time.Second))
	if err := a.Save(); err != nil {
		t.Fatalf("Save: %v", err)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("history file mode %v, want 0600", mode)
	}
	data, _ := os.ReadFile(file)
	if !strings.Contains(string(data), `"version": 1`) || !strings.Contains(string(data), `"identity": "user@example.test"`) {
		t.Errorf("history file lacks version or identity:\n%s", data)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".pacer-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	clk.Advance(5 * time.Second)
	b := historyPacer(t, clk, file, "user@example.test")
	wantCalls, wantWrites := windows(a)
	gotCalls, gotWrites := windows(b)
	if diff := cmp.Diff(wantCalls, gotCalls); diff != "" {
		t.Errorf("calls after load (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantWrites, gotWrites); diff != "" {
		t.Errorf("writes after load (-want +got):\n%s", diff)
	}
	if got := b.Stats().PausedUntil; !got.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("pause after load = %v, want t0+30s", got)
	}
	if !a.ETA(7, 3).Equal(b.ETA(7, 3)) {
		t.Errorf("ETA differs after load: %v vs %v", a.ETA(7, 3), b.ETA(7, 3))
	}
}

func TestHistoryDropsStaleAndFuture(t *testing.T) {
	file := filepath.Join(t.TempDir(), "h.json")
	far := t0.Add(2 * time.Hour)
	writeHistory(t, file, history{
		Version:     1,
		Identity:    "id",
		PausedUntil: &far, // longer than any window: not from a server
		Calls: []time.Time{
			t0.Add(-2 * time.Minute), // older than the calls window
			t0.Add(-10 * time.Second),
			t0.Add(-5 * time.Second),
			t0.Add(time.Minute), // in the future: the writer's clock ran ahead
		},
		Writes: []time.Time{
			t0.Add(-2 * time.Hour), // older than the writes window
			t0.Add(-30 * time.Minute),
			t0.Add(time.Second),
		},
	})
	p := historyPacer(t, NewFakeClock(t0), file, "id")
	calls, writes := windows(p)
	if diff := cmp.Diff([]time.Time{t0.Add(-10 * time.Second), t0.Add(-5 * time.Second)}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Time{t0.Add(-30 * time.Minute)}, writes); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if got := p.Stats().PausedUntil; !got.IsZero() {
		t.Errorf("PausedUntil = %v, want the implausible pause dropped", got)
	}
}

func TestHistoryRestoresWindow(t *testing.T) {
	file := filepath.Join(t.TempDir(), "h.json")
	var calls []time.Time
	for i := range 5 {
		calls = append(calls, t0.Add(-10*time.Second+time.Duration(i)*time.Second))
	}
	writeHistory(t, file, history{Version: 1, Identity: "id", Calls: calls})
	clk := NewFakeClock(t0)
	p := historyPacer(t, clk, file, "id")

	done := waitAsync(t, context.Background(), p, false, 0)
	if _, ok := clk.AdvanceToNext(); !ok {
		t.Fatal("no timer: the loaded history did not hold the call")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := t0.Add(50*time.Second + DefaultMargin(time.Minute))
	if got := clk.Now(); !got.Equal(want) {
		t.Errorf("first call of the new run at t0+%v, want t0+%v", got.Sub(t0), want.Sub(t0))
	}
}

func TestHistoryLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"corrupt", `{"version":`, "unexpected end of JSON input"},
		{"version", `{"version":2,"identity":"id"}`, "version 2, want 1"},
		{"identity", `{"version":1,"identity":"someone else"}`, "written for another identity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "h.json")
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := New(Config{Clock: NewFakeClock(t0), HistoryFile: file, Identity: "id"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), file) {
				t.Errorf("New error = %v, want it to name %s and say %q", err, file, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "someone else") {
				t.Errorf("error repeats the file's identity: %v", err)
			}
		})
	}
}

func TestHistoryMissingFileIsEmpty(t *testing.T) {
	file := filepath.Join(t.TempDir(), "none.json")
	p := historyPacer(t, NewFakeClock(t0), file, "id")
	if calls, writes := windows(p); len(calls)+len(writes) != 0 {
		t.Errorf("history from a missing file: %v %v", calls, writes)
	}
}

func TestSaveWithoutFile(t *testing.T) {
	p, _ := newTestPacer(t, Config{})
	if err := p.Save(); err != nil {
		t.Errorf("Save without HistoryFile = %v, want nil", err)
	}
}

func TestDefaultHistoryFile(t *testing.T) {
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("UserCacheDir: %v", err)
	}
	const identity = "admin@contoso.example"
	got, err := DefaultHistoryFile(identity)
	if err != nil {
		t.Fatal(err)
	}
	// sha256("admin@contoso.example"), first 16 hex digits.
	want := filepath.Join(cache, "flowsync", "pacer", HistoryFileName(identity))
	if got != want {
		t.Errorf("DefaultHistoryFile = %q, want %q", got, want)
	}
	name := filepath.Base(got)
	if strings.Contains(name, "admin") || len(name) != len("0123456789abcdef.json") {
		t.Errorf("file name %q must be 16 hex digits of a hash", name)
	}
	if HistoryFileName(identity) == HistoryFileName(identity+"x") {
		t.Error("different identities share a file name")
	}
}

func TestHistoryFileName(t *testing.T) {
	// echo -n "" | sha256sum → e3b0c44298fc1c14...
	if got, want := HistoryFileName(""), "e3b0c44298fc1c14.json"; got != want {
		t.Errorf("HistoryFileName(\"\") = %q, want %q", got, want)
	}
}
