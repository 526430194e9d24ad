package render

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/bits"

	"golang.org/x/image/draw"

	"github.com/faxagent/faxagent/imaging"
)

// Mode selects how grey is turned into black and white.
type Mode int

const (
	// Auto picks Threshold when the grey histogram is almost all
	// near-black and near-white (text, line art, scans of documents) and
	// Dither otherwise (photographs, gradients).
	Auto Mode = iota
	// Threshold paints a pixel black when its grey level is below
	// Options.Threshold.
	Threshold
	// Dither diffuses the quantisation error (Floyd–Steinberg, serpentine
	// scan) so that grey areas keep their average brightness.
	Dither
)

func (m Mode) String() string {
	switch m {
	case Auto:
		return "auto"
	case Threshold:
		return "threshold"
	case Dither:
		return "dither"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode accepts the names String returns.
func ParseMode(s string) (Mode, error) {
	for m := Auto; m <= Dither; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("render: unknown mode %q (want auto, threshold or dither)", s)
}

// DPI is a picture's resolution in dots per inch.
type DPI struct{ X, Y float64 }

// Options control ToFax and ToFaxPages. The zero value is usable: A4
// width, standard resolution (imaging.Standard is the zero Resolution),
// automatic mode, threshold 128, picture filling the page width.
// DefaultOptions returns the recommended fine-resolution setting.
type Options struct {
	// Width is the page width in fax pixels; 0 means A4: imaging.WidthA4
	// (1728) at 204 dpi across, twice that at ultrafine's 408 dpi.
	Width int
	// Resolution of the page. Its zero value is imaging.Standard; use
	// DefaultOptions for imaging.Fine.
	Resolution imaging.Resolution
	// Mode chooses thresholding or dithering.
	Mode Mode
	// Threshold is the grey level (0–255) below which a pixel is black;
	// 0 means 128. Dithering uses it as its decision level too.
	Threshold uint8
	// SourceDPI is the picture's resolution. When X is 0 the picture is
	// assumed to fill the page width. When it is set, the picture keeps
	// its physical size (scaled down only if wider than the page) and is
	// centred horizontally; Y 0 means the same as X. A picture already
	// rasterised for fax passes through unscaled when SourceDPI equals
	// Resolution.DPI().
	SourceDPI DPI
	// PageRows is the length of one page for ToFaxPages in rows; 0 means
	// A4 (297 mm) at the resolution: 1146 standard, 2292 fine, 4572
	// superfine rows.
	PageRows int
	// MaxPages bounds the pages ToFaxPages produces; 0 means 64.
	MaxPages int
}

// DefaultOptions returns A4 width (Width 0), fine resolution, automatic
// mode.
func DefaultOptions() Options {
	return Options{Resolution: imaging.Fine, Mode: Auto, Threshold: 128}
}

// ErrTooTall is returned when the converted picture would be longer than
// the row bound (imaging.MaxRows for ToFax, MaxPages pages for ToFaxPages).
var ErrTooTall = errors.New("render: converted picture too long")

// ErrEmptyPicture is returned for a picture with no pixels.
var ErrEmptyPicture = errors.New("render: empty picture")

const (
	defaultThreshold = 128
	defaultMaxPages  = 64
	a4LengthInches   = 297 / 25.4
	stripRows        = 64 // rows scaled per draw call
)

// A4Rows is the length of an A4 page (297 mm) in rows at res.
func A4Rows(res imaging.Resolution) int {
	_, ydpi := res.DPI()
	return int(math.Round(a4LengthInches * ydpi))
}

// normalized returns o with defaults filled in, or an error.
func (o Options) normalized() (Options, error) {
	if o.Resolution < imaging.Standard || o.Resolution > imaging.Ultrafine {
		return o, fmt.Errorf("render: invalid resolution %v", o.Resolution)
	}
	if o.Width == 0 {
		xdpi, _ := o.Resolution.DPI()
		o.Width = int(imaging.WidthA4 * xdpi / 204)
	}
	if !imaging.ValidWidth(o.Width) {
		return o, fmt.Errorf("render: invalid page width %d", o.Width)
	}
	if o.Mode < Auto || o.Mode > Dither {
		return o, fmt.Errorf("render: invalid mode %v", o.Mode)
	}
	if o.Threshold == 0 {
		o.Threshold = defaultThreshold
	}
	// 0 (unknown) or a plausible resolution; this also keeps the size
	// arithmetic finite.
	bad := func(v float64) bool { return v != 0 && !(v >= 1 && v <= 1e6) }
	if bad(o.SourceDPI.X) || bad(o.SourceDPI.Y) {
		return o, fmt.Errorf("render: invalid source resolution %vx%v dpi", o.SourceDPI.X, o.SourceDPI.Y)
	}
	if o.SourceDPI.Y == 0 {
		o.SourceDPI.Y = o.SourceDPI.X
	}
	if o.SourceDPI.X == 0 {
		o.SourceDPI.Y = 0
	}
	if o.PageRows < 0 || o.PageRows > imaging.MaxRows || o.MaxPages < 0 {
		return o, fmt.Errorf("render: invalid page bounds %d rows, %d pages", o.PageRows, o.MaxPages)
	}
	if o.PageRows == 0 {
		o.PageRows = A4Rows(o.Resolution)
	}
	if o.MaxPages == 0 {
		o.MaxPages = defaultMaxPages
	}
	return o, nil
}

// targetSize is the size in fax pixels the picture is scaled to.
func targetSize(sw, sh int, o Options) (w, h int) {
	xdpi, ydpi := o.Resolution.DPI()
	var fw, fh float64
	if o.SourceDPI.X > 0 {
		fw = float64(sw) * xdpi / o.SourceDPI.X
		fh = float64(sh) * ydpi / o.SourceDPI.Y
		if fw > float64(o.Width) {
			fh *= float64(o.Width) / fw
			fw = float64(o.Width)
		}
	} else {
		fw = float64(o.Width)
		fh = float64(sh) * float64(o.Width) / float64(sw) * ydpi / xdpi
	}
	w = int(math.Round(fw))
	w = max(1, min(w, o.Width))
	// Clamp before converting: a hostile aspect ratio must not overflow.
	fh = math.Round(fh)
	if fh > math.MaxInt32 {
		fh = math.MaxInt32
	}
	h = max(1, int(fh))
	return w, h
}

// ToFax converts a picture to one fax page (see Options). The page is at
// most imaging.MaxRows long; longer pictures fail with ErrTooTall (use
// ToFaxPages).
func ToFax(img image.Image, o Options) (*imaging.Page, error) {
	return ToFaxContext(context.Background(), img, o)
}

// ToFaxContext is ToFax that stops with ctx's error when ctx ends (checked
// every few dozen rows).
func ToFaxContext(ctx context.Context, img image.Image, o Options) (*imaging.Page, error) {
	o, err := o.normalized()
	if err != nil {
		return nil, err
	}
	return render(ctx, img, o, imaging.MaxRows)
}

// ToFaxPages converts a picture to as many pages as its length needs, each
// at most Options.PageRows long (A4 by default). A picture up to 1/16
// longer than a page stays on one slightly long page (T.4 pages have no
// fixed length), so an A4-shaped picture filling the 215 mm fax width is
// one page. Longer pictures are cut at the whitest row (preferably an
// all-white one) among the last eighth of each page so that a cut rarely
// goes through a line of text. Trailing pages of only white paper are
// dropped.
func ToFaxPages(img image.Image, o Options) ([]*imaging.Page, error) {
	return ToFaxPagesContext(context.Background(), img, o)
}

// ToFaxPagesContext is ToFaxPages that stops with ctx's error when ctx
// ends (checked every few dozen rows).
func ToFaxPagesContext(ctx context.Context, img image.Image, o Options) ([]*imaging.Page, error) {
	o, err := o.normalized()
	if err != nil {
		return nil, err
	}
	maxRows := int(min(int64(o.MaxPages)*int64(o.PageRows), math.MaxInt32))
	p, err := render(ctx, img, o, maxRows)
	if err != nil {
		return nil, err
	}
	pages := splitPage(p, o.PageRows)
	if len(pages) > o.MaxPages { // cuts at white rows came early
		return nil, fmt.Errorf("%w: %d rows need %d pages, over the bound of %d", ErrTooTall, p.Height, len(pages), o.MaxPages)
	}
	return pages, nil
}

// splitPage cuts p into pages of at most pageRows rows (see ToFaxPages).
// The pages share p's memory.
func splitPage(p *imaging.Page, pageRows int) []*imaging.Page {
	if p.Height <= pageRows+pageRows/16 {
		return []*imaging.Page{p}
	}
	stride := p.Stride()
	var pages []*imaging.Page
	y := 0
	for y < p.Height {
		end := p.Height
		if p.Height-y > pageRows {
			end = cutRow(p, y+pageRows, pageRows/8, y)
		}
		pages = append(pages, &imaging.Page{
			Width: p.Width, Height: end - y, Resolution: p.Resolution,
			Pix: p.Pix[y*stride : end*stride : end*stride],
		})
		y = end
	}
	// Pages of nothing but paper at the end are no pages.
	for len(pages) > 1 && allWhite(pages[len(pages)-1]) {
		pages = pages[:len(pages)-1]
	}
	return pages
}

// cutRow picks the row to start the next page at: the last all-white row
// in (limit-window, limit], else the row there with the fewest black
// pixels, else limit. It never returns a row at or before lo.
func cutRow(p *imaging.Page, limit, window, lo int) int {
	best, bestBlack := limit, -1
	for y := limit; y > limit-window && y > lo; y-- {
		n := blackCount(p.Row(y))
		if n == 0 {
			return y
		}
		if bestBlack < 0 || n < bestBlack {
			best, bestBlack = y, n
		}
	}
	return best
}

func blackCount(row []byte) int {
	n := 0
	for _, b := range row {
		n += bits.OnesCount8(b)
	}
	return n
}

func allWhite(p *imaging.Page) bool {
	for _, b := range p.Pix {
		if b != 0 {
			return false
		}
	}
	return true
}

// render is ToFax with a row bound. o is normalized.
func render(ctx context.Context, img image.Image, o Options, maxRows int) (*imaging.Page, error) {
	if img == nil {
		return nil, ErrEmptyPicture
	}
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if sw <= 0 || sh <= 0 {
		return nil, ErrEmptyPicture
	}
	tw, th := targetSize(sw, sh, o)
	if th > maxRows {
		return nil, fmt.Errorf("%w: %dx%d picture becomes %d rows at %v, over the bound of %d",
			ErrTooTall, sw, sh, th, o.Resolution, maxRows)
	}
	page := imaging.NewPage(o.Width, th, o.Resolution)
	xoff := (o.Width - tw) / 2

	// Bilevel fast path: one-to-one, no grey image, no histogram.
	if tw == sw && th == sh {
		if lut, ok := bilevelLUT(img, o.Threshold); ok {
			copyBilevel(page, xoff, img.(*image.Paletted), lut)
			return page, nil
		}
	}

	// Grey (and reduced by whole factors when shrinking a lot), with the
	// histogram of the picture's own grey levels.
	fx, fy := max(1, sw/tw), max(1, sh/th)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, hist := greyReduce(img, fx, fy)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mode := o.Mode
	if mode == Auto {
		mode = chooseMode(&hist)
	}
	bin := newBinarizer(tw, mode, o.Threshold)

	if g.Rect.Dx() == tw && g.Rect.Dy() == th {
		for y := 0; y < th; y++ {
			if y%stripRows == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			bin.row(g.Pix[y*g.Stride:y*g.Stride+tw], page.Row(y), xoff)
		}
		return page, nil
	}
	// x/image/draw's approximate bilinear scaler: after the whole-factor
	// area reduction the remaining factor is below 2, where bilinear
	// does not alias; it has a Gray->RGBA fast path, needs no temporary
	// buffer and can fill the destination strip by strip (draw clips to
	// the strip's bounds). CatmullRom would allocate a dw x sh x 32-byte
	// buffer per call (78 MB for a 1000x1414 picture) and its extra
	// sharpness is lost at one bit per pixel.
	dr := image.Rect(0, 0, tw, th)
	strip := image.NewRGBA(image.Rect(0, 0, tw, min(stripRows, th)))
	grey := make([]byte, tw)
	for y0 := 0; y0 < th; y0 += stripRows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		y1 := min(y0+stripRows, th)
		strip.Rect = image.Rect(0, y0, tw, y1)
		draw.ApproxBiLinear.Scale(strip, dr, g, g.Rect, draw.Src, nil)
		for y := y0; y < y1; y++ {
			src := strip.Pix[(y-y0)*strip.Stride:]
			for x := range grey {
				grey[x] = src[4*x] // R == G == B for a grey source
			}
			bin.row(grey, page.Row(y), xoff)
		}
	}
	return page, nil
}

// chooseMode looks at the grey histogram: when at most 12% of the pixels
// are mid-tones (48 < v < 208) the picture is text or line art.
func chooseMode(hist *[256]uint64) Mode {
	var total, mid uint64
	for v, n := range hist {
		total += n
		if v > 48 && v < 208 {
			mid += n
		}
	}
	if total == 0 || mid*100 <= total*12 {
		return Threshold
	}
	return Dither
}

// binarizer turns grey rows into packed bilevel rows, keeping the
// diffusion error between rows.
type binarizer struct {
	mode      Mode
	threshold int32
	cur, next []int32 // error for this row and the next, offset by 1
	y         int
}

func newBinarizer(width int, mode Mode, threshold uint8) *binarizer {
	b := &binarizer{mode: mode, threshold: int32(threshold)}
	if mode == Dither {
		b.cur = make([]int32, width+2)
		b.next = make([]int32, width+2)
	}
	return b
}

// row binarises grey into dst (a white packed row) starting at pixel xoff.
func (b *binarizer) row(grey []byte, dst []byte, xoff int) {
	if b.mode != Dither {
		t := byte(b.threshold)
		for x, v := range grey {
			if v < t {
				px := x + xoff
				dst[px>>3] |= 0x80 >> uint(px&7)
			}
		}
		return
	}
	b.dither(grey, dst, xoff)
}

// dither is Floyd–Steinberg with serpentine scanning. Errors are kept in
// 1/16 grey levels; the last share takes the rounding remainder so no
// error is lost.
func (b *binarizer) dither(grey, dst []byte, xoff int) {
	cur, next := b.cur, b.next // index x+1 is pixel x
	clear(next)
	t := b.threshold * 16
	w := len(grey)
	if b.y&1 == 0 {
		for x := 0; x < w; x++ {
			v := int32(grey[x])*16 + cur[x+1]
			e := v - 255*16
			if v < t {
				px := x + xoff
				dst[px>>3] |= 0x80 >> uint(px&7)
				e = v
			}
			e7, e3, e5 := e*7>>4, e*3>>4, e*5>>4
			cur[x+2] += e7
			next[x] += e3
			next[x+1] += e5
			next[x+2] += e - e7 - e3 - e5
		}
	} else {
		for x := w - 1; x >= 0; x-- {
			v := int32(grey[x])*16 + cur[x+1]
			e := v - 255*16
			if v < t {
				px := x + xoff
				dst[px>>3] |= 0x80 >> uint(px&7)
				e = v
			}
			e7, e3, e5 := e*7>>4, e*3>>4, e*5>>4
			cur[x] += e7
			next[x+2] += e3
			next[x+1] += e5
			next[x] += e - e7 - e3 - e5
		}
	}
	b.cur, b.next = next, cur
	b.y++
}

// bilevelLUT reports whether img is a palette picture of at most two
// colours, and which palette indexes are black.
func bilevelLUT(img image.Image, threshold uint8) (lut [256]bool, ok bool) {
	p, isPal := img.(*image.Paletted)
	if !isPal || len(p.Palette) > 2 {
		return lut, false
	}
	for i, c := range p.Palette {
		lut[i] = lumaOverWhite(c) < threshold
	}
	return lut, true
}

func copyBilevel(page *imaging.Page, xoff int, p *image.Paletted, black [256]bool) {
	w, h := p.Rect.Dx(), p.Rect.Dy()
	for y := 0; y < h; y++ {
		src := p.Pix[y*p.Stride : y*p.Stride+w]
		dst := page.Row(y)
		for x, idx := range src {
			if black[idx] {
				px := x + xoff
				dst[px>>3] |= 0x80 >> uint(px&7)
			}
		}
	}
}
