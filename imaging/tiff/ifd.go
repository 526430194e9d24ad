package tiff

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// TIFF tags this package reads or writes (TIFF 6.0 and RFC 2306, TIFF-F).
const (
	tagNewSubfileType         = 254
	tagImageWidth             = 256
	tagImageLength            = 257
	tagBitsPerSample          = 258
	tagCompression            = 259
	tagPhotometric            = 262
	tagFillOrder              = 266
	tagStripOffsets           = 273
	tagSamplesPerPixel        = 277
	tagRowsPerStrip           = 278
	tagStripByteCounts        = 279
	tagXResolution            = 282
	tagYResolution            = 283
	tagPlanarConfiguration    = 284
	tagT4Options              = 292
	tagT6Options              = 293
	tagResolutionUnit         = 296
	tagPageNumber             = 297
	tagSoftware               = 305
	tagDateTime               = 306
	tagPredictor              = 317
	tagColorMap               = 320
	tagTileWidth              = 322
	tagExtraSamples           = 338
	tagBadFaxLines            = 326
	tagCleanFaxData           = 327
	tagConsecutiveBadFaxLines = 328
)

// TIFF field types.
const (
	typeByte      = 1
	typeASCII     = 2
	typeShort     = 3
	typeLong      = 4
	typeRational  = 5
	typeSByte     = 6
	typeUndefined = 7
	typeSShort    = 8
	typeSLong     = 9
	typeSRational = 10
	typeFloat     = 11
	typeDouble    = 12
)

func typeSize(t uint16) int {
	switch t {
	case typeByte, typeASCII, typeSByte, typeUndefined:
		return 1
	case typeShort, typeSShort:
		return 2
	case typeLong, typeSLong, typeFloat:
		return 4
	case typeRational, typeSRational, typeDouble:
		return 8
	}
	return 0
}

// Limits on hostile input.
const (
	// MaxPages bounds the IFDs a Reader follows.
	MaxPages = 10000
	// MaxWidth is the widest page (in pixels) a Reader accepts.
	MaxWidth = 16384
	// MaxImageBytes bounds the decoded size of one non-bilevel page that
	// Image decodes in memory.
	MaxImageBytes = 64 << 20
	maxIFDEntries = 1000
)

// Sentinel errors callers may branch on. Errors returned by this package
// start with "tiff: " (and "page N: " where a page is involved) and wrap
// one of these where one applies.
var (
	// ErrFormat means the input is not a well-formed TIFF file.
	ErrFormat = errors.New("malformed TIFF")
	// ErrUnsupported means the file is valid TIFF using a feature this
	// package does not read (tiles, BigTIFF, an unknown compression, ...).
	ErrUnsupported = errors.New("unsupported TIFF feature")
	// ErrTooLarge means a page exceeds the size limits.
	ErrTooLarge = errors.New("page too large")
)

// field is one IFD entry; values are read lazily from the file.
type field struct {
	tag, typ uint16
	count    uint32
	raw      [4]byte // the value/offset word as stored
}

// ifd is one parsed image file directory.
type ifd struct {
	fields []field
}

func (d *ifd) find(tag uint16) (field, bool) {
	for _, f := range d.fields {
		if f.tag == tag {
			return f, true
		}
	}
	return field{}, false
}

// container is the low-level view of a TIFF file.
type container struct {
	r    io.ReaderAt
	size int64
	bo   binary.ByteOrder
}

func (c *container) readAt(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > c.size || int64(n) > c.size-off {
		return nil, fmt.Errorf("%w: data at %d+%d beyond end of file (%d bytes)", ErrFormat, off, n, c.size)
	}
	b := make([]byte, n)
	// ReaderAt may report io.EOF with a full read at the end of the input.
	if got, err := c.r.ReadAt(b, off); got < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read at %d: %w", off, err)
	}
	return b, nil
}

// readHeader checks the byte order mark and returns the first IFD offset.
func (c *container) readHeader() (int64, error) {
	h, err := c.readAt(0, 8)
	if err != nil {
		return 0, fmt.Errorf("%w: file shorter than a TIFF header", ErrFormat)
	}
	switch string(h[:2]) {
	case "II":
		c.bo = binary.LittleEndian
	case "MM":
		c.bo = binary.BigEndian
	default:
		return 0, fmt.Errorf("%w: no TIFF byte order mark", ErrFormat)
	}
	switch v := c.bo.Uint16(h[2:]); v {
	case 42:
	case 43:
		return 0, fmt.Errorf("%w: BigTIFF", ErrUnsupported)
	default:
		return 0, fmt.Errorf("%w: bad TIFF version %d", ErrFormat, v)
	}
	return int64(c.bo.Uint32(h[4:])), nil
}

// ifdSize reads the entry count at off and returns the IFD's length in
// bytes and the offset of the next IFD.
func (c *container) ifdHeader(off int64) (n int, next int64, err error) {
	b, err := c.readAt(off, 2)
	if err != nil {
		return 0, 0, err
	}
	n = int(c.bo.Uint16(b))
	if n == 0 || n > maxIFDEntries {
		return 0, 0, fmt.Errorf("%w: IFD at %d has %d entries", ErrFormat, off, n)
	}
	nb, err := c.readAt(off+2+12*int64(n), 4)
	if err != nil {
		return 0, 0, err
	}
	return n, int64(c.bo.Uint32(nb)), nil
}

// chain walks the IFD chain from first and returns the offsets of the IFDs.
func (c *container) chain(first int64) ([]int64, error) {
	var offs []int64
	seen := make(map[int64]bool)
	for off := first; off != 0; {
		if seen[off] {
			return nil, fmt.Errorf("%w: IFD chain loops back to offset %d", ErrFormat, off)
		}
		if len(offs) >= MaxPages {
			return nil, fmt.Errorf("%w: more than %d pages", ErrTooLarge, MaxPages)
		}
		seen[off] = true
		_, next, err := c.ifdHeader(off)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", len(offs)+1, err)
		}
		offs = append(offs, off)
		off = next
	}
	if len(offs) == 0 {
		return nil, fmt.Errorf("%w: no image directory", ErrFormat)
	}
	return offs, nil
}

func (c *container) readIFD(off int64) (*ifd, error) {
	n, _, err := c.ifdHeader(off)
	if err != nil {
		return nil, err
	}
	b, err := c.readAt(off+2, 12*n)
	if err != nil {
		return nil, err
	}
	d := &ifd{fields: make([]field, n)}
	for i := range d.fields {
		e := b[12*i:]
		f := &d.fields[i]
		f.tag = c.bo.Uint16(e)
		f.typ = c.bo.Uint16(e[2:])
		f.count = c.bo.Uint32(e[4:])
		copy(f.raw[:], e[8:12])
	}
	return d, nil
}

// data returns the bytes of a field's value.
func (c *container) data(f field) ([]byte, error) {
	sz := typeSize(f.typ)
	if sz == 0 {
		return nil, fmt.Errorf("%w: tag %d has unknown type %d", ErrFormat, f.tag, f.typ)
	}
	total := int64(sz) * int64(f.count)
	if total <= 4 {
		return f.raw[:total], nil
	}
	if total > c.size {
		return nil, fmt.Errorf("%w: tag %d has %d values, more than the file holds", ErrFormat, f.tag, f.count)
	}
	return c.readAt(int64(c.bo.Uint32(f.raw[:])), int(total))
}

// ints returns an integer field's values (BYTE, SHORT, LONG and signed
// forms). max bounds the count accepted.
func (c *container) ints(f field, max int) ([]int64, error) {
	if int64(f.count) > int64(max) {
		return nil, fmt.Errorf("%w: tag %d has %d values (at most %d expected)", ErrFormat, f.tag, f.count, max)
	}
	switch f.typ {
	case typeByte, typeShort, typeLong, typeSByte, typeSShort, typeSLong, typeUndefined:
	default:
		return nil, fmt.Errorf("%w: tag %d has non-integer type %d", ErrFormat, f.tag, f.typ)
	}
	b, err := c.data(f)
	if err != nil {
		return nil, err
	}
	v := make([]int64, f.count)
	for i := range v {
		switch f.typ {
		case typeByte, typeUndefined:
			v[i] = int64(b[i])
		case typeSByte:
			v[i] = int64(int8(b[i]))
		case typeShort:
			v[i] = int64(c.bo.Uint16(b[2*i:]))
		case typeSShort:
			v[i] = int64(int16(c.bo.Uint16(b[2*i:])))
		case typeLong:
			v[i] = int64(c.bo.Uint32(b[4*i:]))
		case typeSLong:
			v[i] = int64(int32(c.bo.Uint32(b[4*i:])))
		}
	}
	return v, nil
}

// uint returns the first value of an integer tag, or def if absent.
func (c *container) uint(d *ifd, tag uint16, def int64) (int64, error) {
	f, ok := d.find(tag)
	if !ok || f.count == 0 {
		return def, nil
	}
	// Read only the first value even if the count is larger.
	f.count = 1
	v, err := c.ints(f, 1)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// rational returns the first value of a RATIONAL (or integer) tag.
func (c *container) rational(d *ifd, tag uint16) (float64, bool, error) {
	f, ok := d.find(tag)
	if !ok || f.count == 0 {
		return 0, false, nil
	}
	f.count = 1
	switch f.typ {
	case typeRational, typeSRational:
		b, err := c.data(f)
		if err != nil {
			return 0, false, err
		}
		num, den := c.bo.Uint32(b), c.bo.Uint32(b[4:])
		if f.typ == typeSRational {
			if den == 0 {
				return 0, false, nil
			}
			return float64(int32(num)) / float64(int32(den)), true, nil
		}
		if den == 0 {
			return 0, false, nil
		}
		return float64(num) / float64(den), true, nil
	case typeFloat:
		return 0, false, nil
	default:
		v, err := c.ints(f, 1)
		if err != nil {
			return 0, false, err
		}
		return float64(v[0]), true, nil
	}
}

// ascii returns an ASCII tag's value without the trailing NUL, bounded.
func (c *container) ascii(d *ifd, tag uint16) string {
	f, ok := d.find(tag)
	if !ok || f.typ != typeASCII || f.count == 0 || f.count > 4096 {
		return ""
	}
	b, err := c.data(f)
	if err != nil {
		return ""
	}
	for i, ch := range b {
		if ch == 0 {
			b = b[:i]
			break
		}
	}
	return string(b)
}
