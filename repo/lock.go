package repo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LockFileName is the lock file Lock creates in the git directory.
const LockFileName = "flowsync.lock"

// lockHolder is what a lock file says about the process holding it.
type lockHolder struct {
	PID     int
	Host    string
	Started string
	Token   string
}

func (h lockHolder) encode() string {
	return fmt.Sprintf("pid %d\nhost %s\nstarted %s\ntoken %s\n", h.PID, h.Host, h.Started, h.Token)
}

func parseLock(b []byte) (lockHolder, bool) {
	var h lockHolder
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		switch k {
		case "pid":
			h.PID, _ = strconv.Atoi(v)
		case "host":
			h.Host = v
		case "started":
			h.Started = v
		case "token":
			h.Token = v
		}
	}
	return h, h.PID > 0 && h.Host != "" && h.Token != ""
}

// Lock takes the repository's writer lock: the file flowsync.lock in the git
// directory, created exclusively and holding the pid, host name and start
// time of the holder. While it is held, another Lock (from this or any other
// process, through any Repo) fails with ErrLocked naming the holder.
//
// A lock left behind by a process that died is taken over: when the lock
// names this host and its pid is no longer alive, Lock removes it and takes
// the lock itself. A lock from another host is never presumed stale (its pid
// means nothing here); the error says which file to delete once that run is
// known to be gone. The returned unlock removes the file if it is still ours;
// calling it again does nothing.
func (r *Repo) Lock(ctx context.Context) (unlock func() error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := filepath.Join(r.gitDir, LockFileName)
	host, err := r.hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	me := lockHolder{PID: r.pid, Host: host, Started: r.now().UTC().Format(time.RFC3339), Token: randomToken()}
	content := me.encode()

	// A takeover of a stale lock is followed by another create attempt.
	for range 3 {
		err := createExclusive(r.gitDir, path, content)
		if err == nil {
			return r.unlocker(path, content), nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", r.dir, err)
		}
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", r.dir, err)
		}
		holder, ok := parseLock(raw)
		if !ok {
			return nil, fmt.Errorf("%w: %s: lock file %s is unreadable; if no flowsync run is active, delete it",
				ErrLocked, r.dir, path)
		}
		if holder.Host != host || r.alive(holder.PID) {
			return nil, fmt.Errorf("%w: %s is locked by pid %d on host %s since %s (lock file %s); "+
				"wait for that run, or delete the file if it is gone",
				ErrLocked, r.dir, holder.PID, holder.Host, holder.Started, path)
		}
		if err := takeOverStale(path, raw, me.Token); err != nil {
			return nil, fmt.Errorf("lock %s: take over stale lock of dead pid %d: %w", r.dir, holder.PID, err)
		}
		r.tookOverStaleLock = true
	}
	return nil, fmt.Errorf("%w: %s: lock file %s keeps changing", ErrLocked, r.dir, path)
}

// takeOverStale removes a stale lock file. It renames the file away first and
// checks it is the one judged stale, so a lock that another process created
// in between is put back rather than deleted.
func takeOverStale(path string, stale []byte, token string) error {
	aside := path + ".stale-" + token
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	got, err := os.ReadFile(aside)
	if err != nil {
		return err
	}
	if string(got) != string(stale) {
		// Not the stale lock: restore it (fails harmlessly if yet another
		// process has locked meanwhile).
		_ = os.Link(aside, path)
	}
	return os.Remove(aside)
}

func (r *Repo) unlocker(path, content string) func() error {
	done := false
	return func() error {
		if done {
			return nil
		}
		done = true
		got, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("unlock %s: %w", r.dir, err)
		}
		if string(got) != content {
			return fmt.Errorf("unlock %s: lock file %s was replaced by another process", r.dir, path)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("unlock %s: %w", r.dir, err)
		}
		return nil
	}
}
