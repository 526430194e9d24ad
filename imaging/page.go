package imaging

import (
	"errors"
	"fmt"
)

// Standard fax page widths in pixels at 204 (or 408) dpi.
const (
	WidthA4 = 1728 // A4 and Letter
	WidthB4 = 2048
	WidthA3 = 2432
)

// MaxRows bounds the rows of one page a reader accepts. A4 at 391 lpi is
// about 4600 rows; anything far beyond that is hostile or corrupt input.
const MaxRows = 20000

// Resolution is a fax vertical/horizontal resolution as T.30 negotiates it.
type Resolution int

const (
	Standard  Resolution = iota // 204 x 98 dpi (8 x 3.85 lines/mm)
	Fine                        // 204 x 196 dpi (8 x 7.7 lines/mm)
	Superfine                   // 204 x 391 dpi (8 x 15.4 lines/mm)
	Ultrafine                   // 408 x 391 dpi (16 x 15.4 lines/mm)
)

// DPI returns the horizontal and vertical resolution in dots per inch.
func (r Resolution) DPI() (x, y float64) {
	switch r {
	case Fine:
		return 204, 196
	case Superfine:
		return 204, 391
	case Ultrafine:
		return 408, 391
	default:
		return 204, 98
	}
}

// K returns the T.4 two-dimensional K parameter the standard prescribes for
// this resolution: 2 at standard, 4 at fine and above.
func (r Resolution) K() int {
	if r == Standard {
		return 2
	}
	return 4
}

func (r Resolution) String() string {
	switch r {
	case Standard:
		return "standard"
	case Fine:
		return "fine"
	case Superfine:
		return "superfine"
	case Ultrafine:
		return "ultrafine"
	}
	return fmt.Sprintf("Resolution(%d)", int(r))
}

// ParseResolution accepts the names String returns.
func ParseResolution(s string) (Resolution, error) {
	for r := Standard; r <= Ultrafine; r++ {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("imaging: unknown resolution %q (want standard, fine, superfine or ultrafine)", s)
}

// ResolutionFromDPI picks the fax resolution closest to a vertical (and
// horizontal) resolution in dots per inch.
func ResolutionFromDPI(x, y float64) Resolution {
	switch {
	case y >= 300 && x >= 300:
		return Ultrafine
	case y >= 300:
		return Superfine
	case y >= 150:
		return Fine
	default:
		return Standard
	}
}

// Compression is a fax page coding scheme.
type Compression int

const (
	MH  Compression = iota + 1 // T.4 one-dimensional (Modified Huffman)
	MR                         // T.4 two-dimensional (Modified READ)
	MMR                        // T.6 (Modified Modified READ)
)

func (c Compression) String() string {
	switch c {
	case MH:
		return "MH"
	case MR:
		return "MR"
	case MMR:
		return "MMR"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// ParseCompression accepts mh, mr, mmr in any case (and g3, g3:2d, g4).
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "mh", "MH", "g3", "G3":
		return MH, nil
	case "mr", "MR", "g3:2d", "G3:2D":
		return MR, nil
	case "mmr", "MMR", "g4", "G4":
		return MMR, nil
	}
	return 0, fmt.Errorf("imaging: unknown compression %q (want mh, mr or mmr)", s)
}

// BitOrder is the order of bits within each byte of a coded stream.
type BitOrder int

const (
	// MSBFirst is TIFF FillOrder 1: the first bit of the stream is the
	// most significant bit of the first byte.
	MSBFirst BitOrder = iota
	// LSBFirst is TIFF FillOrder 2 and the order bits are sent on the
	// line (T.4 data as transmitted by a modem or carried in T.38).
	LSBFirst
)

// RowBytes is the number of bytes of one packed row of width pixels.
func RowBytes(width int) int { return (width + 7) / 8 }

// ValidWidth reports whether width is a width the codecs accept.
func ValidWidth(width int) bool { return width > 0 && width <= 16384 }

// Page is a whole bilevel page in memory: rows of RowBytes(Width) bytes,
// most significant bit leftmost, 1 = black. Use it for single pages
// (conversion, tests); documents stream rows through RowReader.
type Page struct {
	Width, Height int
	Resolution    Resolution
	Pix           []byte // Height * RowBytes(Width)
}

// NewPage returns an all-white page.
func NewPage(width, height int, res Resolution) *Page {
	return &Page{Width: width, Height: height, Resolution: res, Pix: make([]byte, height*RowBytes(width))}
}

// Stride is the byte length of one row.
func (p *Page) Stride() int { return RowBytes(p.Width) }

// Row returns row y, sharing the page's memory.
func (p *Page) Row(y int) []byte { s := p.Stride(); return p.Pix[y*s : (y+1)*s] }

// Black reports whether pixel (x, y) is black.
func (p *Page) Black(x, y int) bool { return p.Row(y)[x>>3]&(0x80>>uint(x&7)) != 0 }

// Set paints pixel (x, y) black or white.
func (p *Page) Set(x, y int, black bool) {
	r := p.Row(y)
	if black {
		r[x>>3] |= 0x80 >> uint(x&7)
	} else {
		r[x>>3] &^= 0x80 >> uint(x&7)
	}
}

// Rows returns a RowReader over the page's rows.
func (p *Page) Rows() RowReader { return &pageRows{p: p} }

type pageRows struct {
	p *Page
	y int
}

func (r *pageRows) ReadRow(row []byte) error {
	if r.y >= r.p.Height {
		return ErrEndOfPage
	}
	copy(row, r.p.Row(r.y))
	r.y++
	return nil
}

// RowReader yields the rows of one page, top to bottom. ReadRow fills row
// (RowBytes(width) bytes) and returns ErrEndOfPage after the last row.
type RowReader interface {
	ReadRow(row []byte) error
}

// RowWriter takes the rows of one page, top to bottom.
type RowWriter interface {
	WriteRow(row []byte) error
}

// ErrEndOfPage is returned by RowReader.ReadRow after the last row.
var ErrEndOfPage = errors.New("imaging: end of page")

// ReadPage reads every row of r into a new Page of the given width, up to
// maxRows rows (MaxRows if maxRows <= 0).
func ReadPage(r RowReader, width int, res Resolution, maxRows int) (*Page, error) {
	if !ValidWidth(width) {
		return nil, fmt.Errorf("imaging: invalid width %d", width)
	}
	if maxRows <= 0 {
		maxRows = MaxRows
	}
	stride := RowBytes(width)
	p := &Page{Width: width, Resolution: res}
	row := make([]byte, stride)
	for {
		err := r.ReadRow(row)
		if errors.Is(err, ErrEndOfPage) {
			return p, nil
		}
		if err != nil {
			return p, err
		}
		if p.Height >= maxRows {
			return nil, fmt.Errorf("imaging: page longer than %d rows", maxRows)
		}
		p.Pix = append(p.Pix, row...)
		p.Height++
	}
}

// RowStats are a decoder's counts for one page, what T.30 copy-quality
// checking and TIFF BadFaxLines need.
type RowStats struct {
	Rows           int // rows produced, including concealed ones
	BadRows        int // rows that failed to decode and were concealed
	MaxConsecutive int // longest run of consecutive bad rows
}
