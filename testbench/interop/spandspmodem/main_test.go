package spandspmodem

import (
	"os"
	"testing"
)

func tempDir() (string, error) { return os.MkdirTemp("", "modempeer") }

func TestMain(m *testing.M) {
	code := m.Run()
	if peerDir != "" {
		os.RemoveAll(peerDir)
	}
	os.Exit(code)
}
