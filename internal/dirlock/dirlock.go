// Package dirlock holds a data directory for one process: an exclusive,
// non-blocking flock(2) on a lock file inside it. The kernel drops the
// lock when the process ends, however it ends (kill -9 included), so a
// stale lock file never keeps a restarted process out.
//
// dirlock imports only the standard library and is used by cmd/faxagent.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// FileName is the lock file in the directory.
const FileName = "lock"

// ErrLocked is returned (wrapped in a *LockedError) when another process
// holds the directory.
var ErrLocked = errors.New("dirlock: directory in use")

// LockedError says who holds the directory.
type LockedError struct {
	Dir string
	PID int // the holder's process ID as it wrote it, 0 if unknown
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("data directory %s is in use by another faxagent (pid %d)", e.Dir, e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by another faxagent", e.Dir)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock is a held directory.
type Lock struct {
	f *os.File
}

// Acquire locks dir (which must exist) for this process, or fails at once
// with a *LockedError when another process holds it.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dirlock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("dirlock: flock %s: %w", path, err)
	}
	// The PID is information for the message above, not the lock.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release unlocks the directory. The lock file stays.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}
