package spandsp

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/faxagent/faxagent/internal/testutil"
)

// peers are the C peers this package's tests run, each compiled once per
// test binary, the first time a test asks, into binDir (removed by
// TestMain).
var (
	binDir    = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "spandsp-peers-") })
	t38Peer   = sync.OnceValues(func() (string, error) { return buildIn(Build) })
	audioPeer = sync.OnceValues(func() (string, error) { return buildIn(BuildAudio) })
)

func buildIn(build func(context.Context, string) (string, error)) (string, error) {
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	return build(context.Background(), dir)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := binDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// needPeer returns a built peer, or skips (fails under CI=true) when the
// toolchain or libspandsp-dev is missing.
func needPeer(t *testing.T, what string, build func() (string, error)) string {
	t.Helper()
	bin, err := build()
	if errors.Is(err, ErrNoToolchain) {
		testutil.Missing(t, "%s (libspandsp-dev, gcc) not available: %v", what, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// peerBinary is the SpanDSP T.38 peer (csrc/t38peer.c).
func peerBinary(t *testing.T) string { return needPeer(t, "SpanDSP peer", t38Peer) }

// audioBinary is the SpanDSP audio peer (csrc/faxpeer.c).
func audioBinary(t *testing.T) string { return needPeer(t, "SpanDSP audio peer", audioPeer) }
