package render

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"io"

	"github.com/faxagent/faxagent/imaging"
)

// Netpbm formats, as netpbm's pbm(5), pgm(5) and ppm(5) define them:
// "P1".."P3" plain (ASCII decimal samples), "P4".."P6" raw (binary); PBM
// 1 = black, packed MSB first with each row padded to a byte; PGM/PPM
// samples of one byte when maxval < 256, else two bytes big-endian.

// errPNM is wrapped by every malformed-netpbm error.
var errPNM = fmt.Errorf("%w: netpbm", ErrCorrupt)

const maxPNMDim = 1 << 24 // bound on a header number before the budget check

// pnmHeader is a parsed netpbm header.
type pnmHeader struct {
	kind   byte // '1'..'6'
	w, h   int
	maxval int // 1 for PBM
}

func (h pnmHeader) plain() bool { return h.kind <= '3' }
func (h pnmHeader) channels() int {
	if h.kind == '3' || h.kind == '6' {
		return 3
	}
	return 1
}
func (h pnmHeader) bitmap() bool  { return h.kind == '1' || h.kind == '4' }
func (h pnmHeader) sixteen() bool { return h.maxval > 255 }
func (h pnmHeader) rowBytes() int { // raw formats only
	switch {
	case h.bitmap():
		return (h.w + 7) / 8
	case h.sixteen():
		return 2 * h.channels() * h.w
	}
	return h.channels() * h.w
}

func isPNMSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func pnmErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errPNM}, args...)...)
}

// readPNMHeader reads the magic number and header fields, and for raw
// formats the single whitespace byte before the raster.
func readPNMHeader(br *bufio.Reader) (pnmHeader, error) {
	var h pnmHeader
	var magic [2]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return h, pnmErr("missing magic number: %w", err)
	}
	if magic[0] != 'P' || magic[1] < '1' || magic[1] > '6' {
		return h, pnmErr("bad magic number %q", magic[:])
	}
	h.kind = magic[1]
	var err error
	if h.w, err = pnmHeaderNumber(br, "width"); err != nil {
		return h, err
	}
	if h.h, err = pnmHeaderNumber(br, "height"); err != nil {
		return h, err
	}
	if h.w == 0 || h.h == 0 {
		return h, pnmErr("empty picture %dx%d", h.w, h.h)
	}
	h.maxval = 1
	if !h.bitmap() {
		if h.maxval, err = pnmHeaderNumber(br, "maxval"); err != nil {
			return h, err
		}
		if h.maxval < 1 || h.maxval > 65535 {
			return h, pnmErr("maxval %d out of range 1..65535", h.maxval)
		}
	}
	if !h.plain() {
		c, err := br.ReadByte()
		if err != nil {
			return h, pnmErr("truncated header: %w", noEOF(err))
		}
		if !isPNMSpace(c) {
			return h, pnmErr("no whitespace before the raster")
		}
	}
	return h, nil
}

// skipSpace skips whitespace and comments (# to end of line), as allowed
// between header fields.
func skipSpace(br *bufio.Reader) error {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return err
		}
		switch {
		case c == '#':
			for c != '\n' && c != '\r' {
				if c, err = br.ReadByte(); err != nil {
					return err
				}
			}
		case !isPNMSpace(c):
			return br.UnreadByte()
		}
	}
}

// pnmHeaderNumber reads one decimal header field.
func pnmHeaderNumber(br *bufio.Reader, what string) (int, error) {
	if err := skipSpace(br); err != nil {
		return 0, pnmErr("truncated header before %s: %w", what, noEOF(err))
	}
	n, digits := 0, 0
	for {
		c, err := br.ReadByte()
		if err == io.EOF && digits > 0 {
			return n, nil
		}
		if err != nil {
			return 0, pnmErr("truncated header in %s: %w", what, noEOF(err))
		}
		if c < '0' || c > '9' {
			if digits == 0 {
				return 0, pnmErr("%s: unexpected byte %q", what, c)
			}
			if c == '#' || isPNMSpace(c) {
				return n, br.UnreadByte()
			}
			return 0, pnmErr("%s: unexpected byte %q after number", what, c)
		}
		n = n*10 + int(c-'0')
		digits++
		if n > maxPNMDim {
			return 0, pnmErr("%s too large", what)
		}
	}
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: inside a picture the end
// of data is always premature.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// decodePNM reads one netpbm picture: PBM as a two-colour *image.Paletted
// (index 1 black), PGM as *image.Gray or *image.Gray16, PPM as
// *image.RGBA or *image.RGBA64, samples rescaled from maxval to the full
// range. Pixel memory grows with the data actually read, so a short file
// with a huge header costs nothing.
func decodePNM(br *bufio.Reader, lim Limits) (image.Image, error) {
	h, err := readPNMHeader(br)
	if err != nil {
		return nil, err
	}
	// Output bytes per pixel and per row.
	bpp := h.channels()
	if h.kind == '3' || h.kind == '6' {
		bpp = 4
	}
	if h.sixteen() {
		bpp *= 2
	}
	if err := lim.Check(h.w, h.h, bpp); err != nil {
		return nil, err
	}
	stride := bpp * h.w
	pix := make([]byte, 0, min(stride*h.h, 1<<20))
	row := make([]byte, stride)
	var raw []byte
	if !h.plain() {
		raw = make([]byte, h.rowBytes())
	}
	for y := 0; y < h.h; y++ {
		if h.plain() {
			err = readPlainRow(br, h, row)
		} else {
			if _, err = io.ReadFull(br, raw); err != nil {
				err = pnmErr("raster truncated at row %d of %d: %w", y, h.h, noEOF(err))
			} else {
				err = unpackRawRow(h, raw, row)
			}
		}
		if err != nil {
			return nil, err
		}
		pix = append(pix, row...)
	}
	r := image.Rect(0, 0, h.w, h.h)
	switch {
	case h.bitmap():
		return &image.Paletted{Pix: pix, Stride: stride, Rect: r, Palette: bilevelPalette()}, nil
	case h.channels() == 1 && h.sixteen():
		return &image.Gray16{Pix: pix, Stride: stride, Rect: r}, nil
	case h.channels() == 1:
		return &image.Gray{Pix: pix, Stride: stride, Rect: r}, nil
	case h.sixteen():
		return &image.RGBA64{Pix: pix, Stride: stride, Rect: r}, nil
	}
	return &image.RGBA{Pix: pix, Stride: stride, Rect: r}, nil
}

// put stores sample v (0..maxval) of channel c of pixel x into an output
// row, rescaled to 8 or 16 bits; PPM rows get an opaque alpha.
func put(h pnmHeader, row []byte, x, c, v int) {
	switch {
	case h.bitmap():
		row[x] = byte(v)
		return
	case h.sixteen():
		s := uint32(v*65535+h.maxval/2) / uint32(h.maxval)
		n := 2 * h.channels()
		if n == 6 {
			n = 8
		}
		i := x*n + 2*c
		row[i], row[i+1] = byte(s>>8), byte(s)
		if n == 8 && c == 2 {
			row[i+2], row[i+3] = 0xff, 0xff
		}
	default:
		s := byte((v*255 + h.maxval/2) / h.maxval)
		if h.channels() == 1 {
			row[x] = s
			return
		}
		row[4*x+c] = s
		if c == 2 {
			row[4*x+3] = 0xff
		}
	}
}

func unpackRawRow(h pnmHeader, raw, row []byte) error {
	if h.bitmap() {
		for x := 0; x < h.w; x++ {
			row[x] = raw[x>>3] >> (7 - uint(x&7)) & 1
		}
		return nil
	}
	ch := h.channels()
	for x := 0; x < h.w; x++ {
		for c := 0; c < ch; c++ {
			var v int
			if h.sixteen() {
				i := 2 * (x*ch + c)
				v = int(raw[i])<<8 | int(raw[i+1])
			} else {
				v = int(raw[x*ch+c])
			}
			if v > h.maxval {
				return pnmErr("sample %d exceeds maxval %d", v, h.maxval)
			}
			put(h, row, x, c, v)
		}
	}
	return nil
}

func readPlainRow(br *bufio.Reader, h pnmHeader, row []byte) error {
	ch := h.channels()
	for x := 0; x < h.w; x++ {
		for c := 0; c < ch; c++ {
			v, err := plainSample(br, h)
			if err != nil {
				return err
			}
			put(h, row, x, c, v)
		}
	}
	return nil
}

// plainSample reads one ASCII sample: a single 0/1 digit for P1 (no
// separator needed), a whitespace-separated decimal number otherwise.
func plainSample(br *bufio.Reader, h pnmHeader) (int, error) {
	if err := skipSpace(br); err != nil {
		return 0, pnmErr("raster truncated: %w", noEOF(err))
	}
	if h.bitmap() {
		c, _ := br.ReadByte() // skipSpace left a byte to read
		if c != '0' && c != '1' {
			return 0, pnmErr("bad PBM sample %q", c)
		}
		return int(c - '0'), nil
	}
	v, digits := 0, 0
	for {
		c, err := br.ReadByte()
		if err == io.EOF && digits > 0 {
			break
		}
		if err != nil {
			return 0, pnmErr("raster truncated: %w", noEOF(err))
		}
		if c < '0' || c > '9' {
			if digits == 0 || !(isPNMSpace(c) || c == '#') {
				return 0, pnmErr("bad sample byte %q", c)
			}
			_ = br.UnreadByte()
			break
		}
		v = v*10 + int(c-'0')
		digits++
		if v > h.maxval {
			return 0, pnmErr("sample exceeds maxval %d", h.maxval)
		}
	}
	return v, nil
}

// EncodePBM writes p as a raw PBM (P4) file.
func EncodePBM(w io.Writer, p *imaging.Page) error {
	if err := checkPage(p); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "P4\n%d %d\n", p.Width, p.Height)
	stride := p.Stride()
	var mask byte = 0xff
	if p.Width%8 != 0 {
		mask = 0xff << uint(8-p.Width%8)
	}
	row := make([]byte, stride)
	for y := 0; y < p.Height; y++ {
		copy(row, p.Row(y))
		row[stride-1] &= mask // padding bits are written as 0
		if _, err := bw.Write(row); err != nil {
			return fmt.Errorf("render: writing PBM: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render: writing PBM: %w", err)
	}
	return nil
}

// checkPage reports a page whose fields do not describe its pixels.
func checkPage(p *imaging.Page) error {
	if p == nil {
		return errors.New("render: nil page")
	}
	if !imaging.ValidWidth(p.Width) || p.Height < 0 || len(p.Pix) != p.Height*p.Stride() {
		return fmt.Errorf("render: invalid page %dx%d with %d bytes of pixels", p.Width, p.Height, len(p.Pix))
	}
	return nil
}
