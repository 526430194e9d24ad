package tiff

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

// TestSeeds checks the committed fixtures without external tools: every
// bilevel file was made from one 120x40 PBM, so all must decode to the
// pixels of the uncompressed one.
func TestSeeds(t *testing.T) {
	ref, _ := readBilevel(t, openFile(t, "testdata/bilevel-none.tif"), 0)
	files, _ := filepath.Glob("testdata/*.tif")
	if len(files) < 10 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, f := range files {
		r := openFile(t, f)
		for i := range r.NumPages() {
			pr, err := r.Page(i)
			if err != nil {
				t.Fatalf("%s page %d: %v", f, i+1, err)
			}
			if !pr.Info().Bilevel {
				if _, err := pr.Image(); err != nil {
					t.Errorf("%s: %v", f, err)
				}
				continue
			}
			got, _ := readBilevel(t, r, i)
			if strings.Contains(f, "fax2tiff") { // RTC read as blank rows
				got.Height, got.Pix = ref.Height, got.Pix[:len(ref.Pix)]
			}
			samePage(t, f, got, ref)
		}
	}
}

func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.tif")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(minimalTIFF(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if r != nil {
				t.Fatal("reader and error")
			}
			return
		}
		if r.NumPages() < 1 || r.NumPages() > MaxPages {
			t.Fatalf("NumPages %d", r.NumPages())
		}
		for i := range min(r.NumPages(), 4) {
			pr, err := r.Page(i)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "tiff: page ") {
					t.Fatalf("error without page: %v", err)
				}
				continue
			}
			info := pr.Info()
			if info.Width <= 0 || info.Width > MaxWidth || info.Height <= 0 || info.Height > imaging.MaxRows {
				t.Fatalf("bad size accepted: %+v", info)
			}
			pr.RawCCITT()
			if !info.Bilevel {
				pr.Image()
				continue
			}
			row := make([]byte, imaging.RowBytes(info.Width))
			n := 0
			for {
				err := pr.ReadRow(row)
				if errors.Is(err, imaging.ErrEndOfPage) {
					if n != info.Height {
						t.Fatalf("%d rows, ImageLength %d", n, info.Height)
					}
					break
				}
				if err != nil {
					break
				}
				n++
				if n > info.Height {
					t.Fatalf("more rows than ImageLength %d", info.Height)
				}
			}
		}
	})
}
