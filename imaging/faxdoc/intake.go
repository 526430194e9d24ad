package faxdoc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/render"
)

// DefaultPictureDPI is the resolution of a picture whose file names none:
// one picture pixel per fax pixel across at fine resolution, so a small
// picture (a logo, a screenshot) keeps its size on the page instead of
// being blown up to the page width.
var DefaultPictureDPI = render.DPI{X: 204, Y: 204}

// fullPage returns p lengthened with white paper to an A4 page when it is
// shorter: a picture is placed at the top of a page, not sent as a strip.
func fullPage(p *imaging.Page) *imaging.Page {
	rows := render.A4Rows(p.Resolution)
	if p.Height >= rows {
		return p
	}
	full := imaging.NewPage(p.Width, rows, p.Resolution)
	copy(full.Pix, p.Pix)
	return full
}

// supersample is how many times the page width a PDF or PostScript page
// is rendered at so that the rows of a tall resolution have detail of
// their own (2 at superfine, whose rows are twice as dense as its
// columns).
func supersample(res imaging.Resolution) int {
	x, y := res.DPI()
	return max(1, int(math.Round(y/x)))
}

// addRaster rasterises a PDF or PostScript file and adds its pages, each
// converted when it is read.
func (r *Reader) addRaster(path string, kind Kind) error {
	dir, err := os.MkdirTemp(r.o.TempDir, "faxdoc-*")
	if err != nil {
		return err
	}
	r.tmp = append(r.tmp, dir)
	left := r.o.Limits.MaxPages - len(r.items)
	if left <= 0 {
		return fmt.Errorf("%s: %w: more than %d pages", path, ErrTooLarge, r.o.Limits.MaxPages)
	}
	ss := supersample(r.o.Resolution)
	var files []string
	if kind == KindPDF {
		files, err = rasterisePDF(r.ctx, path, dir, r.o.Width, ss, left)
	} else {
		files, err = rasterisePS(r.ctx, path, dir, r.o.Width, ss, left, r.o.Limits.Picture.MaxMemory)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, tooLarge(err))
	}
	for i, file := range files {
		// Counted at A4 size: the page is rendered at the fax width.
		if err := r.addPixels(path, i+1, r.o.Width*ss, render.A4Rows(r.o.Resolution)*ss); err != nil {
			return err
		}
		r.items = append(r.items, item{file: path, index: i, make: func() (*imaging.Page, error) {
			return r.rasterPage(file)
		}})
	}
	return nil
}

// rasterPage converts one rasterised page: it fills the page width.
func (r *Reader) rasterPage(file string) (*imaging.Page, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := render.DecodeContext(r.ctx, f, filepath.Base(file), r.o.Limits.Picture)
	if err != nil {
		return nil, err
	}
	return render.ToFaxContext(r.ctx, img, r.renderOptions())
}

// addText lays out a UTF-8 text file and adds its pages, each typeset
// when it is read.
func (r *Reader) addText(path string, f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	max := r.o.Limits.MaxTextBytes
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > max {
		return fmt.Errorf("%s: %w: text longer than %d bytes", path, ErrTooLarge, max)
	}
	t, err := render.LayoutText(b, render.TextOptions{Width: r.o.Width, Resolution: r.o.Resolution,
		MaxPages: r.o.Limits.MaxPages - len(r.items)})
	if err != nil {
		if errors.Is(err, render.ErrNotText) {
			return fmt.Errorf("%s: %w: %w", path, ErrBroken, err)
		}
		return fmt.Errorf("%s: %w", path, tooLarge(err))
	}
	for i := 0; i < t.Pages(); i++ {
		if err := r.addPixels(path, i+1, r.o.Width, render.A4Rows(r.o.Resolution)); err != nil {
			return err
		}
		r.items = append(r.items, item{file: path, index: i, make: func() (*imaging.Page, error) {
			return t.Page(r.ctx, i)
		}})
	}
	return nil
}

// Copy writes r's pages to w in order, leaving out those keep refuses (by
// their number, from 1; nil keeps all). On an error w is left open: the
// caller aborts it.
func Copy(w *Writer, r *Reader, keep func(n int) bool) error {
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if keep != nil && !keep(p.Number) {
			continue
		}
		if err := w.WritePage(p); err != nil {
			return err
		}
	}
}

// Convert reads the input files as one document (any kind Open reads)
// and writes it to out (format by extension, see Create), decoding every
// page: a file that does not open or read is refused, and out is then
// not created. It returns the number of pages written.
func Convert(ctx context.Context, paths []string, o Options, out string, wo WriteOptions) (int, error) {
	doc, err := OpenContext(ctx, paths, o)
	if err != nil {
		return 0, err
	}
	defer doc.Close()
	w, err := Create(out, wo)
	if err != nil {
		return 0, err
	}
	if err := Copy(w, doc, nil); err != nil {
		w.Abort()
		return 0, err
	}
	n := w.Pages()
	return n, w.Close()
}
