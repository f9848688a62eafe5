package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRowsReadsTheManifest: Rows maps each row by the header, and Dir
// accepts a directory that holds a manifest.
func TestRowsReadsTheManifest(t *testing.T) {
	dir := t.TempDir()
	man := "file\tdisplay_name\na.json\tA flow\nb.json\t\n"
	if err := os.WriteFile(filepath.Join(dir, Manifest), []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, dir)
	if got := Dir(t); got != dir {
		t.Errorf("Dir = %q, want %q", got, dir)
	}
	rows := Rows(t, dir, "file", "display_name")
	if len(rows) != 2 || rows[0]["file"] != "a.json" || rows[0]["display_name"] != "A flow" || rows[1]["file"] != "b.json" || rows[1]["display_name"] != "" {
		t.Errorf("rows %q", rows)
	}
	header, _ := Table(t, dir)
	if i := Column(t, header, "display_name"); i != 1 {
		t.Errorf("display_name is column %d, want 1", i)
	}
}

// TestText decodes each encoding the corpus holds to the same text.
func TestText(t *testing.T) {
	want := `{"é":1}`
	utf16 := []byte{0xFF, 0xFE}
	for _, r := range want {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	for name, in := range map[string][]byte{
		"utf-8":     []byte(want),
		"utf-8-bom": append([]byte{0xEF, 0xBB, 0xBF}, want...),
		"utf-16":    utf16,
	} {
		if got := string(Text(t, in)); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
