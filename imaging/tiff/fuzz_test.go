package tiff

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/bombs"
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
	// Bombs: many pages sharing one strip.
	f.Add(bombs.TIFF(40, 1728, 50))
	f.Add(bombs.TIFF(3, 1728, 20000))
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

// FuzzRoundTrip writes arbitrary pixels with every coding and bit order
// and reads them back: they must come back equal, through our reader and
// through RawCCITT data written again with WriteCoded.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 16, 0xff, 0x00, 0x0f, 0xf0})
	f.Add([]byte{5, 13, 0xaa, 0x55, 0xaa, 0x55, 0x01, 0x80})
	f.Add(append([]byte{2, 200}, testPage(200, 20, imaging.Fine, 1).Pix...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		comp := imaging.Compression(data[0]%3) + imaging.MH
		order := imaging.BitOrder(data[0] >> 2 & 1)
		width := int(data[1]) + 1
		stride := imaging.RowBytes(width)
		pix := data[2:]
		height := min(len(pix)/stride, 64)
		if height == 0 {
			return
		}
		p := imaging.NewPage(width, height, imaging.Resolution(data[0]>>3%4))
		copy(p.Pix, pix)
		for y := range height { // our pages keep pad bits white
			if pad := stride*8 - width; pad > 0 {
				p.Row(y)[stride-1] &^= byte(1<<uint(pad) - 1)
			}
		}
		doc := writeDoc(t, WriterOptions{Compression: comp, BitOrder: order, DateTime: testTime}, []*imaging.Page{p})
		r, err := Open(bytes.NewReader(doc), int64(len(doc)))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := readBilevel(t, r, 0)
		samePage(t, "round trip", got, p)

		pr, _ := r.Page(0)
		raw, c, o, ok := pr.RawCCITT()
		if !ok || c != comp || o != order {
			t.Fatalf("RawCCITT %v %v %v", c, o, ok)
		}
		var mf memFile
		w := NewWriter(&mf, WriterOptions{DateTime: testTime})
		if err := w.WriteCoded(PageSpec{Width: width, Rows: height, Resolution: p.Resolution, AlignedEOL: pr.AlignedEOL()}, raw, c, o, pr.Stats()); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r2, err := Open(bytes.NewReader(mf.b), int64(len(mf.b)))
		if err != nil {
			t.Fatal(err)
		}
		got2, _ := readBilevel(t, r2, 0)
		samePage(t, "rewritten", got2, p)
	})
}

// eofReaderAt returns io.EOF with every read that reaches the end, as
// io.ReaderAt allows.
type eofReaderAt struct{ b []byte }

func (r eofReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if off+int64(n) == int64(len(r.b)) {
		return n, io.EOF
	}
	return n, nil
}

func TestReaderAtEOF(t *testing.T) {
	b := minimalTIFF(t) // its IFD ends the file
	r, err := Open(eofReaderAt{b}, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readBilevel(t, r, 0)
	if !bytes.Equal(got.Pix, b[8:16]) {
		t.Errorf("pix %x", got.Pix)
	}
}
