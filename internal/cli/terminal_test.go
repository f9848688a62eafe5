package cli

import (
	"bytes"
	"os"
	"testing"
)

// Main wraps stdout in a lockedWriter; a terminal must still be seen as one
// (diff colours its plan only on a terminal). /dev/null is a character
// device, as a terminal is.
func TestIsTerminalLooksThroughLockedWriter(t *testing.T) {
	dev, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", os.DevNull, err)
	}
	defer dev.Close()
	file, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, tc := range []struct {
		name string
		w    any
		want bool
	}{
		{"character device", dev, true},
		{"character device behind Main's lock", &lockedWriter{w: dev}, true},
		{"regular file", file, false},
		{"regular file behind Main's lock", &lockedWriter{w: file}, false},
		{"buffer behind Main's lock", &lockedWriter{w: &bytes.Buffer{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isTerminal(tc.w); got != tc.want {
				t.Errorf("isTerminal = %v, want %v", got, tc.want)
			}
		})
	}
}
