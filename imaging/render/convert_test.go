package render

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"

	"github.com/faxagent/faxagent/imaging"
)

// encodeAs encodes img with the standard library (or our PBM writer) and
// decodes it back through Decode, so every conversion test goes through
// the whole input path.
func encodeAs(t testing.TB, format string, img image.Image) image.Image {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	case "gif":
		// A grey palette, so the encoder does not dither to its default
		// palette.
		pal := make(color.Palette, 256)
		for i := range pal {
			pal[i] = color.Gray{Y: uint8(i)}
		}
		b := img.Bounds()
		p := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), pal)
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				p.Pix[y*p.Stride+x] = lumaOverWhite(img.At(b.Min.X+x, b.Min.Y+y))
			}
		}
		err = gif.Encode(&buf, p, nil)
	case "pbm":
		b := img.Bounds()
		p := imaging.NewPage(b.Dx(), b.Dy(), imaging.Fine)
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				p.Set(x, y, lumaOverWhite(img.At(b.Min.X+x, b.Min.Y+y)) < 128)
			}
		}
		err = EncodePBM(&buf, p)
	default:
		t.Fatalf("format %s", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(&buf, "generated."+format, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// squarePicture is a w x h white picture with a black rectangle r.
func squarePicture(w, h int, r image.Rectangle) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = 0xff
	}
	draw.Draw(g, r, image.Black, image.Point{}, draw.Src)
	return g
}

func opts(res imaging.Resolution, mode Mode) Options {
	o := DefaultOptions()
	o.Resolution, o.Mode = res, mode
	return o
}

// TestToFaxSize checks width and row count against the physical size:
// the picture fills the 1728-pixel width (or keeps its size when its dpi
// is known) and the rows follow the aspect ratio times ydpi/xdpi.
func TestToFaxSize(t *testing.T) {
	for _, tc := range []struct {
		name          string
		w, h          int
		format        string
		res           imaging.Resolution
		dpi           DPI
		wantW, wantH  int // picture width and rows
		wantPageWidth int
	}{
		// 1414*1728/1000 = 2443.4 rows at 204x204; fine rows are 196/204
		// of that (standard half of it), superfine 391/204.
		{"A4-ratio fine", 1000, 1414, "png", imaging.Fine, DPI{}, 1728, 2348, 1728},
		{"A4-ratio standard", 1000, 1414, "png", imaging.Standard, DPI{}, 1728, 1174, 1728},
		{"A4-ratio superfine", 1000, 1414, "png", imaging.Superfine, DPI{}, 1728, 4683, 1728},
		{"A4-ratio ultrafine", 1000, 1414, "png", imaging.Ultrafine, DPI{}, 3456, 4683, 3456},
		{"jpeg landscape fine", 640, 480, "jpeg", imaging.Fine, DPI{}, 1728, 1245, 1728},
		{"gif small upscale", 100, 50, "gif", imaging.Standard, DPI{}, 1728, 415, 1728},
		{"pbm wide strip", 3000, 10, "pbm", imaging.Fine, DPI{}, 1728, 6, 1728},
		{"known dpi keeps size", 800, 600, "png", imaging.Fine, DPI{200, 200}, 816, 588, 1728},
		{"known dpi too wide fits", 2480, 3508, "jpeg", imaging.Fine, DPI{X: 280}, 1728, 2348, 1728},
		{"fax raster passes 1:1", 1728, 300, "pbm", imaging.Fine, DPI{204, 196}, 1728, 300, 1728},
		{"standard raster 1:1", 1728, 120, "pbm", imaging.Standard, DPI{204, 98}, 1728, 120, 1728},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := encodeAs(t, tc.format, squarePicture(tc.w, tc.h, image.Rect(0, 0, 1, 1)))
			o := opts(tc.res, Auto)
			o.SourceDPI = tc.dpi
			p, err := ToFax(img, o)
			if err != nil {
				t.Fatal(err)
			}
			if p.Width != tc.wantPageWidth || p.Height != tc.wantH || p.Resolution != tc.res {
				t.Fatalf("page %dx%d %v, want %dx%d %v", p.Width, p.Height, p.Resolution, tc.wantPageWidth, tc.wantH, tc.res)
			}
			if len(p.Pix) != p.Height*imaging.RowBytes(p.Width) {
				t.Fatalf("Pix length %d", len(p.Pix))
			}
			// Independent of the code's formula: physical height in
			// inches times ydpi, with the width as scale.
			xdpi, ydpi := tc.res.DPI()
			srcX, srcY := tc.dpi.X, tc.dpi.Y
			if srcX == 0 {
				srcX = 1 // unknown: square pixels of any size
			}
			if srcY == 0 {
				srcY = srcX
			}
			scale := (float64(tc.wantW) / xdpi) / (float64(tc.w) / srcX)
			rows := float64(tc.h) / srcY * scale * ydpi
			if math.Abs(rows-float64(tc.wantH)) > 1 {
				t.Errorf("physical height %.1f rows, table says %d", rows, tc.wantH)
			}
		})
	}
}

// TestBlackSquare: a black square stays a square at the right place, in
// every input format and resolution.
func TestBlackSquare(t *testing.T) {
	sq := image.Rect(100, 100, 200, 200)
	for _, format := range []string{"png", "jpeg", "gif", "pbm"} {
		for _, res := range []imaging.Resolution{imaging.Standard, imaging.Fine, imaging.Superfine} {
			if res == imaging.Superfine && format != "png" {
				continue // the format does not matter there; keep CI quick
			}
			t.Run(format+"/"+res.String(), func(t *testing.T) {
				img := encodeAs(t, format, squarePicture(400, 400, sq))
				p, err := ToFax(img, opts(res, Auto))
				if err != nil {
					t.Fatal(err)
				}
				xdpi, ydpi := res.DPI()
				sx := 1728.0 / 400
				sy := sx * ydpi / xdpi
				want := image.Rect(int(100*sx), int(100*sy), int(200*sx), int(200*sy))
				// Outside a 2-pixel (2-row) margin around the ideal
				// edges, every pixel must be right: XOR with the ideal
				// page, then look at the differing bits only.
				ideal := imaging.NewPage(p.Width, p.Height, res)
				for y := want.Min.Y; y < want.Max.Y; y++ {
					for x := want.Min.X; x < want.Max.X; x++ {
						ideal.Set(x, y, true)
					}
				}
				bad := 0
				for y := 0; y < p.Height; y++ {
					if abs(y-want.Min.Y) <= 2 || abs(y-want.Max.Y) <= 2 {
						continue
					}
					got, exp := p.Row(y), ideal.Row(y)
					for i := range got {
						d := got[i] ^ exp[i]
						for bit := 0; d != 0 && bit < 8; bit++ {
							x := 8*i + bit
							if d&(0x80>>bit) != 0 && abs(x-want.Min.X) > 2 && abs(x-want.Max.X) > 2 {
								bad++
							}
						}
					}
				}
				// The square's own black area, measured: it is square on
				// paper (width/xdpi == height/ydpi within 1%).
				got := inkBox(p)
				wIn, hIn := float64(got.Dx())/xdpi, float64(got.Dy())/ydpi
				if math.Abs(wIn/hIn-1) > 0.01+2/float64(got.Dy()) {
					t.Errorf("ink box %v is %.3f x %.3f in, not square", got, wIn, hIn)
				}
			})
		}
	}
}

// TestNetpbmFixtureSquare converts the netpbm-made square fixtures.
func TestNetpbmFixtureSquare(t *testing.T) {
	for _, f := range []string{"square.pbm", "square.png", "square.gif", "square.tif", "square.jpg"} {
		t.Run(f, func(t *testing.T) {
			p, err := ToFax(decodeFixture(t, f), opts(imaging.Fine, Auto))
			if err != nil {
				t.Fatal(err)
			}
			box := inkBox(p)
			// 100..200 of 400 -> 432..864 across, x 196/204 down.
			want := image.Rect(432, 415, 864, 830)
			if abs(box.Min.X-want.Min.X) > 2 || abs(box.Max.X-want.Max.X) > 2 ||
				abs(box.Min.Y-want.Min.Y) > 2 || abs(box.Max.Y-want.Max.Y) > 2 {
				t.Errorf("ink box %v, want %v +-2", box, want)
			}
			if f := blackFraction(p, box); f < 0.99 {
				t.Errorf("square only %.3f black", f)
			}
		})
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// inkBox is the bounding box of the black pixels.
func inkBox(p *imaging.Page) image.Rectangle {
	r := image.Rectangle{}
	first := true
	for y := 0; y < p.Height; y++ {
		for x := 0; x < p.Width; x++ {
			if !p.Black(x, y) {
				continue
			}
			pr := image.Rect(x, y, x+1, y+1)
			if first {
				r, first = pr, false
			} else {
				r = r.Union(pr)
			}
		}
	}
	return r
}

func uniformGrey(w, h int, v uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}

// TestGreyLevels: dithering keeps a grey field's brightness (black share
// ~ 1 - v/255 within 3%), thresholding makes it all one colour.
func TestGreyLevels(t *testing.T) {
	for _, tc := range []struct {
		v              uint8
		mode           Mode
		wantBlack, tol float64
	}{
		{128, Dither, 0.5, 0.03},
		{128, Auto, 0.5, 0.03}, // a flat mid-grey is no text: Auto dithers
		{64, Dither, 1 - 64.0/255, 0.03},
		{192, Dither, 1 - 192.0/255, 0.03},
		{16, Dither, 1 - 16.0/255, 0.03},
		{128, Threshold, 0, 0},
		{127, Threshold, 1, 0},
		{0, Dither, 1, 0},
		{255, Dither, 0, 0},
	} {
		p, err := ToFax(encodeAs(t, "png", uniformGrey(432, 300, tc.v)), opts(imaging.Fine, tc.mode))
		if err != nil {
			t.Fatal(err)
		}
		got := blackFraction(p, image.Rect(0, 0, p.Width, p.Height))
		if math.Abs(got-tc.wantBlack) > tc.tol {
			t.Errorf("grey %d %v: %.4f black, want %.3f +- %.3f", tc.v, tc.mode, got, tc.wantBlack, tc.tol)
		}
	}
}

// TestAutoMode: Auto gives exactly Threshold's result for text and
// exactly Dither's for a photograph-like picture.
func TestAutoMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		img  image.Image
		want Mode
	}{
		{"a4text.png", decodeFixture(t, "a4text.png"), Threshold},
		{"photo.jpg", decodeFixture(t, "photo.jpg"), Dither},
		{"square.jpg", decodeFixture(t, "square.jpg"), Threshold},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auto, err := ToFax(tc.img, opts(imaging.Standard, Auto))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ToFax(tc.img, opts(imaging.Standard, tc.want))
			if err != nil {
				t.Fatal(err)
			}
			if d := diffPages(auto, want); d != "" {
				t.Errorf("Auto is not %v: %s", tc.want, d)
			}
		})
	}
}

// TestBilevelFastPath: a fax-sized two-colour picture passes unchanged,
// whichever palette order it uses; so does a 0/255 Gray picture.
func TestBilevelFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := imaging.NewPage(1728, 200, imaging.Fine)
	for y := 0; y < want.Height; y++ {
		for x := 0; x < want.Width; x++ {
			want.Set(x, y, rng.IntN(3) == 0)
		}
	}
	mk := func(pal color.Palette, black uint8) image.Image {
		img := image.NewPaletted(image.Rect(0, 0, 1728, 200), pal)
		for y := 0; y < 200; y++ {
			for x := 0; x < 1728; x++ {
				if want.Black(x, y) {
					img.Pix[y*img.Stride+x] = black
				} else {
					img.Pix[y*img.Stride+x] = 1 - black
				}
			}
		}
		return img
	}
	gray := image.NewGray(image.Rect(0, 0, 1728, 200))
	for i := range gray.Pix {
		if !want.Black(i%1728, i/1728) {
			gray.Pix[i] = 0xff
		}
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"white-black palette", mk(color.Palette{color.White, color.Black}, 1)},
		{"black-white palette", mk(color.Palette{color.Black, color.White}, 0)},
		{"red-yellow palette", mk(color.Palette{color.RGBA{200, 0, 0, 255}, color.RGBA{255, 255, 0, 255}}, 0)},
		{"gray 0/255", gray},
		{"via our PBM", encodeAs(t, "pbm", gray)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts(imaging.Fine, Auto)
			o.SourceDPI = DPI{204, 196}
			p, err := ToFax(tc.img, o)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffPages(p, want); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestTransparencyIsPaper: transparent pixels are white paper, whatever
// colour they carry.
func TestTransparencyIsPaper(t *testing.T) {
	n := image.NewNRGBA(image.Rect(0, 0, 100, 100))
	for i := 0; i < len(n.Pix); i += 4 {
		n.Pix[i+3] = 0 // transparent black
	}
	draw.Draw(n, image.Rect(40, 40, 60, 60), image.NewUniform(color.NRGBA{0, 0, 0, 255}), image.Point{}, draw.Src)
	for _, img := range []image.Image{n, encodeAs(t, "png", n)} {
		p, err := ToFax(img, opts(imaging.Fine, Auto))
		if err != nil {
			t.Fatal(err)
		}
		f := blackFraction(p, image.Rect(0, 0, p.Width, p.Height))
		if math.Abs(f-0.04) > 0.005 { // the 20x20 opaque square of 100x100
			t.Errorf("%T: black fraction %.4f, want 0.04", img, f)
		}
	}
}

// TestToFaxPages splits a tall text picture at white rows.
func TestToFaxPages(t *testing.T) {
	// Lines of "text" (solid bars 30 px) every 40 px, down to the bottom.
	img := squarePicture(1000, 5000, image.Rectangle{})
	for y := 10; y < 5000; y += 40 {
		draw.Draw(img, image.Rect(50, y, 950, min(y+30, 5000)), image.Black, image.Point{}, draw.Src)
	}
	o := opts(imaging.Fine, Auto)
	whole, err := ToFax(img, o)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := ToFaxPages(img, o)
	if err != nil {
		t.Fatal(err)
	}
	if want := A4Rows(imaging.Fine); want != 2292 {
		t.Fatalf("A4Rows(fine) = %d", want)
	}
	var joined []byte
	for i, p := range pages {
		if p.Height > 2292 || p.Height < 2292*7/8 && i < len(pages)-1 {
			t.Errorf("page %d has %d rows", i, p.Height)
		}
		if i > 0 && blackCount(p.Row(0)) != 0 {
			t.Errorf("page %d starts in the middle of a line", i)
		}
		joined = append(joined, p.Pix...)
	}
	if !bytes.Equal(joined, whole.Pix) {
		t.Error("pages joined differ from the whole picture")
	}
	// 8301 rows: three pages cut a little early, and the rest.
	if got := len(pages); got != 4 {
		t.Errorf("%d pages for %d rows", got, whole.Height)
	}

	// An A4-shaped picture is one page even though filling the 215 mm
	// width makes it 2348 rows, 2.4% over A4.
	a4, err := ToFaxPages(decodeFixture(t, "a4text.png"), o)
	if err != nil || len(a4) != 1 || a4[0].Height != 2348 {
		t.Errorf("A4 picture: %d pages, %v", len(a4), err)
	}

	// MaxPages bounds the work (3 x 2292 rows < 8301 rows).
	for _, tc := range []struct {
		max  int
		want error
	}{{2, ErrTooTall}, {3, ErrTooTall}, {4, nil}} {
		o.MaxPages = tc.max
		if _, err := ToFaxPages(img, o); !errors.Is(err, tc.want) {
			t.Errorf("MaxPages %d: %v, want %v", tc.max, err, tc.want)
		}
	}
	// Early cuts can need one page more than the rows alone; MaxPages
	// counts the pages actually made.
	o.MaxPages = 100
	found := false
	for rows := 2076; rows <= 2100 && !found; rows += 4 {
		o.PageRows = rows
		n := len(splitPage(whole, rows)) // what ToFaxPages would make
		if n <= (whole.Height+rows-1)/rows {
			continue
		}
		found = true
		o.MaxPages = n - 1
		if _, err := ToFaxPages(img, o); !errors.Is(err, ErrTooTall) {
			t.Errorf("PageRows %d: %d pages made, MaxPages %d: %v, want ErrTooTall", rows, n, n-1, err)
		}
	}
	if !found {
		t.Error("no page length in 2076..2100 made cuts cost a page")
	}

	// Paper left after the last line is no page of its own.
	top := squarePicture(1000, 5000, image.Rect(50, 10, 950, 40))
	o = opts(imaging.Fine, Auto)
	if pages, err := ToFaxPages(top, o); err != nil || len(pages) != 1 || pages[0].Height != 2292 {
		t.Errorf("one line on a long white picture: %d pages, %v", len(pages), err)
	}
}

func TestToFaxErrors(t *testing.T) {
	ok := image.NewGray(image.Rect(0, 0, 10, 10))
	for _, tc := range []struct {
		name string
		img  image.Image
		o    Options
		want error
	}{
		{"nil picture", nil, DefaultOptions(), ErrEmptyPicture},
		{"empty picture", image.NewGray(image.Rect(5, 5, 5, 9)), DefaultOptions(), ErrEmptyPicture},
		{"too tall", image.NewGray(image.Rect(0, 0, 1, 100)), DefaultOptions(), ErrTooTall},
		{"bad width", ok, Options{Width: 20000}, nil},
		{"bad resolution", ok, Options{Resolution: 9}, nil},
		{"bad mode", ok, Options{Mode: 7}, nil},
		{"bad dpi", ok, Options{SourceDPI: DPI{X: math.NaN()}}, nil},
		{"tiny dpi", ok, Options{SourceDPI: DPI{X: 1e-300}}, nil},
		{"negative pages", ok, Options{MaxPages: -1}, nil},
		{"pages over MaxRows", ok, Options{PageRows: imaging.MaxRows + 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ToFax(tc.img, tc.o)
			if err == nil {
				t.Fatalf("no error, page %dx%d", p.Width, p.Height)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSubImage: a picture whose bounds do not start at (0,0) converts as
// its own pixels.
func TestSubImage(t *testing.T) {
	big := squarePicture(800, 800, image.Rect(500, 500, 600, 600))
	sub := big.SubImage(image.Rect(400, 400, 800, 800))
	direct := squarePicture(400, 400, image.Rect(100, 100, 200, 200))
	for _, mode := range []Mode{Threshold, Dither} {
		a, err := ToFax(sub, opts(imaging.Fine, mode))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := ToFax(direct, opts(imaging.Fine, mode))
		if d := diffPages(a, b); d != "" {
			t.Errorf("%v: %s", mode, d)
		}
	}
}

// TestImageTypes: every image type gives the same page as its Gray twin.
func TestImageTypes(t *testing.T) {
	ref := squarePicture(300, 200, image.Rect(60, 40, 200, 120))
	rgba := image.NewRGBA(ref.Rect)
	nrgba := image.NewNRGBA(ref.Rect)
	g16 := image.NewGray16(ref.Rect)
	cmyk := image.NewCMYK(ref.Rect)
	ycc := image.NewYCbCr(ref.Rect, image.YCbCrSubsampleRatio444)
	for _, d := range []draw.Image{rgba, nrgba, g16, cmyk} {
		draw.Draw(d, d.Bounds(), ref, image.Point{}, draw.Src)
	}
	copy(ycc.Y, ref.Pix)
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = 128, 128
	}
	want, err := ToFax(ref, opts(imaging.Fine, Dither))
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []image.Image{rgba, nrgba, g16, cmyk, ycc} {
		got, err := ToFax(img, opts(imaging.Fine, Dither))
		if err != nil {
			t.Fatal(err)
		}
		if d := diffPages(got, want); d != "" {
			t.Errorf("%T: %s", img, d)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{Auto, Threshold, Dither} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("halftone"); err == nil {
		t.Error("ParseMode(halftone) succeeded")
	}
}

// TestCentering: a picture of known resolution narrower than the page is
// centred across and starts at the top.
func TestCentering(t *testing.T) {
	o := opts(imaging.Fine, Threshold)
	o.SourceDPI = DPI{200, 200}
	p, err := ToFax(uniformGrey(800, 600, 0), o)
	if err != nil {
		t.Fatal(err)
	}
	// 800 px at 200 dpi = 4 in = 816 px at 204 dpi, (1728-816)/2 = 456.
	if box, want := inkBox(p), image.Rect(456, 0, 1272, 588); box != want {
		t.Errorf("ink box %v, want %v", box, want)
	}
	if f := blackFraction(p, image.Rect(456, 0, 1272, 588)); f != 1 {
		t.Errorf("picture area %.4f black", f)
	}
}
