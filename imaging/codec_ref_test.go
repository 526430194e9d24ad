package imaging

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/ccitt"

	"github.com/faxagent/faxagent/internal/testutil"
)

// Independent references: golang.org/x/image/ccitt, netpbm (pbmtog3,
// g3topbm) and libtiff (tiffcp).

func run(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(testutil.Tool(t, name), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	if s := strings.TrimSpace(errb.String()); s != "" {
		t.Logf("%s %s: %s", name, strings.Join(args, " "), s)
	}
	return out.Bytes()
}

// refPages are the pages compared with the reference codecs.
func refPages() []*Page {
	var ps []*Page
	for _, w := range []int{WidthA4, 1000} {
		for _, g := range []pageGen{pageGens[0], pageGens[3], pageGens[4], pageGens[5], pageGens[6], pageGens[8]} {
			ps = append(ps, g.gen(w, 150, Fine))
		}
	}
	black := pageGens[2].gen(WidthB4, 20, Fine)
	return append(ps, black, noisePage(WidthA3, 30, Fine))
}

func pageName(p *Page) string { return fmt.Sprintf("%dx%d-%x", p.Width, p.Height, crc(p.Pix)) }

func crc(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// TestCCITTReference decodes our MH and MMR output with x/image/ccitt.
// (x/image/ccitt has no MR decoder; MR is covered by libtiff below.)
func TestCCITTReference(t *testing.T) {
	for _, p := range refPages() {
		for _, c := range []Compression{MH, MMR} {
			for _, order := range []BitOrder{MSBFirst, LSBFirst} {
				t.Run(fmt.Sprintf("%s/%v/%d", pageName(p), c, order), func(t *testing.T) {
					data, err := EncodePage(p, EncodeOptions{Compression: c, BitOrder: order})
					if err != nil {
						t.Fatal(err)
					}
					sf, co := ccitt.Group3, ccitt.MSB
					if c == MMR {
						sf = ccitt.Group4
					}
					if order == LSBFirst {
						co = ccitt.LSB
					}
					r := ccitt.NewReader(bytes.NewReader(data), co, sf, p.Width, p.Height, &ccitt.Options{Invert: true})
					pix, err := io.ReadAll(r)
					if err != nil {
						t.Fatalf("ccitt: %v", err)
					}
					got := &Page{Width: p.Width, Height: p.Height, Pix: pix}
					if len(pix) != len(p.Pix) {
						t.Fatalf("ccitt gave %d bytes, want %d", len(pix), len(p.Pix))
					}
					clearPadding(got)
					if d := firstDiff(got, p); d != "" {
						t.Fatal(d)
					}
				})
			}
		}
	}
}

// writePBM is a raw (P4) PBM.
func writePBM(p *Page) []byte {
	b := fmt.Appendf(nil, "P4\n%d %d\n", p.Width, p.Height)
	return append(b, p.Pix...)
}

func readPBM(data []byte) (*Page, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	var magic string
	var w, h int
	if _, err := fmt.Fscan(br, &magic, &w, &h); err != nil || magic != "P4" {
		return nil, fmt.Errorf("not a raw PBM: %q %v", magic, err)
	}
	if _, err := br.ReadByte(); err != nil { // the single whitespace
		return nil, err
	}
	p := NewPage(w, h, Fine)
	if _, err := io.ReadFull(br, p.Pix); err != nil {
		return nil, err
	}
	clearPadding(p)
	return p, nil
}

// TestNetpbmReference: pbmtog3 output decodes to the PBM, and g3topbm
// decodes our MH output to the page.
func TestNetpbmReference(t *testing.T) {
	testutil.NeedTool(t, "pbmtog3")
	testutil.NeedTool(t, "g3topbm")
	for _, p := range refPages()[:8] {
		pbm := writePBM(p)
		tests := []struct {
			args  []string
			order BitOrder
		}{
			{[]string{"-nofixedwidth"}, MSBFirst},
			{[]string{"-nofixedwidth", "-reversebits"}, LSBFirst},
			{[]string{"-nofixedwidth", "-align8"}, MSBFirst},
			{[]string{"-nofixedwidth", "-align16", "-reversebits"}, LSBFirst},
		}
		for _, tt := range tests {
			t.Run(pageName(p)+"/pbmtog3"+strings.Join(tt.args, ""), func(t *testing.T) {
				g3 := run(t, pbm, "pbmtog3", tt.args...)
				for _, rows := range []int{0, p.Height} {
					o := DecodeOptions{Compression: MH, Width: p.Width, BitOrder: tt.order, Rows: rows}
					got, st, err := DecodePage(g3, o, Fine)
					if err != nil {
						t.Fatal(err)
					}
					if d := firstDiff(got, p); d != "" || st.BadRows != 0 {
						t.Fatalf("Rows=%d: %s, stats %+v", rows, d, st)
					}
				}
			})
		}
		for _, o := range []EncodeOptions{
			{Compression: MH},
			{Compression: MH, BitOrder: LSBFirst, AlignEOL: true},
			{Compression: MH, MinRowBits: 400},
		} {
			t.Run(fmt.Sprintf("%s/g3topbm/%+v", pageName(p), o), func(t *testing.T) {
				data, err := EncodePage(p, o)
				if err != nil {
					t.Fatal(err)
				}
				args := []string{"-stop_error", fmt.Sprintf("-width=%d", p.Width)}
				if o.BitOrder == LSBFirst {
					args = append(args, "-reversebits")
				}
				got, err := readPBM(run(t, data, "g3topbm", args...))
				if err != nil {
					t.Fatal(err)
				}
				if d := firstDiff(got, p); d != "" {
					t.Fatal(d)
				}
			})
		}
	}
}

// Minimal TIFF (little-endian, one IFD) for the libtiff comparisons.

const (
	tagWidth        = 256
	tagLength       = 257
	tagBits         = 258
	tagCompression  = 259
	tagPhotometric  = 262
	tagFillOrder    = 266
	tagStripOffsets = 273
	tagSamples      = 277
	tagRowsPerStrip = 278
	tagStripCounts  = 279
	tagT4Options    = 292
	tagT6Options    = 293
)

// writeTIFF wraps one strip of data: compression 1 (none), 2, 3 or 4.
func writeTIFF(width, height, compression int, fillOrder int, t4opts uint32, strip []byte) []byte {
	type entry struct {
		tag, typ uint16
		val      uint32
	}
	const short, long = 3, 4
	entries := []entry{
		{tagWidth, long, uint32(width)}, {tagLength, long, uint32(height)}, {tagBits, short, 1},
		{tagCompression, short, uint32(compression)}, {tagPhotometric, short, 0}, // 0 = white
		{tagFillOrder, short, uint32(fillOrder)}, {tagStripOffsets, long, 0}, {tagSamples, short, 1},
		{tagRowsPerStrip, long, uint32(height)}, {tagStripCounts, long, uint32(len(strip))},
	}
	switch compression {
	case 3:
		entries = append(entries, entry{tagT4Options, long, t4opts})
	case 4:
		entries = append(entries, entry{tagT6Options, long, 0})
	}
	ifdSize := 2 + 12*len(entries) + 4
	dataOff := uint32(8 + ifdSize)
	le := binary.LittleEndian
	b := []byte{'I', 'I', 42, 0}
	b = le.AppendUint32(b, 8)
	b = le.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		if e.tag == tagStripOffsets {
			e.val = dataOff
		}
		b = le.AppendUint16(b, e.tag)
		b = le.AppendUint16(b, e.typ)
		b = le.AppendUint32(b, 1)
		if e.typ == short {
			b = le.AppendUint16(b, uint16(e.val))
			b = le.AppendUint16(b, 0)
		} else {
			b = le.AppendUint32(b, e.val)
		}
	}
	b = le.AppendUint32(b, 0)
	return append(b, strip...)
}

type tiffImage struct {
	width, height, compression, fillOrder int
	t4opts                                uint32
	strips                                [][]byte
}

// readTIFF reads the first IFD of a TIFF as libtiff writes it.
func readTIFF(data []byte) (*tiffImage, error) {
	if len(data) < 8 {
		return nil, errors.New("short TIFF")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if string(data[:2]) == "MM" {
		bo = binary.BigEndian
	}
	off := int(bo.Uint32(data[4:]))
	if off+2 > len(data) {
		return nil, errors.New("bad IFD offset")
	}
	n := int(bo.Uint16(data[off:]))
	img := &tiffImage{fillOrder: 1, compression: 1}
	var offsets, counts []int
	values := func(typ uint16, count int, field []byte) ([]int, error) {
		size := map[uint16]int{3: 2, 4: 4}[typ]
		if size == 0 {
			return nil, nil
		}
		src := field
		if size*count > 4 {
			o := int(bo.Uint32(field))
			if o+size*count > len(data) {
				return nil, errors.New("value out of range")
			}
			src = data[o:]
		}
		vs := make([]int, count)
		for i := range vs {
			if size == 2 {
				vs[i] = int(bo.Uint16(src[2*i:]))
			} else {
				vs[i] = int(bo.Uint32(src[4*i:]))
			}
		}
		return vs, nil
	}
	for i := 0; i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > len(data) {
			return nil, errors.New("IFD out of range")
		}
		tag, typ, count := bo.Uint16(data[e:]), bo.Uint16(data[e+2:]), int(bo.Uint32(data[e+4:]))
		vs, err := values(typ, count, data[e+8:e+12])
		if err != nil || len(vs) == 0 {
			continue
		}
		switch tag {
		case tagWidth:
			img.width = vs[0]
		case tagLength:
			img.height = vs[0]
		case tagCompression:
			img.compression = vs[0]
		case tagFillOrder:
			img.fillOrder = vs[0]
		case tagT4Options:
			img.t4opts = uint32(vs[0])
		case tagStripOffsets:
			offsets = vs
		case tagStripCounts:
			counts = vs
		}
	}
	if len(offsets) != len(counts) || len(offsets) == 0 {
		return nil, errors.New("bad strips")
	}
	for i := range offsets {
		if offsets[i]+counts[i] > len(data) {
			return nil, errors.New("strip out of range")
		}
		img.strips = append(img.strips, data[offsets[i]:offsets[i]+counts[i]])
	}
	return img, nil
}

// decodeTIFFStrip decodes the single coded strip of a libtiff output.
func decodeTIFFStrip(img *tiffImage, rows int) (*Page, RowStats, error) {
	if len(img.strips) != 1 {
		return nil, RowStats{}, fmt.Errorf("%d strips, want 1", len(img.strips))
	}
	o := DecodeOptions{Width: img.width, Rows: rows}
	switch {
	case img.compression == 2:
		o.Compression, o.NoEOL = MH, true
	case img.compression == 3 && img.t4opts&1 != 0:
		o.Compression = MR
	case img.compression == 3:
		o.Compression = MH
	case img.compression == 4:
		o.Compression = MMR
	default:
		return nil, RowStats{}, fmt.Errorf("compression %d", img.compression)
	}
	if img.fillOrder == 2 {
		o.BitOrder = LSBFirst
	}
	return DecodePage(img.strips[0], o, Fine)
}

// TestLibtiffReference: tiffcp codes our uncompressed TIFF with its G3,
// G3 2D and G4 coders, and our decoder must give back the page; tiffcp
// decodes TIFFs wrapping our coded strips, and must give back the page.
func TestLibtiffReference(t *testing.T) {
	testutil.NeedTool(t, "tiffcp")
	dir := t.TempDir()
	for i, p := range refPages() {
		plain := writeTIFF(p.Width, p.Height, 1, 1, 0, p.Pix)
		in := filepath.Join(dir, fmt.Sprintf("in%d.tif", i))
		if err := os.WriteFile(in, plain, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, spec := range []string{"g3", "g3:2d", "g3:fill", "g3:2d:fill", "g4"} {
			for _, fill := range []string{"", "lsb2msb"} {
				t.Run(fmt.Sprintf("%s/tiffcp-%s-%s", pageName(p), spec, fill), func(t *testing.T) {
					out := filepath.Join(dir, "out.tif")
					args := []string{"-c", spec, "-r", fmt.Sprint(p.Height)}
					if fill != "" {
						args = append(args, "-f", fill)
					}
					run(t, nil, "tiffcp", append(args, in, out)...)
					data, err := os.ReadFile(out)
					if err != nil {
						t.Fatal(err)
					}
					img, err := readTIFF(data)
					if err != nil {
						t.Fatal(err)
					}
					// Our encoder writes the same bits (without RTC, as libtiff).
					eo := EncodeOptions{Width: p.Width, K: 2, NoRTC: true, AlignEOL: strings.Contains(spec, "fill")}
					switch {
					case spec == "g4":
						eo.Compression, eo.NoRTC = MMR, false
					case strings.Contains(spec, "2d"):
						eo.Compression = MR
					default:
						eo.Compression = MH
					}
					if fill != "" {
						eo.BitOrder = LSBFirst
					}
					if ours, err := EncodePage(p, eo); err != nil || !bytes.Equal(ours, img.strips[0]) {
						t.Errorf("our %d bytes (%v) differ from libtiff's %d", len(ours), err, len(img.strips[0]))
					}
					for _, rows := range []int{img.height, 0} {
						got, st, err := decodeTIFFStrip(img, rows)
						if err != nil {
							t.Fatal(err)
						}
						if d := firstDiff(got, p); d != "" || st.BadRows != 0 {
							t.Fatalf("Rows=%d: %s, stats %+v", rows, d, st)
						}
					}
				})
			}
		}
		encs := []struct {
			o      EncodeOptions
			comp   int
			t4opts uint32
		}{
			{EncodeOptions{Compression: MH, NoRTC: true}, 3, 0},
			{EncodeOptions{Compression: MH, AlignEOL: true, BitOrder: LSBFirst}, 3, 4},
			{EncodeOptions{Compression: MR, K: 4}, 3, 1},
			{EncodeOptions{Compression: MR, K: 2, AlignEOL: true, NoRTC: true, BitOrder: LSBFirst}, 3, 5},
			{EncodeOptions{Compression: MMR}, 4, 0},
			{EncodeOptions{Compression: MMR, NoRTC: true, BitOrder: LSBFirst}, 4, 0},
			{EncodeOptions{Compression: MH, NoEOL: true}, 2, 0},
		}
		for _, e := range encs {
			t.Run(fmt.Sprintf("%s/ours-%+v", pageName(p), e.o), func(t *testing.T) {
				strip, err := EncodePage(p, e.o)
				if err != nil {
					t.Fatal(err)
				}
				fo := 1
				if e.o.BitOrder == LSBFirst {
					fo = 2
				}
				ours := filepath.Join(dir, "ours.tif")
				out := filepath.Join(dir, "plain.tif")
				if err := os.WriteFile(ours, writeTIFF(p.Width, p.Height, e.comp, fo, e.t4opts, strip), 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(testutil.Tool(t, "tiffcp"), "-c", "none", "-f", "msb2lsb", ours, out)
				if msg, err := cmd.CombinedOutput(); err != nil || len(msg) != 0 {
					t.Fatalf("tiffcp: %v: %s", err, msg)
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				img, err := readTIFF(data)
				if err != nil {
					t.Fatal(err)
				}
				got := &Page{Width: img.width, Height: img.height, Pix: bytes.Join(img.strips, nil)}
				if img.compression != 1 || img.fillOrder != 1 || len(got.Pix) != len(p.Pix) {
					t.Fatalf("tiffcp wrote compression %d, fill order %d, %d bytes", img.compression, img.fillOrder, len(got.Pix))
				}
				clearPadding(got)
				if d := firstDiff(got, p); d != "" {
					t.Fatal(d)
				}
			})
		}
	}
}

// TestFixtures decodes stored outputs of pbmtog3 and tiffcp (see
// testdata/codec/README.md) and checks that our encoder reproduces
// libtiff's strips byte for byte (libtiff writes no RTC in TIFF).
func TestFixtures(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "codec", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	src, err := readPBM(read("text-1728x200.pbm"))
	if err != nil {
		t.Fatal(err)
	}
	if d := firstDiff(src, textPage(WidthA4, 200, Fine)); d != "" {
		t.Fatalf("fixture PBM is not textPage(1728, 200): %s", d)
	}
	for _, f := range []struct {
		name  string
		order BitOrder
	}{{"text-1728x200.pbmtog3.g3", MSBFirst}, {"text-1728x200.pbmtog3-reversebits-align8.g3", LSBFirst}} {
		t.Run(f.name, func(t *testing.T) {
			got, st, err := DecodePage(read(f.name), DecodeOptions{Compression: MH, Width: WidthA4, BitOrder: f.order}, Fine)
			if err != nil {
				t.Fatal(err)
			}
			if d := firstDiff(got, src); d != "" || st.BadRows != 0 {
				t.Fatalf("%s, stats %+v", d, st)
			}
		})
	}
	for _, f := range []struct {
		name string
		o    EncodeOptions
	}{
		{"g3", EncodeOptions{Compression: MH, NoRTC: true}},
		{"g3-2d", EncodeOptions{Compression: MR, K: 2, NoRTC: true}},
		{"g3-2d-fill", EncodeOptions{Compression: MR, K: 2, AlignEOL: true, NoRTC: true}},
		{"g4", EncodeOptions{Compression: MMR}},
	} {
		t.Run("tiffcp-"+f.name, func(t *testing.T) {
			img, err := readTIFF(read("text-1728x200.tiffcp-" + f.name + ".tif"))
			if err != nil {
				t.Fatal(err)
			}
			got, st, err := decodeTIFFStrip(img, img.height)
			if err != nil {
				t.Fatal(err)
			}
			if d := firstDiff(got, src); d != "" || st.BadRows != 0 {
				t.Fatalf("%s, stats %+v", d, st)
			}
			ours, err := EncodePage(src, f.o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, img.strips[0]) {
				t.Fatalf("our %d bytes differ from libtiff's %d", len(ours), len(img.strips[0]))
			}
		})
	}
}
