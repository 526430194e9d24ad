package faxdoc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/imaging/tiff"
)

// Options say how input files become fax pages.
type Options struct {
	// Resolution of the pages. Bilevel fax TIFF pages keep their own
	// resolution when KeepResolution is set; everything else is converted
	// to Resolution.
	Resolution     imaging.Resolution
	KeepResolution bool
	// Width of converted pictures; 0 means imaging.WidthA4. Bilevel TIFF
	// pages that already have a fax width keep it.
	Width int
	// Mode turns grey and colour into black and white.
	Mode render.Mode
	// Header is a header-line template (render.Header tokens); empty means
	// no header line.
	Header string
	// Fields fill the header template; Page and Pages are set per page.
	Fields render.HeaderFields
	// Limits bound the document's pages and pixels.
	Limits Limits
	// TempDir is where PDF and PostScript pages are rasterised ("" means
	// the system's); the Reader removes its files when it is closed.
	TempDir string
	// AllowDamaged accepts coded TIFF pages with rows that fail to decode
	// (they are concealed by repeating the row above). Without it such a
	// page is an error: a document to be sent should not carry garbage.
	AllowDamaged bool
}

// ErrDamaged means a source page has rows that fail to decode.
var ErrDamaged = errors.New("damaged coded data")

// ErrUnsupported means a file is none of the kinds Open reads (Kinds).
var ErrUnsupported = errors.New("unsupported document")

// ErrTooLarge means a document is over one of its Limits. Errors that wrap
// it may also wrap render.ErrTooLarge or tiff.ErrTooLarge.
var ErrTooLarge = errors.New("document too large")

// Limits bound the work one document may cost. Open checks them from the
// files' headers (every TIFF page's IFD, every picture's header) before
// any page is decoded or converted; a zero field takes its default.
type Limits struct {
	// Picture bounds one picture file or one TIFF page that is not a
	// bilevel fax page (it is decoded whole in memory and converted):
	// pixels and decoded memory, bit depth included.
	Picture render.Limits
	// MaxPages bounds the pages of the document; 0 means 500.
	MaxPages int
	// MaxPixels bounds the pixels of all source pages together, bilevel
	// fax pages included; 0 means 4 gigapixels (500 superfine A4 pages).
	MaxPixels int64
	// MaxTextBytes bounds a plain text file; 0 means 4 MiB (some 700
	// full pages).
	MaxTextBytes int64
}

// Default limits (see Limits).
const (
	DefaultMaxPages     = 500
	DefaultMaxPixels    = 4_000_000_000
	DefaultMaxTextBytes = 4 << 20
)

func (l Limits) normalized() Limits {
	l.Picture = l.Picture.Normalized()
	if l.MaxPages <= 0 {
		l.MaxPages = DefaultMaxPages
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultMaxTextBytes
	}
	return l
}

// tooLarge marks the limit errors of render and tiff as ErrTooLarge.
func tooLarge(err error) error {
	if errors.Is(err, render.ErrTooLarge) || errors.Is(err, tiff.ErrTooLarge) || errors.Is(err, render.ErrTooTall) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}

// ctxEvery is how many rows pass between checks of the context.
const ctxEvery = 32

// Page is one fax page of a document. It implements imaging.RowReader.
type Page struct {
	Number     int // from 1 within the document
	Width      int
	Resolution imaging.Resolution
	Source     string // the file the page comes from
	SourcePage int    // the page within that file, from 1

	rows imaging.RowReader
	ctx  context.Context
	read int // rows read, for the context checks
	// raw is the page's coded data when it can be used as it is (a CCITT
	// TIFF page taken with no rescaling and no header).
	raw          *Raw
	coded        *Raw          // raw data under a header line (band)
	band         *imaging.Page // the header line drawn over the rows
	pr           *tiff.PageReader
	allowDamaged bool
	rawStats     imaging.RowStats
}

// Raw is a page's coded data as stored in its source file.
type Raw struct {
	Data        []byte
	Compression imaging.Compression
	BitOrder    imaging.BitOrder
	AlignedEOL  bool
	Rows        int
}

// ReadRow implements imaging.RowReader.
func (p *Page) ReadRow(row []byte) error {
	if p.read++; p.read%ctxEvery == 0 {
		if err := p.ctx.Err(); err != nil {
			return p.errorf("%w", err)
		}
	}
	err := p.rows.ReadRow(row)
	if err == nil {
		return nil
	}
	if !errors.Is(err, imaging.ErrEndOfPage) {
		return p.errorf("%w", err)
	}
	if st := p.Stats(); st.BadRows > 0 && !p.allowDamaged {
		return p.errorf("%w: %d of %d rows fail to decode", ErrDamaged, st.BadRows, st.Rows)
	}
	return err
}

// Raw returns the page's coded data when it can be written without
// re-encoding, or nil. Unless damaged pages are allowed, the data is decoded
// once to check it, and a damaged page is an error.
func (p *Page) Raw() (*Raw, error) {
	if p.raw == nil || p.allowDamaged {
		return p.raw, nil
	}
	d, err := imaging.NewDecoder(bytes.NewReader(p.raw.Data), imaging.DecodeOptions{
		Compression: p.raw.Compression, Width: p.Width, BitOrder: p.raw.BitOrder, Rows: p.raw.Rows})
	if err != nil {
		return nil, p.errorf("%w", err)
	}
	row := make([]byte, imaging.RowBytes(p.Width))
	for n := 1; ; n++ {
		if n%ctxEvery == 0 {
			if err := p.ctx.Err(); err != nil {
				return nil, p.errorf("%w", err)
			}
		}
		err := d.ReadRow(row)
		if errors.Is(err, imaging.ErrEndOfPage) {
			break
		}
		if err != nil {
			return nil, p.errorf("%w", err)
		}
	}
	p.rawStats = d.Stats()
	if p.rawStats.BadRows > 0 {
		return nil, p.errorf("%w: %d of %d rows fail to decode", ErrDamaged, p.rawStats.BadRows, p.rawStats.Rows)
	}
	return p.raw, nil
}

// Coded returns the page's coded data as stored, unchecked, when it can be
// used as it is (a CCITT TIFF page taken with no rescaling) and damaged
// pages are not allowed, or nil; and the header line band that replaces
// its top rows (nil without a header). Unlike Raw it does not decode the page
// first: whoever decodes the data must refuse damaged rows itself (t30's
// transcoding does).
func (p *Page) Coded() (*Raw, *imaging.Page) {
	switch {
	case p.allowDamaged:
		return nil, nil
	case p.raw != nil:
		return p.raw, nil
	case p.coded != nil:
		return p.coded, p.band
	}
	return nil, nil
}

// Stats returns the decoder's counts for a TIFF page read so far.
func (p *Page) Stats() imaging.RowStats {
	if p.pr != nil && p.pr.Stats().Rows > 0 {
		return p.pr.Stats()
	}
	return p.rawStats
}

func (p *Page) errorf(format string, a ...any) error {
	return fmt.Errorf("%s: page %d: %w", p.Source, p.SourcePage, fmt.Errorf(format, a...))
}

// item is one page to come: a TIFF page (streamed), a converted picture,
// or a page made when it is read (typeset text, a rasterised PDF or
// PostScript page).
type item struct {
	file    string
	index   int // page within the file, from 0
	tiff    *tiff.Reader
	picture *imaging.Page
	make    func() (*imaging.Page, error)
}

// Reader yields the pages of a document made of one or more files.
type Reader struct {
	o      Options
	ctx    context.Context
	items  []item
	files  []*os.File
	tmp    []string // directories to remove at Close
	next   int
	pixels int64 // source pixels of the pages so far
}

// Open opens the input files in order. Pictures are decoded and converted
// here (they are one page or a few); TIFF files are only parsed, and their
// pages decode as they are read. Options.Limits are checked here, from
// the headers of every page, before any page is decoded: a document over
// them fails with ErrTooLarge.
func Open(paths []string, o Options) (*Reader, error) {
	return OpenContext(context.Background(), paths, o)
}

// OpenContext is Open for a conversion that stops when ctx ends: the
// pictures converted here and every page read from the Reader check ctx
// every few dozen rows and fail with its error (give ctx a deadline to
// bound a conversion's time).
func OpenContext(ctx context.Context, paths []string, o Options) (*Reader, error) {
	o.Limits = o.Limits.normalized()
	if o.Width == 0 {
		// A4 at the resolution: twice as many pixels at ultrafine.
		xdpi, _ := o.Resolution.DPI()
		o.Width = int(imaging.WidthA4 * xdpi / 204)
	}
	if o.Fields.Time.IsZero() {
		o.Fields.Time = time.Now()
	}
	r := &Reader{o: o, ctx: ctx}
	for _, path := range paths {
		if err := r.add(path); err != nil {
			r.Close()
			return nil, err
		}
	}
	if len(r.items) == 0 {
		r.Close()
		return nil, fmt.Errorf("faxdoc: %w: no pages", ErrBroken)
	}
	return r, nil
}

func (r *Reader) add(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if st.IsDir() {
		f.Close()
		return fmt.Errorf("%s: is a directory", path)
	}
	head := make([]byte, SniffLen)
	n, _ := io.ReadFull(f, head)
	kind := Sniff(head[:n])
	switch {
	case n == 0:
		f.Close()
		return fmt.Errorf("%s: %w: the file is empty", path, ErrBroken)
	case kind == KindUnknown:
		f.Close()
		return fmt.Errorf("%s: %w: want %s", path, ErrUnsupported, Kinds)
	case kind == KindPDF, kind == KindPostScript:
		f.Close()
		return r.addRaster(path, kind)
	case kind == KindText:
		defer f.Close()
		return r.addText(path, f)
	}
	if kind == KindTIFF {
		t, err := tiff.Open(f, st.Size())
		if err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", path, tooLarge(err))
		}
		r.files = append(r.files, f)
		if err := r.checkTIFF(path, t); err != nil {
			return err
		}
		for i := 0; i < t.NumPages(); i++ {
			r.items = append(r.items, item{file: path, index: i, tiff: t})
		}
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	img, err := render.DecodeContext(r.ctx, f, filepath.Base(path), r.o.Limits.Picture)
	if err != nil {
		return fmt.Errorf("%s: %w", path, tooLarge(err))
	}
	b := img.Bounds()
	if err := r.addPixels(path, 1, b.Dx(), b.Dy()); err != nil {
		return err
	}
	o := r.renderOptions()
	o.SourceDPI = render.PictureDPI(head[:n])
	if o.SourceDPI.X == 0 {
		o.SourceDPI = DefaultPictureDPI
	}
	pages, err := render.ToFaxPagesContext(r.ctx, img, o)
	if err != nil {
		return fmt.Errorf("%s: %w", path, tooLarge(err))
	}
	for i, p := range pages {
		pages[i] = fullPage(p)
	}
	if len(r.items)+len(pages) > r.o.Limits.MaxPages {
		return fmt.Errorf("%s: %w: more than %d pages", path, ErrTooLarge, r.o.Limits.MaxPages)
	}
	for i, p := range pages {
		r.items = append(r.items, item{file: path, index: i, picture: p})
	}
	return nil
}

// checkTIFF counts a TIFF file's pages and checks every page's size from
// its IFD against the limits, before any is decoded.
func (r *Reader) checkTIFF(path string, t *tiff.Reader) error {
	lim := r.o.Limits
	if len(r.items)+t.NumPages() > lim.MaxPages {
		return fmt.Errorf("%s: %w: %d pages, more than %d", path, ErrTooLarge, len(r.items)+t.NumPages(), lim.MaxPages)
	}
	for i := 0; i < t.NumPages(); i++ {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		pr, err := t.Page(i)
		if err != nil {
			return fmt.Errorf("%s: page %d: %w", path, i+1, tooLarge(err))
		}
		in := pr.Info()
		if !in.Bilevel || !faxWidth(in.Width) {
			// Decoded whole and converted (openTIFFPage).
			if err := lim.Picture.Check(in.Width, in.Height, tiffBytesPerPixel(in)); err != nil {
				return fmt.Errorf("%s: page %d: %w", path, i+1, tooLarge(err))
			}
		}
		if err := r.addPixels(path, i+1, in.Width, in.Height); err != nil {
			return err
		}
	}
	return nil
}

// tiffBytesPerPixel is the memory a pixel of a page takes in the image
// tiff.PageReader.Image returns.
func tiffBytesPerPixel(in tiff.PageInfo) int {
	switch {
	case in.SamplesPerPixel >= 3:
		return 4 * max(1, in.BitsPerSample/8)
	case in.BitsPerSample == 16:
		return 2
	}
	return 1
}

// addPixels counts a source page's pixels against the document budget.
func (r *Reader) addPixels(path string, page, w, h int) error {
	r.pixels += int64(w) * int64(h)
	if max := r.o.Limits.MaxPixels; r.pixels > max {
		return fmt.Errorf("%s: page %d: %w: the pages so far have %d pixels, over the document budget of %d",
			path, page, ErrTooLarge, r.pixels, max)
	}
	return nil
}

func (r *Reader) renderOptions() render.Options {
	return render.Options{Width: r.o.Width, Resolution: r.o.Resolution, Mode: r.o.Mode}
}

// Pages returns the number of pages in the document.
func (r *Reader) Pages() int { return len(r.items) }

// Next returns the next page, or io.EOF after the last. A page must be read
// (or abandoned) before the next is asked for.
func (r *Reader) Next() (*Page, error) {
	if r.next >= len(r.items) {
		return nil, io.EOF
	}
	p, err := r.Page(r.next)
	r.next++
	return p, err
}

// Page returns page i (from 0) of the document, in any order and as often
// as asked, without reading the pages before it: a TIFF page is found
// through its IFD in the open file, a picture page is kept converted, a
// text, PDF or PostScript page is made again. As with Next, a page must be
// read (or abandoned) before another is asked for.
func (r *Reader) Page(i int) (*Page, error) {
	if i < 0 || i >= len(r.items) {
		return nil, fmt.Errorf("faxdoc: no page %d (the document has %d)", i+1, len(r.items))
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	it := r.items[i]
	p := &Page{Number: i + 1, Source: it.file, SourcePage: it.index + 1, allowDamaged: r.o.AllowDamaged, ctx: r.ctx}
	if it.make != nil {
		pg, err := it.make()
		if err != nil {
			return nil, p.errorf("%w", tooLarge(err))
		}
		it.picture = pg
	}
	if it.picture != nil {
		p.Width, p.Resolution = it.picture.Width, it.picture.Resolution
		p.rows = it.picture.Rows()
	} else if err := r.openTIFFPage(p, it); err != nil {
		return nil, err
	}
	if r.o.Header != "" {
		f := r.o.Fields
		f.Page, f.Pages = p.Number, len(r.items)
		band := render.HeaderRows(render.Header(r.o.Header, f), p.Width, p.Resolution)
		p.rows = render.OverlayReader(p.rows, band)
		p.coded, p.band, p.raw = p.raw, band, nil
	}
	return p, nil
}

// faxWidth: the T.4 widths at 8 pixels/mm, and twice them (ultrafine).
func faxWidth(w int) bool {
	for _, f := range []int{imaging.WidthA4, imaging.WidthB4, imaging.WidthA3} {
		if w == f || w == 2*f {
			return true
		}
	}
	return false
}

func (r *Reader) openTIFFPage(p *Page, it item) error {
	pr, err := it.tiff.Page(it.index)
	if err != nil {
		return p.errorf("%w", err)
	}
	info := pr.Info()
	if info.Height > imaging.MaxRows {
		return p.errorf("%d rows is longer than any fax page (at most %d)", info.Height, imaging.MaxRows)
	}
	if !info.Bilevel || !faxWidth(info.Width) {
		// Not a fax page: convert the picture.
		img, err := pr.Image()
		if err != nil {
			return p.errorf("%w", err)
		}
		o := r.renderOptions()
		if info.XDPI > 0 {
			o.SourceDPI = render.DPI{X: info.XDPI, Y: info.YDPI}
		}
		fp, err := render.ToFaxContext(r.ctx, img, o)
		if err != nil {
			return p.errorf("%w", tooLarge(err))
		}
		p.Width, p.Resolution, p.rows = fp.Width, fp.Resolution, fp.Rows()
		return nil
	}
	p.pr = pr
	p.Width = info.Width
	p.Resolution = info.Resolution
	p.rows = pr
	target := p.Resolution
	if !r.o.KeepResolution {
		target = r.o.Resolution
	}
	if target != p.Resolution {
		// Rows first (at the source width), then columns: ultrafine is
		// twice as many pixels across as the others.
		p.rows = imaging.RescaleRows(pr, info.Width, p.Resolution, target)
		fx, _ := p.Resolution.DPI()
		tx, _ := target.DPI()
		if w := int(float64(info.Width) * tx / fx); w != info.Width {
			p.rows = imaging.RescaleWidth(p.rows, info.Width, w)
			p.Width = w
		}
		p.Resolution = target
		return nil
	}
	if data, comp, order, ok := pr.RawCCITT(); ok {
		p.raw = &Raw{Data: data, Compression: comp, BitOrder: order, AlignedEOL: pr.AlignedEOL(), Rows: info.Height}
	}
	return nil
}

// Close releases the input files and removes the rasterised pages.
func (r *Reader) Close() error {
	for _, f := range r.files {
		f.Close()
	}
	r.files = nil
	for _, d := range r.tmp {
		os.RemoveAll(d)
	}
	r.tmp = nil
	return nil
}
