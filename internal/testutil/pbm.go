package testutil

import (
	"fmt"
	"image"
)

// PBM is a bilevel picture as netpbm writes it (raw P4): rows of packed
// bits, 1 for black, each row padded to a byte.
type PBM struct {
	W, H int
	Bits []byte
}

// Black reports whether pixel (x, y) is black.
func (p PBM) Black(x, y int) bool { return p.Bits[y*((p.W+7)/8)+x/8]&(0x80>>(x%8)) != 0 }

// ParsePBM reads a raw PBM (P4), as tifftopnm writes a bilevel page.
func ParsePBM(b []byte) (PBM, error) {
	var p PBM
	space := func(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }
	// The header is "P4", width and height, separated by white space (and
	// comments), and one white space character before the bits.
	var fields []string
	i := 0
	for len(fields) < 3 {
		for i < len(b) && space(b[i]) {
			i++
		}
		if i < len(b) && b[i] == '#' {
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		}
		start := i
		for i < len(b) && !space(b[i]) {
			i++
		}
		if i >= len(b) {
			return p, fmt.Errorf("pbm: header cut short")
		}
		fields = append(fields, string(b[start:i]))
	}
	if fields[0] != "P4" {
		return p, fmt.Errorf("pbm: magic %q, want P4", fields[0])
	}
	if _, err := fmt.Sscan(fields[1]+" "+fields[2], &p.W, &p.H); err != nil || p.W <= 0 || p.H <= 0 {
		return p, fmt.Errorf("pbm: size %q x %q", fields[1], fields[2])
	}
	p.Bits = b[i+1:]
	if len(p.Bits) < (p.W+7)/8*p.H {
		return p, fmt.Errorf("pbm: %d bytes for %dx%d", len(p.Bits), p.W, p.H)
	}
	return p, nil
}

// DiffImage counts the pixels where img (dark below half grey) and p
// disagree, and p's black pixels; an error if the sizes differ.
func (p PBM) DiffImage(img image.Image) (diff, black int, err error) {
	b := img.Bounds()
	if b.Dx() != p.W || b.Dy() != p.H {
		return 0, 0, fmt.Errorf("image %dx%d, PBM %dx%d", b.Dx(), b.Dy(), p.W, p.H)
	}
	for y := 0; y < p.H; y++ {
		for x := 0; x < p.W; x++ {
			r, _, _, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			k := p.Black(x, y)
			if k {
				black++
			}
			if (r < 0x8000) != k {
				diff++
			}
		}
	}
	return diff, black, nil
}
