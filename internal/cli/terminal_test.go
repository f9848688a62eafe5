//go:build linux

package cli

import (
	"bytes"
	"os"
	"testing"
)

// Main wraps stdout in a lockedWriter; a terminal must still be seen as one
// (diff colours its plan only on a terminal, import asks only on one). A
// character device that is not a terminal (/dev/null: the standard input of
// cron jobs and containers without -t) is not one.
func TestIsTerminalLooksThroughLockedWriter(t *testing.T) {
	_, tty := openPTY(t)
	defer tty.Close()
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
		{"terminal", tty, true},
		{"terminal behind Main's lock", &lockedWriter{w: tty}, true},
		{"character device", dev, false},
		{"character device behind Main's lock", &lockedWriter{w: dev}, false},
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
