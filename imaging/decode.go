package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
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
	o  DecodeOptions
	br bitReader
	// Changing elements of the last good row (ref) and the row being
	// decoded (cur): -1, the elements, then width three times. Both have
	// room for Width+5: the elements are strictly increasing in
	// [0, Width].
	ref, cur []int32
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
		ref:   make([]int32, 0, o.Width+5),
		cur:   make([]int32, 0, o.Width+5),
		words: make([]uint64, o.Width/64+2),
	}, nil
}

// Reset starts a new page read from r with the same options, keeping
// buffers.
func (d *Decoder) Reset(r io.Reader) {
	d.br.resetReader(r, d.o.BitOrder == LSBFirst)
	d.reset()
}

// resetBytes starts a new page read from data without copying it, if it
// is MSBFirst.
func (d *Decoder) resetBytes(data []byte) {
	if d.o.BitOrder == LSBFirst {
		d.Reset(bytes.NewReader(data)) // reversed while read into a buffer
		return
	}
	d.br.resetBytes(data)
	d.reset()
}

func (d *Decoder) reset() {
	w := int32(d.o.Width)
	d.ref = append(d.ref[:0], -1, w, w, w)
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
	fillRow(row[:RowBytes(d.o.Width)], d.ref[1:], len(d.ref)-4, d.o.Width, d.words)
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

// Run codes are decoded with one lookup in runDecode. An entry e with
// fastRun(e) is a terminating code of a run 1..63; the others (make-up
// codes, the zero run, no code) go through runTail.
func fastRun(e uint16) bool { return e-1<<4 < 63<<4 }

// runTail finishes a run whose first code, with entry e, has been
// consumed from acc (n bits valid; negative if the code ran past the end
// of the data): it adds make-up codes up to the terminating code. It
// returns the run length and the accumulator, or a negative run for a bad
// code or make-up codes adding up to more than limit. The caller checks
// the run with its terminating code.
//
//go:noinline
func (b *bitReader) runTail(tab *[1 << runLookupBits]uint16, e uint16, acc uint64, n int, limit int32) (int32, uint64, int) {
	total := int32(0)
	for {
		if e&15 == 0 || n < 0 {
			return -1, acc, n
		}
		v := int32(e >> 4)
		total += v
		if v >= 64 && total > limit {
			return -1, acc, n
		}
		if n < runLookupBits {
			b.acc, b.n = acc, uint(n)
			b.refill()
			acc, n = b.acc, int(b.n)
		}
		if v < 64 {
			// The caller may look up one more code without a refill.
			return total, acc, n
		}
		e = tab[acc>>(64-runLookupBits)]
		l := uint(e & 15)
		acc <<= l
		n -= int(l)
	}
}

// decode1D decodes a one-dimensional row into d.cur. The bit accumulator
// lives in locals for the whole row; n goes negative if a code runs past
// the end of the data, which fails the row.
//
// An inner loop without calls takes white-black pairs of terminating
// codes (runs 1..63) that end left of the edge; the outer loop takes one
// run of any kind, and refills. The row ends before d.cur has more than
// Width+1 changing elements.
func (d *Decoder) decode1D() bool {
	w := int32(d.o.Width)
	cur := d.cur[:cap(d.cur)]
	cur[0] = -1
	nc := 1
	acc, n := d.br.acc, int(d.br.n)
	a0 := int32(0)
	black := false // the colour of the next run
	ok := false
	for {
		if !black {
			for {
				// Both codes of a pair fit in 2*runLookupBits bits.
				if n < 2*runLookupBits {
					var more bool
					if n < 0 {
						break
					}
					if acc, n, more = d.br.load(acc, n); !more {
						break
					}
				}
				ew := whiteDecode[acc>>(64-runLookupBits)]
				lw := uint(ew & 15)
				eb := blackDecode[acc<<lw>>(64-runLookupBits)]
				if !fastRun(ew) || !fastRun(eb) {
					break
				}
				a1 := a0 + int32(ew>>4)
				a2 := a1 + int32(eb>>4)
				if a2 >= w {
					break
				}
				l := lw + uint(eb&15)
				acc <<= l
				n -= int(l)
				cur[nc+1] = a2
				cur[nc] = a1
				nc += 2
				a0 = a2
			}
		}
		if n < 2*runLookupBits { // for the pair loop after this run
			if n < 0 {
				break
			}
			d.br.acc, d.br.n = acc, uint(n)
			d.br.refill()
			acc, n = d.br.acc, int(d.br.n)
		}
		tab := &whiteDecode
		if black {
			tab = &blackDecode
		}
		black = !black
		e := tab[acc>>(64-runLookupBits)]
		l := uint(e & 15)
		acc <<= l
		n -= int(l)
		r := int32(e >> 4)
		if !fastRun(e) {
			r, acc, n = d.br.runTail(tab, e, acc, n, w)
			if r < 0 {
				break
			}
			if r == 0 && nc > 1 {
				nc-- // a zero-length run cancels the last change
				continue
			}
		}
		a0 += r
		if a0 >= w {
			ok = a0 == w
			break
		}
		cur[nc] = a0
		nc++
	}
	if n < 0 {
		acc, n, ok = 0, 0, false // the last code ran past the end
	}
	d.br.acc, d.br.n = acc, uint(n)
	if ok {
		d.cur = endLine(cur[:nc], w)
	}
	return ok
}

// decode2D decodes a two-dimensional row against d.ref into d.cur. The
// bit accumulator lives in locals; n goes negative if a code runs past
// the end of the data, which fails the row.
//
// b indexes ref: b1 is ref[b], and b's parity is a0's colour (odd:
// white). Every element of ref with b's parity before b is at most a0,
// so b1 is found by stepping b by two. A vertical mode flips the colour:
// the next b is b+1, or b-1 if ref[b-1] is right of a1; a pass mode moves
// it to b+2. The common codes then need no search.
//
// An inner loop without calls, refilling inline while 8 bytes are
// buffered, takes runs of V0 codes (copied from ref), vertical modes with
// a0 < a1 <= w, pass modes and horizontal modes of two terminating codes
// ending by the edge. The outer loop takes every code (make-up codes,
// zero runs, errors) and refills through the reader.
func (d *Decoder) decode2D() bool {
	w := int32(d.o.Width)
	ref := d.ref
	cur := d.cur[:cap(d.cur)]
	cur[0] = -1
	nc := 1
	acc, n := d.br.acc, int(d.br.n)
	a0 := int32(-1)
	b := 1
	ok := true
	last := len(ref) - 3 // the first sentinel
	for {
		for a0 < w {
			// Enough bits for a horizontal mode of terminating codes.
			if n < 3+2*runLookupBits {
				var more bool
				if n < 0 {
					break
				}
				if acc, n, more = d.br.load(acc, n); !more {
					break
				}
			}
			for ref[b] <= a0 {
				b += 2
			}
			if acc >= 3<<62 {
				// Two or more V0 codes (1 bits): each makes a1 = b1 and
				// moves b on by one, copying ref from b. Up to the
				// first sentinel, which ends the row.
				k := min(bits.LeadingZeros64(^acc), n, max(last-b, 0)+1)
				copy(cur[nc:nc+k], ref[b:b+k])
				a0 = ref[b+k-1]
				acc <<= uint(k)
				n -= k
				nc += k
				b += k
				continue
			}
			e := modeDecode[acc>>(64-modeLookupBits)]
			if e&modeOther == 0 {
				a1 := ref[b] + int32(e>>8)
				if a1 <= a0 || a1 > w {
					break
				}
				l := uint(e & 63)
				acc <<= l
				n -= int(l)
				cur[nc] = a1
				nc++
				b += 1 + 2*int((a1-ref[b-1])>>31) // b-1 if ref[b-1] > a1
				a0 = a1
				continue
			}
			if e>>8 == kindPass {
				l := uint(e & 63)
				acc <<= l
				n -= int(l)
				a0 = ref[b+1]
				b += 2
				continue
			}
			if e>>8 != kindHoriz {
				break
			}
			// Horizontal with two terminating codes: a0 < a1 < a2.
			t1, t2 := &whiteDecode, &blackDecode
			if b&1 == 0 {
				t1, t2 = t2, t1
			}
			lm := uint(e & 63)
			e1 := t1[acc<<lm>>(64-runLookupBits)]
			l1 := lm + uint(e1&15)
			e2 := t2[acc<<l1>>(64-runLookupBits)]
			if !fastRun(e1) || !fastRun(e2) {
				break
			}
			a1 := max(a0, 0) + int32(e1>>4)
			a2 := a1 + int32(e2>>4)
			if a2 > w {
				break
			}
			l := l1 + uint(e2&15)
			acc <<= l
			n -= int(l)
			cur[nc+1] = a2
			cur[nc] = a1
			nc += 2
			a0 = a2
		}
		if a0 >= w {
			break
		}
		if n < modeLookupBits {
			if n < 0 {
				ok = false
				break
			}
			d.br.acc, d.br.n = acc, uint(n)
			d.br.refill()
			acc, n = d.br.acc, int(d.br.n)
		}
		for ref[b] <= a0 {
			b += 2
		}
		e := modeDecode[acc>>(64-modeLookupBits)]
		l := uint(e & 63)
		acc <<= l
		n -= int(l)
		if e&modeOther == 0 {
			a1 := ref[b] + int32(e>>8)
			if a1 < max(a0, 0) || a1 > w {
				ok = false
				break
			}
			nc = pushChange(cur, nc, a1)
			b += 1 + 2*int((a1-ref[b-1])>>31)
			a0 = a1
			continue
		}
		switch e >> 8 {
		case kindPass:
			a0 = ref[b+1]
			b += 2
			continue
		case kindHoriz:
		default:
			ok = false
		}
		if !ok {
			break
		}
		// Horizontal: two runs, a0's colour first.
		if n < 2*runLookupBits {
			if n < 0 {
				ok = false
				break
			}
			d.br.acc, d.br.n = acc, uint(n)
			d.br.refill()
			acc, n = d.br.acc, int(d.br.n)
		}
		t1, t2 := &whiteDecode, &blackDecode
		if b&1 == 0 {
			t1, t2 = t2, t1
		}
		start := max(a0, 0)
		e1 := t1[acc>>(64-runLookupBits)]
		l = uint(e1 & 15)
		acc <<= l
		n -= int(l)
		a1 := start
		if fastRun(e1) {
			a1 += int32(e1 >> 4)
		} else {
			var r int32
			r, acc, n = d.br.runTail(t1, e1, acc, n, w-start)
			if r < 0 {
				ok = false
				break
			}
			a1 += r
		}
		if a1 > w {
			ok = false
			break
		}
		e2 := t2[acc>>(64-runLookupBits)]
		l = uint(e2 & 15)
		acc <<= l
		n -= int(l)
		a2 := a1
		if fastRun(e2) {
			a2 += int32(e2 >> 4)
		} else {
			var r int32
			r, acc, n = d.br.runTail(t2, e2, acc, n, w-a1)
			if r < 0 {
				ok = false
				break
			}
			a2 += r
		}
		if a2 > w {
			ok = false
			break
		}
		nc = pushChange(cur, nc, a1)
		nc = pushChange(cur, nc, a2)
		a0 = a2
	}
	if n < 0 {
		acc, n, ok = 0, 0, false // the last code ran past the end
	}
	d.br.acc, d.br.n = acc, uint(n)
	if ok {
		d.cur = endLine(cur[:nc], w)
	}
	return ok
}

// pushChange adds changing element x >= 0 after the nc in cur (the
// first is the -1 sentinel) and returns the new count; one equal to the
// last cancels it (a zero-length run).
func pushChange(cur []int32, nc int, x int32) int {
	if cur[nc-1] == x {
		return nc - 1
	}
	cur[nc] = x
	return nc + 1
}

// endLine drops a changing element at the right edge and adds sentinels.
func endLine(cur []int32, w int32) []int32 {
	if n := len(cur); cur[n-1] == w {
		cur = cur[:n-1]
	}
	return append(cur, w, w, w)
}

// maskFrom[i] is a word with its bits i..63 set, counting from the most
// significant bit; maskFrom[64] is zero. Indexing it avoids variable
// shifts, which need CX on amd64.
var maskFrom = func() (t [65]uint64) {
	for i := range t {
		t[i] = ^uint64(0) >> uint(i)
	}
	return t
}()

// fillRow paints a packed row from changing elements ch, which end with
// at least one sentinel (the width) after nch elements, a 64-bit word at
// a time. words has room for (width+63)/64 + 1 words.
func fillRow(row []byte, ch []int32, nch int, width int, words []uint64) {
	nw := (width + 63) >> 6
	words = words[:nw+1]
	clear(words)
	paintRuns(words, ch[:nch+1])
	full := len(row) >> 3
	out := row[:full<<3]
	for _, v := range words[:full] {
		binary.BigEndian.PutUint64(out[:8], v)
		out = out[8:]
	}
	if full < nw {
		v := words[full]
		for k := full << 3; k < len(row); k++ {
			row[k] = byte(v >> 56)
			v <<= 8
		}
	}
}

// paintRuns sets the bits of the black runs [ch[i], ch[i+1]), i even, in
// words (MSB first); an odd count pairs the last change with the
// sentinel after it. words has a spare word past the last pixel. Apart
// from fillRow, so that its loop has registers to itself.
func paintRuns(words []uint64, ch []int32) {
	for i := 0; i < len(ch)-1; i += 2 {
		a, b := uint(ch[i]), uint(ch[i+1])
		wa, wb := a>>6, b>>6
		ma, mb := maskFrom[a&63], maskFrom[b&63] // mb: the bits from b on
		if wa == wb {
			words[wa] |= ma &^ mb
			continue
		}
		words[wa] |= ma
		for k := wa + 1; k < wb; k++ {
			words[k] = ^uint64(0)
		}
		words[wb] |= ^mb
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
		fillRow(p.Pix[p.Height*stride:], d.ref[1:], len(d.ref)-4, o.Width, d.words)
		p.Height++
	}
}
