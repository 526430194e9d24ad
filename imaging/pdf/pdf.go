// Package pdf writes fax documents as PDF: each page is one bilevel image
// XObject whose data is the page's CCITT coding (T.4 MH/MR or T.6 MMR)
// embedded as is under /CCITTFaxDecode, so no page is ever decoded or
// re-encoded, and the page size follows from the pixel size and the fax
// resolution.
//
// The Writer streams: each page's objects are written when the page is
// added, and only their byte offsets are kept for the cross-reference
// table that Close writes.
//
// Package pdf imports only the standard library and package imaging; it
// must never import any other package of this module.
package pdf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"

	"github.com/faxagent/faxagent/imaging"
)

// Writer writes a PDF document page by page.
type Writer struct {
	bw      *bufio.Writer
	pos     int64
	offsets []int64 // byte offset of object i+1; 0 for not yet written
	kids    []int   // page object numbers
	err     error
	closed  bool
}

const (
	catalogObj = 1
	pagesObj   = 2
)

// NewWriter returns a Writer that writes a PDF document to w. Close
// finishes the document (it does not close w).
func NewWriter(w io.Writer) *Writer {
	pw := &Writer{bw: bufio.NewWriterSize(w, 32<<10), offsets: make([]int64, 2)}
	// A binary comment after the header tells tools the file is binary.
	pw.printf("%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n")
	return pw
}

// ErrClosed is returned by AddPage and Close after Close.
var ErrClosed = errors.New("pdf: writer closed")

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.bw.Write(b)
	w.pos += int64(n)
	if err != nil {
		w.err = fmt.Errorf("pdf: write: %w", err)
	}
}

func (w *Writer) printf(format string, a ...any) {
	w.write(fmt.Appendf(nil, format, a...))
}

// newObj reserves the next object number.
func (w *Writer) newObj() int {
	w.offsets = append(w.offsets, 0)
	return len(w.offsets)
}

// begin starts object n at the current position.
func (w *Writer) begin(n int) {
	w.offsets[n-1] = w.pos
	w.printf("%d 0 obj\n", n)
}

// num formats a length in points, rounded down to 1/10000 pt. Rounding
// down matters: a rasteriser sizes its output as ceil(points * dpi / 72),
// and 1728 px at 204 dpi is 609.88235294... pt, which in floating point
// comes back as 1728.0000000000002 px, one pixel too many.
func num(v float64) string {
	return strconv.FormatFloat(math.Floor(v*1e4)/1e4, 'f', -1, 64)
}

// AddPage adds one page whose image is coded (MH, MR or MMR, in bit order
// order: LSB-first data is bit-reversed, not re-encoded) with the given
// pixel size and fax resolution. G3 data must have an EOL before each row
// (as T.4 and TIFF require); aligned tells that each EOL ends on a byte
// boundary (TIFF T4Options bit 2). An RTC or EOFB at the end is allowed.
func (w *Writer) AddPage(coded []byte, comp imaging.Compression, order imaging.BitOrder, width, height int, res imaging.Resolution, aligned bool) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if !imaging.ValidWidth(width) || height <= 0 || height > imaging.MaxRows {
		return fmt.Errorf("pdf: invalid page size %dx%d", width, height)
	}
	if len(coded) == 0 {
		return errors.New("pdf: empty page data")
	}
	var k int
	switch comp {
	case imaging.MH:
		k = 0
	case imaging.MR:
		k = res.K()
	case imaging.MMR:
		k = -1
	default:
		return fmt.Errorf("pdf: invalid compression %v", comp)
	}
	if order != imaging.MSBFirst && order != imaging.LSBFirst {
		return fmt.Errorf("pdf: invalid bit order %d", order)
	}
	xdpi, ydpi := res.DPI()
	pw, ph := float64(width)*72/xdpi, float64(height)*72/ydpi

	img, content, page := w.newObj(), w.newObj(), w.newObj()

	// The image. BlackIs1 false: the filter yields 0 for the black runs,
	// and DeviceGray 0 is black, so T.4 black prints black.
	w.begin(img)
	w.printf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1\n", width, height)
	w.printf("/Filter /CCITTFaxDecode /DecodeParms << /K %d /Columns %d /Rows %d /BlackIs1 false /EndOfBlock false", k, width, height)
	if comp != imaging.MMR {
		// Every row has an EOL; a reader may rely on them to resync.
		w.printf(" /EndOfLine true")
	}
	if aligned {
		w.printf(" /EncodedByteAlign true")
	}
	w.printf(" >>\n/Length %d >>\nstream\n", len(coded))
	if order == imaging.LSBFirst {
		buf := make([]byte, min(len(coded), 32<<10))
		for rest := coded; len(rest) > 0; {
			n := copy(buf, rest)
			for i := range buf[:n] {
				buf[i] = bits.Reverse8(buf[i])
			}
			w.write(buf[:n])
			rest = rest[n:]
		}
	} else {
		w.write(coded)
	}
	w.printf("\nendstream\nendobj\n")

	ops := fmt.Sprintf("q %s 0 0 %s 0 0 cm /Im0 Do Q\n", num(pw), num(ph))
	w.begin(content)
	w.printf("<< /Length %d >>\nstream\n%sendstream\nendobj\n", len(ops), ops)

	w.begin(page)
	w.printf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>\nendobj\n",
		pagesObj, num(pw), num(ph), img, content)
	w.kids = append(w.kids, page)
	return w.err
}

// Pages returns the number of pages added.
func (w *Writer) Pages() int { return len(w.kids) }

// Close writes the page tree, catalog, cross-reference table and trailer
// and flushes. A document needs at least one page.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if len(w.kids) == 0 {
		return errors.New("pdf: document has no pages")
	}
	w.begin(pagesObj)
	w.printf("<< /Type /Pages /Count %d /Kids [", len(w.kids))
	for i, k := range w.kids {
		if i > 0 {
			w.printf(" ")
		}
		w.printf("%d 0 R", k)
	}
	w.printf("] >>\nendobj\n")
	w.begin(catalogObj)
	w.printf("<< /Type /Catalog /Pages %d 0 R >>\nendobj\n", pagesObj)

	xref := w.pos
	w.printf("xref\n0 %d\n0000000000 65535 f \n", len(w.offsets)+1)
	for _, off := range w.offsets {
		w.printf("%010d 00000 n \n", off)
	}
	w.printf("trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(w.offsets)+1, catalogObj, xref)
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("pdf: write: %w", err)
	}
	return w.err
}
