package pdf

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/internal/testutil"
)

// testPage draws a deterministic page with text-like glyph blocks, a frame,
// a rule and noise.
func testPage(width, height int, res imaging.Resolution, seed uint64) *imaging.Page {
	p := imaging.NewPage(width, height, res)
	rng := rand.New(rand.NewPCG(seed, 11))
	for x := range width {
		p.Set(x, 0, true)
		p.Set(x, height-1, true)
	}
	for y := range height {
		p.Set(0, y, true)
		p.Set(width-1, y, true)
	}
	for y := 6; y+10 < height; y += 16 {
		for x := 8 + rng.IntN(30); x+12 < width-8; {
			gw := 2 + rng.IntN(9)
			for gy := range 10 {
				for gx := range gw {
					if rng.IntN(3) != 0 {
						p.Set(x+gx, y+gy, true)
					}
				}
			}
			x += gw + 1 + rng.IntN(6)
		}
	}
	for x := 3; x < width-3; x++ {
		p.Set(x, height/2, true)
	}
	for range width * height / 150 {
		p.Set(rng.IntN(width), rng.IntN(height), true)
	}
	return p
}

// readPBM parses a raw PBM (P4) as pdftoppm -mono writes it.
func readPBM(t testing.TB, path string) *imaging.Page {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var w, h int
	if _, err := fmt.Fscanf(br, "P4\n%d %d\n", &w, &h); err != nil {
		t.Fatalf("%s: PBM header: %v", path, err)
	}
	p := imaging.NewPage(w, h, 0)
	if _, err := io.ReadFull(br, p.Pix); err != nil {
		t.Fatalf("%s: PBM data: %v", path, err)
	}
	return p
}

type pageCase struct {
	name    string
	page    *imaging.Page
	comp    imaging.Compression
	order   imaging.BitOrder
	aligned bool
	rtc     bool // keep RTC/EOFB at the end
}

func (c pageCase) encode(t testing.TB) []byte {
	t.Helper()
	data, err := imaging.EncodePage(c.page, imaging.EncodeOptions{
		Compression: c.comp, Width: c.page.Width, K: c.page.Resolution.K(),
		BitOrder: c.order, AlignEOL: c.aligned, NoRTC: !c.rtc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRender writes pages in every coding and renders them with poppler's
// pdftoppm at the page's own resolution (-rx 204 -ry 98/196/391), where
// one image pixel is one output pixel, so the rendering must equal the
// source exactly: no tolerance.
func TestRender(t *testing.T) {
	testutil.NeedTool(t, "pdftoppm", "pdfinfo")
	cases := []pageCase{
		{"mh-standard", testPage(imaging.WidthA4, 300, imaging.Standard, 1), imaging.MH, imaging.MSBFirst, true, false},
		{"mh-fine-lsb-unaligned-rtc", testPage(imaging.WidthA4, 410, imaging.Fine, 2), imaging.MH, imaging.LSBFirst, false, true},
		{"mr-standard-unaligned", testPage(imaging.WidthA4, 260, imaging.Standard, 3), imaging.MR, imaging.MSBFirst, false, false},
		{"mr-fine-lsb-aligned-rtc", testPage(imaging.WidthA4, 390, imaging.Fine, 4), imaging.MR, imaging.LSBFirst, true, true},
		{"mmr-standard", testPage(imaging.WidthA4, 280, imaging.Standard, 5), imaging.MMR, imaging.MSBFirst, false, false},
		{"mmr-fine-lsb-eofb", testPage(imaging.WidthB4, 400, imaging.Fine, 6), imaging.MMR, imaging.LSBFirst, false, true},
		{"mmr-superfine", testPage(imaging.WidthA4, 500, imaging.Superfine, 7), imaging.MMR, imaging.MSBFirst, false, false},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "doc.pdf")
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, c := range cases {
		if err := w.AddPage(c.encode(t), c.comp, c.order, c.page.Width, c.page.Height, c.page.Resolution, c.aligned); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindSubmatch(out); m == nil || string(m[1]) != fmt.Sprint(len(cases)) {
		t.Fatalf("pdfinfo does not report %d pages:\n%s", len(cases), out)
	}
	if strings.Contains(strings.ToLower(string(out)), "error") {
		t.Errorf("pdfinfo reports an error:\n%s", out)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, y := c.page.Resolution.DPI()
			prefix := filepath.Join(dir, c.name)
			n := fmt.Sprint(i + 1)
			cmd := exec.Command("pdftoppm", "-f", n, "-l", n, "-singlefile", "-mono",
				"-rx", fmt.Sprint(x), "-ry", fmt.Sprint(y), path, prefix)
			if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
				t.Fatalf("pdftoppm: %v\n%s", err, out)
			}
			got := readPBM(t, prefix+".pbm")
			want := c.page
			if got.Width != want.Width || got.Height != want.Height {
				t.Fatalf("rendered %dx%d, want %dx%d", got.Width, got.Height, want.Width, want.Height)
			}
			for r := range want.Height {
				if !bytes.Equal(got.Row(r), want.Row(r)) {
					t.Fatalf("row %d differs:\n got %x\nwant %x", r, got.Row(r)[:24], want.Row(r)[:24])
				}
			}
		})
	}
}

// TestFromTIFF renders pages whose data comes from TIFF Class F files via
// RawCCITT, as the document pipeline does.
func TestFromTIFF(t *testing.T) {
	testutil.NeedTool(t, "pdftoppm")
	dir := t.TempDir()
	var pdfBuf bytes.Buffer
	pw := NewWriter(&pdfBuf)
	var pages []*imaging.Page
	for i, comp := range []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR} {
		p := testPage(imaging.WidthA4, 200, imaging.Fine, uint64(20+i))
		pages = append(pages, p)
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d.tif", i)))
		if err != nil {
			t.Fatal(err)
		}
		tw := tiff.NewWriter(f, tiff.WriterOptions{Compression: comp, BitOrder: imaging.LSBFirst})
		page, err := tw.NewPage(tiff.PageSpec{Width: p.Width, Resolution: p.Resolution})
		if err != nil {
			t.Fatal(err)
		}
		for y := range p.Height {
			page.WriteRow(p.Row(y))
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		r, err := tiff.Open(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		pr, err := r.Page(0)
		if err != nil {
			t.Fatal(err)
		}
		data, c, order, ok := pr.RawCCITT()
		if !ok {
			t.Fatal("RawCCITT not ok")
		}
		in := pr.Info()
		if err := pw.AddPage(data, c, order, in.Width, in.Height, in.Resolution, pr.AlignedEOL()); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "doc.pdf")
	os.WriteFile(path, pdfBuf.Bytes(), 0o644)
	for i, want := range pages {
		prefix := filepath.Join(dir, fmt.Sprint(i))
		n := fmt.Sprint(i + 1)
		if out, err := exec.Command("pdftoppm", "-f", n, "-l", n, "-singlefile", "-mono", "-rx", "204", "-ry", "196", path, prefix).CombinedOutput(); err != nil || len(out) != 0 {
			t.Fatalf("pdftoppm: %v\n%s", err, out)
		}
		got := readPBM(t, prefix+".pbm")
		if got.Width != want.Width || got.Height != want.Height || !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("page %d: rendering differs from the source", i+1)
		}
	}
}

func TestErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"no data", w.AddPage(nil, imaging.MH, imaging.MSBFirst, 1728, 10, imaging.Fine, false)},
		{"width 0", w.AddPage([]byte{1}, imaging.MH, imaging.MSBFirst, 0, 10, imaging.Fine, false)},
		{"height 0", w.AddPage([]byte{1}, imaging.MH, imaging.MSBFirst, 1728, 0, imaging.Fine, false)},
		{"compression", w.AddPage([]byte{1}, 9, imaging.MSBFirst, 1728, 10, imaging.Fine, false)},
		{"bit order", w.AddPage([]byte{1}, imaging.MH, 5, 1728, 10, imaging.Fine, false)},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if err := w.Close(); err == nil {
		t.Error("Close of an empty document: no error")
	}
	if err := w.AddPage([]byte{1}, imaging.MH, imaging.MSBFirst, 1728, 10, imaging.Fine, false); err != ErrClosed {
		t.Errorf("AddPage after Close: %v", err)
	}
}

// TestStructure checks the cross-reference table: every offset points at
// its "n 0 obj" line, and startxref at the table.
func TestStructure(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	p := testPage(64, 20, imaging.Fine, 9)
	for _, comp := range []imaging.Compression{imaging.MH, imaging.MMR} {
		c := pageCase{page: p, comp: comp}
		if err := w.AddPage(c.encode(t), comp, imaging.MSBFirst, 64, 20, imaging.Fine, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref at the end")
	}
	var xref int
	fmt.Sscan(string(m[1]), &xref)
	if !bytes.HasPrefix(b[xref:], []byte("xref\n0 9\n")) {
		t.Fatalf("startxref %d does not point at an xref table of 9 entries: %q", xref, b[xref:min(len(b), xref+20)])
	}
	lines := strings.Split(string(b[xref:]), "\n")[3:11]
	for i, l := range lines {
		off, err := strconv.Atoi(l[:10])
		if err != nil {
			t.Fatalf("xref line %q: %v", l, err)
		}
		if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(b[off:], []byte(want)) {
			t.Errorf("object %d offset %d points at %q", i+1, off, b[off:min(len(b), off+10)])
		}
	}
}

func BenchmarkAddPage(b *testing.B) {
	c := pageCase{page: testPage(imaging.WidthA4, 2200, imaging.Fine, 80), comp: imaging.MMR, order: imaging.LSBFirst}
	data := c.encode(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := NewWriter(io.Discard)
		if err := w.AddPage(data, c.comp, c.order, c.page.Width, c.page.Height, c.page.Resolution, false); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// writePBM writes a page as a raw PBM (P4).
func writePBM(t testing.TB, path string, p *imaging.Page) {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "P4\n%d %d\n", p.Width, p.Height)
	b.Write(p.Pix)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFromLibtiff embeds the coded data of files libtiff wrote (several
// strips concatenated for G3) and renders it.
func TestFromLibtiff(t *testing.T) {
	testutil.NeedTool(t, "pnmtotiff", "tiffcp", "pdftoppm")
	dir := t.TempDir()
	src := testPage(imaging.WidthA4, 230, imaging.Standard, 30)
	writePBM(t, filepath.Join(dir, "src.pbm"), src)
	plain := filepath.Join(dir, "src.tif")
	out, err := exec.Command("pnmtotiff", "-miniswhite", "-yresolution=98", "-xresolution=204", filepath.Join(dir, "src.pbm")).Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(plain, out, 0o644)
	for _, tc := range [][]string{
		{"-c", "g3", "-r", "50", "-f", "lsb2msb"},
		{"-c", "g3:2d:fill", "-r", "64"},
		{"-c", "g4", "-r", "10000"}, // one strip: G4 strips do not concatenate
	} {
		name := strings.Join(tc, "")
		t.Run(name, func(t *testing.T) {
			coded := filepath.Join(dir, name+".tif")
			if out, err := exec.Command("tiffcp", append(tc, plain, coded)...).CombinedOutput(); err != nil {
				t.Fatalf("tiffcp: %v\n%s", err, out)
			}
			b, _ := os.ReadFile(coded)
			r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			pr, err := r.Page(0)
			if err != nil {
				t.Fatal(err)
			}
			data, comp, order, ok := pr.RawCCITT()
			if !ok {
				t.Fatalf("RawCCITT not ok: %+v", pr.Info())
			}
			in := pr.Info()
			if in.Resolution != imaging.Standard {
				t.Fatalf("resolution %v (%v x %v dpi)", in.Resolution, in.XDPI, in.YDPI)
			}
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := w.AddPage(data, comp, order, in.Width, in.Height, in.Resolution, pr.AlignedEOL()); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name+".pdf")
			os.WriteFile(path, buf.Bytes(), 0o644)
			prefix := filepath.Join(dir, name)
			if out, err := exec.Command("pdftoppm", "-singlefile", "-mono", "-rx", "204", "-ry", "98", path, prefix).CombinedOutput(); err != nil || len(out) != 0 {
				t.Fatalf("pdftoppm: %v\n%s", err, out)
			}
			got := readPBM(t, prefix+".pbm")
			if got.Width != src.Width || got.Height != src.Height || !bytes.Equal(got.Pix, src.Pix) {
				t.Errorf("rendering differs from the source (%dx%d)", got.Width, got.Height)
			}
		})
	}
}
