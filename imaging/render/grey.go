package render

import (
	"image"
	"image/color"
)

// Luma weights (ITU-R BT.601, as image/color and netpbm's ppmtopgm use),
// in 1/65536 units; they sum to 65536 so white stays 255.
const (
	lumaR = 19595
	lumaG = 38470
	lumaB = 7471
)

// luma8 is the grey level of 8-bit R, G, B.
func luma8(r, g, b uint32) uint8 {
	return uint8(min((lumaR*r+lumaG*g+lumaB*b+1<<15)>>16, 255))
}

// lumaOverWhite is the grey level of c composited over white paper.
func lumaOverWhite(c color.Color) uint8 {
	r, g, b, a := c.RGBA() // premultiplied, 16 bits
	w := uint64(0xffff - min(a, 0xffff))
	// As color.GrayModel: the 16-bit luma's top byte. 64-bit and clamped
	// because an invalid premultiplied colour may have r > a.
	y := (lumaR*(uint64(r)+w) + lumaG*(uint64(g)+w) + lumaB*(uint64(b)+w) + 1<<15) >> 24
	return uint8(min(y, 255))
}

// greyRow writes the grey levels of row y of img (composited over white)
// into dst, which is img.Bounds().Dx() long.
func greyRow(img image.Image, y int, dst []byte, lut *[256]uint8) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.Gray:
		i := m.PixOffset(b.Min.X, y)
		copy(dst, m.Pix[i:i+len(dst)])
	case *image.YCbCr:
		// JFIF's Y is BT.601 luma of the same R, G, B.
		i := m.YOffset(b.Min.X, y)
		copy(dst, m.Y[i:i+len(dst)])
	case *image.Paletted:
		i := m.PixOffset(b.Min.X, y)
		for x, idx := range m.Pix[i : i+len(dst)] {
			dst[x] = lut[idx]
		}
	case *image.RGBA:
		i := m.PixOffset(b.Min.X, y)
		s := m.Pix[i : i+4*len(dst)]
		for x := range dst {
			p := s[4*x : 4*x+4 : 4*x+4]
			w := 255 - uint32(p[3]) // premultiplied: add the paper showing through
			dst[x] = luma8(uint32(p[0])+w, uint32(p[1])+w, uint32(p[2])+w)
		}
	case *image.NRGBA:
		i := m.PixOffset(b.Min.X, y)
		s := m.Pix[i : i+4*len(dst)]
		for x := range dst {
			p := s[4*x : 4*x+4 : 4*x+4]
			a := uint32(p[3])
			l := uint32(luma8(uint32(p[0]), uint32(p[1]), uint32(p[2])))
			dst[x] = uint8((l*a + 255*(255-a) + 127) / 255)
		}
	case *image.Gray16:
		i := m.PixOffset(b.Min.X, y)
		for x := range dst {
			dst[x] = m.Pix[i+2*x]
		}
	default:
		for x := range dst {
			dst[x] = lumaOverWhite(img.At(b.Min.X+x, y))
		}
	}
}

// greyReduce converts img to grey, averaging fx x fy blocks of pixels
// (partial blocks at the right and bottom edges average what they have),
// and returns the histogram of the unreduced grey levels. With fx = fy = 1
// and a Gray picture it returns the picture itself.
func greyReduce(img image.Image, fx, fy int) (*image.Gray, [256]uint64) {
	var hist [256]uint64
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if g, ok := img.(*image.Gray); ok && fx == 1 && fy == 1 {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			i := g.PixOffset(b.Min.X, y)
			for _, v := range g.Pix[i : i+sw] {
				hist[v]++
			}
		}
		return g, hist
	}
	var lut [256]uint8
	if p, ok := img.(*image.Paletted); ok {
		for i := range lut {
			if i < len(p.Palette) {
				lut[i] = lumaOverWhite(p.Palette[i])
			} else {
				lut[i] = 255 // index outside the palette: paper
			}
		}
	}
	gw, gh := (sw+fx-1)/fx, (sh+fy-1)/fy
	out := image.NewGray(image.Rect(0, 0, gw, gh))
	row := make([]byte, sw)
	if fx == 1 && fy == 1 {
		for y := 0; y < sh; y++ {
			dst := out.Pix[y*out.Stride : y*out.Stride+sw]
			greyRow(img, b.Min.Y+y, dst, &lut)
			for _, v := range dst {
				hist[v]++
			}
		}
		return out, hist
	}
	sum := make([]uint64, gw)
	for gy := 0; gy < gh; gy++ {
		clear(sum)
		y0 := gy * fy
		y1 := min(y0+fy, sh)
		for y := y0; y < y1; y++ {
			greyRow(img, b.Min.Y+y, row, &lut)
			for x, v := range row {
				hist[v]++
				sum[x/fx] += uint64(v)
			}
		}
		dst := out.Pix[gy*out.Stride : gy*out.Stride+gw]
		rows := uint64(y1 - y0)
		for gx := range dst {
			n := rows * uint64(min(fx, sw-gx*fx))
			dst[gx] = uint8((sum[gx] + n/2) / n)
		}
	}
	return out, hist
}
