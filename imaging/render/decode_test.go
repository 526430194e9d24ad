package render

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging/bombs"
	"golang.org/x/image/tiff"
)

// expect16 is the 16-bit value our decoder should give a netpbm sample.
func expect16(v, maxval int) uint32 {
	if maxval > 255 {
		return uint32((v*65535 + maxval/2) / maxval)
	}
	return uint32((v*255+maxval/2)/maxval) * 0x101
}

// comparePlain checks img sample by sample against netpbm's plain form.
func comparePlain(t *testing.T, img image.Image, ref plainPNM) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() != ref.w || b.Dy() != ref.h {
		t.Fatalf("size %v, netpbm says %dx%d", b.Size(), ref.w, ref.h)
	}
	bad := 0
	for y := 0; y < ref.h; y++ {
		for x := 0; x < ref.w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			got := [3]uint32{r, g, bl}
			i := (y*ref.w + x) * ref.channelsPerPx
			var want [3]uint32
			switch ref.kind {
			case "P1":
				v := uint32(0xffff) // 0 = white
				if ref.samples[i] == 1 {
					v = 0
				}
				want = [3]uint32{v, v, v}
			case "P2":
				v := expect16(ref.samples[i], ref.maxval)
				want = [3]uint32{v, v, v}
			case "P3":
				for c := range 3 {
					want[c] = expect16(ref.samples[i+c], ref.maxval)
				}
			}
			if got != want {
				if bad < 5 {
					t.Errorf("pixel (%d,%d) = %v, netpbm says %v", x, y, got, want)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d pixels differ from netpbm", bad)
	}
}

// TestDecodeNetpbmFixtures decodes netpbm-made raw files and compares them
// with netpbm's plain rendering of the same picture (committed, and made
// afresh by pnmtoplainpnm when netpbm is installed).
func TestDecodeNetpbmFixtures(t *testing.T) {
	for _, tc := range []struct{ raw, plain string }{
		{"hello.pbm", "hello.plain.pbm"},
		{"ramp.pgm", "ramp.plain.pgm"},
		{"rainbow.ppm", "rainbow.plain.ppm"},
		// The plain files read through our plain reader must agree too.
		{"hello.plain.pbm", "hello.plain.pbm"},
		{"ramp.plain.pgm", "ramp.plain.pgm"},
		{"rainbow.plain.ppm", "rainbow.plain.ppm"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			comparePlain(t, decodeFixture(t, tc.raw), parsePlain(t, readFixture(t, tc.plain)))
		})
	}
}

// TestDecodeMatchesNetpbm runs netpbm generators and checks that our
// reader sees exactly what pnmtoplainpnm prints for the same bytes.
func TestDecodeMatchesNetpbm(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tools    []string
		pipeline string
		wantType string
	}{
		{"pbmmake-gray", []string{"pbmmake"}, "pbmmake -gray 64 32", "*image.Paletted"},
		{"pbmtext", []string{"pbmtext"}, "pbmtext HELLO", "*image.Paletted"},
		{"pbm-odd-width", []string{"pbmmake", "pnmcut"}, "pbmmake -gray 13 5", "*image.Paletted"},
		{"pgmramp", []string{"pgmramp"}, "pgmramp -lr 64 8", "*image.Gray"},
		{"pgm-maxval-15", []string{"pgmramp", "pamdepth"}, "pgmramp -diag 20 9 | pamdepth 15", "*image.Gray"},
		{"pgm-16bit", []string{"pgmramp", "pamdepth"}, "pgmramp -diag 33 17 | pamdepth 1000", "*image.Gray16"},
		{"ppmrainbow", []string{"ppmrainbow"}, "ppmrainbow -width 40 -height 10 red blue", "*image.RGBA"},
		{"ppm-16bit", []string{"ppmrainbow", "pamdepth"}, "ppmrainbow -width 21 -height 7 red green | pamdepth 65535", "*image.RGBA64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := run(t, nil, tc.tools, tc.pipeline)
			plain := run(t, raw, []string{"pnmtoplainpnm"}, "pnmtoplainpnm")
			ref := parsePlain(t, plain)
			for _, in := range []struct {
				what string
				data []byte
			}{{"raw", raw}, {"plain", plain}} {
				img, err := Decode(bytes.NewReader(in.data), tc.name, Limits{})
				if err != nil {
					t.Fatalf("%s: %v", in.what, err)
				}
				if got := typeName(img); got != tc.wantType {
					t.Errorf("%s: type %s, want %s", in.what, got, tc.wantType)
				}
				comparePlain(t, img, ref)
			}
		})
	}
}

func typeName(img image.Image) string {
	switch img.(type) {
	case *image.Paletted:
		return "*image.Paletted"
	case *image.Gray:
		return "*image.Gray"
	case *image.Gray16:
		return "*image.Gray16"
	case *image.RGBA:
		return "*image.RGBA"
	case *image.RGBA64:
		return "*image.RGBA64"
	}
	return "other"
}

// TestDecodeFormats decodes the netpbm-encoded PNG, GIF, TIFF and JPEG
// versions of square.pbm and compares them with it.
func TestDecodeFormats(t *testing.T) {
	ref := decodeFixture(t, "square.pbm")
	for _, tc := range []struct {
		file     string
		maxDelta int // grey level tolerance (JPEG is lossy)
	}{
		{"square.png", 0},
		{"square.gif", 0},
		{"square.tif", 0},
		{"square.jpg", 48},
	} {
		t.Run(tc.file, func(t *testing.T) {
			img := decodeFixture(t, tc.file)
			if img.Bounds() != ref.Bounds() {
				t.Fatalf("bounds %v, want %v", img.Bounds(), ref.Bounds())
			}
			bad := 0
			for y := 0; y < 400; y++ {
				for x := 0; x < 400; x++ {
					if tc.maxDelta > 0 && nearSquareEdge(x, y, 4) {
						continue // JPEG rings at the sharp edges
					}
					g, w := int(lumaOverWhite(img.At(x, y))), int(lumaOverWhite(ref.At(x, y)))
					if d := g - w; d > tc.maxDelta || -d > tc.maxDelta {
						bad++
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d pixels differ by more than %d grey levels from square.pbm", bad, tc.maxDelta)
			}
		})
	}
	// Colour PNG against the PPM it was made from.
	comparePlain(t, decodeFixture(t, "rainbow.png"), parsePlain(t, readFixture(t, "rainbow.plain.ppm")))
}

// nearSquareEdge reports whether (x, y) is within d of the edge of the
// fixtures' square [100,200) x [100,200).
func nearSquareEdge(x, y, d int) bool {
	in := func(v int) bool { return v >= 100-d && v < 200+d }
	near := func(v int) bool { return (v >= 100-d && v < 100+d) || (v >= 200-d && v < 200+d) }
	return in(x) && in(y) && (near(x) || near(y))
}

func TestDecodeGIFFirstFrame(t *testing.T) {
	pal := color.Palette{color.White, color.Black}
	a := image.NewPaletted(image.Rect(0, 0, 4, 2), pal)
	b := image.NewPaletted(image.Rect(0, 0, 4, 2), pal)
	for i := range b.Pix {
		b.Pix[i] = 1
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{a, b}, Delay: []int{0, 0}}); err != nil {
		t.Fatal(err)
	}
	img, err := Decode(&buf, "anim.gif", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if lumaOverWhite(img.At(0, 0)) != 255 {
		t.Errorf("want the first (white) frame")
	}
}

// pngHeader is a PNG signature and IHDR chunk claiming w x h grey pixels.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 0, 0, 0, 0)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// noisePNG is an incompressible w x h grey PNG.
func noisePNG(t *testing.T, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	x := uint32(1)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tiffClaiming is a valid 1x1 TIFF whose width and length tags are
// patched to claim w x h.
func tiffClaiming(t *testing.T, w, h uint16) []byte {
	var buf bytes.Buffer
	if err := tiff.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)), nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	le := binary.LittleEndian
	if string(b[:4]) != "II*\x00" {
		t.Fatalf("x/image/tiff wrote %q", b[:4])
	}
	ifd := le.Uint32(b[4:])
	n := int(le.Uint16(b[ifd:]))
	for i := 0; i < n; i++ {
		e := b[int(ifd)+2+12*i:]
		tag, typ := le.Uint16(e), le.Uint16(e[2:])
		v := w
		if tag == 257 {
			v = h
		}
		if tag == 256 || tag == 257 {
			if typ == 3 { // SHORT
				le.PutUint16(e[8:], v)
			} else {
				le.PutUint32(e[8:], uint32(v))
			}
		}
	}
	return b
}

// TestDecodeBombs: headers claiming huge pictures are refused with
// ErrTooLarge before any pixel memory is allocated.
func TestDecodeBombs(t *testing.T) {
	jpegSOF := []byte{0xff, 0xd8,
		0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, // APP0 JFIF
		0xff, 0xc0, 0, 11, 8, 0xfd, 0xe8, 0xfd, 0xe8, 1, 1, 0x11, 0}
	gifScreen := []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00")
	for _, tc := range []struct {
		name string
		data []byte
		lim  Limits
	}{
		{"png-100000x100000", pngHeader(100000, 100000), Limits{}},
		{"png-budget", pngHeader(2000, 2000), Limits{MaxPixels: 1000000}},
		{"jpeg-65000x65000", jpegSOF, Limits{}},
		{"gif-65535x65535", gifScreen, Limits{}},
		{"tiff-65535x65535", tiffClaiming(t, 65535, 65535), Limits{}},
		{"pnm-100000x100000", []byte("P5\n100000 100000\n255\n"), Limits{}},
		{"pnm-plain-budget", []byte("P1 2000 2000\n"), Limits{MaxPixels: 1000000}},
		{"input-bytes", noisePNG(t, 100, 100), Limits{MaxBytes: 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			img, err := Decode(bytes.NewReader(tc.data), tc.name, tc.lim)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v, %v; want ErrTooLarge", img, err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes refusing it", alloc)
			}
			t.Log(err)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 50, 50)))
	var jpegBuf bytes.Buffer
	jpeg.Encode(&jpegBuf, image.NewGray(image.Rect(0, 0, 50, 50)), nil)
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrUnsupportedFormat},
		{"text.txt", []byte("hello, world"), ErrUnsupportedFormat},
		{"pdf.pdf", []byte("%PDF-1.4\n"), ErrUnsupportedFormat},
		{"truncated.png", pngBuf.Bytes()[:pngBuf.Len()/2], ErrCorrupt},
		{"truncated.jpg", jpegBuf.Bytes()[:jpegBuf.Len()/2], ErrCorrupt},
		{"header-only.png", pngHeader(10, 10), ErrCorrupt},
		{"zero.png", pngHeader(0, 10), ErrCorrupt},
		{"bad.pbm", []byte("P4\n8 x\n"), ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tc.data), tc.name, Limits{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.name) && tc.name != "empty" {
				t.Errorf("error %q does not name the input", err)
			}
		})
	}
}

// TestDecodePNM covers the header and raster rules of our netpbm reader.
func TestDecodePNM(t *testing.T) {
	type px = [3]uint32
	for _, tc := range []struct {
		name    string
		in      string
		w, h    int
		pixels  []px // row-major 16-bit R,G,B (nil: do not check)
		wantErr string
	}{
		{name: "P1 packed digits", in: "P1\n3 2\n010\n1 1 0", w: 3, h: 2,
			pixels: []px{{0xffff, 0xffff, 0xffff}, {0, 0, 0}, {0xffff, 0xffff, 0xffff}, {0, 0, 0}, {0, 0, 0}, {0xffff, 0xffff, 0xffff}}},
		{name: "P1 comments", in: "P1 # c\n#x\n2 # w\n1\n1 0", w: 2, h: 1, pixels: []px{{0, 0, 0}, {0xffff, 0xffff, 0xffff}}},
		{name: "P4 padding", in: "P4\n3 1\n\xbf", w: 3, h: 1, pixels: []px{{0, 0, 0}, {0xffff, 0xffff, 0xffff}, {0, 0, 0}}},
		{name: "P2 maxval 3", in: "P2 2 1 3 0 3", w: 2, h: 1, pixels: []px{{0, 0, 0}, {0xffff, 0xffff, 0xffff}}},
		{name: "P2 maxval 2 rounding", in: "P2 1 1 2 1", w: 1, h: 1, pixels: []px{{128 * 0x101, 128 * 0x101, 128 * 0x101}}},
		{name: "P5", in: "P5 2 1 255\n\x00\x80", w: 2, h: 1, pixels: []px{{0, 0, 0}, {0x8080, 0x8080, 0x8080}}},
		{name: "P5 16-bit", in: "P5 1 1 65535\n\x12\x34", w: 1, h: 1, pixels: []px{{0x1234, 0x1234, 0x1234}}},
		{name: "P3", in: "P3 1 1 255 255 0 10", w: 1, h: 1, pixels: []px{{0xffff, 0, 10 * 0x101}}},
		{name: "P6", in: "P6 1 1 255\r\x01\x02\x03", w: 1, h: 1, pixels: []px{{0x101, 0x202, 0x303}}},
		{name: "P6 16-bit", in: "P6 1 1 1000\n\x03\xe8\x00\x00\x01\xf4", w: 1, h: 1, pixels: []px{{0xffff, 0, 32768}}},
		{name: "P7 is not ours", in: "P7 1 1 255\n", wantErr: "want PNG"},
		{name: "zero width", in: "P4 0 1\n", wantErr: "empty picture"},
		{name: "no number", in: "P2 a", wantErr: "unexpected byte"},
		{name: "junk after number", in: "P2 1x", wantErr: "after number"},
		{name: "maxval 0", in: "P2 1 1 0 0", wantErr: "maxval 0"},
		{name: "maxval 65536", in: "P5 1 1 65536\n\x00", wantErr: "out of range"},
		{name: "huge dimension", in: "P4 99999999999999999999 1\n", wantErr: "too large"},
		{name: "truncated header", in: "P4 8", wantErr: "truncated"},
		{name: "no space before raster", in: "P5 1 1 255", wantErr: "truncated"},
		{name: "truncated raster", in: "P5 2 2 255\n\x00\x00\x00", wantErr: "truncated at row 1"},
		{name: "raw sample over maxval", in: "P5 1 1 10\n\x0b", wantErr: "exceeds maxval"},
		{name: "plain sample over maxval", in: "P2 1 1 10 11", wantErr: "exceeds maxval"},
		{name: "bad P1 digit", in: "P1 1 1 2", wantErr: "bad PBM sample"},
		{name: "plain truncated", in: "P3 1 1 255 1 2", wantErr: "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(strings.NewReader(tc.in), "t.pnm", Limits{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupportedFormat) {
					t.Errorf("error %v wraps no sentinel", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != image.Rect(0, 0, tc.w, tc.h) {
				t.Fatalf("bounds %v", img.Bounds())
			}
			for i, want := range tc.pixels {
				r, g, b, _ := img.At(i%tc.w, i/tc.w).RGBA()
				if got := (px{r, g, b}); got != want {
					t.Errorf("pixel %d = %x, want %x", i, got, want)
				}
			}
		})
	}
}

// A picture exactly at the byte limit is accepted; one byte more is not.
func TestDecodeByteLimit(t *testing.T) {
	data := []byte("P5 4 4 255\n" + strings.Repeat("\x80", 16))
	if _, err := Decode(bytes.NewReader(data), "", Limits{MaxBytes: int64(len(data))}); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	_, err := Decode(io.MultiReader(bytes.NewReader(data), strings.NewReader("x")), "", Limits{MaxBytes: int64(len(data)) - 1})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

// TestDecodeMemoryBudget: the memory budget counts the bit depth the
// header declares, so a 16-bit picture within the pixel budget is refused
// before it is decoded, and the same picture at 8 bits is not.
func TestDecodeMemoryBudget(t *testing.T) {
	lim := Limits{MaxMemory: 64 << 20}
	for _, tc := range []struct {
		name    string
		data    []byte
		lim     Limits
		refused bool
	}{
		{"16-bit 10000x10000, defaults", bombs.PNG(10000, 10000, true), Limits{}, true},
		{"16-bit 3000x3000", bombs.PNG(3000, 3000, true), lim, true},
		{"8-bit 3000x3000", bombs.PNG(3000, 3000, false), lim, false},
		{"16-bit PGM 6000x6000", []byte("P5\n6000 6000\n65535\n"), lim, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decode(bytes.NewReader(tc.data), tc.name, tc.lim)
			runtime.ReadMemStats(&after)
			if got := errors.Is(err, ErrTooLarge); got != tc.refused {
				t.Fatalf("Decode: %v; want refused %v", err, tc.refused)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; tc.refused && alloc > 4<<20 {
				t.Errorf("allocated %d KiB refusing it", alloc>>10)
			}
		})
	}
}

// TestDecodeContext: a cancelled context stops decoding with its error.
func TestDecodeContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := DecodeContext(ctx, bytes.NewReader(bombs.PNG(500, 500, false)), "p.png", Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("DecodeContext: %v", err)
	}
	img, err := Decode(bytes.NewReader(bombs.PNG(500, 500, false)), "p.png", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ToFaxPagesContext(ctx, img, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("ToFaxPagesContext: %v", err)
	}
}
