package testutil

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// PBM is a bilevel picture as netpbm writes it (raw P4): rows of packed
// bits, 1 for black, each row padded to a byte.
type PBM struct {
	W, H int
	Bits []byte
}

// Black reports whether pixel (x, y) is black.
func (p PBM) Black(x, y int) bool { return p.Bits[y*((p.W+7)/8)+x/8]&(0x80>>(x%8)) != 0 }

// ParsePBM reads a raw PBM (P4), as tifftopnm writes a bilevel page.
func ParsePBM(b []byte) (PBM, error) {
	var p PBM
	space := func(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }
	// The header is "P4", width and height, separated by white space (and
	// comments), and one white space character before the bits.
	var fields []string
	i := 0
	for len(fields) < 3 {
		for i < len(b) && space(b[i]) {
			i++
		}
		if i < len(b) && b[i] == '#' {
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		}
		start := i
		for i < len(b) && !space(b[i]) {
			i++
		}
		if i >= len(b) {
			return p, fmt.Errorf("pbm: header cut short")
		}
		fields = append(fields, string(b[start:i]))
	}
	if fields[0] != "P4" {
		return p, fmt.Errorf("pbm: magic %q, want P4", fields[0])
	}
	if _, err := fmt.Sscan(fields[1]+" "+fields[2], &p.W, &p.H); err != nil || p.W <= 0 || p.H <= 0 {
		return p, fmt.Errorf("pbm: size %q x %q", fields[1], fields[2])
	}
	p.Bits = b[i+1:]
	if len(p.Bits) < (p.W+7)/8*p.H {
		return p, fmt.Errorf("pbm: %d bytes for %dx%d", len(p.Bits), p.W, p.H)
	}
	return p, nil
}

// DiffImage counts the pixels where img (dark below half grey) and p
// disagree, and p's black pixels; an error if the sizes differ.
func (p PBM) DiffImage(img image.Image) (diff, black int, err error) {
	b := img.Bounds()
	if b.Dx() != p.W || b.Dy() != p.H {
		return 0, 0, fmt.Errorf("image %dx%d, PBM %dx%d", b.Dx(), b.Dy(), p.W, p.H)
	}
	for y := 0; y < p.H; y++ {
		for x := 0; x < p.W; x++ {
			r, _, _, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			k := p.Black(x, y)
			if k {
				black++
			}
			if (r < 0x8000) != k {
				diff++
			}
		}
	}
	return diff, black, nil
}

// TIFFPage1 is page 1 of a TIFF file as netpbm's tifftopnm reads it (an
// independent decoder); it ends the test through NeedTool if tifftopnm is
// missing.
func TIFFPage1(tb testing.TB, tiff []byte) PBM {
	tb.Helper()
	tool := Tool(tb, "tifftopnm")
	path := filepath.Join(tb.TempDir(), "page.tif")
	if err := os.WriteFile(path, tiff, 0o600); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(tool, path).Output()
	if err != nil {
		tb.Fatalf("tifftopnm: %v", err)
	}
	p, err := ParsePBM(out)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// PNGEqualsTIFF fails the test unless the PNG shows page 1 of the TIFF
// pixel for pixel (as netpbm reads the TIFF), with some black on it.
func PNGEqualsTIFF(tb testing.TB, pngData, tiff []byte) {
	tb.Helper()
	ref := TIFFPage1(tb, tiff)
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		tb.Fatal(err)
	}
	if diff, black, err := ref.DiffImage(img); err != nil || diff != 0 || black < 1000 {
		tb.Fatalf("page image against netpbm: %d pixels differ, %d black in the reference, %v", diff, black, err)
	}
}

// PDFEqualsTIFF fails the test unless poppler's pdftoppm renders page 1 of
// the PDF at fine resolution (204x196 dpi, one image pixel a pixel) like
// netpbm reads page 1 of the TIFF.
func PDFEqualsTIFF(tb testing.TB, pdf, tiff []byte) {
	tb.Helper()
	tool := Tool(tb, "pdftoppm")
	dir := tb.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command(tool, "-f", "1", "-l", "1", "-mono", "-rx", "204", "-ry", "196", "-singlefile", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		tb.Fatalf("pdftoppm: %v %s", err, out)
	}
	rendered, err := os.ReadFile(filepath.Join(dir, "page.pbm"))
	if err != nil {
		tb.Fatal(err)
	}
	a, err := ParsePBM(rendered)
	if err != nil {
		tb.Fatal(err)
	}
	b := TIFFPage1(tb, tiff)
	if a.W != b.W || a.H != b.H || !bytes.Equal(a.Bits[:(a.W+7)/8*a.H], b.Bits[:(b.W+7)/8*b.H]) {
		tb.Fatalf("the PDF (%dx%d) renders differently from the TIFF (%dx%d)", a.W, a.H, b.W, b.H)
	}
}
