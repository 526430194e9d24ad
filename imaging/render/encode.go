package render

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"

	"github.com/faxagent/faxagent/imaging"
)

// bilevelPalette is index 0 white, index 1 black: the page's own bits.
// Each picture gets its own copy.
func bilevelPalette() color.Palette { return color.Palette{color.Gray{Y: 0xff}, color.Gray{Y: 0}} }

// PageImage returns p as a two-colour *image.Paletted (index 1 black).
func PageImage(p *imaging.Page) (*image.Paletted, error) {
	if err := checkPage(p); err != nil {
		return nil, err
	}
	img := image.NewPaletted(image.Rect(0, 0, p.Width, p.Height), bilevelPalette())
	for y := 0; y < p.Height; y++ {
		src := p.Row(y)
		dst := img.Pix[y*img.Stride : y*img.Stride+p.Width]
		for x := range dst {
			dst[x] = src[x>>3] >> (7 - uint(x&7)) & 1
		}
	}
	return img, nil
}

// EncodePNG writes p as a 1-bit palette PNG.
func EncodePNG(w io.Writer, p *imaging.Page) error {
	img, err := PageImage(p)
	if err != nil {
		return err
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("render: writing PNG: %w", err)
	}
	return nil
}
