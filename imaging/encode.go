package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// EncodeOptions select the coding of one page.
type EncodeOptions struct {
	Compression Compression
	Width       int
	// K is the MR parameter: every K-th row (the first included) is coded
	// one-dimensionally, the others two-dimensionally. 0 means 2. T.4
	// prescribes 2 at standard and 4 at fine and higher resolutions.
	K        int
	BitOrder BitOrder // MSBFirst = TIFF FillOrder 1; LSBFirst = on the line
	// NoEOL (MH only) writes TIFF Compression=2 data: no EOLs, every row
	// starts on a byte boundary, no RTC.
	NoEOL bool
	// AlignEOL adds fill bits so that every EOL ends on a byte boundary
	// (TIFF T4Options bit 2). MMR ignores it.
	AlignEOL bool
	// MinRowBits is the T.30 minimum scan line time in bits: fill zeros
	// are added before each EOL so that the total coded scan line (data,
	// fill and the 12-bit EOL, as T.4 §4.1.3 counts it) has at least this
	// many bits. MMR and NoEOL ignore it.
	MinRowBits int
	// NoRTC leaves out the RTC (six EOLs, MH and MR) or EOFB (MMR) that
	// Close writes otherwise.
	NoRTC bool
}

// ErrEncoderClosed is returned by WriteRow after Close.
var ErrEncoderClosed = errors.New("imaging: encoder closed")

func (o *EncodeOptions) check() error {
	switch o.Compression {
	case MH, MR, MMR:
	default:
		return fmt.Errorf("imaging: cannot encode %v", o.Compression)
	}
	if !ValidWidth(o.Width) {
		return fmt.Errorf("imaging: invalid width %d", o.Width)
	}
	if o.K < 0 || o.K > MaxRows {
		return fmt.Errorf("imaging: invalid MR K %d", o.K)
	}
	if o.NoEOL && o.Compression != MH {
		return fmt.Errorf("imaging: NoEOL needs MH, not %v", o.Compression)
	}
	if o.MinRowBits < 0 || o.MinRowBits > 1<<20 {
		return fmt.Errorf("imaging: invalid MinRowBits %d", o.MinRowBits)
	}
	if o.BitOrder != MSBFirst && o.BitOrder != LSBFirst {
		return fmt.Errorf("imaging: invalid bit order %d", o.BitOrder)
	}
	return nil
}

// Encoder codes the rows of one page. It is a RowWriter.
//
// MH and MR pages are written as T.4 sends them: an EOL (with the MR tag
// bit) before every row, the first included, and RTC at Close; this is
// also the layout libtiff writes into TIFF, less the RTC (use NoRTC).
// MMR pages are the rows and EOFB. The encoder buffers a few kilobytes
// and writes them to w as they fill up and at Close.
type Encoder struct {
	o        EncodeOptions
	k        int
	w        io.Writer
	bw       bitWriter
	ref, cur []int32 // changing elements, see rowChanges
	rows     int
	rowStart int64 // bit position where the current row's data began
	err      error
	closed   bool
}

// NewEncoder returns an encoder that writes one page to w.
func NewEncoder(w io.Writer, o EncodeOptions) (*Encoder, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	e := &Encoder{
		o:   o,
		k:   o.K,
		ref: make([]int32, 0, o.Width+4),
		cur: make([]int32, 0, o.Width+4),
		bw:  bitWriter{buf: make([]byte, flushSize+flushSize/2), lsb: o.BitOrder == LSBFirst},
	}
	if e.k == 0 {
		e.k = 2
	}
	e.Reset(w)
	return e, nil
}

// Reset starts a new page on w with the same options, keeping buffers.
func (e *Encoder) Reset(w io.Writer) {
	e.w = w
	e.bw = bitWriter{buf: e.bw.buf, lsb: e.bw.lsb}
	e.ref = append(e.ref[:0], int32(e.o.Width), int32(e.o.Width), int32(e.o.Width))
	e.rows = 0
	e.err = nil
	e.closed = false
}

// Rows is the number of rows written to this page.
func (e *Encoder) Rows() int { return e.rows }

// WriteRow codes one row: RowBytes(Width) bytes, most significant bit
// leftmost, 1 = black. Bits past Width are ignored.
func (e *Encoder) WriteRow(row []byte) error {
	if e.err != nil {
		return e.err
	}
	if len(row) < RowBytes(e.o.Width) {
		return fmt.Errorf("imaging: row of %d bytes, width %d needs %d", len(row), e.o.Width, RowBytes(e.o.Width))
	}
	if e.o.Compression == MH && !e.closed && e.rows < MaxRows {
		// MH needs no reference row: code the runs straight from the
		// pixels, without the list of changing elements.
		if e.o.NoEOL {
			encodeRowMH(&e.bw, row, e.o.Width)
			e.bw.padByte()
		} else {
			e.eol(true, e.rows > 0)
			encodeRowMH(&e.bw, row, e.o.Width)
		}
		return e.rowDone()
	}
	e.cur = rowChanges(row, e.o.Width, e.cur)
	return e.writeChanges()
}

// flushSize is how many coded bytes the encoder collects before it writes
// them to its io.Writer.
const flushSize = 4 << 10

// writeChanges codes e.cur (changing elements with sentinels).
func (e *Encoder) writeChanges() error {
	if e.closed {
		return ErrEncoderClosed
	}
	if e.rows >= MaxRows {
		e.err = fmt.Errorf("imaging: page longer than %d rows", MaxRows)
		return e.err
	}
	bw := &e.bw
	switch {
	case e.o.Compression == MMR:
		encode2D(bw, e.cur, e.ref, e.o.Width)
	case e.o.NoEOL:
		encode1D(bw, e.cur, e.o.Width)
		bw.padByte()
	default:
		oneD := e.o.Compression == MH || e.rows%e.k == 0
		e.eol(oneD, e.rows > 0)
		if oneD {
			encode1D(bw, e.cur, e.o.Width)
		} else {
			encode2D(bw, e.cur, e.ref, e.o.Width)
		}
	}
	e.ref, e.cur = e.cur, e.ref
	return e.rowDone()
}

// rowDone counts the row just coded and writes out a full buffer.
func (e *Encoder) rowDone() error {
	e.rows++
	if e.bw.pos >= flushSize {
		return e.flush()
	}
	return nil
}

// fillRow pads the row just coded to MinRowBits (counting its EOL).
func (e *Encoder) fillRow() {
	if e.o.MinRowBits > 0 {
		if fill := int64(e.o.MinRowBits) - (e.bw.bitPos() - e.rowStart) - eolLen; fill > 0 {
			e.bw.zeros(int(fill))
		}
	}
}

// eol ends the previous row (fill for MinRowBits and AlignEOL) and writes
// an EOL, plus the MR tag bit (1 = next row one-dimensional).
func (e *Encoder) eol(oneD, endsRow bool) {
	bw := &e.bw
	if endsRow {
		e.fillRow()
	}
	if e.o.AlignEOL {
		bw.zeros(int((4 - bw.n) & 7)) // EOL is 12 bits: start 4 bits into a byte
	}
	if e.o.Compression == MR {
		tag := uint32(0)
		if oneD {
			tag = 1
		}
		bw.put(eolCode<<1|tag, eolLen+1)
	} else {
		bw.put(eolCode, eolLen)
	}
	e.rowStart = bw.bitPos()
}

func (e *Encoder) flush() error {
	if e.w == nil {
		return nil
	}
	n, err := e.w.Write(e.bw.buf[:e.bw.pos])
	e.bw.flushed += int64(n)
	e.bw.pos = 0
	if err != nil {
		e.err = fmt.Errorf("imaging: writing coded page: %w", err)
	}
	return e.err
}

// Close writes the end of the page (RTC or EOFB unless NoRTC), pads to a
// byte boundary and flushes. It does not close the underlying writer.
func (e *Encoder) Close() error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return nil
	}
	e.closed = true
	bw := &e.bw
	switch {
	case e.o.Compression == MMR:
		if !e.o.NoRTC {
			bw.put(eolCode, eolLen)
			bw.put(eolCode, eolLen)
		}
	case e.o.NoEOL:
	case e.o.NoRTC:
		if e.rows > 0 {
			e.fillRow()
		}
	default:
		for i := 0; i < 6; i++ {
			e.eol(true, i == 0 && e.rows > 0)
		}
	}
	bw.padByte()
	bw.drain()
	return e.flush()
}

// EncodePage codes a whole page. o.Width 0 means p.Width.
func EncodePage(p *Page, o EncodeOptions) ([]byte, error) {
	if o.Width == 0 {
		o.Width = p.Width
	}
	if o.Width != p.Width {
		return nil, fmt.Errorf("imaging: encoding width %d, page width %d", o.Width, p.Width)
	}
	var out bytes.Buffer
	e, err := NewEncoder(&out, o)
	if err != nil {
		return nil, err
	}
	for y := 0; y < p.Height; y++ {
		if err := e.WriteRow(p.Row(y)); err != nil {
			return nil, err
		}
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// rowChanges returns the changing elements of a packed row in ch[:0]: the
// positions where the colour differs from the pixel before (the first
// pixel is compared with an imaginary white one), followed by three
// sentinels equal to width. Even indexes start black runs, odd ones white.
// Words are taken as in encodeRowMH: leftmost pixel in bit 0, changes
// lowest first.
func rowChanges(row []byte, width int, ch []int32) []int32 {
	if cap(ch) < width+3 {
		ch = make([]int32, 0, width+4)
	}
	ch = ch[:width+3] // at most width changes and the sentinels
	n := 0
	var prev uint64 // last pixel of the previous word, in bit 63
	for x := 0; x < width; x += 64 {
		off := x >> 3
		var w uint64
		if off+8 <= len(row) {
			w = binary.LittleEndian.Uint64(row[off:])
		} else {
			for i := 0; i < 8 && off+i < len(row); i++ {
				w |= uint64(row[off+i]) << (8 * i)
			}
		}
		if w|prev == 0 {
			continue // white after white: no change (most words of a page)
		}
		w = leftmostLow(w)
		mask := ^uint64(0)
		if rem := width - x; rem < 64 {
			mask >>= 64 - uint(rem)
		}
		w &= mask
		t := (w ^ (w<<1 | prev>>63)) & mask
		prev = w
		for ; t != 0; t &= t - 1 {
			ch[n] = int32(x + bits.TrailingZeros64(t))
			n++
		}
	}
	w := int32(width)
	ch[n], ch[n+1], ch[n+2] = w, w, w
	return ch[:n+3]
}

// putRun codes one run of the given colour (0 white, 1 black).
func putRun(bw *bitWriter, color int32, run int32) {
	if run > maxRun {
		run = putLongRun(bw, run)
	}
	c := runEncode[color&1][run]
	bw.put(c>>5, uint(c&31))
}

// putLongRun writes the 2560 make-up codes of a run longer than 2560 and
// returns what is left.
func putLongRun(bw *bitWriter, run int32) int32 {
	for run > maxRun {
		bw.put(makeup2560.bits, uint(makeup2560.len))
		run -= maxRun
	}
	return run
}

// maxRunCode is the longest code runEncode holds (a black make-up code
// of 13 bits and a terminating code of 12): a loop that keeps at most
// 64-maxRunCode bits in the accumulator can add any run code.
const maxRunCode = 25

// encode1D codes one row of changing elements as white/black runs (T.4
// §4.1). The bit accumulator lives in locals; runs longer than 2560 take
// the slow path.
func encode1D(bw *bitWriter, cur []int32, width int) {
	n := len(cur) - 3
	acc, nb := bw.acc, bw.n
	a0 := int32(0)
	for i := 0; i <= n; i++ {
		a1 := int32(width)
		if i < n {
			a1 = cur[i]
		}
		run := a1 - a0
		a0 = a1
		if run > maxRun {
			bw.acc, bw.n = acc, nb
			putRun(bw, int32(i&1), run)
			acc, nb = bw.acc, bw.n
			continue
		}
		if nb > 64-maxRunCode {
			acc, nb = bw.store(acc, nb)
		}
		c := runEncode[i&1][run]
		l := uint(c & 31)
		acc |= uint64(c>>5) << (64 - nb - l)
		nb += l
	}
	bw.acc, bw.n = acc, nb
}

// encodeRowMH codes one packed row (MSB-first, 1 = black) as white/black
// runs (T.4 §4.1) straight from its pixels, 64 at a time: each word is
// turned so that the leftmost pixel is bit 0, XORed with itself shifted by
// one pixel (a one at every change of colour), and the changes are taken
// lowest first (bits.TrailingZeros64, t &= t-1). Every run is coded as it
// ends, with no list of changes in between.
func encodeRowMH(bw *bitWriter, row []byte, width int) {
	acc, nb := bw.acc, bw.n
	a0 := 0
	tab, next := runEncode[0], runEncode[1] // codes of the current run's colour, the other's
	var prev uint64                         // last pixel of the previous word, in bit 63
	for x := 0; x < width; x += 64 {
		off := x >> 3
		var w uint64
		if off+8 <= len(row) {
			w = binary.LittleEndian.Uint64(row[off:])
		} else {
			for i := 0; i < 8 && off+i < len(row); i++ {
				w |= uint64(row[off+i]) << (8 * i)
			}
		}
		if w|prev == 0 {
			continue // white after white: no change (most words of a page)
		}
		w = leftmostLow(w)
		mask := ^uint64(0)
		if rem := width - x; rem < 64 {
			mask >>= 64 - uint(rem)
		}
		w &= mask
		t := (w ^ (w<<1 | prev>>63)) & mask
		prev = w
		for ; t != 0; t &= t - 1 {
			a1 := x + bits.TrailingZeros64(t)
			run := a1 - a0
			a0 = a1
			if run > maxRun {
				bw.acc, bw.n = acc, nb
				putLongRunCodes(bw, tab, run)
				acc, nb = bw.acc, bw.n
			} else {
				if nb > 64-maxRunCode {
					acc, nb = bw.store(acc, nb)
				}
				c := tab[run]
				l := uint(c & 31)
				acc |= uint64(c>>5) << (64 - nb - l)
				nb += l
			}
			tab, next = next, tab
		}
	}
	bw.acc, bw.n = acc, nb
	putLongRunCodes(bw, tab, width-a0)
}

// leftmostLow reverses the bits of every byte of a little-endian loaded
// row word, so that pixel x+i of the word starting at pixel x is bit i.
func leftmostLow(w uint64) uint64 {
	const m1, m2, m4 = 0x5555555555555555, 0x3333333333333333, 0x0f0f0f0f0f0f0f0f
	w = w>>1&m1 | w&m1<<1
	w = w>>2&m2 | w&m2<<2
	return w>>4&m4 | w&m4<<4
}

// putLongRunCodes codes a run of any length with the codes in tab.
func putLongRunCodes(bw *bitWriter, tab *[maxRun + 1]uint32, run int) {
	if run > maxRun {
		run = int(putLongRun(bw, int32(run)))
	}
	c := tab[run]
	bw.put(c>>5, uint(c&31))
}

// vertCodes are the vertical mode codes indexed by a1-b1+3.
var vertCodes = func() (t [7]code) {
	for i, m := range vertMode {
		t[i] = modeEncode[m]
	}
	return t
}()

// encode2D codes one row against the reference row (T.4 §4.2, T.6 §2.2).
// Both rows are changing elements with sentinels. The bit accumulator
// lives in locals except around horizontal-mode runs.
func encode2D(bw *bitWriter, cur, ref []int32, width int) {
	w := int32(width)
	acc, nb := bw.acc, bw.n
	a0 := int32(-1)
	i := 0 // index of a1 in cur; its parity is the colour of a0
	j := 0 // first element of ref right of a0
	for {
		a1 := cur[i]
		for ref[j] <= a0 {
			j++
		}
		k := j + (j^i)&1 // b1 has the parity of a1
		b1, b2 := ref[k], ref[k+1]
		var c code
		switch d := a1 - b1; {
		case b2 < a1:
			c = modeEncode[modePass]
			a0 = b2
		case d >= -3 && d <= 3:
			c = vertCodes[(d+3)&7]
			a0 = a1
			i++
		default:
			bw.acc, bw.n = acc, nb
			h := modeEncode[modeHoriz]
			bw.put(h.bits, uint(h.len))
			a2 := cur[i+1]
			putRun(bw, int32(i&1), a1-max(a0, 0))
			putRun(bw, int32(i&1)^1, a2-a1)
			acc, nb = bw.acc, bw.n
			a0 = a2
			i += 2
		}
		if c.len != 0 {
			if nb > 64-maxRunCode {
				acc, nb = bw.store(acc, nb)
			}
			l := uint(c.len)
			acc |= uint64(c.bits) << (64 - nb - l)
			nb += l
		}
		if a0 >= w {
			bw.acc, bw.n = acc, nb
			return
		}
	}
}
