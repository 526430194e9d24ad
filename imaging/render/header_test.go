package render

import (
	"bytes"
	"errors"
	"image"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font/basicfont"

	"github.com/faxagent/faxagent/imaging"
)

func TestHeader(t *testing.T) {
	f := HeaderFields{
		Time:   time.Date(2026, 11, 27, 9, 5, 7, 0, time.UTC),
		CSID:   "ACME Corp",
		Number: "+1 555 0100",
		Page:   3,
		Pages:  12,
	}
	neg := f
	neg.Page = -4
	custom := f
	custom.DateFormat, custom.TimeFormat = "02/01/2006", "15:04:05"
	for _, tc := range []struct {
		name, tmpl string
		f          HeaderFields
		want       string
	}{
		{"plain text", "no tokens here", f, "no tokens here"},
		{"all tokens", "%d %t %c %n %p/%s", f, "2026-11-27 09:05 ACME Corp +1 555 0100 3/12"},
		{"formats", "%d %t", custom, "27/11/2026 09:05:07"},
		{"left width", "[%-12c]", f, "[ACME Corp   ]"},
		{"right width", "[%12c]", f, "[   ACME Corp]"},
		{"width shorter than value", "[%3c]", f, "[ACME Corp]"},
		{"number width", "[%3p]", f, "[  3]"},
		{"zero pad", "[%03p/%03s]", f, "[003/012]"},
		{"zero pad negative", "[%04p]", neg, "[-004]"},
		{"zero on text is spaces", "[%05c]", HeaderFields{CSID: "ab"}, "[   ab]"},
		{"minus beats zero", "[%-03p]", f, "[3  ]"},
		{"literal percent", "100%% %p", f, "100% 3"},
		{"dangling percent", "50%", f, "50%"},
		{"dangling width", "x%-12", f, "x%-12"},
		{"unknown token", "%x %5q %p", f, "%x %5q 3"},
		{"empty CSID keeps width", "[%-4c]", HeaderFields{}, "[    ]"},
		{"width capped", "%999999999999p", HeaderFields{Page: 1}, strings.Repeat(" ", maxHeaderWidth-1) + "1"},
		{"utf-8 width in runes", "[%-6c]", HeaderFields{CSID: "Zürich"}, "[Zürich]"},
		{"recipient", "[%-6r]", HeaderFields{Recipient: "Dana"}, "[Dana  ]"},
		{"space flag on a number", "[% p][% 4s][% -4p]", f, "[ 3][  12][ 3  ]"},
		{"space flag on text", "[% -12n]", f, "[+1 555 0100 ]"},
		{"FaxCore's FaxHeader", "%d %t %-23c -> % -25n %r %s %p", HeaderFields{Time: f.Time, CSID: "www.faxcore.com.my", Number: "5550100", Recipient: "Dana", Page: 1, Pages: 3},
			"2026-11-27 09:05 www.faxcore.com.my      -> 5550100                   Dana 3 1"},
		{"FaxCore style", "%d %t FROM: %-20c TO: %-15n PAGE %03p OF %03s", f,
			"2026-11-27 09:05 FROM: ACME Corp            TO: +1 555 0100     PAGE 003 OF 012"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Header(tc.tmpl, tc.f); got != tc.want {
				t.Errorf("Header(%q) =\n%q\nwant\n%q", tc.tmpl, got, tc.want)
			}
		})
	}
}

func TestCheckHeader(t *testing.T) {
	for _, ok := range []string{"", "plain", "%d %t %-23c -> % -25n %r %s %p", "100%% %03p/%03s", "% 5p"} {
		if err := CheckHeader(ok); err != nil {
			t.Errorf("CheckHeader(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"%P", "page %p of %x", "50%", "x%-12", "%ü", "\xff"} {
		err := CheckHeader(bad)
		if !errors.Is(err, ErrHeaderTemplate) {
			t.Errorf("CheckHeader(%q) = %v, want ErrHeaderTemplate", bad, err)
		}
	}
}

var allResolutions = []imaging.Resolution{imaging.Standard, imaging.Fine, imaging.Superfine, imaging.Ultrafine}

// TestStampHeader: the band replaces the top rows with black pixels only
// inside it, its height follows the resolution, the text looks the same
// size on paper, and different letters differ.
func TestStampHeader(t *testing.T) {
	wantRows := map[imaging.Resolution]int{imaging.Standard: 16, imaging.Fine: 32, imaging.Superfine: 64, imaging.Ultrafine: 64}
	var inchesTall []float64
	for _, res := range allResolutions {
		t.Run(res.String(), func(t *testing.T) {
			xdpi, _ := res.DPI()
			p := imaging.NewPage(int(imaging.WidthA4*xdpi/204), 100, res)
			for i := range p.Pix {
				p.Pix[i] = 0xff // all black
			}
			if err := StampHeader(p, "W"); err != nil {
				t.Fatal(err)
			}
			band := HeaderBandRows(res)
			if band != wantRows[res] {
				t.Fatalf("band %d rows, want %d", band, wantRows[res])
			}
			// Below the band the page is untouched (all black); in the
			// band only the glyph is black.
			if f := blackFraction(p, image.Rect(0, band, p.Width, p.Height)); f != 1 {
				t.Errorf("below the band: %.4f black, want 1", f)
			}
			ink := inkBox(&imaging.Page{Width: p.Width, Height: band, Resolution: res, Pix: p.Pix[:band*p.Stride()]})
			if ink.Empty() || ink.Min.Y < 2*band/16 || ink.Max.Y > 15*band/16 || ink.Min.X < 8 || ink.Max.X > 120 {
				t.Errorf("glyph ink at %v, outside the text area", ink)
			}
			_, ydpi := res.DPI()
			inchesTall = append(inchesTall, float64(ink.Dy())/ydpi)
		})
	}
	// The same glyph is the same height on paper at every resolution.
	for i := 1; i < len(inchesTall); i++ {
		if d := inchesTall[i] / inchesTall[0]; d < 0.97 || d > 1.03 {
			t.Errorf("glyph heights on paper differ: %v inches", inchesTall)
		}
	}

	short := imaging.NewPage(1728, 20, imaging.Fine)
	if err := StampHeader(short, "x"); err == nil {
		t.Error("stamped a 32-row band into a 20-row page")
	}
	if err := StampHeader(&imaging.Page{Width: 1728, Height: 100}, "x"); err == nil {
		t.Error("stamped a page without pixels")
	}
}

// TestHeaderGlyphs compares each drawn character with basicfont's own
// mask, pixel for pixel after the resolution's scaling.
func TestHeaderGlyphs(t *testing.T) {
	face := basicfont.Face7x13
	text := "I W?Az09%"
	for _, res := range allResolutions {
		xdpi, _ := res.DPI()
		width := int(imaging.WidthA4 * xdpi / 204)
		band := HeaderRows(text, width, res)
		hs, vs := headerScale(res)
		for i, r := range text {
			glyph := int(r - face.Ranges[0].Low)
			for fy := 0; fy < 13; fy++ {
				for fx := 0; fx < face.Advance; fx++ {
					_, _, _, a := face.Mask.At(fx, glyph*13+fy).RGBA()
					want := a >= 0x8000
					for y := (bandTopRows + fy) * vs; y < (bandTopRows+fy+1)*vs; y++ {
						for x := (bandLeft + i*face.Advance + fx) * hs; x < (bandLeft+i*face.Advance+fx+1)*hs; x++ {
							if band.Black(x, y) != want {
								t.Fatalf("%v %q: pixel (%d,%d) black=%v, font says %v", res, r, x, y, !want, want)
							}
						}
					}
				}
			}
		}
	}
	// And different letters really are different.
	i, w := HeaderRows("I", 1728, imaging.Fine), HeaderRows("W", 1728, imaging.Fine)
	if bytes.Equal(i.Pix, w.Pix) || blackCount(w.Pix) <= blackCount(i.Pix) {
		t.Errorf("I and W: %d and %d black pixels", blackCount(i.Pix), blackCount(w.Pix))
	}
}

func TestHeaderRowsText(t *testing.T) {
	for _, tc := range []struct {
		name, a, b string
		same       bool
	}{
		{"unprintable is ?", "a\x01b", "a?b", true},
		{"non-ASCII is ?", "Zürich", "Z?rich", true},
		{"tab is space", "a\tb", "a b", true},
		{"too long is cut", strings.Repeat("M", 121) + "XYZ", strings.Repeat("M", 121), true},
		{"fits exactly", strings.Repeat("M", 120) + "X", strings.Repeat("M", 120), false},
		{"empty", "", "   ", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := HeaderRows(tc.a, 1728, imaging.Fine), HeaderRows(tc.b, 1728, imaging.Fine)
			if bytes.Equal(a.Pix, b.Pix) != tc.same {
				t.Errorf("%q vs %q: same=%v", tc.a, tc.b, !tc.same)
			}
		})
	}
	if HeaderRows("x", 0, imaging.Fine) != nil {
		t.Error("band for width 0")
	}
}

// TestOverlayRows: streaming the band over rows (one at a time, several
// at a time, or through OverlayReader) gives the stamped page.
func TestOverlayRows(t *testing.T) {
	src, err := ToFax(decodeFixture(t, "photo.jpg"), opts(imaging.Fine, Dither))
	if err != nil {
		t.Fatal(err)
	}
	text := Header("%d %t %-20c %n P.%p/%s", HeaderFields{CSID: "TEST", Number: "100", Page: 1, Pages: 1})
	want := &imaging.Page{Width: src.Width, Height: src.Height, Resolution: src.Resolution, Pix: bytes.Clone(src.Pix)}
	if err := StampHeader(want, text); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(want.Pix, src.Pix) {
		t.Fatal("stamp changed nothing")
	}
	band := HeaderRows(text, src.Width, src.Resolution)

	// One row at a time.
	one := bytes.Clone(src.Pix)
	s := src.Stride()
	for y := 0; y < src.Height; y++ {
		OverlayRows(one[y*s:(y+1)*s], band, y)
	}
	// Chunks of 7 rows.
	chunks := bytes.Clone(src.Pix)
	for y := 0; y < src.Height; y += 7 {
		end := min(y+7, src.Height)
		OverlayRows(chunks[y*s:end*s], band, y)
	}
	// Through a RowReader.
	got, err := imaging.ReadPage(OverlayReader(src.Rows(), band), src.Width, src.Resolution, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, pix := range map[string][]byte{"rows": one, "chunks": chunks, "reader": got.Pix} {
		if !bytes.Equal(pix, want.Pix) {
			t.Errorf("%s: overlay differs from StampHeader", name)
		}
	}
	// Rows below the band and a nil band are no-ops.
	row := []byte{0xaa, 0x55}
	OverlayRows(row, band, band.Height)
	OverlayRows(row, nil, 0)
	if row[0] != 0xaa || row[1] != 0x55 {
		t.Error("overlay touched a row outside the band")
	}
	// The reader passes errors through.
	if err := OverlayReader(errReader{}, band).ReadRow(make([]byte, s)); !errors.Is(err, errTest) {
		t.Errorf("got %v", err)
	}
}

var errTest = errors.New("test error")

type errReader struct{}

func (errReader) ReadRow([]byte) error { return errTest }

// FuzzCheckHeader: a template CheckHeader accepts expands with no token
// left over: every % in the output comes from %% or a field's value.
func FuzzCheckHeader(f *testing.F) {
	for _, s := range []string{"%d %t %-23c -> % -25n %r %s %p", "100%%", "%P", "50%", "% 03p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		if len(tmpl) > 1000 {
			return
		}
		if CheckHeader(tmpl) != nil {
			return
		}
		out := Header(tmpl, HeaderFields{CSID: "c", Number: "n", Recipient: "r", Page: 1, Pages: 2})
		want := strings.Count(tmpl, "%%")
		if got := strings.Count(out, "%"); got != want {
			t.Fatalf("Header(%q) = %q: %d %% signs, want %d", tmpl, out, got, want)
		}
	})
}
