package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"path"
	"strings"

	"golang.org/x/image/tiff"
)

// Limits bound what Decode accepts. Both budgets are checked against the
// header before any pixel memory is allocated.
type Limits struct {
	// MaxPixels is the pixel budget (width x height); 0 means 100
	// megapixels.
	MaxPixels int64
	// MaxMemory bounds the memory a picture takes decoded and converted:
	// its pixels at the bit depth and channels its header declares (a
	// 16-bit RGBA pixel is 8 bytes, a palette pixel 1), plus one grey byte
	// per pixel for the conversion; 0 means 256 MiB.
	MaxMemory int64
	// MaxBytes bounds the encoded input; 0 means 256 MiB.
	MaxBytes int64
}

// Default limits (see Limits).
const (
	DefaultMaxPixels = 100_000_000
	DefaultMaxMemory = 256 << 20
	DefaultMaxBytes  = 256 << 20
)

// Normalized returns l with its defaults filled in.
func (l Limits) Normalized() Limits {
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// Check refuses a picture of w x h pixels of bytesPerPixel bytes (decoded)
// over the budgets with an error wrapping ErrTooLarge (ErrCorrupt for an
// empty size).
func (l Limits) Check(w, h, bytesPerPixel int) error {
	l = l.Normalized()
	if err := checkPixels(w, h, l.MaxPixels); err != nil {
		return err
	}
	px := int64(w) * int64(h)
	if need := px * int64(bytesPerPixel+1); need > l.MaxMemory {
		return fmt.Errorf("%w: %dx%d pixels of %d bytes need %d MiB decoded, over the budget of %d MiB",
			ErrTooLarge, w, h, bytesPerPixel, need>>20, l.MaxMemory>>20)
	}
	return nil
}

// BytesPerPixel is the memory one pixel of a colour model takes decoded
// (the standard library's image types); unknown models count 8.
func BytesPerPixel(m color.Model) int {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3 // at most: 4:4:4
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// Sentinel errors of Decode. Decode's errors wrap them and read
// "render: NAME (FORMAT): SENTINEL: details".
var (
	// ErrTooLarge: the picture's dimensions exceed Limits.MaxPixels or
	// its encoding exceeds Limits.MaxBytes.
	ErrTooLarge = errors.New("picture too large")
	// ErrUnsupportedFormat: the data is none of the formats Decode reads.
	ErrUnsupportedFormat = errors.New("unsupported picture format")
	// ErrCorrupt: the data claims a supported format but does not decode.
	ErrCorrupt = errors.New("corrupt picture")
)

// Format names a picture encoding Decode recognises.
type Format string

const (
	FormatPNG  Format = "png"
	FormatJPEG Format = "jpeg"
	FormatGIF  Format = "gif"
	FormatTIFF Format = "tiff"
	FormatPNM  Format = "pnm"
)

// Sniff names the format of data from its first bytes ("" if unknown).
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return FormatJPEG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return FormatGIF
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return FormatTIFF
	case len(head) >= 3 && head[0] == 'P' && head[1] >= '1' && head[1] <= '6' && isPNMSpace(head[2]):
		return FormatPNM
	}
	return ""
}

// Decode reads one picture: PNG, JPEG, GIF (its first frame: a fax page
// is a still picture, and the later frames of an animation are usually
// deltas over it), TIFF (its first page, through golang.org/x/image/tiff)
// or netpbm PBM/PGM/PPM (plain or raw, our own bounded reader). The
// format is recognised from the data; name (a file name, may be empty)
// only labels errors.
//
// Decompression bombs are refused before any pixel is allocated: the
// header's dimensions are checked against lim.MaxPixels first and
// ErrTooLarge returned.
func Decode(r io.Reader, name string, lim Limits) (image.Image, error) {
	return DecodeContext(context.Background(), r, name, lim)
}

// DecodeContext is Decode that stops, with ctx's error, when ctx ends:
// the decoders read their input as they go, and every read checks ctx.
func DecodeContext(ctx context.Context, r io.Reader, name string, lim Limits) (image.Image, error) {
	lim = lim.Normalized()
	r = ctxReader{ctx, r}
	label := name
	if label == "" {
		label = "picture"
	}
	br := bufio.NewReader(&limitReader{r: r, n: lim.MaxBytes, max: lim.MaxBytes})
	head, err := br.Peek(8)
	if cerr := ctx.Err(); cerr != nil {
		return nil, fmt.Errorf("render: %s: %w", label, cerr)
	}
	if err != nil && len(head) == 0 {
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("render: %s: %w", label, err)
		}
		return nil, fmt.Errorf("render: %s: %w: empty input", label, ErrUnsupportedFormat)
	}
	f := Sniff(head)
	var img image.Image
	switch f {
	case FormatPNM:
		img, err = decodePNM(br, lim)
	case FormatPNG:
		img, err = decodeChecked(br, lim, png.DecodeConfig, png.Decode)
	case FormatJPEG:
		img, err = decodeChecked(br, lim, jpeg.DecodeConfig, jpeg.Decode)
	case FormatGIF:
		img, err = decodeChecked(br, lim, gif.DecodeConfig, gif.Decode)
	case FormatTIFF:
		// x/image/tiff needs random access and reads the whole stream
		// into memory anyway; MaxBytes bounds it.
		var data []byte
		if data, err = io.ReadAll(br); err == nil {
			img, err = decodeChecked(bytes.NewReader(data), lim, tiff.DecodeConfig, tiff.Decode)
		}
	default:
		hint := ""
		if ext := strings.ToLower(path.Ext(name)); ext != "" {
			hint = fmt.Sprintf(" (name says %s)", ext)
		}
		return nil, fmt.Errorf("render: %s: %w%s: want PNG, JPEG, GIF, TIFF or PBM/PGM/PPM", label, ErrUnsupportedFormat, hint)
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("render: %s (%s): %w", label, f, cerr)
		}
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("render: %s (%s): %w", label, f, err)
		}
		return nil, fmt.Errorf("render: %s (%s): %w: %w", label, f, ErrCorrupt, err)
	}
	return img, nil
}

// checkPixels refuses dimensions over the budget.
func checkPixels(w, h int, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: %dx%d pixels", ErrCorrupt, w, h)
	}
	if int64(w) > maxPixels/int64(h) {
		return fmt.Errorf("%w: %dx%d pixels exceed the budget of %d pixels", ErrTooLarge, w, h, maxPixels)
	}
	return nil
}

// decodeChecked reads the header with decodeConfig, checks the pixel
// budget, and then decodes the whole picture from the bytes the header
// read consumed followed by the rest of r.
func decodeChecked(r io.Reader, lim Limits,
	decodeConfig func(io.Reader) (image.Config, error),
	decode func(io.Reader) (image.Image, error)) (img image.Image, err error) {
	// The standard decoders are fuzzed upstream; still, a panic on
	// hostile input must not take the agent down.
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("%w: decoder panic: %v", ErrCorrupt, p)
		}
	}()
	var rec bytes.Buffer
	cfg, err := decodeConfig(io.TeeReader(r, &rec))
	if err != nil {
		return nil, err
	}
	bpp := BytesPerPixel(cfg.ColorModel)
	if jpegProgressive(rec.Bytes()) {
		// The decoder keeps every coefficient: 2 bytes a sample.
		bpp += 2 * max(1, bpp)
	}
	if err := lim.Check(cfg.Width, cfg.Height, bpp); err != nil {
		return nil, err
	}
	img, err = decode(io.MultiReader(&rec, r))
	if err != nil {
		return nil, err
	}
	// A decoder must not return more than its header said.
	b := img.Bounds()
	if err := checkPixels(b.Dx(), b.Dy(), lim.MaxPixels); err != nil {
		return nil, err
	}
	return img, nil
}

// jpegProgressive reports whether a JPEG header has a progressive frame
// (SOF2) marker.
func jpegProgressive(head []byte) bool {
	return bytes.HasPrefix(head, []byte("\xff\xd8")) && bytes.Contains(head, []byte("\xff\xc2"))
}

// ctxReader fails with ctx's error once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// limitReader fails with ErrTooLarge once more than n bytes are read.
type limitReader struct {
	r      io.Reader
	n, max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if l.n <= 0 {
		// At the limit: any further byte means the input is too large.
		var b [1]byte
		if _, err := io.ReadAtLeast(l.r, b[:], 1); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: input longer than the limit of %d bytes", ErrTooLarge, l.max)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
