package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"path"
	"strings"

	"golang.org/x/image/tiff"
)

// Limits bound what Decode accepts.
type Limits struct {
	// MaxPixels is the pixel budget (width x height); 0 means 100
	// megapixels. It is checked against the header before any pixel
	// memory is allocated.
	MaxPixels int64
	// MaxBytes bounds the encoded input; 0 means 256 MiB.
	MaxBytes int64
}

const (
	defaultMaxPixels = 100_000_000
	defaultMaxBytes  = 256 << 20
)

func (l Limits) normalized() Limits {
	if l.MaxPixels <= 0 {
		l.MaxPixels = defaultMaxPixels
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxBytes
	}
	return l
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
	lim = lim.normalized()
	label := name
	if label == "" {
		label = "picture"
	}
	br := bufio.NewReader(&limitReader{r: r, n: lim.MaxBytes, max: lim.MaxBytes})
	head, err := br.Peek(8)
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
		img, err = decodePNM(br, lim.MaxPixels)
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
	if err := checkPixels(cfg.Width, cfg.Height, lim.MaxPixels); err != nil {
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
