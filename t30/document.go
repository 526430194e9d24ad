package t30

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/faxagent/faxagent/imaging"
)

// PageSource is one page of a Document: rows (Rows set), a page already
// coded (Coded set, described by CodedOptions), or both. The engine codes
// or transcodes it to what DCS agreed: coded data at the agreed width and
// resolution is transcoded without expanding rows to pixels (and refused
// when a row fails to decode); otherwise Rows is read when set.
type PageSource struct {
	Width      int
	Resolution imaging.Resolution

	Rows imaging.RowReader

	Coded        []byte
	CodedOptions imaging.DecodeOptions
	// Overlay, if set, replaces the top rows of Coded when it is
	// transcoded (a header line band stamped on a stored page). Rows carry
	// their overlay already.
	Overlay *imaging.Page
}

// Document is what a sender sends. Page may be called more than once for
// the same page (to look at its width and resolution during negotiation,
// and to code it again after a speed change alters the fill for the
// minimum scan line time); each call must return a fresh source.
type Document interface {
	NumPages() int
	Page(i int) (PageSource, error) // i is 0-based
}

// PagesDocument is a Document over pages in memory.
type PagesDocument []*imaging.Page

// NumPages implements Document.
func (d PagesDocument) NumPages() int { return len(d) }

// Page implements Document.
func (d PagesDocument) Page(i int) (PageSource, error) {
	if i < 0 || i >= len(d) || d[i] == nil {
		return PageSource{}, fmt.Errorf("t30: no page %d", i)
	}
	p := d[i]
	return PageSource{Width: p.Width, Resolution: p.Resolution, Rows: p.Rows()}, nil
}

// ReceivedPage is a page handed to a PageSink: the data exactly as the
// remote coded it (after ECM reassembly), with the parameters DCS agreed
// and the decoder's statistics.
type ReceivedPage struct {
	Index       int // 0-based page number in this call
	Data        []byte
	Compression imaging.Compression
	BitOrder    imaging.BitOrder // always LSBFirst (line order)
	Width       int
	Resolution  imaging.Resolution
	Stats       imaging.RowStats
	Speed       Speed
	ECM         bool
}

// DecodeOptions returns the options to decode p.Data with imaging.
func (p *ReceivedPage) DecodeOptions() imaging.DecodeOptions {
	return imaging.DecodeOptions{Compression: p.Compression, Width: p.Width, BitOrder: p.BitOrder}
}

// PageSink takes received pages. A sink error ends the call (CodeDocument).
type PageSink interface {
	Page(p *ReceivedPage) error
}

// BusySink is a PageSink that can ask for time. In ECM the receiver asks
// Busy before it confirms each block; while it says true the receiver
// answers RNR (T.30 flow control) and the sender polls with RR, for up to
// T5 (60 s), after which the sender gives up with CodeT5Timeout.
type BusySink interface {
	PageSink
	Busy() bool
}

// PageCollector is a PageSink that keeps every page in memory.
type PageCollector struct {
	Pages []*ReceivedPage
}

// Page implements PageSink.
func (c *PageCollector) Page(p *ReceivedPage) error {
	c.Pages = append(c.Pages, p)
	return nil
}

// ErrDocument is wrapped by errors about the document being sent.
var ErrDocument = errors.New("t30: document error")

// codePage codes one page for transmission with the agreed parameters.
func codePage(src PageSource, o imaging.EncodeOptions, res imaging.Resolution) ([]byte, int, error) {
	var buf bytes.Buffer
	if src.Coded != nil && src.Resolution == res && src.Width == o.Width && src.CodedOptions.Width == o.Width &&
		(src.Overlay == nil || src.Overlay.Width == o.Width) {
		// Already coded at the right geometry: transcode through changing
		// elements, without expanding rows to pixels. A damaged page is
		// refused, as a RowReader over it would refuse it.
		buf.Grow(len(src.Coded) + len(src.Coded)/4)
		st, err := imaging.TranscodeOverlay(&buf, bytes.NewReader(src.Coded), src.CodedOptions, o, src.Overlay)
		switch {
		case err != nil:
			return nil, st.Rows, fmt.Errorf("%w: %w", ErrDocument, err)
		case st.BadRows > 0:
			return nil, st.Rows, fmt.Errorf("%w: %d of %d rows fail to decode", ErrDocument, st.BadRows, st.Rows)
		case st.Rows > imaging.MaxRows:
			return nil, st.Rows, fmt.Errorf("%w: page longer than %d rows", ErrDocument, imaging.MaxRows)
		}
		return buf.Bytes(), st.Rows, nil
	}
	rows := src.Rows
	if rows == nil && src.Coded != nil {
		dec, err := imaging.NewDecoder(bytes.NewReader(src.Coded), src.CodedOptions)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %w", ErrDocument, err)
		}
		rows = dec
	}
	if rows == nil {
		return nil, 0, fmt.Errorf("%w: page has neither rows nor coded data", ErrDocument)
	}
	if src.Resolution != res {
		rows = imaging.RescaleRows(rows, src.Width, src.Resolution, res)
	}
	enc, err := imaging.NewEncoder(&buf, o)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrDocument, err)
	}
	row := make([]byte, imaging.RowBytes(o.Width))
	in := make([]byte, imaging.RowBytes(src.Width))
	n := 0
	for {
		err := rows.ReadRow(in)
		if errors.Is(err, imaging.ErrEndOfPage) || errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, n, fmt.Errorf("%w: page row %d: %w", ErrDocument, n, err)
		}
		if n >= imaging.MaxRows {
			return nil, n, fmt.Errorf("%w: page longer than %d rows", ErrDocument, imaging.MaxRows)
		}
		// Narrower pages are padded with white, wider ones refused
		// before we get here.
		clear(row)
		copy(row, in)
		if err := enc.WriteRow(row); err != nil {
			return nil, n, fmt.Errorf("%w: %w", ErrDocument, err)
		}
		n++
	}
	if err := enc.Close(); err != nil {
		return nil, n, fmt.Errorf("%w: %w", ErrDocument, err)
	}
	return buf.Bytes(), n, nil
}
