package tiff

import (
	"bufio"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/bits"

	"golang.org/x/image/tiff/lzw"

	"github.com/faxagent/faxagent/imaging"
)

// stripRows is the streaming state of a bilevel page: one strip open at a
// time, decoded row by row.
type stripRows struct {
	p      *PageReader
	strip  int // index of the open strip; -1 before the first
	left   int // rows left in the open strip
	row    int // rows produced
	br     *bufio.Reader
	src    io.Reader // decompressed bytes of the open strip (non-CCITT)
	closer io.Closer
	fax    faxStrip // CCITT state
	stats  imaging.RowStats
	err    error // sticky error
}

func (s *stripRows) init(p *PageReader) {
	*s = stripRows{p: p, strip: -1}
}

func (s *stripRows) closeStrip() {
	if s.closer != nil {
		s.closer.Close()
		s.closer = nil
	}
	s.src = nil
}

func (s *stripRows) next(row []byte) error {
	if s.err != nil {
		return s.err
	}
	p := s.p
	in := &p.info
	if s.row >= in.Height {
		s.closeStrip()
		return imaging.ErrEndOfPage
	}
	if s.left == 0 {
		s.closeStrip()
		s.strip++
		s.left = min(p.rowsPerStrip, in.Height-s.row)
		var err error
		if in.Compression != 0 {
			err = s.fax.open(p, s.section(s.strip), s.left)
		} else {
			s.src, s.closer, err = p.decompressor(s.section(s.strip))
		}
		if err != nil {
			s.err = p.errorf("strip %d: %w", s.strip, err)
			return s.err
		}
	}
	stride := imaging.RowBytes(in.Width)
	row = row[:stride]
	if in.Compression != 0 {
		if err := s.fax.readRow(row, &s.stats); err != nil {
			s.err = p.errorf("strip %d, row %d: %w", s.strip, s.row, err)
			return s.err
		}
	} else {
		if _, err := io.ReadFull(s.src, row); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("%w: %w", ErrFormat, errTruncated)
			}
			s.err = p.errorf("strip %d, row %d: %w", s.strip, s.row, err)
			return s.err
		}
		s.stats.Rows++
	}
	if in.Photometric == photoBlackIsZero {
		for i := range row {
			row[i] = ^row[i]
		}
	}
	if pad := stride*8 - in.Width; pad > 0 {
		row[stride-1] &^= byte(1<<uint(pad) - 1)
	}
	s.left--
	s.row++
	return nil
}

// section returns a buffered reader over strip i's bytes.
func (s *stripRows) section(i int) *bufio.Reader {
	sec := io.NewSectionReader(s.p.c.r, s.p.offsets[i], s.p.counts[i])
	if s.br == nil {
		s.br = bufio.NewReaderSize(sec, 4096)
	} else {
		s.br.Reset(sec)
	}
	return s.br
}

// decompressor returns the decompressed byte stream of one non-CCITT strip.
// Only as many bytes as the rows need are ever read from it, which bounds
// the work a decompression bomb can cause.
func (p *PageReader) decompressor(raw io.Reader) (io.Reader, io.Closer, error) {
	if p.info.FillOrder == 2 {
		// libtiff reverses the bits of non-CCITT strips with FillOrder 2
		// before decompressing them.
		raw = &reverseReader{r: raw}
	}
	switch p.info.CompressionTag {
	case CompressionNone:
		return raw, nil, nil
	case CompressionPackBits:
		return &packBitsReader{r: asByteReader(raw)}, nil, nil
	case CompressionLZW:
		rc := lzw.NewReader(raw, lzw.MSB, 8)
		return rc, rc, nil
	case CompressionDeflate, CompressionDeflate2:
		zr, err := zlib.NewReader(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: deflate: %w", ErrFormat, err)
		}
		return zr, zr, nil
	}
	return nil, nil, fmt.Errorf("%w: compression %d", ErrUnsupported, p.info.CompressionTag)
}

// reverseReader reverses the bit order of every byte it passes on.
type reverseReader struct{ r io.Reader }

func (r *reverseReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	for i := range b[:n] {
		b[i] = bits.Reverse8(b[i])
	}
	return n, err
}

func asByteReader(r io.Reader) io.ByteReader {
	if br, ok := r.(io.ByteReader); ok {
		return br
	}
	return bufio.NewReader(r)
}

// packBitsReader decodes Apple PackBits (TIFF compression 32773) as a
// stream.
type packBitsReader struct {
	r   io.ByteReader
	n   int  // bytes left in the current run
	lit bool // literal run (else repeat of b)
	b   byte
}

func (p *packBitsReader) Read(out []byte) (int, error) {
	i := 0
	for i < len(out) {
		if p.n == 0 {
			h, err := p.r.ReadByte()
			if err != nil {
				if i > 0 {
					return i, nil
				}
				return 0, err
			}
			switch {
			case h < 128:
				p.n, p.lit = int(h)+1, true
			case h == 128:
				continue // no-op
			default:
				b, err := p.r.ReadByte()
				if err != nil {
					if errors.Is(err, io.EOF) {
						err = io.ErrUnexpectedEOF
					}
					return i, err
				}
				p.n, p.lit, p.b = 257-int(h), false, b
			}
		}
		if p.lit {
			for p.n > 0 && i < len(out) {
				b, err := p.r.ReadByte()
				if err != nil {
					if errors.Is(err, io.EOF) {
						err = io.ErrUnexpectedEOF
					}
					return i, err
				}
				out[i] = b
				i++
				p.n--
			}
		} else {
			for p.n > 0 && i < len(out) {
				out[i] = p.b
				i++
				p.n--
			}
		}
	}
	return i, nil
}
