package faxdoc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/bombs"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/internal/testutil"
)

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDocumentBombsRefusedAtOpen: the files of issue 13 are refused by
// Open with ErrTooLarge, from their headers, before a row is decoded:
// memory stays small and (no wall-clock assertion) the work is the
// parsing of IFDs.
func TestDocumentBombsRefusedAtOpen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  []byte
		lim   Limits
		inner error // what else the error wraps, if anything
	}{
		// 630 KB declaring 5000 fine pages.
		{"5000 pages", bombs.TIFF(5000, 1728, 2292), Limits{}, nil},
		// 40 KB, 300 pages of 1728 x 20000 sharing one strip: 10 Gpx.
		{"300 huge pages one strip", bombs.TIFF(300, 1728, 20000), Limits{}, nil},
		// Within the page count, over a tighter pixel budget.
		{"pixel budget", bombs.TIFF(20, 1728, 2292), Limits{MaxPixels: 50_000_000}, nil},
		// 16-bit 10000 x 10000: 800 MB decoded.
		{"16-bit PNG", bombs.PNG(10000, 10000, true), Limits{}, render.ErrTooLarge},
		// 3000 x 3000 at 16 bits is within the pixel budget, not the
		// memory budget: the bit depth counts.
		{"16-bit PNG memory", bombs.PNG(3000, 3000, true), Limits{Picture: render.Limits{MaxMemory: 64 << 20}}, render.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "bomb", tc.data)
			var err error
			alloc := testutil.Allocated(func() {
				var r *Reader
				r, err = Open([]string{path}, Options{KeepResolution: true, Limits: tc.lim})
				if err == nil {
					r.Close()
				}
			})
			if !errors.Is(err, ErrTooLarge) || tc.inner != nil && !errors.Is(err, tc.inner) {
				t.Fatalf("Open: %v; want ErrTooLarge", err)
			}
			t.Logf("%d-byte file: allocated %d KiB: %v", len(tc.data), alloc>>10, err)
			if alloc > 64<<20 {
				t.Errorf("allocated %d MiB refusing it", alloc>>20)
			}
		})
	}
	// The same picture at 8 bits passes the budget the 16-bit one failed.
	p := writeTemp(t, "grey.png", bombs.PNG(3000, 3000, false))
	r, err := Open([]string{p}, Options{KeepResolution: true, Limits: Limits{Picture: render.Limits{MaxMemory: 64 << 20}}})
	if err != nil {
		t.Fatalf("8-bit 3000x3000 within 64 MiB: %v", err)
	}
	r.Close()
}

// TestLimitsJustFit: a document at its limits opens and reads.
func TestLimitsJustFit(t *testing.T) {
	path := writeTemp(t, "ok.tif", bombs.TIFF(4, 1728, 100))
	r, err := Open([]string{path, path}, Options{KeepResolution: true, Limits: Limits{MaxPages: 8, MaxPixels: 8 * 1728 * 100}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Pages() != 8 {
		t.Fatalf("%d pages", r.Pages())
	}
	_, err = Open([]string{path, path, path}, Options{KeepResolution: true, Limits: Limits{MaxPages: 8}})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("12 pages with MaxPages 8: %v", err)
	}
}

// TestConversionCancelled: a Reader opened with a context stops with its
// error once it ends, within a page, and at the next page.
func TestConversionCancelled(t *testing.T) {
	path := writeTemp(t, "doc.tif", bombs.TIFF(3, 1728, 2000))
	ctx, cancel := context.WithCancel(context.Background())
	r, err := OpenContext(ctx, []string{path}, Options{KeepResolution: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	row := make([]byte, imaging.RowBytes(p.Width))
	rows := 0
	for ; rows < 100; rows++ {
		if err := p.ReadRow(row); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	for err == nil {
		err = p.ReadRow(row)
		rows++
	}
	if !errors.Is(err, context.Canceled) || rows > 100+ctxEvery+1 {
		t.Fatalf("after %d rows: %v; want context.Canceled within %d rows", rows, err, ctxEvery)
	}
	if _, err := r.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next: %v", err)
	}
	// A picture converted at Open stops too.
	png := writeTemp(t, "p.png", bombs.PNG(2000, 2000, false))
	if _, err := OpenContext(ctx, []string{png}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("picture with a cancelled context: %v", err)
	}
	// Raw (the copy path) checks it as well.
	ctx2, cancel2 := context.WithCancel(context.Background())
	r2, err := OpenContext(ctx2, []string{path}, Options{KeepResolution: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	p2, err := r2.Next()
	if err != nil {
		t.Fatal(err)
	}
	cancel2()
	if _, err := p2.Raw(); !errors.Is(err, context.Canceled) {
		t.Errorf("Raw: %v", err)
	}
}

// FuzzOpenWithLimits: any file opened with small limits is refused with a
// clear error or yields at most MaxPages pages whose source pixels stay
// within the budget; every page reads to its end without a panic.
func FuzzOpenWithLimits(f *testing.F) {
	files, _ := filepath.Glob("../tiff/testdata/*.tif")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add(bombs.TIFF(20, 1728, 20))
	f.Add(bombs.TIFF(2, 1728, 600))
	f.Add(bombs.TIFF(3, 600, 100))
	f.Add(bombs.PNG(300, 300, true))
	f.Add(bombs.PNG(40, 30, false))
	lim := Limits{MaxPages: 8, MaxPixels: 1_000_000, Picture: render.Limits{MaxPixels: 100_000, MaxMemory: 1 << 20, MaxBytes: 1 << 20}}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := Open([]string{path}, Options{Width: 256, KeepResolution: true, AllowDamaged: true, Limits: lim})
		if err != nil {
			return
		}
		defer r.Close()
		if r.Pages() > lim.MaxPages {
			t.Fatalf("%d pages over the limit of %d", r.Pages(), lim.MaxPages)
		}
		for {
			p, err := r.Next()
			if err != nil {
				return
			}
			// The first rows of each page (whole pages of converted
			// pictures are slow under the fuzzer's instrumentation).
			row := make([]byte, imaging.RowBytes(p.Width))
			for n := 0; n < 64 && p.ReadRow(row) == nil; n++ {
			}
		}
	})
}
