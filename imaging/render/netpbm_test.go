package render

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

// testPage is a converted picture with a header: real content, odd
// details (a width that is not a multiple of 8 in one case).
func testPage(t *testing.T, width int) *imaging.Page {
	t.Helper()
	o := opts(imaging.Fine, Auto)
	o.Width = width
	// The band of square.png holding the square's top edge: 1728 x 311
	// rows at fine, enough content, cheap to compare as plain text.
	sq := decodeFixture(t, "square.png").(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 50, 400, 130))
	p, err := ToFax(sq, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := StampHeader(p, "2026-11-27 00:30  FAXAGENT TEST  +1 555 0100  P.1/1"); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNetpbmReadsOurPBM: netpbm reads our P4 output with the right size
// and the same pixels.
func TestNetpbmReadsOurPBM(t *testing.T) {
	for _, width := range []int{1728, 1733} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			p := testPage(t, width)
			var buf bytes.Buffer
			if err := EncodePBM(&buf, p); err != nil {
				t.Fatal(err)
			}
			info := run(t, buf.Bytes(), []string{"pnmfile"}, "pnmfile")
			want := fmt.Sprintf("PBM raw, %d by %d", p.Width, p.Height)
			if !bytes.Contains(info, []byte(want)) {
				t.Errorf("pnmfile says %q, want %q", info, want)
			}
			plain := run(t, buf.Bytes(), []string{"pnmtoplainpnm"}, "pnmtoplainpnm")
			if d := diffPages(pageFromPlainPBM(t, parsePlain(t, plain)), p); d != "" {
				t.Errorf("netpbm sees other pixels: %s", d)
			}
		})
	}
}

// TestNetpbmReadsOurPNG: netpbm's pngtopnm reads our PNG output as the
// same bitmap.
func TestNetpbmReadsOurPNG(t *testing.T) {
	p := testPage(t, 1728)
	var buf bytes.Buffer
	if err := EncodePNG(&buf, p); err != nil {
		t.Fatal(err)
	}
	plain := run(t, buf.Bytes(), []string{"pngtopam", "pamtopnm", "pnmtoplainpnm"}, "pngtopam | pamtopnm | pnmtoplainpnm")
	// pngtopam expands the palette to grey: black is 0, white maxval.
	got := parsePlain(t, plain)
	if got.kind != "P2" || got.w != p.Width || got.h != p.Height {
		t.Fatalf("netpbm decodes our PNG as %s %dx%d", got.kind, got.w, got.h)
	}
	bitmap := imaging.NewPage(got.w, got.h, p.Resolution)
	for i, v := range got.samples {
		if v != 0 && v != got.maxval {
			t.Fatalf("grey level %d/%d in a bilevel PNG", v, got.maxval)
		}
		bitmap.Set(i%got.w, i/got.w, v == 0)
	}
	if d := diffPages(bitmap, p); d != "" {
		t.Errorf("netpbm sees other pixels: %s", d)
	}
	// And it is a 1-bit palette PNG.
	cfg, err := png.DecodeConfig(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if pal, ok := cfg.ColorModel.(color.Palette); !ok || len(pal) != 2 {
		t.Errorf("colour model %T, want a 2-entry palette", cfg.ColorModel)
	}
}

// TestThresholdMatchesNetpbm: for a colour picture converted one to one,
// our grey conversion and threshold agree pixel for pixel with netpbm's
// ppmtopgm (BT.601 luma) and pgmtopbm -threshold.
func TestThresholdMatchesNetpbm(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	img := image.NewRGBA(image.Rect(0, 0, 1728, 64))
	for by := 0; by < 64; by += 4 {
		for bx := 0; bx < 1728; bx += 4 {
			var c color.RGBA
			for { // avoid colours whose luma is within 1 of the threshold
				c = color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
				l := 0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)
				if l < 126 || l > 129 {
					break
				}
			}
			for y := by; y < by+4; y++ {
				for x := bx; x < bx+4; x++ {
					img.SetRGBA(x, y, c)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	plain := run(t, buf.Bytes(), []string{"pngtopnm", "ppmtopgm", "pgmtopbm", "pnmtoplainpnm"},
		"pngtopnm | ppmtopgm | pgmtopbm -threshold -value 0.5 | pnmtoplainpnm")
	want := pageFromPlainPBM(t, parsePlain(t, plain))

	o := opts(imaging.Fine, Threshold)
	o.SourceDPI = DPI{204, 196}
	decoded, err := Decode(&buf, "rgb.png", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ToFax(decoded, o)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffPages(got, want); d != "" {
		t.Error(d)
	}
}

// TestDitherMatchesNetpbmDensity: our Floyd–Steinberg and netpbm's
// (pgmtopbm -fs, which like us diffuses in grey-level units rather than
// pamditherbw's linear light) give the same black density, column band by
// band, over a horizontal grey ramp.
func TestDitherMatchesNetpbmDensity(t *testing.T) {
	ramp := run(t, nil, []string{"pgmramp"}, "pgmramp -lr 1728 256")
	plain := run(t, ramp, []string{"pgmtopbm", "pnmtoplainpnm"}, "pgmtopbm -fs | pnmtoplainpnm")
	want := pageFromPlainPBM(t, parsePlain(t, plain))

	img, err := Decode(bytes.NewReader(ramp), "ramp.pgm", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	o := opts(imaging.Fine, Dither)
	o.SourceDPI = DPI{204, 196}
	got, err := ToFax(img, o)
	if err != nil {
		t.Fatal(err)
	}
	for x := 0; x < 1728; x += 96 {
		r := image.Rect(x, 0, x+96, 256)
		g, w := blackFraction(got, r), blackFraction(want, r)
		if d := g - w; d > 0.03 || d < -0.03 {
			t.Errorf("columns %d-%d: %.3f black, netpbm %.3f", x, x+96, g, w)
		}
	}
}

// TestNetpbmHeaderSize: pnmfile agrees with HeaderBandRows for a band
// written as PBM.
func TestNetpbmHeaderSize(t *testing.T) {
	for _, res := range []imaging.Resolution{imaging.Standard, imaging.Fine, imaging.Superfine} {
		band := HeaderRows("HEADER", 1728, res)
		var buf bytes.Buffer
		if err := EncodePBM(&buf, band); err != nil {
			t.Fatal(err)
		}
		info := run(t, buf.Bytes(), []string{"pnmfile"}, "pnmfile")
		if !regexp.MustCompile(fmt.Sprintf(`PBM raw, 1728 by %d\b`, HeaderBandRows(res))).Match(info) {
			t.Errorf("%v: pnmfile says %q", res, info)
		}
	}
}
