// Package bombs makes hostile image files for tests and fuzz seeds: small
// files that declare far more pixels, pages or memory than they hold, as an
// attacker would send them. Generating them keeps megabyte fixtures out of
// the repository.
//
// bombs imports the standard library and the parent package imaging (for
// its MMR encoder) only; nothing outside tests should import it.
package bombs

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/faxagent/faxagent/imaging"
)

// PNG returns a w x h PNG of all-zero pixels: colour type 6 (RGBA) at
// depth 16 when sixteen, else colour type 0 (grey) at depth 8. The pixel
// data is one zlib stream of zeros, about a thousandth of its decoded size
// (10000 x 10000 at 16 bits: 800 MB decoded, under 1 MB encoded).
func PNG(w, h int, sixteen bool) []byte {
	depth, ctype, bpp := byte(8), byte(0), 1
	if sixteen {
		depth, ctype, bpp = 16, 6, 8
	}
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, depth, ctype, 0, 0, 0)
	chunk(&b, "IHDR", ihdr)
	z := zlibZeros(int64(h) * int64(1+w*bpp)) // filter byte 0 and zero samples
	chunk(&b, "IDAT", z)
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

// zlibZeros is a zlib stream of n zero bytes, made in milliseconds: one
// MiB of zeros is compressed once into flushed (byte-aligned, non-final)
// deflate blocks, which are repeated; a last stream ends it, and the
// Adler-32 of zeros is known (a = 1, b = n mod 65521).
func zlibZeros(n int64) []byte {
	const unit = 1 << 20
	deflate := func(k int64, final bool) []byte {
		var b bytes.Buffer
		fw, _ := flate.NewWriter(&b, flate.BestCompression)
		fw.Write(make([]byte, k))
		if final {
			fw.Close()
		} else {
			fw.Flush()
		}
		return b.Bytes()
	}
	out := []byte{0x78, 0xda}
	if n >= unit {
		block := deflate(unit, false)
		for i := int64(0); i < n/unit; i++ {
			out = append(out, block...)
		}
	}
	out = append(out, deflate(n%unit, true)...)
	return binary.BigEndian.AppendUint32(out, uint32(n%65521)<<16|1)
}

func chunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	c := append([]byte(typ), data...)
	b.Write(c)
	binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(c))
}

// TIFF returns a little-endian TIFF of pages bilevel MMR pages of w x h
// white pixels that all share one strip: each page costs its 130-byte IFD
// in the file and w x h pixels to decode. TIFF(5000, 1728, 2292) is the
// page-count bomb of issue 13 (630 KB, 5000 fine A4 pages);
// TIFF(300, 1728, 20000) the CPU bomb (about 40 KB, 10 gigapixels).
func TIFF(pages, w, h int) []byte {
	strip, err := imaging.EncodePage(imaging.NewPage(w, h, imaging.Fine), imaging.EncodeOptions{Compression: imaging.MMR})
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("II*\x00")
	binary.Write(&b, le, uint32(8))
	// The IFDs follow the header; the strip and resolution after them.
	const entries = 10
	ifdSize := 2 + entries*12 + 4
	stripOff := 8 + pages*ifdSize
	resOff := stripOff + len(strip)
	for p := 0; p < pages; p++ {
		binary.Write(&b, le, uint16(entries))
		entry := func(tag, typ uint16, v uint32) {
			binary.Write(&b, le, tag)
			binary.Write(&b, le, typ)
			binary.Write(&b, le, uint32(1))
			binary.Write(&b, le, v)
		}
		entry(256, 4, uint32(w))          // ImageWidth
		entry(257, 4, uint32(h))          // ImageLength
		entry(258, 3, 1)                  // BitsPerSample
		entry(259, 3, 4)                  // Compression: G4
		entry(262, 3, 0)                  // Photometric: WhiteIsZero
		entry(273, 4, uint32(stripOff))   // StripOffsets
		entry(278, 4, uint32(h))          // RowsPerStrip
		entry(279, 4, uint32(len(strip))) // StripByteCounts
		entry(282, 5, uint32(resOff))     // XResolution
		entry(283, 5, uint32(resOff+8))   // YResolution
		next := uint32(0)
		if p < pages-1 {
			next = uint32(8 + (p+1)*ifdSize)
		}
		binary.Write(&b, le, next)
	}
	b.Write(strip)
	for _, v := range []uint32{204, 1, 196, 1} {
		binary.Write(&b, le, v)
	}
	return b.Bytes()
}

// PDF returns a PDF of pages pages, each w x h points (a MediaBox of
// 14400 x 14400 is the largest the specification allows without UserUnit)
// with one stroked diagonal line.
func PDF(pages int, w, h float64) []byte {
	var objs []string
	kids := ""
	for i := 0; i < pages; i++ {
		kids += fmt.Sprintf("%d 0 R ", 3+2*i)
	}
	objs = append(objs, "<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, pages))
	content := "4 w 36 36 m 300 300 l S"
	for i := 0; i < pages; i++ {
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents %d 0 R >>", w, h, 4+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}
