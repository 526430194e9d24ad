package faxdoc

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden pages in testdata/golden")

// goldenTolerance is the share of pixels that may differ from a golden
// page (font rasterisers and scalers change in small ways between
// versions; a wrong glyph, position or size changes far more).
const goldenTolerance = 0.002

// checkGolden compares a page with testdata/golden/NAME.png pixel by
// pixel (or writes it with -update).
func checkGolden(t *testing.T, name string, p *imaging.Page) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".png")
	if *update {
		var b bytes.Buffer
		if err := render.EncodePNG(&b, p); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("golden page: %v (run with -update to write it)", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != p.Width || b.Dy() != p.Height {
		t.Fatalf("%s: page is %dx%d, golden %dx%d", name, p.Width, p.Height, b.Dx(), b.Dy())
	}
	diff := 0
	for y := 0; y < p.Height; y++ {
		for x := 0; x < p.Width; x++ {
			g := color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y < 128
			if g != p.Black(x, y) {
				diff++
			}
		}
	}
	if max := int(goldenTolerance * float64(p.Width*p.Height)); diff > max {
		t.Fatalf("%s: %d pixels differ from the golden page (at most %d); see %s", name, diff, max, path)
	}
}

const goldenText = "café naïve ✓  déjà vu — “quotes” € 5 ½ © ° ± ×\n" +
	"ÀÉÎÕÜ ß ñ ç Æ Ø Å ¿¡ §¶ • … ™ → ☐ ☑ ☒ ✔ ✗\n" +
	"col1\tcol2\tcol3\n" +
	"12345678\tafter a full tab stop\n" +
	"A long line that is wider than the page and so wraps at the last space that still fits on the line, never cutting a word.\n" +
	"\fSecond page after a form feed.\n"

// TestGoldenText: typeset text at every resolution against committed
// pages (Latin-1, typographic symbols, the check marks the font lacks,
// tab stops, wrapping; the form feed makes a second page).
func TestGoldenText(t *testing.T) {
	path := writeTemp(t, "golden.txt", []byte(goldenText))
	for _, res := range []imaging.Resolution{imaging.Standard, imaging.Fine, imaging.Superfine, imaging.Ultrafine} {
		t.Run(res.String(), func(t *testing.T) {
			pages := readAll(t, []string{path}, Options{Resolution: res})
			if len(pages) != 2 {
				t.Fatalf("%d pages, want 2", len(pages))
			}
			checkGolden(t, "text-"+res.String(), pages[0])
		})
	}
}

// goldenPicture is an 833 x 417 picture: a frame, a disc and bars of grey.
func goldenPicture() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 833, 417))
	for y := 0; y < 417; y++ {
		for x := 0; x < 833; x++ {
			c := color.RGBA{255, 255, 255, 255}
			dx, dy := x-200, y-208
			switch {
			case x < 6 || y < 6 || x >= 827 || y >= 411:
				c = color.RGBA{0, 0, 0, 255}
			case dx*dx+dy*dy < 150*150:
				c = color.RGBA{200, 20, 20, 255}
			case x > 420 && x < 800 && y > 100 && y < 320:
				v := uint8((x - 420) * 255 / 380)
				c = color.RGBA{v, v, v, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// TestGoldenPicture: a small picture without a resolution of its own is
// placed at its natural size (one pixel per fax pixel across), centred
// across, at the top of an A4 page; never stretched.
func TestGoldenPicture(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, goldenPicture()); err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "picture.png", b.Bytes())
	pages := readAll(t, []string{path}, Options{Resolution: imaging.Fine})
	if len(pages) != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	p := pages[0]
	if p.Width != imaging.WidthA4 || p.Height != render.A4Rows(imaging.Fine) {
		t.Fatalf("page %dx%d, want an A4 page", p.Width, p.Height)
	}
	// The frame's corners: 833 pixels across, centred; 417 rows at 204
	// dpi are 401 at 196.
	x0, x1, y0, y1 := inkBox(p)
	if x0 != (1728-833)/2 || x1-x0+1 != 833 || y0 != 0 || y1+1 < 399 || y1+1 > 403 {
		t.Fatalf("ink at x %d..%d y %d..%d, want x %d..%d y 0..400", x0, x1, y0, y1, (1728-833)/2, (1728-833)/2+832)
	}
	checkGolden(t, "picture-833x417-fine", p)
}

func inkBox(p *imaging.Page) (x0, x1, y0, y1 int) {
	x0, y0, x1, y1 = p.Width, p.Height, -1, -1
	for y := 0; y < p.Height; y++ {
		for x := 0; x < p.Width; x++ {
			if p.Black(x, y) {
				x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
			}
		}
	}
	return
}

var tiffinfoRe = regexp.MustCompile(`Image Width: (\d+) Image Length: (\d+)[\s\S]*Resolution: ([0-9.]+), ([0-9.]+) pixels/inch`)

// TestResolutionGeometry converts to TIFF at every resolution and reads
// the file back with libtiff's tiffinfo and netpbm's tifftopnm: ultrafine
// rows are 3456 pixels at 408 dpi, the others 1728 at 204; the rows per
// inch are T.30's 3.85, 7.7 and 15.4 lines/mm. A fine fax TIFF converted
// to ultrafine doubles across and down.
func TestResolutionGeometry(t *testing.T) {
	tools := testutil.NeedTool(t, "tiffinfo", "tifftopnm")
	dir := t.TempDir()
	text := writeTemp(t, "a.txt", []byte("geometry\n"))
	fine := filepath.Join(dir, "fine.tif")
	if _, err := Convert(t.Context(), []string{text}, Options{Resolution: imaging.Fine}, fine, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		res        imaging.Resolution
		width      int
		xdpi, ydpi float64
	}{
		{imaging.Standard, 1728, 204, 98},
		{imaging.Fine, 1728, 204, 196},
		{imaging.Superfine, 1728, 204, 391},
		{imaging.Ultrafine, 3456, 408, 391},
	} {
		for _, src := range []string{text, fine} {
			name := fmt.Sprintf("%v from %s", tc.res, filepath.Base(src))
			out := filepath.Join(dir, tc.res.String()+filepath.Base(src)+".tif")
			if _, err := Convert(t.Context(), []string{src}, Options{Resolution: tc.res}, out, WriteOptions{}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			info, err := exec.Command(tools[0], out).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: tiffinfo: %v\n%s", name, err, info)
			}
			m := tiffinfoRe.FindSubmatch(info)
			if m == nil {
				t.Fatalf("%s: tiffinfo:\n%s", name, info)
			}
			w, _ := strconv.Atoi(string(m[1]))
			h, _ := strconv.Atoi(string(m[2]))
			xr, _ := strconv.ParseFloat(string(m[3]), 64)
			yr, _ := strconv.ParseFloat(string(m[4]), 64)
			rows := render.A4Rows(tc.res)
			if w != tc.width || h < rows-2 || h > rows+2 || xr < tc.xdpi-1 || xr > tc.xdpi+1 || yr < tc.ydpi-1 || yr > tc.ydpi+1 {
				t.Errorf("%s: tiffinfo says %dx%d at %vx%v dpi, want %d x about %d at %vx%v", name, w, h, xr, yr, tc.width, rows, tc.xdpi, tc.ydpi)
			}
			pnm, err := exec.Command(tools[1], out).Output()
			if err != nil {
				t.Fatalf("%s: tifftopnm: %v", name, err)
			}
			var pw, ph int
			if _, err := fmt.Sscanf(string(pnm), "P4\n%d %d", &pw, &ph); err != nil || pw != w || ph != h {
				t.Errorf("%s: tifftopnm gives %dx%d (%v), tiffinfo %dx%d", name, pw, ph, err, w, h)
			}
		}
	}
}

// TestGoldenCover: the default cover page with every field, and a long
// note that takes it to two pages (its Pages field then counts both).
func TestGoldenCover(t *testing.T) {
	dir := t.TempDir()
	f := render.CoverFields{To: "Dana Müller", Company: "Zürich Präzision AG", Fax: "+41 44 555 01 00",
		From: "José Núñez", FromCompany: "Café Naïve Ltd.", Subject: "Order #4711 ✓",
		Note: "Dear Dana,\n\n\tplease find the signed order attached.\n\nRegards, José", Date: "2026-12-07 14:30"}
	out := filepath.Join(dir, "cover.tif")
	n, err := ConvertCover(t.Context(), Cover{Fields: f}, 3, imaging.Fine, out, WriteOptions{})
	if err != nil || n != 1 {
		t.Fatalf("cover: %d pages, %v", n, err)
	}
	pages := readAll(t, []string{out}, Options{KeepResolution: true})
	checkGolden(t, "cover-default-fine", pages[0])

	f.Note = strings.Repeat("A very long note line.\n", 80)
	if n, err = ConvertCover(t.Context(), Cover{Fields: f}, 3, imaging.Fine, out, WriteOptions{}); err != nil || n != 2 {
		t.Fatalf("long note: %d pages, %v", n, err)
	}
	for _, bad := range []string{"{{Nope}}", "\xff", "a\fb"} {
		if _, err := ConvertCover(t.Context(), Cover{Template: []byte(bad)}, 1, imaging.Fine, out, WriteOptions{}); !errors.Is(err, render.ErrCoverTemplate) {
			t.Errorf("template %q: err = %v", bad, err)
		}
	}
}
