package tiff

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/internal/testutil"
)

// TestReadLibtiff reads files libtiff's tiffcp made from a netpbm source
// and compares them pixel by pixel with the page that source was made from.
func TestReadLibtiff(t *testing.T) {
	testutil.NeedTool(t, "pnmtotiff", "tiffcp")
	dir := t.TempDir()
	src := testPage(imaging.WidthA4, 301, imaging.Fine, 1)
	writePBM(t, filepath.Join(dir, "src.pbm"), src)
	runTo(t, filepath.Join(dir, "mw.tif"), "pnmtotiff", "-miniswhite", filepath.Join(dir, "src.pbm"))
	runTo(t, filepath.Join(dir, "mb.tif"), "pnmtotiff", "-minisblack", filepath.Join(dir, "src.pbm"))

	tests := []struct {
		name string
		from string // mw.tif or mb.tif
		args []string
		tag  int
		comp imaging.Compression
	}{
		{"none", "mw.tif", []string{"-c", "none"}, CompressionNone, 0},
		{"none-minisblack", "mb.tif", []string{"-c", "none"}, CompressionNone, 0},
		{"none-bigendian", "mw.tif", []string{"-c", "none", "-B"}, CompressionNone, 0},
		{"packbits", "mw.tif", []string{"-c", "packbits"}, CompressionPackBits, 0},
		{"lzw", "mw.tif", []string{"-c", "lzw"}, CompressionLZW, 0},
		{"lzw-strips-lsb", "mb.tif", []string{"-c", "lzw", "-r", "37", "-f", "lsb2msb"}, CompressionLZW, 0},
		{"zip", "mw.tif", []string{"-c", "zip"}, CompressionDeflate, 0},
		{"zip-strips-bigendian", "mw.tif", []string{"-c", "zip", "-r", "50", "-B"}, CompressionDeflate, 0},
		{"g3", "mw.tif", []string{"-c", "g3"}, CompressionG3, imaging.MH},
		{"g3-strips-lsb", "mw.tif", []string{"-c", "g3", "-r", "40", "-f", "lsb2msb"}, CompressionG3, imaging.MH},
		{"g3-fill", "mw.tif", []string{"-c", "g3:fill"}, CompressionG3, imaging.MH},
		{"g3-2d", "mw.tif", []string{"-c", "g3:2d"}, CompressionG3, imaging.MR},
		{"g3-2d-fill-strips", "mw.tif", []string{"-c", "g3:2d:fill", "-r", "64"}, CompressionG3, imaging.MR},
		{"g3-minisblack", "mb.tif", []string{"-c", "g3"}, CompressionG3, imaging.MH},
		{"g4", "mw.tif", []string{"-c", "g4"}, CompressionG4, imaging.MMR},
		{"g4-strips-lsb-bigendian", "mw.tif", []string{"-c", "g4", "-r", "100", "-f", "lsb2msb", "-B"}, CompressionG4, imaging.MMR},
		{"g4-minisblack", "mb.tif", []string{"-c", "g4"}, CompressionG4, imaging.MMR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".tif")
			run(t, "tiffcp", append(append([]string{}, tc.args...), filepath.Join(dir, tc.from), out)...)
			r := openFile(t, out)
			if r.NumPages() != 1 {
				t.Fatalf("NumPages = %d, want 1", r.NumPages())
			}
			got, info := readBilevel(t, r, 0)
			if info.CompressionTag != tc.tag || info.Compression != tc.comp {
				t.Errorf("compression = %d/%v, want %d/%v", info.CompressionTag, info.Compression, tc.tag, tc.comp)
			}
			samePage(t, tc.name, got, src)
			pr, _ := r.Page(0)
			img, err := pr.Image()
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			g := img.(*image.Gray)
			for _, pt := range []image.Point{{0, 0}, {5, src.Height / 2}, {100, 100}, {700, 33}} {
				want := uint8(255)
				if src.Black(pt.X, pt.Y) {
					want = 0
				}
				if v := g.GrayAt(pt.X, pt.Y).Y; v != want {
					t.Errorf("Image at %v = %d, want %d", pt, v, want)
				}
			}
		})
	}
}

// TestReadMultiPage reads a document tiffcp assembled from three files of
// different compressions.
func TestReadMultiPage(t *testing.T) {
	testutil.NeedTool(t, "pnmtotiff", "tiffcp", "tiffinfo")
	dir := t.TempDir()
	var srcs []*imaging.Page
	var files []string
	for i, c := range []string{"g4", "g3", "lzw"} {
		p := testPage(imaging.WidthA4, 120+50*i, imaging.Fine, uint64(10+i))
		srcs = append(srcs, p)
		pbm := filepath.Join(dir, fmt.Sprintf("p%d.pbm", i))
		writePBM(t, pbm, p)
		plain := filepath.Join(dir, fmt.Sprintf("p%d.tif", i))
		runTo(t, plain, "pnmtotiff", "-miniswhite", pbm)
		coded := filepath.Join(dir, fmt.Sprintf("c%d.tif", i))
		run(t, "tiffcp", "-c", c, plain, coded)
		files = append(files, coded)
	}
	out := filepath.Join(dir, "doc.tif")
	run(t, "tiffcp", append(files, out)...)
	r := openFile(t, out)
	if r.NumPages() != 3 {
		t.Fatalf("NumPages = %d, want 3", r.NumPages())
	}
	for i, want := range srcs {
		got, _ := readBilevel(t, r, i)
		samePage(t, fmt.Sprintf("page %d", i+1), got, want)
	}
}

// TestReadFax2tiff reads what fax2tiff makes of raw G3 from netpbm's
// pbmtog3. fax2tiff counts the six EOLs of pbmtog3's RTC as extra blank
// rows, so the file may have a few more rows than the source; they must
// be white.
func TestReadFax2tiff(t *testing.T) {
	testutil.NeedTool(t, "pbmtog3", "fax2tiff")
	dir := t.TempDir()
	src := testPage(imaging.WidthA4, 250, imaging.Fine, 3)
	pbm := filepath.Join(dir, "src.pbm")
	writePBM(t, pbm, src)
	for _, tc := range []struct {
		name  string
		g3    []string // pbmtog3 options
		args  []string // fax2tiff options
		tag   int
		comp  imaging.Compression
		order imaging.BitOrder
	}{
		{"class-f", nil, nil, CompressionG3, imaging.MH, imaging.LSBFirst},
		{"2d", nil, []string{"-6"}, CompressionG3, imaging.MR, imaging.LSBFirst},
		{"g4", nil, []string{"-8"}, CompressionG4, imaging.MMR, imaging.LSBFirst},
		{"1d-msb-unaligned", nil, []string{"-5", "-m", "-p"}, CompressionG3, imaging.MH, imaging.MSBFirst},
		{"aligned-input", []string{"-align8"}, []string{"-A", "-5"}, CompressionG3, imaging.MH, imaging.LSBFirst},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g3 := filepath.Join(dir, tc.name+".g3")
			runTo(t, g3, "pbmtog3", append(tc.g3, pbm)...)
			out := filepath.Join(dir, tc.name+".tif")
			run(t, "fax2tiff", append(append([]string{"-M", "-o", out}, tc.args...), g3)...)
			r := openFile(t, out)
			got, info := readBilevel(t, r, 0)
			if info.Width != imaging.WidthA4 || info.Height < src.Height || info.Height > src.Height+6 {
				t.Fatalf("size %dx%d", info.Width, info.Height)
			}
			if info.CompressionTag != tc.tag || info.Compression != tc.comp {
				t.Errorf("compression %d/%v, want %d/%v", info.CompressionTag, info.Compression, tc.tag, tc.comp)
			}
			for y := src.Height; y < got.Height; y++ {
				if !bytes.Equal(got.Row(y), make([]byte, got.Stride())) {
					t.Fatalf("extra row %d not white", y)
				}
			}
			got.Height, got.Pix = src.Height, got.Pix[:len(src.Pix)]
			samePage(t, tc.name, got, src)
			pr, _ := r.Page(0)
			if _, comp, order, ok := pr.RawCCITT(); !ok || comp != tc.comp || order != tc.order {
				t.Errorf("RawCCITT = %v %v %v, want %v %v", comp, order, ok, tc.comp, tc.order)
			}
		})
	}
}

// TestReadGreyRGB reads grey, RGB and palette TIFFs made by pnmtotiff as
// images and checks their pixels.
func TestReadGreyRGB(t *testing.T) {
	testutil.NeedTool(t, "pnmtotiff")
	dir := t.TempDir()
	const w, h = 37, 23
	grey := func(x, y int) uint8 { return uint8((x*7 + y*13) % 256) }
	rgb := func(x, y int) (uint8, uint8, uint8) { return uint8(x * 6), uint8(y * 11), uint8((x ^ y) * 5) }
	var pgm, pgm4, ppm, pal bytes.Buffer
	fmt.Fprintf(&pgm, "P5\n%d %d\n255\n", w, h)
	fmt.Fprintf(&pgm4, "P5\n%d %d\n15\n", w, h)
	fmt.Fprintf(&ppm, "P6\n%d %d\n255\n", w, h)
	fmt.Fprintf(&pal, "P6\n%d %d\n255\n", w, h)
	palette := [][3]uint8{{255, 0, 0}, {0, 128, 0}, {0, 0, 255}, {250, 250, 250}, {1, 2, 3}}
	for y := range h {
		for x := range w {
			pgm.WriteByte(grey(x, y))
			pgm4.WriteByte(grey(x, y) % 16)
			r, g, b := rgb(x, y)
			ppm.Write([]byte{r, g, b})
			c := palette[(x+y)%len(palette)]
			pal.Write(c[:])
		}
	}
	os.WriteFile(filepath.Join(dir, "g.pgm"), pgm.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "g4.pgm"), pgm4.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "c.ppm"), ppm.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "p.ppm"), pal.Bytes(), 0o644)

	for _, tc := range []struct {
		name string
		args []string
		file string
	}{
		{"grey-none", []string{"-none"}, "g.pgm"},
		{"grey-lzw-predictor", []string{"-lzw", "-predictor=2", "-rowsperstrip=5"}, "g.pgm"},
		{"grey-flate", []string{"-flate"}, "g.pgm"},
		{"grey-miniswhite-packbits", []string{"-packbits", "-miniswhite"}, "g.pgm"},
		{"grey4", nil, "g4.pgm"},
		{"rgb-none", []string{"-truecolor", "-none"}, "c.ppm"},
		{"rgb-lzw-predictor", []string{"-truecolor", "-lzw", "-predictor=2"}, "c.ppm"},
		{"rgb-flate-msb", []string{"-truecolor", "-flate", "-rowsperstrip=3"}, "c.ppm"},
		{"palette", []string{"-lzw"}, "p.ppm"},
		{"palette-4bit", []string{"-indexbits=4"}, "p.ppm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".tif")
			runTo(t, out, "pnmtotiff", append(tc.args, filepath.Join(dir, tc.file))...)
			r := openFile(t, out)
			pr, err := r.Page(0)
			if err != nil {
				t.Fatal(err)
			}
			if pr.Info().Bilevel {
				t.Fatal("grey/colour page reported bilevel")
			}
			if err := pr.ReadRow(make([]byte, 8)); !errors.Is(err, ErrUnsupported) {
				t.Errorf("ReadRow on colour page: %v, want ErrUnsupported", err)
			}
			img, err := pr.Image()
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("bounds %v", b)
			}
			for y := range h {
				for x := range w {
					got := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					var want color.NRGBA
					switch tc.file {
					case "g.pgm":
						v := grey(x, y)
						want = color.NRGBA{v, v, v, 255}
					case "g4.pgm":
						v := grey(x, y) % 16 * 17
						want = color.NRGBA{v, v, v, 255}
					case "c.ppm":
						r, g, b := rgb(x, y)
						want = color.NRGBA{r, g, b, 255}
					default:
						c := palette[(x+y)%len(palette)]
						want = color.NRGBA{c[0], c[1], c[2], 255}
					}
					if got != want {
						t.Fatalf("pixel (%d,%d) = %v, want %v (%T)", x, y, got, want, img)
					}
				}
			}
		})
	}
}

// TestCorrupt feeds damaged files and checks for a clear error (never a
// panic) that names the page where one is involved.
func TestCorrupt(t *testing.T) {
	good := minimalTIFF(t)
	le := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		return b
	}
	// Find an entry's value word in the minimal file by tag.
	entryVal := func(tag uint16) int {
		ifd := int(good[4]) | int(good[5])<<8
		n := int(good[ifd]) | int(good[ifd+1])<<8
		for i := range n {
			e := ifd + 2 + 12*i
			if uint16(good[e])|uint16(good[e+1])<<8 == tag {
				return e + 8
			}
		}
		t.Fatalf("tag %d not found", tag)
		return 0
	}
	ifdOff := int(good[4]) | int(good[5])<<8
	nEntries := int(good[ifdOff])
	nextPtr := ifdOff + 2 + 12*nEntries
	tests := []struct {
		name    string
		data    []byte
		openErr bool   // error expected from Open, else from Page/ReadRow
		want    string // substring of the error
		is      error
	}{
		{"empty", nil, true, "header", ErrFormat},
		{"not-tiff", []byte("GIF89a..........."), true, "byte order", ErrFormat},
		{"bigtiff", []byte("II+\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), true, "BigTIFF", ErrUnsupported},
		{"truncated-ifd", good[:ifdOff+20], true, "page 1", ErrFormat},
		{"ifd-beyond-eof", le(good, 4, 1<<30), true, "beyond end", ErrFormat},
		{"ifd-loop", le(good, nextPtr, uint32(ifdOff)), true, "loops", ErrFormat},
		{"strip-beyond-eof", le(good, entryVal(tagStripOffsets), 1<<20), false, "page 1: ", ErrFormat},
		{"count-beyond-eof", le(good, entryVal(tagStripByteCounts), 1<<31), false, "page 1: ", ErrFormat},
		{"huge-length", le(good, entryVal(tagImageLength), 1<<30), false, "page 1: ", ErrTooLarge},
		{"huge-width", le(good, entryVal(tagImageWidth), 100000), false, "page 1: ", ErrTooLarge},
		{"zero-width", le(good, entryVal(tagImageWidth), 0), false, "page 1: ", ErrFormat},
		{"unknown-compression", le(good, entryVal(tagCompression), 34676), false, "page 1: ", ErrUnsupported},
		{"short-strip", le(good, entryVal(tagStripByteCounts), 3), false, "page 1: strip 0", ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !tc.openErr {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				var pr *PageReader
				pr, err = r.Page(0)
				if err == nil {
					_, err = imaging.ReadPage(pr, pr.Info().Width, 0, 0)
				}
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
				t.Errorf("error %q, want it to contain %q and wrap %v", err, tc.want, tc.is)
			}
		})
	}
}

// minimalTIFF returns a small uncompressed bilevel TIFF written by hand
// (little endian): 16x4 pixels, one strip.
func minimalTIFF(t testing.TB) []byte {
	t.Helper()
	pix := []byte{0xf0, 0x00, 0x0f, 0x00, 0x00, 0xf0, 0xaa, 0x55}
	var es []entry
	es = append(es,
		longEntry(tagImageWidth, 16),
		longEntry(tagImageLength, 4),
		shortEntry(tagBitsPerSample, 1),
		shortEntry(tagCompression, CompressionNone),
		shortEntry(tagPhotometric, photoWhiteIsZero),
		longEntry(tagStripOffsets, 8),
		shortEntry(tagSamplesPerPixel, 1),
		longEntry(tagRowsPerStrip, 4),
		longEntry(tagStripByteCounts, uint32(len(pix))),
	)
	b := []byte{'I', 'I', 42, 0, byte(8 + len(pix)), 0, 0, 0}
	b = append(b, pix...)
	b = append(b, byte(len(es)), 0)
	for _, e := range es {
		b = append(b, byte(e.tag), byte(e.tag>>8), byte(e.typ), byte(e.typ>>8), byte(e.count), 0, 0, 0)
		var v [4]byte
		copy(v[:], e.val)
		b = append(b, v[:]...)
	}
	return append(b, 0, 0, 0, 0)
}

func TestMinimal(t *testing.T) {
	b := minimalTIFF(t)
	r, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	got, info := readBilevel(t, r, 0)
	if info.Width != 16 || info.Height != 4 || info.Resolution != imaging.Fine || info.XDPI != 0 {
		t.Errorf("info %+v", info)
	}
	if !bytes.Equal(got.Pix, b[8:16]) {
		t.Errorf("pix %x", got.Pix)
	}
	if _, _, _, ok := func() ([]byte, imaging.Compression, imaging.BitOrder, bool) {
		pr, _ := r.Page(0)
		return pr.RawCCITT()
	}(); ok {
		t.Error("RawCCITT ok on an uncompressed page")
	}
}

// TestReadDeep reads 16-bit grey and RGB from pnmtotiff and a 4-sample RGB
// file from pamtotiff (which writes no ExtraSamples tag: the fourth sample
// is then ignored, as libtiff treats it as unspecified).
func TestReadDeep(t *testing.T) {
	testutil.NeedTool(t, "pnmtotiff", "pamtotiff")
	dir := t.TempDir()
	const w, h = 11, 7
	v16 := func(x, y, c int) uint16 { return uint16(x*5000 + y*300 + c*77) }
	var pgm, ppm, pam bytes.Buffer
	fmt.Fprintf(&pgm, "P5\n%d %d\n65535\n", w, h)
	fmt.Fprintf(&ppm, "P6\n%d %d\n65535\n", w, h)
	fmt.Fprintf(&pam, "P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", w, h)
	for y := range h {
		for x := range w {
			v := v16(x, y, 0)
			pgm.Write([]byte{byte(v >> 8), byte(v)})
			for c := range 3 {
				v := v16(x, y, c)
				ppm.Write([]byte{byte(v >> 8), byte(v)})
				pam.WriteByte(byte(v >> 8))
			}
			pam.WriteByte(byte(x * 20)) // alpha
		}
	}
	os.WriteFile(filepath.Join(dir, "g.pgm"), pgm.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "c.ppm"), ppm.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "a.pam"), pam.Bytes(), 0o644)
	for _, tc := range []struct {
		name, tool, file string
		args             []string
		grey             bool
	}{
		{"grey16", "pnmtotiff", "g.pgm", []string{"-lzw", "-predictor=2"}, true},
		{"rgb16", "pnmtotiff", "c.ppm", []string{"-truecolor"}, false},
		{"rgb16-flate-predictor", "pnmtotiff", "c.ppm", []string{"-truecolor", "-flate", "-predictor=2"}, false},
		{"rgb-4-samples", "pamtotiff", "a.pam", []string{"-truecolor"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".tif")
			runTo(t, out, tc.tool, append(tc.args, filepath.Join(dir, tc.file))...)
			pr, err := openFile(t, out).Page(0)
			if err != nil {
				t.Fatal(err)
			}
			img, err := pr.Image()
			if err != nil {
				t.Fatal(err)
			}
			for y := range h {
				for x := range w {
					got := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					want := color.NRGBA{uint8(v16(x, y, 0) >> 8), uint8(v16(x, y, 1) >> 8), uint8(v16(x, y, 2) >> 8), 255}
					if tc.grey {
						want.G, want.B = want.R, want.R
					}
					if got != want {
						t.Fatalf("pixel (%d,%d) = %v, want %v (%T)", x, y, got, want, img)
					}
				}
			}
		})
	}
}
