//go:build linux

package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/flowsync/flowsync/history/historytest"
)

// openPTY opens a pseudo-terminal pair: what is written to tty is read from
// ptm.
func openPTY(t *testing.T) (ptm, tty *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine (%v): the terminal case of show is not tested", err)
	}
	t.Cleanup(func() { ptm.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlock pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("pty number: %v", e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty %d: %v", n, err)
	}
	return ptm, tty
}

// On a terminal, show writes the BiDi and C1 runes of a maker's display
// name as \u escapes; redirected, it stays byte for byte
// (TestShowCommandByteIdentical).
func TestShowOnTerminalEscapesHostileRunes(t *testing.T) {
	dir, _ := historyRepo(t, false)
	for _, args := range [][]string{
		{"show", "--repo", dir, "--env", string(historytest.Dev), "--flow", string(historytest.Hostile), "--part", "flow"},
		{"show", "--repo", dir, "--env", string(historytest.Dev), "--flow", string(historytest.Hostile)},
	} {
		t.Run(args[len(args)-1], func(t *testing.T) {
			ptm, tty := openPTY(t)
			read := make(chan []byte)
			go func() {
				b, _ := io.ReadAll(ptm) // ends with EIO once the tty side is closed
				read <- b
			}()
			var errOut bytes.Buffer
			code := Main(context.Background(), append([]string{"flowsync"}, args...), IO{In: strings.NewReader(""), Out: tty, Err: &errOut, Getenv: func(string) string { return "" }})
			tty.Close()
			out := string(<-read)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if !strings.Contains(out, `\u202e`) {
				t.Errorf("the display name's BiDi override is not shown escaped:\n%q", out)
			}
			if strings.ContainsRune(out, '\u202e') {
				t.Errorf("raw BiDi override on the terminal:\n%q", out)
			}
		})
	}
}
