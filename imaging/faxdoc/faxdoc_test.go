package faxdoc

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/imaging/tiff"
)

// textPage makes a page of glyph-like blocks with a frame, different for
// every seed.
func textPage(width, height int, res imaging.Resolution, seed uint64) *imaging.Page {
	p := imaging.NewPage(width, height, res)
	rng := rand.New(rand.NewPCG(seed, 11))
	for x := 0; x < width; x++ {
		p.Set(x, 0, true)
		p.Set(x, height-1, true)
	}
	for y := 40; y+10 < height; y += 18 {
		for x := 20 + rng.IntN(30); x+12 < width-20; x += 9 + rng.IntN(4) {
			if rng.IntN(7) == 0 {
				continue
			}
			// A glyph: a few strokes, as letters have.
			g := rng.IntN(4)
			for gy := 0; gy < 10; gy++ {
				p.Set(x, y+gy, true)
				p.Set(x+1, y+gy, true)
				if g&1 != 0 {
					p.Set(x+6, y+gy, true)
				}
			}
			for gx := 0; gx < 7; gx++ {
				p.Set(x+gx, y+9, true)
				if g&2 != 0 {
					p.Set(x+gx, y+4+gx%2, true)
				}
			}
		}
	}
	return p
}

// writeTIFF writes pages to a TIFF file with our writer.
func writeTIFF(t testing.TB, path string, comp imaging.Compression, pages ...*imaging.Page) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := tiff.NewWriter(f, tiff.WriterOptions{Compression: comp})
	for _, p := range pages {
		pw, err := w.NewPage(tiff.PageSpec{Width: p.Width, Resolution: p.Resolution})
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < p.Height; y++ {
			if err := pw.WriteRow(p.Row(y)); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readTIFF reads every page of a TIFF file, with its raw coded data.
func readTIFF(t testing.TB, path string) ([]*imaging.Page, [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r, err := tiff.Open(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var pages []*imaging.Page
	var raws [][]byte
	for i := 0; i < r.NumPages(); i++ {
		pr, err := r.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		data, _, _, _ := pr.RawCCITT()
		raws = append(raws, append([]byte(nil), data...))
		in := pr.Info()
		p, err := imaging.ReadPage(pr, in.Width, in.Resolution, 0)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	return pages, raws
}

func convert(t testing.TB, in []string, out string, o Options, wo WriteOptions) {
	t.Helper()
	doc, err := Open(in, o)
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	w, err := Create(out, wo)
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := doc.Next()
		if err != nil {
			break
		}
		if err := w.WritePage(p); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func samePixels(t testing.TB, what string, got, want *imaging.Page) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height {
		t.Fatalf("%s: %dx%d, want %dx%d", what, got.Width, got.Height, want.Width, want.Height)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Fatalf("%s: pixels differ", what)
	}
}

func TestPassThroughAndTranscode(t *testing.T) {
	dir := t.TempDir()
	src := []*imaging.Page{
		textPage(1728, 1100, imaging.Standard, 1),
		textPage(1728, 2200, imaging.Fine, 2),
		textPage(2048, 300, imaging.Fine, 3),
	}
	in := filepath.Join(dir, "in.tif")
	writeTIFF(t, in, imaging.MR, src...)
	_, inRaw := readTIFF(t, in)
	for _, comp := range []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR} {
		out := filepath.Join(dir, comp.String()+".tif")
		convert(t, []string{in}, out, Options{KeepResolution: true}, WriteOptions{Compression: comp})
		got, raw := readTIFF(t, out)
		if len(got) != len(src) {
			t.Fatalf("%v: %d pages, want %d", comp, len(got), len(src))
		}
		for i := range src {
			samePixels(t, comp.String(), got[i], src[i])
			if got[i].Resolution != src[i].Resolution {
				t.Errorf("%v page %d: resolution %v, want %v", comp, i+1, got[i].Resolution, src[i].Resolution)
			}
			// Same coding: the data is copied, not re-encoded.
			if comp == imaging.MR && !bytes.Equal(raw[i], inRaw[i]) {
				t.Errorf("MR page %d: coded data changed on a same-coding copy", i+1)
			}
		}
	}
}

func TestConcatenateRescaleAndHeader(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.tif")
	b := filepath.Join(dir, "b.tif")
	pa := textPage(1728, 1100, imaging.Standard, 5)
	pb := textPage(1728, 2200, imaging.Fine, 6)
	writeTIFF(t, a, imaging.MH, pa)
	writeTIFF(t, b, imaging.MMR, pb, pb)
	out := filepath.Join(dir, "out.tif")
	convert(t, []string{a, b}, out, Options{Resolution: imaging.Fine, Header: "PAGE %p OF %s"}, WriteOptions{Compression: imaging.MMR})
	got, _ := readTIFF(t, out)
	if len(got) != 3 {
		t.Fatalf("%d pages, want 3", len(got))
	}
	band := render.HeaderBandRows(imaging.Fine)
	for i, p := range got {
		if p.Resolution != imaging.Fine {
			t.Errorf("page %d: %v, want fine", i+1, p.Resolution)
		}
		want := pb
		if i == 0 {
			// Standard doubled to fine: every source row twice.
			if p.Height < 2*pa.Height-1 || p.Height > 2*pa.Height+1 {
				t.Fatalf("page 1: %d rows, want %d", p.Height, 2*pa.Height)
			}
			for y := band; y < p.Height; y++ {
				if !bytes.Equal(p.Row(y), pa.Row(min(y/2, pa.Height-1))) && !bytes.Equal(p.Row(y), pa.Row(min((y+1)/2, pa.Height-1))) {
					t.Fatalf("page 1 row %d is not a copy of source row %d", y, y/2)
				}
			}
			continue
		}
		// Below the header band the page is the source; the band has text.
		for y := band; y < p.Height; y++ {
			if !bytes.Equal(p.Row(y), want.Row(y)) {
				t.Fatalf("page %d row %d differs below the header band", i+1, y)
			}
		}
		black := 0
		for y := 0; y < band; y++ {
			for x := 0; x < p.Width; x++ {
				if p.Black(x, y) {
					black++
				}
			}
		}
		if black == 0 {
			t.Errorf("page %d: no header drawn", i+1)
		}
	}
	// Pages 2 and 3 have different header text ("PAGE 2 OF 3", "PAGE 3 OF 3").
	if bytes.Equal(got[1].Pix[:band*got[1].Stride()], got[2].Pix[:band*got[2].Stride()]) {
		t.Error("pages 2 and 3 have the same header band")
	}
}

func TestNoPartialOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.tif")
	writeTIFF(t, in, imaging.MH, textPage(1728, 200, imaging.Fine, 9))
	data, _ := os.ReadFile(in)
	// Damage the coded rows (the data comes before the IFD).
	for i := 40; i < 400; i += 5 {
		data[i] ^= 0xff
	}
	os.WriteFile(in, data, 0o644)
	out := filepath.Join(dir, "out.pdf")
	doc, err := Open([]string{in}, Options{KeepResolution: true})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	w, err := Create(out, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := doc.Next()
	if err != nil {
		t.Fatal(err)
	}
	err = w.WritePage(p)
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("damaged page: %v, want ErrDamaged", err)
	}
	w.Abort()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("%d files in the directory, want only the input", len(ents))
	}
}

// TestMemoryFlat converts a 500-page TIFF, transcoding and stamping every
// page, and checks the heap never holds more than a few pages' worth.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 500-page conversion")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "500.tif")
	page := textPage(1728, 2200, imaging.Fine, 42)
	coded, err := imaging.EncodePage(page, imaging.EncodeOptions{Compression: imaging.MMR, Width: page.Width})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w := tiff.NewWriter(f, tiff.WriterOptions{Compression: imaging.MMR})
	for i := 0; i < 500; i++ {
		if err := w.WriteCoded(tiff.PageSpec{Width: page.Width, Resolution: imaging.Fine, Rows: page.Height}, coded, imaging.MMR, imaging.MSBFirst, imaging.RowStats{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	doc, err := Open([]string{in}, Options{KeepResolution: true, Header: "%p/%s"})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	out, err := Create(filepath.Join(dir, "out.tif"), WriteOptions{Compression: imaging.MR})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	for n := 0; ; n++ {
		p, err := doc.Next()
		if err != nil {
			break
		}
		if err := out.WritePage(p); err != nil {
			t.Fatal(err)
		}
		if n%50 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if out.Pages() != 500 {
		t.Fatalf("%d pages written", out.Pages())
	}
	grow := int64(peak) - int64(base)
	t.Logf("500 pages: heap in use grew by %d KiB at most", grow/1024)
	// One decoded fine page is 475 KB; the whole document decoded would be
	// 237 MB. Streaming keeps the growth to a few pages.
	if grow > 16<<20 {
		t.Errorf("heap grew by %d MiB converting 500 pages: not streaming", grow>>20)
	}
}
