package imaging

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DecodeOptions describe the coding of one page.
type DecodeOptions struct {
	Compression Compression
	Width       int
	BitOrder    BitOrder
	// Rows is the number of rows expected (TIFF ImageLength); 0 means
	// until RTC, EOFB or the end of the data. With Rows set, a page that
	// ends early is completed with concealed (bad) rows.
	Rows int
	// NoEOL (MH only) reads TIFF Compression=2 data: no EOLs, every row
	// starts on a byte boundary.
	NoEOL bool
}

// ErrPageTooLong is returned when a coded page would have more than
// MaxRows rows.
var ErrPageTooLong = fmt.Errorf("imaging: page longer than %d rows", MaxRows)

func (o *DecodeOptions) check() error {
	switch o.Compression {
	case MH, MR, MMR:
	default:
		return fmt.Errorf("imaging: cannot decode %v", o.Compression)
	}
	if !ValidWidth(o.Width) {
		return fmt.Errorf("imaging: invalid width %d", o.Width)
	}
	if o.Rows < 0 || o.Rows > MaxRows {
		return fmt.Errorf("imaging: invalid row count %d (max %d)", o.Rows, MaxRows)
	}
	if o.NoEOL && o.Compression != MH {
		return fmt.Errorf("imaging: NoEOL needs MH, not %v", o.Compression)
	}
	if o.BitOrder != MSBFirst && o.BitOrder != LSBFirst {
		return fmt.Errorf("imaging: invalid bit order %d", o.BitOrder)
	}
	return nil
}

// Decoder reads the rows of one coded page. It is a RowReader.
//
// A damaged row does not stop it: the row is replaced by the one before
// (concealed) and counted in Stats. MH and MR resynchronise on the next
// EOL; after a damaged row MR also conceals the two-dimensional rows up
// to the next one-dimensional row, since their reference is lost. MMR and
// MH without EOLs cannot resynchronise: an error ends the page, and if
// Rows is set the remaining rows are concealed.
//
// The T.4/T.6 uncompressed-mode extension is not supported: rows using it
// are bad rows. RTC is taken at three consecutive EOLs (T.4 sends six).
//
// The decoder reads ahead from its io.Reader; give it one page's data.
type Decoder struct {
	o        DecodeOptions
	br       bitReader
	ref, cur []int32  // changing elements with sentinels; ref is the last row
	words    []uint64 // scratch row for fillRow
	stats    RowStats
	badRun   int
	eolSeen  bool // an EOL has just been consumed (MR: not its tag bit)
	atData   bool // a row's EOL (and tag) were consumed: its data is next
	twoD     bool // with atData: the MR tag said two-dimensional
	damaged  bool // MR: the reference row is lost
	ended    bool // the coded data ended (RTC, EOFB, error, no data)
	done     bool
	err      error
}

// NewDecoder returns a decoder of one page read from r.
func NewDecoder(r io.Reader, o DecodeOptions) (*Decoder, error) {
	d, err := newDecoder(o)
	if err != nil {
		return nil, err
	}
	d.Reset(r)
	return d, nil
}

func newDecoder(o DecodeOptions) (*Decoder, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	return &Decoder{
		o:     o,
		ref:   make([]int32, 0, o.Width+4),
		cur:   make([]int32, 0, o.Width+4),
		words: make([]uint64, o.Width/64+2),
	}, nil
}

// Reset starts a new page read from r with the same options, keeping
// buffers.
func (d *Decoder) Reset(r io.Reader) {
	d.br.resetReader(r, d.o.BitOrder == LSBFirst)
	d.reset()
}

func (d *Decoder) resetBytes(data []byte) {
	d.br.resetBytes(data, d.o.BitOrder == LSBFirst)
	d.reset()
}

func (d *Decoder) reset() {
	w := int32(d.o.Width)
	d.ref = append(d.ref[:0], w, w, w)
	d.stats = RowStats{}
	d.badRun = 0
	d.eolSeen = false
	d.atData = false
	d.damaged = false
	d.ended = false
	d.done = false
	d.err = nil
}

// Stats returns the counts of the rows read so far.
func (d *Decoder) Stats() RowStats { return d.stats }

// ReadRow fills row (at least RowBytes(Width) bytes) with the next row. It
// returns ErrEndOfPage at RTC or EOFB, after Rows rows, or at the end of
// the data, and ErrPageTooLong past MaxRows rows.
func (d *Decoder) ReadRow(row []byte) error {
	if len(row) < RowBytes(d.o.Width) {
		return fmt.Errorf("imaging: row of %d bytes, width %d needs %d", len(row), d.o.Width, RowBytes(d.o.Width))
	}
	if err := d.next(); err != nil {
		return err
	}
	fillRow(row[:RowBytes(d.o.Width)], d.ref[:len(d.ref)-3], d.o.Width, d.words)
	return nil
}

// next decodes the next row into d.ref.
func (d *Decoder) next() error {
	if d.done {
		return d.err
	}
	if d.o.Rows > 0 && d.stats.Rows >= d.o.Rows {
		return d.finish(ErrEndOfPage)
	}
	if d.stats.Rows >= MaxRows {
		return d.finish(ErrPageTooLong)
	}
	if !d.ended {
		var r rowResult
		switch {
		case d.o.Compression == MMR:
			r = d.rowMMR()
		case d.o.NoEOL:
			r = d.rowNoEOL()
		default:
			r = d.rowT4()
		}
		if r != rowNone {
			d.count(r == rowGood)
			return nil
		}
		d.ended = true
	}
	// The coded data has ended.
	if err := d.br.readErr(); err != nil {
		return d.finish(fmt.Errorf("imaging: reading coded page: %w", err))
	}
	if d.o.Rows > 0 {
		d.count(false) // conceal up to the announced length
		return nil
	}
	return d.finish(ErrEndOfPage)
}

func (d *Decoder) finish(err error) error {
	d.done = true
	d.err = err
	return err
}

// count records a finished row: good rows in d.cur become the reference,
// bad ones repeat the previous row.
func (d *Decoder) count(ok bool) {
	d.stats.Rows++
	if ok {
		d.ref, d.cur = d.cur, d.ref
		d.badRun = 0
		return
	}
	d.stats.BadRows++
	d.badRun++
	d.stats.MaxConsecutive = max(d.stats.MaxConsecutive, d.badRun)
}

type rowResult int

const (
	rowNone rowResult = iota // the page has no more rows
	rowGood
	rowBad
)

// rtcEOLs is the number of consecutive EOLs taken as RTC. T.4 sends six;
// two in a row mid-page are read as a row lost to line noise.
const rtcEOLs = 3

// rowT4 decodes a T.4 row with EOLs (MH or MR).
func (d *Decoder) rowT4() rowResult {
	br := &d.br
	if !d.atData {
		if !d.eolSeen && br.zerosAhead() {
			if !br.skipToEOL() {
				return rowNone
			}
			d.eolSeen = true
		}
		d.twoD = false
		if d.eolSeen {
			d.eolSeen = false
			for eols := 1; ; eols++ {
				if d.o.Compression == MR {
					if br.atEnd() {
						return rowNone
					}
					d.twoD = br.acc>>63 == 0
					br.consume(1)
				}
				if !br.zerosAhead() {
					if eols > 1 && d.stats.Rows > 0 {
						// EOL EOL: a row without data. Its EOL and tag
						// are consumed; the data after is the next row.
						d.atData, d.damaged = true, true
						return rowBad
					}
					break
				}
				if eols+1 >= rtcEOLs || !br.skipToEOL() {
					return rowNone // RTC, or fill to the end of the data
				}
			}
		}
	}
	d.atData = false
	if br.atEnd() {
		return rowNone
	}
	var ok bool
	switch {
	case d.twoD && d.damaged:
		ok = false
	case d.twoD:
		ok = d.decode2D()
	default:
		ok = d.decode1D()
	}
	// A good row is followed by an EOL or the end of the data.
	if ok && br.zerosAhead() {
		d.damaged = false
		return rowGood
	}
	d.damaged = true
	d.eolSeen = br.skipToEOL()
	return rowBad
}

// rowNoEOL decodes a byte-aligned MH row without EOL (TIFF Compression=2).
func (d *Decoder) rowNoEOL() rowResult {
	br := &d.br
	if br.atEnd() || br.zerosAhead() {
		return rowNone
	}
	if !d.decode1D() {
		d.ended = true // no EOL to resynchronise on
		return rowBad
	}
	br.alignByte()
	return rowGood
}

// rowMMR decodes a T.6 row.
func (d *Decoder) rowMMR() rowResult {
	br := &d.br
	if br.atEnd() || br.zerosAhead() { // EOFB, or padding to the end
		return rowNone
	}
	if !d.decode2D() {
		d.ended = true // no EOL to resynchronise on
		return rowBad
	}
	return rowGood
}

// run decodes one run of the given colour (make-up codes and a
// terminating code). It returns -1 on a bad code or a run past limit.
func (d *Decoder) run(color int32, limit int32) int32 {
	br := &d.br
	tab := runDecode[color&1]
	acc, n := br.acc, br.n
	total := int32(0)
	for {
		if n < runLookupBits {
			br.acc, br.n = acc, n
			br.refill()
			acc, n = br.acc, br.n
		}
		e := tab[acc>>(64-runLookupBits)]
		l := uint(e & 15)
		if l == 0 || l > n {
			br.acc, br.n = acc, n
			return -1
		}
		acc <<= l
		n -= l
		v := int32(e >> 4)
		total += v
		if total > limit {
			br.acc, br.n = acc, n
			return -1
		}
		if v < 64 {
			br.acc, br.n = acc, n
			return total
		}
	}
}

// decode1D decodes a one-dimensional row into d.cur. The bit accumulator
// lives in locals for the whole row.
func (d *Decoder) decode1D() bool {
	br := &d.br
	w := int32(d.o.Width)
	cur := d.cur[:0]
	acc, n := br.acc, br.n
	a0 := int32(0)
	for color := 0; ; color ^= 1 {
		tab := runDecode[color]
		r := int32(0)
		for {
			if n < runLookupBits {
				br.acc, br.n = acc, n
				br.refill()
				acc, n = br.acc, br.n
			}
			e := tab[acc>>(64-runLookupBits)]
			l := uint(e & 15)
			if l == 0 || l > n {
				br.acc, br.n = acc, n
				return false
			}
			acc <<= l
			n -= l
			v := int32(e >> 4)
			r += v
			if v < 64 {
				break
			}
			if r > w {
				br.acc, br.n = acc, n
				return false
			}
		}
		a0 += r
		if a0 > w {
			br.acc, br.n = acc, n
			return false
		}
		if r == 0 && len(cur) > 0 {
			cur = cur[:len(cur)-1] // a zero-length run cancels the last change
		} else {
			cur = append(cur, a0)
		}
		if a0 == w {
			break
		}
	}
	br.acc, br.n = acc, n
	d.cur = endLine(cur, w)
	return true
}

// decode2D decodes a two-dimensional row against d.ref into d.cur. The
// bit accumulator lives in locals except around horizontal-mode runs.
func (d *Decoder) decode2D() bool {
	br := &d.br
	w := int32(d.o.Width)
	ref := d.ref
	cur := d.cur[:0]
	acc, n := br.acc, br.n
	a0 := int32(-1)
	color := int32(0)
	j := 0
	for a0 < w {
		for ref[j] <= a0 {
			j++
		}
		k := j + int(int32(j&1)^color)
		if n < modeLookupBits {
			br.acc, br.n = acc, n
			br.refill()
			acc, n = br.acc, br.n
		}
		e := modeDecode[acc>>(64-modeLookupBits)]
		l := uint(e & 7)
		if l == 0 || l > n {
			br.acc, br.n = acc, n
			return false
		}
		acc <<= l
		n -= l
		switch mode := int(e >> 3); mode {
		case modePass:
			a0 = ref[k+1]
		case modeHoriz:
			br.acc, br.n = acc, n
			start := max(a0, 0)
			r1 := d.run(color, w-start)
			if r1 < 0 {
				return false
			}
			a1 := start + r1
			r2 := d.run(color^1, w-a1)
			if r2 < 0 {
				return false
			}
			acc, n = br.acc, br.n
			a2 := a1 + r2
			cur = pushChange(cur, a1)
			cur = pushChange(cur, a2)
			a0 = a2
		default:
			a1 := ref[k] + modeDelta[mode]
			if a1 < max(a0, 0) || a1 > w {
				br.acc, br.n = acc, n
				return false
			}
			cur = pushChange(cur, a1)
			a0 = a1
			color ^= 1
		}
	}
	br.acc, br.n = acc, n
	d.cur = endLine(cur, w)
	return true
}

// pushChange appends a changing element; one equal to the last cancels it
// (a zero-length run).
func pushChange(cur []int32, x int32) []int32 {
	if n := len(cur); n > 0 && cur[n-1] == x {
		return cur[:n-1]
	}
	return append(cur, x)
}

// endLine drops a changing element at the right edge and adds sentinels.
func endLine(cur []int32, w int32) []int32 {
	if n := len(cur); n > 0 && cur[n-1] == w {
		cur = cur[:n-1]
	}
	return append(cur, w, w, w)
}

// fillRow paints a packed row from changing elements (without
// sentinels), a 64-bit word at a time.
func fillRow(row []byte, ch []int32, width int, words []uint64) {
	nw := (width + 63) >> 6
	words = words[:nw+1]
	clear(words)
	for i := 0; i < len(ch); i += 2 {
		a, b := ch[i], int32(width)
		if i+1 < len(ch) {
			b = ch[i+1]
		}
		wa, wb := a>>6, b>>6
		ma := ^uint64(0) >> uint(a&63)
		if wa == wb {
			words[wa] |= ma &^ (^uint64(0) >> uint(b&63))
			continue
		}
		words[wa] |= ma
		for k := wa + 1; k < wb; k++ {
			words[k] = ^uint64(0)
		}
		if b&63 != 0 {
			words[wb] |= ^(^uint64(0) >> uint(b&63))
		}
	}
	full := len(row) >> 3
	for k := 0; k < full; k++ {
		binary.BigEndian.PutUint64(row[k<<3:], words[k])
	}
	if full < nw {
		v := words[full]
		for k := full << 3; k < len(row); k++ {
			row[k] = byte(v >> 56)
			v <<= 8
		}
	}
}

// DecodePage decodes one whole page from data.
func DecodePage(data []byte, o DecodeOptions, res Resolution) (*Page, RowStats, error) {
	d, err := newDecoder(o)
	if err != nil {
		return nil, RowStats{}, err
	}
	d.resetBytes(data)
	stride := RowBytes(o.Width)
	p := &Page{Width: o.Width, Resolution: res}
	if o.Rows > 0 {
		p.Pix = make([]byte, 0, o.Rows*stride)
	}
	for {
		if err := d.next(); err != nil {
			if errors.Is(err, ErrEndOfPage) {
				return p, d.stats, nil
			}
			return nil, d.stats, err
		}
		p.Pix = append(p.Pix, make([]byte, stride)...)
		fillRow(p.Pix[p.Height*stride:], d.ref[:len(d.ref)-3], o.Width, d.words)
		p.Height++
	}
}
