package dirlock

import (
	"errors"
	"os"
	"testing"
)

func TestSecondAcquireRefused(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir) // another open file description: flock conflicts even in one process
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.PID != os.Getpid() {
		t.Fatalf("second Acquire: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

func TestMissingDir(t *testing.T) {
	if _, err := Acquire(t.TempDir() + "/nope"); err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("Acquire of a missing directory: %v", err)
	}
}
