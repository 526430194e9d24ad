package render

import (
	"fmt"
	"image"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/faxagent/faxagent/imaging"
)

// The header band, in font pixels before scaling: 2 blank rows, the 13
// rows of basicfont.Face7x13 (ascent 11, descent 2), 1 blank row; text
// starts 8 font pixels from the left edge.
const (
	bandFontRows = 16
	bandTopRows  = 2
	bandLeft     = 8
)

// headerScale is how many fax pixels one font pixel becomes. The font is
// drawn for square pixels of about 1/100 inch: 2 x 1 fax pixels at
// standard (204 x 98 dpi), 2 x 2 at fine, 2 x 4 at superfine and 4 x 4 at
// ultrafine, so the line is the same size on paper (13 font rows = 3.4 mm,
// 7-pixel advance = 1.7 mm, about 120 characters across A4).
func headerScale(res imaging.Resolution) (hs, vs int) {
	xdpi, ydpi := res.DPI()
	return max(1, int(math.Round(xdpi/102))), max(1, int(math.Round(ydpi/98)))
}

// HeaderBandRows is the height of the header band at res: 16 rows at
// standard, 32 at fine, 64 at superfine and ultrafine.
func HeaderBandRows(res imaging.Resolution) int {
	_, vs := headerScale(res)
	return bandFontRows * vs
}

// HeaderRows draws text as a header band for a page of the given width:
// white rows with the text in black, HeaderBandRows(res) high. Characters
// the font lacks print as '?', and text that does not fit the width is
// cut. It returns nil for an invalid width.
func HeaderRows(text string, width int, res imaging.Resolution) *imaging.Page {
	if !imaging.ValidWidth(width) {
		return nil
	}
	hs, vs := headerScale(res)
	face := basicfont.Face7x13
	band := imaging.NewPage(width, bandFontRows*vs, res)

	fit := (width/hs - 2*bandLeft) / face.Advance
	text = printable(text, max(fit, 0))
	if text == "" {
		return band
	}
	// Draw at font scale into a grey picture, then threshold and scale
	// into the band.
	n := len(text) // printable returns ASCII only
	g := image.NewGray(image.Rect(0, 0, n*face.Advance, face.Ascent+face.Descent))
	for i := range g.Pix {
		g.Pix[i] = 0xff
	}
	d := font.Drawer{Dst: g, Src: image.Black, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(text)
	for fy := 0; fy < g.Rect.Dy(); fy++ {
		for fx := 0; fx < g.Rect.Dx(); fx++ {
			if g.Pix[fy*g.Stride+fx] >= 0x80 {
				continue
			}
			x0 := (bandLeft + fx) * hs
			y0 := (bandTopRows + fy) * vs
			for y := y0; y < y0+vs; y++ {
				for x := x0; x < x0+hs && x < width; x++ {
					band.Set(x, y, true)
				}
			}
		}
	}
	return band
}

// printable maps text to at most n characters the font has: printable
// ASCII, with tabs as spaces and anything else as '?'.
func printable(text string, n int) string {
	var b strings.Builder
	for _, r := range text {
		if b.Len() >= n {
			break
		}
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r >= 0x20 && r < 0x7f:
			b.WriteByte(byte(r))
		default:
			b.WriteByte('?')
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// StampHeader replaces the top HeaderBandRows(p.Resolution) rows of p
// with the header band for text.
func StampHeader(p *imaging.Page, text string) error {
	if err := checkPage(p); err != nil {
		return err
	}
	band := HeaderRows(text, p.Width, p.Resolution)
	if p.Height < band.Height {
		return fmt.Errorf("render: page of %d rows is shorter than the %d-row header band", p.Height, band.Height)
	}
	OverlayRows(p.Pix, band, 0)
	return nil
}

// OverlayRows puts the header band over streamed rows: dst holds one or
// more consecutive packed rows of band.Width pixels, the first being row
// y of the page; those of them that fall within the band are replaced by
// the band's rows. Rows below the band are left alone, so a caller can
// pass every row of a streamed page through it.
func OverlayRows(dst []byte, band *imaging.Page, y int) {
	if band == nil {
		return
	}
	stride := band.Stride()
	for i := 0; i < len(dst); i += stride {
		row := y + i/stride
		if row >= band.Height {
			return
		}
		if row >= 0 {
			copy(dst[i:], band.Row(row))
		}
	}
}

// OverlayReader returns a RowReader that yields r's rows with the header
// band over the first of them (see OverlayRows).
func OverlayReader(r imaging.RowReader, band *imaging.Page) imaging.RowReader {
	return &overlayReader{r: r, band: band}
}

type overlayReader struct {
	r    imaging.RowReader
	band *imaging.Page
	y    int
}

func (o *overlayReader) ReadRow(row []byte) error {
	if err := o.r.ReadRow(row); err != nil {
		return err
	}
	OverlayRows(row, o.band, o.y)
	o.y++
	return nil
}
