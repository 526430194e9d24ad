package render

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/faxagent/faxagent/imaging"
)

// TextOptions control LayoutText. The zero value is usable: A4 at
// standard resolution, 10 pt Go Mono, tab stops every 8 columns.
type TextOptions struct {
	// Width of the page in fax pixels; 0 means A4 at the resolution.
	Width      int
	Resolution imaging.Resolution
	// SizePt is the font size in points; 0 means 10.
	SizePt float64
	// TabStop is the distance between tab stops in columns; 0 means 8.
	TabStop int
	// MaxPages bounds the pages; more is ErrTooTall. 0 means 500.
	MaxPages int
}

// Page geometry of typeset text, in inches.
const (
	textMarginX      = 0.75
	textMarginTop    = 0.6
	textMarginBottom = 0.6
	textLeading      = 1.2 // line height as a multiple of the font size
	defaultTextPt    = 10
	defaultTabStop   = 8
	defaultTextPages = 500
	maxTextPt        = 72
)

// ErrNotText means the input is not UTF-8 text.
var ErrNotText = errors.New("not UTF-8 text")

// Text is plain text laid out on fax pages; Page typesets one on demand,
// so a long text never holds more than one page in memory.
type Text struct {
	o     TextOptions
	dpi   float64 // square typesetting resolution: the page's across
	font  *sfnt.Font
	bold  *sfnt.Font
	pages [][]textLine
	cols  int
}

// textLine is one typeset line; a heading is in bold at headingScale
// times the size.
type textLine struct {
	s       string
	heading bool
}

const headingScale = 2.4

// LayoutText lays UTF-8 text out on A4 pages in a monospaced font (Go
// Mono, which covers Latin-1, Latin Extended, Greek, Cyrillic and the
// common typographic symbols; check marks, crosses and ballot boxes are
// drawn by symbolGlyph): margins of 3/4 inch at the sides and 0.6 inch at
// the top and bottom, tab stops every TabStop columns, a form feed starts
// a new page, long lines wrap at the last space that fits (or at the
// margin). Other control characters are dropped; a byte order mark at the
// start is ignored.
func LayoutText(src []byte, o TextOptions) (*Text, error) {
	o, err := o.normalized()
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(src) {
		return nil, fmt.Errorf("render: %w: invalid UTF-8", ErrNotText)
	}
	t, err := newText(o)
	if err != nil {
		return nil, err
	}
	if err := t.layout(string(src), false); err != nil {
		return nil, err
	}
	return t, nil
}

func (o TextOptions) normalized() (TextOptions, error) {
	if o.Resolution < imaging.Standard || o.Resolution > imaging.Ultrafine {
		return o, fmt.Errorf("render: invalid resolution %v", o.Resolution)
	}
	xdpi, _ := o.Resolution.DPI()
	if o.Width == 0 {
		o.Width = int(imaging.WidthA4 * xdpi / 204)
	}
	if !imaging.ValidWidth(o.Width) {
		return o, fmt.Errorf("render: invalid page width %d", o.Width)
	}
	if o.SizePt == 0 {
		o.SizePt = defaultTextPt
	}
	if !(o.SizePt >= 4 && o.SizePt <= maxTextPt) {
		return o, fmt.Errorf("render: font size %v pt (want 4 to %d)", o.SizePt, maxTextPt)
	}
	if o.TabStop <= 0 {
		o.TabStop = defaultTabStop
	}
	if o.MaxPages <= 0 {
		o.MaxPages = defaultTextPages
	}
	return o, nil
}

func newText(o TextOptions) (*Text, error) {
	f, err := opentype.Parse(gomono.TTF)
	if err != nil {
		return nil, fmt.Errorf("render: font: %w", err)
	}
	b, err := opentype.Parse(gomonobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("render: font: %w", err)
	}
	xdpi, _ := o.Resolution.DPI()
	t := &Text{o: o, dpi: xdpi, font: f, bold: b}
	// Go Mono's advance is 0.6 em.
	charPx := 0.6 * o.SizePt / 72 * xdpi
	t.cols = max(1, int((float64(o.Width)-2*textMarginX*xdpi)/charPx))
	return t, nil
}

// layout adds text to the pages; with headings, a line starting "# " is
// a heading.
func (t *Text) layout(text string, headings bool) error {
	o := t.o
	room := (a4LengthInches - textMarginTop - textMarginBottom) * 72 // points
	used := 0.0
	text = strings.TrimPrefix(text, "\ufeff")
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	for pi, part := range strings.Split(text, "\f") {
		var lines []textLine
		for _, raw := range strings.Split(part, "\n") {
			if h, ok := strings.CutPrefix(raw, "# "); ok && headings {
				for _, l := range wrapLine(expandTabs(h, o.TabStop), max(1, int(float64(t.cols)/headingScale))) {
					lines = append(lines, textLine{s: l, heading: true})
				}
				continue
			}
			for _, l := range wrapLine(expandTabs(raw, o.TabStop), t.cols) {
				lines = append(lines, textLine{s: l})
			}
		}
		if pi > 0 || len(t.pages) == 0 {
			t.pages = append(t.pages, nil)
			used = 0
		}
		for _, l := range lines {
			h := o.SizePt * textLeading
			if l.heading {
				h *= headingScale
			}
			cur := &t.pages[len(t.pages)-1]
			if len(*cur) > 0 && used+h > room {
				t.pages = append(t.pages, nil)
				cur = &t.pages[len(t.pages)-1]
				used = 0
			}
			*cur = append(*cur, l)
			used += h
			if len(t.pages) > o.MaxPages {
				return fmt.Errorf("%w: text makes more than %d pages", ErrTooTall, o.MaxPages)
			}
		}
	}
	// Trailing blank lines and pages are no pages (a final form feed
	// ends the last page; it does not start an empty one).
	for len(t.pages) > 0 {
		last := &t.pages[len(t.pages)-1]
		for len(*last) > 0 && strings.TrimSpace((*last)[len(*last)-1].s) == "" {
			*last = (*last)[:len(*last)-1]
		}
		if len(*last) > 0 || len(t.pages) == 1 {
			break
		}
		t.pages = t.pages[:len(t.pages)-1]
	}
	if len(t.pages) == 1 && len(t.pages[0]) == 0 {
		return fmt.Errorf("render: %w: the text is empty", ErrNotText)
	}
	return nil
}

// expandTabs replaces tabs with spaces to the next stop and drops other
// control characters.
func expandTabs(s string, stop int) string {
	var b strings.Builder
	col := 0
	for _, r := range s {
		switch {
		case r == '\t':
			n := stop - col%stop
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case unicode.IsControl(r) || r == '\ufeff':
		default:
			b.WriteRune(r)
			col++
		}
	}
	return b.String()
}

// wrapLine cuts a line into pieces of at most cols characters, at the last
// space that fits when there is one in the second half.
func wrapLine(s string, cols int) []string {
	line := []rune(strings.TrimRight(s, " "))
	var out []string
	for len(line) > cols {
		cut := cols
		for i := cols; i > cols/2; i-- {
			if line[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, string(line[:cut]))
		line = []rune(strings.TrimLeft(string(line[cut:]), " "))
	}
	return append(out, string(line))
}

// Pages is the number of pages of the text.
func (t *Text) Pages() int { return len(t.pages) }

// Columns is the number of characters on a line.
func (t *Text) Columns() int { return t.cols }

// Page typesets page i (from 0) as a fax page of A4 length.
func (t *Text) Page(ctx context.Context, i int) (*imaging.Page, error) {
	if i < 0 || i >= len(t.pages) {
		return nil, fmt.Errorf("render: no text page %d", i+1)
	}
	face, err := opentype.NewFace(t.font, &opentype.FaceOptions{Size: t.o.SizePt, DPI: t.dpi, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("render: font: %w", err)
	}
	defer face.Close()
	big, err := opentype.NewFace(t.bold, &opentype.FaceOptions{Size: t.o.SizePt * headingScale, DPI: t.dpi, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("render: font: %w", err)
	}
	defer big.Close()
	h := int(math.Round(a4LengthInches * t.dpi))
	img := image.NewGray(image.Rect(0, 0, t.o.Width, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	var buf sfnt.Buffer
	x0 := fixed.I(int(math.Round(textMarginX * t.dpi)))
	y := textMarginTop * t.dpi
	for _, line := range t.pages[i] {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, fc, lineH := t.font, face, t.o.SizePt*textLeading/72*t.dpi
		if line.heading {
			f, fc, lineH = t.bold, big, lineH*headingScale
		}
		base := int(math.Round(y)) + fc.Metrics().Ascent.Ceil()
		y += lineH
		d := font.Drawer{Dst: img, Src: image.Black, Face: fc, Dot: fixed.Point26_6{X: x0, Y: fixed.I(base)}}
		adv, _ := fc.GlyphAdvance('0')
		for _, r := range line.s {
			if r != ' ' {
				if gi, _ := f.GlyphIndex(&buf, r); gi != 0 {
					d.DrawString(string(r))
					continue
				} else if !symbolGlyph(img, r, d.Dot, adv, fc.Metrics()) {
					d.DrawString(string(r)) // the font's missing-glyph box
					continue
				}
			}
			d.Dot.X += adv
		}
	}
	return typesetToFax(ctx, img, t.dpi, t.o.Width, t.o.Resolution)
}

// typesetToFax turns a page typeset in grey at a square resolution of dpi
// into a fax page at res (halving the rows at standard resolution).
func typesetToFax(ctx context.Context, img *image.Gray, dpi float64, width int, res imaging.Resolution) (*imaging.Page, error) {
	return ToFaxContext(ctx, img, Options{Width: width, Resolution: res, Mode: Threshold,
		SourceDPI: DPI{X: dpi, Y: dpi}})
}
