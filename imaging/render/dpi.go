package render

import (
	"bytes"
	"encoding/binary"
)

// PictureDPI reads the resolution a PNG (pHYs chunk, before the first
// IDAT) or JPEG (JFIF density) file declares from its first bytes; the
// zero DPI when it declares none, or only an aspect ratio.
func PictureDPI(head []byte) DPI {
	switch Sniff(head) {
	case FormatPNG:
		return pngDPI(head)
	case FormatJPEG:
		return jfifDPI(head)
	}
	return DPI{}
}

func pngDPI(b []byte) DPI {
	b = b[8:]
	for len(b) >= 12 {
		n := binary.BigEndian.Uint32(b)
		typ := string(b[4:8])
		if typ == "IDAT" || n > 1<<20 {
			break
		}
		if typ == "pHYs" && n == 9 && len(b) >= 8+9 {
			x, y := binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint32(b[12:])
			if b[16] == 1 && x > 0 && y > 0 { // unit: metre
				return plausible(DPI{X: float64(x) * 0.0254, Y: float64(y) * 0.0254})
			}
			break
		}
		if int(n)+12 > len(b) {
			break
		}
		b = b[12+n:]
	}
	return DPI{}
}

func jfifDPI(b []byte) DPI {
	// SOI, then APP0 "JFIF\0" version units Xdensity Ydensity.
	if len(b) < 18 || !bytes.Equal(b[2:4], []byte{0xff, 0xe0}) || !bytes.Equal(b[6:11], []byte("JFIF\x00")) {
		return DPI{}
	}
	units := b[13]
	x, y := float64(binary.BigEndian.Uint16(b[14:])), float64(binary.BigEndian.Uint16(b[16:]))
	switch units {
	case 1:
		return plausible(DPI{X: x, Y: y})
	case 2: // per centimetre
		return plausible(DPI{X: x * 2.54, Y: y * 2.54})
	}
	return DPI{}
}

// plausible keeps resolutions a picture can have (10 to 4800 dpi).
func plausible(d DPI) DPI {
	if d.X < 10 || d.Y < 10 || d.X > 4800 || d.Y > 4800 {
		return DPI{}
	}
	return d
}
