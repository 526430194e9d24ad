package tiff

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"

	"github.com/faxagent/faxagent/imaging"
)

// Image decodes the whole page into memory: *image.Gray for bilevel and
// greyscale pages up to 8 bits, *image.Gray16 for 16-bit grey, *image.RGBA
// or *image.NRGBA (RGBA64/NRGBA64 for 16 bits) for RGB, *image.Paletted for
// palette pages. Pages larger than MaxImageBytes decoded are refused. Image
// does not disturb the ReadRow position.
func (p *PageReader) Image() (image.Image, error) {
	in := &p.info
	w, h := in.Width, in.Height
	rect := image.Rect(0, 0, w, h)
	if in.Bilevel {
		if int64(w)*int64(h) > MaxImageBytes {
			return nil, p.errorf("%w: %dx%d decoded exceeds %d bytes", ErrTooLarge, w, h, MaxImageBytes)
		}
		img := image.NewGray(rect)
		var s stripRows
		s.init(p)
		defer s.closeStrip()
		row := make([]byte, imaging.RowBytes(w))
		for y := range h {
			if err := s.next(row); err != nil {
				return nil, err
			}
			pix := img.Pix[y*img.Stride : y*img.Stride+w]
			for x := range pix {
				if row[x>>3]&(0x80>>uint(x&7)) == 0 {
					pix[x] = 0xff
				}
			}
		}
		return img, nil
	}

	spp, bps := in.SamplesPerPixel, in.BitsPerSample
	outBytes := 1
	switch {
	case in.Photometric == photoRGB:
		outBytes = 4 * (bps / 8)
	case bps == 16:
		outBytes = 2
	}
	if int64(w)*int64(h)*int64(outBytes) > MaxImageBytes {
		return nil, p.errorf("%w: %dx%d decoded exceeds %d bytes", ErrTooLarge, w, h, MaxImageBytes)
	}
	rowBytes := (w*spp*bps + 7) / 8
	if need, most := int64(rowBytes)*int64(h), in.CodedBytes*maxExpansion(in.CompressionTag); need > most {
		return nil, p.errorf("%w: %d bytes of %s data cannot hold %dx%d pixels", ErrFormat, in.CodedBytes, in.CompressionName, w, h)
	}
	buf := make([]byte, rowBytes)
	set, img := p.imageSetter(rect)
	s := stripRows{p: p}
	y := 0
	for strip := range p.offsets {
		src, closer, err := p.decompressor(s.section(strip))
		if err != nil {
			return nil, p.errorf("strip %d: %w", strip, err)
		}
		for n := min(p.rowsPerStrip, h-y); n > 0; n-- {
			if _, err := io.ReadFull(src, buf); err != nil {
				if closer != nil {
					closer.Close()
				}
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = fmt.Errorf("%w: %w", ErrFormat, errTruncated)
				}
				return nil, p.errorf("strip %d, row %d: %w", strip, y, err)
			}
			if p.predictor == 2 {
				p.undoPredictor(buf)
			}
			set(y, buf)
			y++
		}
		if closer != nil {
			closer.Close()
		}
	}
	return img, nil
}

func (p *PageReader) undoPredictor(buf []byte) {
	spp := p.info.SamplesPerPixel
	if p.info.BitsPerSample == 8 {
		for i := spp; i < len(buf); i++ {
			buf[i] += buf[i-spp]
		}
		return
	}
	bo := p.c.bo
	for i := 2 * spp; i+1 < len(buf); i += 2 {
		bo.PutUint16(buf[i:], bo.Uint16(buf[i:])+bo.Uint16(buf[i-2*spp:]))
	}
}

// imageSetter returns the image to fill and a function that stores one
// decoded row (raw samples) in it.
func (p *PageReader) imageSetter(rect image.Rectangle) (func(y int, buf []byte), image.Image) {
	in := &p.info
	w, bps, spp := in.Width, in.BitsPerSample, in.SamplesPerPixel
	bo := p.c.bo
	sample := func(buf []byte, i int) int { // i-th sub-byte sample of a row
		bit := i * bps
		return int(buf[bit>>3]>>uint(8-bps-bit&7)) & (1<<uint(bps) - 1)
	}
	switch in.Photometric {
	case photoWhiteIsZero, photoBlackIsZero:
		invert := in.Photometric == photoWhiteIsZero
		if bps == 16 {
			img := image.NewGray16(rect)
			return func(y int, buf []byte) {
				for x := range w {
					v := bo.Uint16(buf[2*x:])
					if invert {
						v = ^v
					}
					img.SetGray16(x, y, color.Gray16{Y: v})
				}
			}, img
		}
		img := image.NewGray(rect)
		maxv := 1<<uint(bps) - 1
		return func(y int, buf []byte) {
			pix := img.Pix[y*img.Stride:]
			for x := range w {
				v := sample(buf, x) * 255 / maxv
				if invert {
					v = 255 - v
				}
				pix[x] = uint8(v)
			}
		}, img
	case photoPalette:
		n := 1 << uint(bps)
		pal := make(color.Palette, n)
		for i := range pal {
			pal[i] = color.RGBA64{R: uint16(p.colorMap[i]), G: uint16(p.colorMap[n+i]), B: uint16(p.colorMap[2*n+i]), A: 0xffff}
		}
		img := image.NewPaletted(rect, pal)
		return func(y int, buf []byte) {
			pix := img.Pix[y*img.Stride:]
			for x := range w {
				pix[x] = uint8(sample(buf, x))
			}
		}, img
	}
	// RGB, 8 or 16 bits, 3 or 4 samples.
	straight := spp == 4 && p.extraAlpha == 2
	hasAlpha := spp == 4 && p.extraAlpha != 0
	if bps == 8 {
		var img image.Image
		var pixOf func(y int) []byte
		if straight {
			m := image.NewNRGBA(rect)
			img, pixOf = m, func(y int) []byte { return m.Pix[y*m.Stride:] }
		} else {
			m := image.NewRGBA(rect)
			img, pixOf = m, func(y int) []byte { return m.Pix[y*m.Stride:] }
		}
		return func(y int, buf []byte) {
			pix := pixOf(y)
			for x := range w {
				s := buf[x*spp:]
				pix[4*x], pix[4*x+1], pix[4*x+2], pix[4*x+3] = s[0], s[1], s[2], 0xff
				if hasAlpha {
					pix[4*x+3] = s[3]
				}
			}
		}, img
	}
	u := func(buf []byte, i int) uint16 { return bo.Uint16(buf[2*i:]) }
	if straight {
		m := image.NewNRGBA64(rect)
		return func(y int, buf []byte) {
			for x := range w {
				m.SetNRGBA64(x, y, color.NRGBA64{R: u(buf, x*spp), G: u(buf, x*spp+1), B: u(buf, x*spp+2), A: u(buf, x*spp+3)})
			}
		}, m
	}
	m := image.NewRGBA64(rect)
	return func(y int, buf []byte) {
		for x := range w {
			a := uint16(0xffff)
			if hasAlpha {
				a = u(buf, x*spp+3)
			}
			m.SetRGBA64(x, y, color.RGBA64{R: u(buf, x*spp), G: u(buf, x*spp+1), B: u(buf, x*spp+2), A: a})
		}
	}, m
}

// maxExpansion bounds how many decoded bytes one coded byte can yield, so
// that Image refuses before allocating a page its data cannot fill.
func maxExpansion(compression int) int64 {
	switch compression {
	case CompressionNone:
		return 1
	case CompressionPackBits:
		return 64 // 2 bytes repeat one byte up to 128 times
	case CompressionDeflate, CompressionDeflate2:
		return 1032 // deflate's limit
	}
	return 4096 // LZW: a 9-bit or longer code yields at most 4096 bytes
}
