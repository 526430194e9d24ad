package imaging

import (
	"errors"
	"fmt"
	"io"
)

// Transcode decodes one page from src and codes it again to dst, row by
// row through changing elements, without expanding rows to pixels.
// to.Width 0 means from.Width. Damaged rows are concealed as the Decoder
// does; the returned RowStats count them. The encoder is closed (RTC or
// EOFB written unless to.NoRTC).
func Transcode(dst io.Writer, src io.Reader, from DecodeOptions, to EncodeOptions) (RowStats, error) {
	return TranscodeOverlay(dst, src, from, to, nil)
}

// TranscodeOverlay is Transcode with band's rows in place of the top rows
// of the page (a header line band, as render.OverlayRows puts it). band
// may be nil; it must have the page's width.
func TranscodeOverlay(dst io.Writer, src io.Reader, from DecodeOptions, to EncodeOptions, band *Page) (RowStats, error) {
	if to.Width == 0 {
		to.Width = from.Width
	}
	if to.Width != from.Width {
		return RowStats{}, fmt.Errorf("imaging: transcoding width %d to width %d", from.Width, to.Width)
	}
	if band != nil && band.Width != from.Width {
		return RowStats{}, fmt.Errorf("imaging: overlay width %d on a page of width %d", band.Width, from.Width)
	}
	d, err := NewDecoder(src, from)
	if err != nil {
		return RowStats{}, err
	}
	e, err := NewEncoder(dst, to)
	if err != nil {
		return RowStats{}, err
	}
	for y := 0; ; y++ {
		err := d.next()
		if errors.Is(err, ErrEndOfPage) {
			break
		}
		if err != nil {
			return d.Stats(), err
		}
		if band != nil && y < band.Height {
			if err := e.WriteRow(band.Row(y)); err != nil {
				return d.Stats(), err
			}
			continue
		}
		e.cur = append(e.cur[:0], d.ref[1:]...) // without the -1 sentinel
		if err := e.writeChanges(); err != nil {
			return d.Stats(), err
		}
	}
	return d.Stats(), e.Close()
}
