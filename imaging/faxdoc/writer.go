package faxdoc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/pdf"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/imaging/tiff"
)

// Format is an output file format.
type Format int

const (
	TIFF Format = iota + 1
	PDF
	PBM
	PNG
)

// FormatOf picks the output format from a file name's extension.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".tif", ".tiff":
		return TIFF, nil
	case ".pdf":
		return PDF, nil
	case ".pbm":
		return PBM, nil
	case ".png":
		return PNG, nil
	}
	return 0, fmt.Errorf("%s: unknown output format (want .tif, .tiff, .pdf, .pbm or .png)", path)
}

// WriteOptions say how pages are coded in the output.
type WriteOptions struct {
	// Compression of TIFF pages and of the CCITT images in a PDF; 0 means
	// MMR for PDF and MH for TIFF (the most widely read TIFF-F coding).
	Compression imaging.Compression
	Software    string
}

// Writer writes a document to a file. Nothing appears under the file's name
// until Close succeeds.
type Writer struct {
	path   string
	format Format
	o      WriteOptions
	tmp    *os.File
	tw     *tiff.Writer
	pw     *pdf.Writer
	pages  int
	buf    bytes.Buffer
	enc    *imaging.Encoder
}

// Create starts a document at path, in the format its extension names.
func Create(path string, o WriteOptions) (*Writer, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, err
	}
	if o.Compression == 0 {
		o.Compression = imaging.MH
		if format == PDF {
			o.Compression = imaging.MMR
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return nil, err
	}
	w := &Writer{path: path, format: format, o: o, tmp: tmp}
	switch format {
	case TIFF:
		w.tw = tiff.NewWriter(tmp, tiff.WriterOptions{Compression: o.Compression, Software: o.Software})
	case PDF:
		w.pw = pdf.NewWriter(tmp)
	}
	return w, nil
}

// WritePage reads p to its end and writes it.
func (w *Writer) WritePage(p *Page) error {
	if err := w.writePage(p); err != nil {
		if errors.Is(err, imaging.ErrEndOfPage) {
			err = p.errorf("no rows")
		}
		return err
	}
	w.pages++
	return nil
}

func (w *Writer) writePage(p *Page) error {
	switch w.format {
	case TIFF:
		raw, err := p.Raw()
		if err != nil {
			return err
		}
		if raw != nil {
			return w.writeTIFFRaw(p, raw)
		}
		pw, err := w.tw.NewPage(tiff.PageSpec{Width: p.Width, Resolution: p.Resolution})
		if err != nil {
			return p.errorf("%w", err)
		}
		if err := copyRows(pw, p); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return p.errorf("%w", err)
		}
		return nil
	case PDF:
		data, comp, order, aligned, rows, err := w.coded(p)
		if err != nil {
			return err
		}
		if err := w.pw.AddPage(data, comp, order, p.Width, rows, p.Resolution, aligned); err != nil {
			return p.errorf("%w", err)
		}
		return nil
	case PBM, PNG:
		if w.format == PNG && w.pages > 0 {
			return fmt.Errorf("%s: a PNG file holds one page; write .tif or .pdf for a document of several pages", w.path)
		}
		page, err := imaging.ReadPage(p, p.Width, p.Resolution, 0)
		if err != nil {
			return p.errorf("%w", err)
		}
		if page.Height == 0 {
			return imaging.ErrEndOfPage
		}
		if w.format == PBM {
			return render.EncodePBM(w.tmp, page) // netpbm: images concatenate
		}
		return render.EncodePNG(w.tmp, page)
	}
	return nil
}

// writeTIFFRaw writes coded data as it is when it already has the wanted
// compression, and transcodes it without expanding rows otherwise.
func (w *Writer) writeTIFFRaw(p *Page, raw *Raw) error {
	spec := tiff.PageSpec{Width: p.Width, Resolution: p.Resolution, Rows: raw.Rows, AlignedEOL: raw.AlignedEOL}
	if raw.Compression == w.o.Compression {
		if err := w.tw.WriteCoded(spec, raw.Data, raw.Compression, raw.BitOrder, p.Stats()); err != nil {
			return p.errorf("%w", err)
		}
		return nil
	}
	w.buf.Reset()
	stats, err := imaging.Transcode(&w.buf, bytes.NewReader(raw.Data),
		imaging.DecodeOptions{Compression: raw.Compression, Width: p.Width, BitOrder: raw.BitOrder, Rows: raw.Rows},
		imaging.EncodeOptions{Compression: w.o.Compression, Width: p.Width, K: p.Resolution.K(), AlignEOL: true, NoRTC: true})
	if err != nil {
		return p.errorf("%w", err)
	}
	spec.AlignedEOL = w.o.Compression != imaging.MMR
	spec.Rows = stats.Rows
	if err := w.tw.WriteCoded(spec, w.buf.Bytes(), w.o.Compression, imaging.MSBFirst, stats); err != nil {
		return p.errorf("%w", err)
	}
	return nil
}

// coded returns the page's data in the writer's compression: as it is when
// it already fits, otherwise encoded from its rows.
func (w *Writer) coded(p *Page) (data []byte, comp imaging.Compression, order imaging.BitOrder, aligned bool, rows int, err error) {
	raw, err := p.Raw()
	if err != nil {
		return nil, 0, 0, false, 0, err
	}
	if raw != nil && raw.Compression == w.o.Compression {
		return raw.Data, raw.Compression, raw.BitOrder, raw.AlignedEOL, raw.Rows, nil
	}
	w.buf.Reset()
	eo := imaging.EncodeOptions{Compression: w.o.Compression, Width: p.Width, K: p.Resolution.K(), AlignEOL: true}
	w.enc, err = imaging.NewEncoder(&w.buf, eo)
	if err != nil {
		return nil, 0, 0, false, 0, p.errorf("%w", err)
	}
	if err := copyRows(w.enc, p); err != nil {
		return nil, 0, 0, false, 0, err
	}
	if err := w.enc.Close(); err != nil {
		return nil, 0, 0, false, 0, p.errorf("%w", err)
	}
	if w.enc.Rows() == 0 {
		return nil, 0, 0, false, 0, imaging.ErrEndOfPage
	}
	return w.buf.Bytes(), w.o.Compression, imaging.MSBFirst, w.o.Compression != imaging.MMR, w.enc.Rows(), nil
}

func copyRows(dst imaging.RowWriter, p *Page) error {
	row := make([]byte, imaging.RowBytes(p.Width))
	n := 0
	for {
		err := p.ReadRow(row)
		if errors.Is(err, imaging.ErrEndOfPage) {
			if n == 0 {
				return imaging.ErrEndOfPage
			}
			return nil
		}
		if err != nil {
			return err
		}
		if n++; n > imaging.MaxRows {
			return p.errorf("longer than %d rows", imaging.MaxRows)
		}
		if err := dst.WriteRow(row); err != nil {
			return p.errorf("%w", err)
		}
	}
}

// Pages returns the pages written so far.
func (w *Writer) Pages() int { return w.pages }

// Close finishes the document and moves it to its name.
func (w *Writer) Close() error {
	if w.tmp == nil {
		return errors.New("faxdoc: writer closed")
	}
	var err error
	if w.pages == 0 {
		err = fmt.Errorf("%s: no pages to write", w.path)
	}
	if err == nil && w.tw != nil {
		err = w.tw.Close()
	}
	if err == nil && w.pw != nil {
		err = w.pw.Close()
	}
	if err == nil {
		err = w.tmp.Sync()
	}
	if cerr := w.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp.Name(), w.path)
	}
	if err != nil {
		os.Remove(w.tmp.Name())
	}
	w.tmp = nil
	return err
}

// Abort discards the document.
func (w *Writer) Abort() {
	if w.tmp == nil {
		return
	}
	w.tmp.Close()
	os.Remove(w.tmp.Name())
	w.tmp = nil
}
