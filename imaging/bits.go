package imaging

import (
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
)

// bitReader reads a coded stream through a 64-bit accumulator. The next
// unread bit is the most significant bit of acc; n bits of acc are valid.
// Bits of acc below the n valid ones are either zero or equal to the
// stream bits that follow, so a refill may OR whole words in.
//
// The bytes in src are always most significant bit first: an LSBFirst
// stream is read through r and reversed as it is read into buf.
type bitReader struct {
	acc uint64
	n   uint
	src []byte // bytes not yet loaded start at src[pos]
	pos int
	lsb bool // LSBFirst: reverse the bits of every byte read from r

	r    io.Reader // nil when src is the whole stream
	buf  []byte    // backing store for src when reading from r
	rerr error     // first error from r (io.EOF at the end)
}

const readBufSize = 16 << 10

// resetBytes reads an MSBFirst stream from data.
func (b *bitReader) resetBytes(data []byte) {
	*b = bitReader{src: data, buf: b.buf}
}

func (b *bitReader) resetReader(r io.Reader, lsb bool) {
	if b.buf == nil {
		b.buf = make([]byte, readBufSize)
	}
	*b = bitReader{r: r, lsb: lsb, buf: b.buf, src: b.buf[:0]}
}

// refill loads bytes until at least 57 bits are valid or the stream ends.
func (b *bitReader) refill() {
	if b.pos+8 <= len(b.src) {
		b.acc |= binary.BigEndian.Uint64(b.src[b.pos:]) >> b.n
		k := (64 - b.n) >> 3
		b.pos += int(k)
		b.n += k << 3
		return
	}
	b.refillSlow()
}

// load is refill for decoding loops that keep the accumulator in locals
// (n in [0, 63]): it loads whole bytes from src if 8 are left, and
// reports whether it could. Small enough to inline.
func (b *bitReader) load(acc uint64, n int) (uint64, int, bool) {
	if b.pos+8 > len(b.src) {
		return acc, n, false
	}
	acc |= binary.BigEndian.Uint64(b.src[b.pos:]) >> uint(n&63)
	k := (64 - n) >> 3
	b.pos += k
	return acc, n + k<<3, true
}

func (b *bitReader) refillSlow() {
	if b.r != nil && b.rerr == nil {
		b.fill()
		if b.pos+8 <= len(b.src) {
			b.refill()
			return
		}
	}
	for b.n <= 56 && b.pos < len(b.src) {
		b.acc |= uint64(b.src[b.pos]) << (56 - b.n)
		b.pos++
		b.n += 8
	}
}

// fill moves the unread bytes to the front of buf and reads more from r.
func (b *bitReader) fill() {
	m := copy(b.buf, b.src[b.pos:])
	m0 := m
	for empty := 0; m < 8 && b.rerr == nil; {
		k, err := b.r.Read(b.buf[m:])
		m += k
		switch {
		case err != nil:
			b.rerr = err
		case k == 0:
			// Like bufio, give up on a reader that keeps returning 0, nil.
			if empty++; empty >= 100 {
				b.rerr = io.ErrNoProgress
			}
		}
	}
	if b.lsb {
		for i, c := range b.buf[m0:m] {
			b.buf[m0+i] = bits.Reverse8(c)
		}
	}
	b.src = b.buf[:m]
	b.pos = 0
}

// readErr is the reader's error other than io.EOF, if any.
func (b *bitReader) readErr() error {
	if b.rerr == nil || errors.Is(b.rerr, io.EOF) {
		return nil
	}
	return b.rerr
}

func (b *bitReader) consume(k uint) {
	b.acc <<= k
	b.n -= k
}

// atEnd reports whether no bit is left.
func (b *bitReader) atEnd() bool {
	if b.n == 0 {
		b.refill()
	}
	return b.n == 0
}

// zerosAhead reports whether the next 11 bits are zero: the start of an
// EOL, fill before one, or zero padding up to the end of the stream.
func (b *bitReader) zerosAhead() bool {
	if b.n < 11 {
		b.refill()
	}
	// Bits below n are zero at the end of the stream.
	return b.acc>>(64-11) == 0
}

// skipToEOL consumes bits up to and including the next EOL (at least 11
// zeros and a one). It returns false if the stream ends first.
func (b *bitReader) skipToEOL() bool {
	zeros := uint(0)
	for {
		if b.n < 32 {
			b.refill()
			if b.n == 0 {
				return false
			}
		}
		lz := uint(bits.LeadingZeros64(b.acc))
		if lz >= b.n {
			zeros += b.n
			b.consume(b.n)
			continue
		}
		zeros += lz
		b.consume(lz + 1)
		if zeros >= 11 {
			return true
		}
		zeros = 0
	}
}

// alignByte drops the bits up to the next byte boundary of the stream.
func (b *bitReader) alignByte() {
	b.consume(b.n & 7)
}

// bitWriter packs codes through a 64-bit accumulator into buf. The next
// free bit is bit 63-n of acc; the bits below it are zero. buf[:pos] holds
// the bytes written; store puts all eight bytes of acc at buf[pos:] and
// advances pos over the whole ones, so the partial byte is written again,
// completed, by the next store. Codes are always packed most significant
// bit first; an LSBFirst stream reverses the bits of every byte as it is
// stored (one bits.Reverse64 per store, no per-code work).
type bitWriter struct {
	acc     uint64
	n       uint
	buf     []byte // len(buf) is the capacity; bytes past pos are scratch
	pos     int
	lsb     bool
	flushed int64 // bytes already handed to the io.Writer
}

// put appends the low l bits of c (l <= 32).
func (w *bitWriter) put(c uint32, l uint) {
	if w.n+l > 64 {
		w.acc, w.n = w.store(w.acc, w.n)
	}
	w.acc |= uint64(c) << (64 - w.n - l)
	w.n += l
}

// store moves the whole bytes of acc (n <= 64 bits valid) into buf and
// returns what is left: fewer than 8 bits. Encoding loops that keep the
// accumulator in locals call it directly; it inlines.
func (w *bitWriter) store(acc uint64, n uint) (uint64, uint) {
	if w.pos+8 > len(w.buf) {
		w.grow()
	}
	if w.lsb {
		binary.LittleEndian.PutUint64(w.buf[w.pos:], bits.Reverse64(acc))
	} else {
		binary.BigEndian.PutUint64(w.buf[w.pos:], acc)
	}
	k := n >> 3
	w.pos += int(k)
	return acc << (k << 3), n & 7
}

// grow doubles buf (a row with MinRowBits fill can be long).
//
//go:noinline
func (w *bitWriter) grow() {
	b := make([]byte, max(2*len(w.buf), 64))
	copy(b, w.buf[:w.pos])
	w.buf = b
}

// zeros appends k zero bits.
func (w *bitWriter) zeros(k int) {
	for k > 0 {
		m := min(k, 32)
		w.put(0, uint(m))
		k -= m
	}
}

// bitPos is the number of bits written so far.
func (w *bitWriter) bitPos() int64 {
	return (w.flushed+int64(w.pos))*8 + int64(w.n)
}

// padByte appends zero bits up to the next byte boundary.
func (w *bitWriter) padByte() {
	w.zeros(int(-w.n & 7))
}

// drain moves the whole bytes of acc into buf; call after padByte.
func (w *bitWriter) drain() {
	w.acc, w.n = w.store(w.acc, w.n)
}
