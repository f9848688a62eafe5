package repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLockExcludesSecondRepo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r1 := openRepo(t, dir, OpenOptions{})
	r2 := openRepo(t, dir, OpenOptions{})

	unlock, err := r1.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ".git", LockFileName))
	if err != nil {
		t.Fatal(err)
	}
	holder, ok := parseLock(raw)
	if !ok || holder.PID != os.Getpid() || holder.Started == "" {
		t.Errorf("lock file content %q parsed as %+v", raw, holder)
	}

	_, err = r2.Lock(ctx)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	for _, want := range []string{"pid " + strconv.Itoa(os.Getpid()), holder.Host, LockFileName} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock = %v, want no-op", err)
	}
	unlock2, err := r2.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock after unlock = %v", err)
	}
	if err := unlock2(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", LockFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left behind: %v", err)
	}
}

func TestLockStale(t *testing.T) {
	const deadPID = 4242
	tests := []struct {
		name     string
		host     string
		alive    bool
		takeover bool
	}{
		{name: "dead pid on this host is taken over", host: "this-host", alive: false, takeover: true},
		{name: "live pid on this host is respected", host: "this-host", alive: true},
		{name: "other host is never presumed stale", host: "other-host", alive: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			r := openRepo(t, dir, OpenOptions{Bare: true})
			r.hostname = func() (string, error) { return "this-host", nil }
			r.alive = func(pid int) bool {
				if pid != deadPID {
					t.Errorf("probed pid %d", pid)
				}
				return tc.alive
			}
			stale := lockHolder{PID: deadPID, Host: tc.host, Started: "2025-01-01T00:00:00Z", Token: "old"}
			writeFile(t, filepath.Join(dir, LockFileName), stale.encode())

			unlock, err := r.Lock(ctx)
			if !tc.takeover {
				if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), tc.host) {
					t.Fatalf("Lock = %v, want ErrLocked naming %s", err, tc.host)
				}
				if got, _ := os.ReadFile(filepath.Join(dir, LockFileName)); string(got) != stale.encode() {
					t.Errorf("lock file changed to %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lock over a stale lock = %v", err)
			}
			got, _ := os.ReadFile(filepath.Join(dir, LockFileName))
			if h, _ := parseLock(got); h.PID != os.Getpid() || h.Host != "this-host" {
				t.Errorf("lock now held by %+v", h)
			}
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUnlockRefusesForeignLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	unlock, err := r.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := lockHolder{PID: 1, Host: "elsewhere", Started: "x", Token: "t"}
	writeFile(t, filepath.Join(dir, LockFileName), other.encode())
	if err := unlock(); err == nil {
		t.Fatal("unlock removed a lock it does not own")
	}
	if _, err := os.Stat(filepath.Join(dir, LockFileName)); err != nil {
		t.Errorf("foreign lock removed: %v", err)
	}
}
