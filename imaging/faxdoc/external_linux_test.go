package faxdoc

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/internal/testutil"
)

// TestPostScriptMemoryBounded: ghostscript runs outside this process's
// limits, so it is told the document memory budget (-K). A 90-byte
// PostScript program that allocates 1.5 GB of strings is refused as
// broken with ghostscript's peak resident memory near the budget (before,
// gs grew to 2.4 GB on 4 GB of strings until the conversion budget ended
// it).
func TestPostScriptMemoryBounded(t *testing.T) {
	testutil.NeedTool(t, "gs")
	bomb := []byte("%!PS\n/d 2000 dict def\n0 1 1500 { d exch 1000000 string put } for\nshowpage\n")
	path := writeTemp(t, "bomb.ps", bomb)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := OpenContext(ctx, []string{path}, Options{Resolution: imaging.Fine, TempDir: t.TempDir()})
	if err == nil {
		r.Close()
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		t.Fatal(err)
	}
	peak := ru.Maxrss << 10 // kilobytes on Linux
	t.Logf("err = %v; largest child's peak RSS %d MiB", err, peak>>20)
	if !errors.Is(err, ErrBroken) {
		t.Errorf("err = %v, want ErrBroken", err)
	}
	if limit := int64(render.DefaultMaxMemory) + 64<<20; peak > limit {
		t.Errorf("ghostscript peaked at %d MiB, over %d MiB", peak>>20, limit>>20)
	}
}
