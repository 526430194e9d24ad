package tiff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/internal/testutil"
)

// memFile is an in-memory io.WriteSeeker.
type memFile struct {
	b   []byte
	pos int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := m.pos + int64(len(p)); need > int64(len(m.b)) {
		if need <= int64(cap(m.b)) {
			m.b = m.b[:need]
		} else {
			m.b = append(m.b, make([]byte, need-int64(len(m.b)))...)
		}
	}
	copy(m.b[m.pos:], p)
	m.pos += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += m.pos
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	if off < 0 {
		return 0, errors.New("negative seek")
	}
	m.pos = off
	return off, nil
}

var testTime = time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)

// writeDoc writes pages with NewPage and returns the file.
func writeDoc(t testing.TB, o WriterOptions, pages []*imaging.Page) []byte {
	t.Helper()
	var f memFile
	w := NewWriter(&f, o)
	for i, p := range pages {
		spec := PageSpec{Width: p.Width, Resolution: p.Resolution}
		if i%2 == 1 {
			spec.Rows = p.Height // announced on some pages only
		}
		pw, err := w.NewPage(spec)
		if err != nil {
			t.Fatal(err)
		}
		for y := range p.Height {
			if err := pw.WriteRow(p.Row(y)); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return f.b
}

func TestWriteRoundTrip(t *testing.T) {
	for _, comp := range []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR} {
		for _, order := range []imaging.BitOrder{imaging.MSBFirst, imaging.LSBFirst} {
			t.Run(fmt.Sprintf("%v-%d", comp, order), func(t *testing.T) {
				pages := []*imaging.Page{
					testPage(imaging.WidthA4, 300, imaging.Standard, 21),
					testPage(imaging.WidthA4, 411, imaging.Fine, 22),
					testPage(imaging.WidthB4, 97, imaging.Superfine, 23),
					testPage(13, 5, imaging.Fine, 24), // odd width: pad bits
				}
				b := writeDoc(t, WriterOptions{Compression: comp, BitOrder: order, Software: "faxagent test", DateTime: testTime}, pages)
				r, err := Open(bytes.NewReader(b), int64(len(b)))
				if err != nil {
					t.Fatal(err)
				}
				if r.NumPages() != len(pages) {
					t.Fatalf("NumPages %d", r.NumPages())
				}
				for i, want := range pages {
					got, info := readBilevel(t, r, i)
					samePage(t, fmt.Sprintf("page %d", i+1), got, want)
					wantTag := CompressionG3
					if comp == imaging.MMR {
						wantTag = CompressionG4
					}
					x, y := want.Resolution.DPI()
					if info.Compression != comp || info.CompressionTag != wantTag || info.FillOrder != int(order)+1 ||
						info.Resolution != want.Resolution || info.XDPI != x || info.YDPI != y ||
						info.PageNumber != i || info.PageTotal != len(pages) || !info.HasFaxQuality ||
						info.CleanFaxData != FaxDataClean || info.Software != "faxagent test" ||
						info.DateTime != "2026:11:27 01:02:03" || info.Photometric != 0 {
						t.Errorf("page %d info %+v", i+1, info)
					}
					pr, _ := r.Page(i)
					data, c, o, ok := pr.RawCCITT()
					if !ok || c != comp || o != order || int64(len(data)) != info.CodedBytes {
						t.Errorf("RawCCITT %v %v %v %d bytes", c, o, ok, len(data))
					}
					if comp != imaging.MMR && !pr.AlignedEOL() {
						t.Error("G3 page without T4Options bit 2")
					}
				}
			})
		}
	}
}

// TestWriteLibtiff checks our files with libtiff: tiffinfo reports each page
// without warnings, and tiffcp decodes them to the same pixels.
func TestWriteLibtiff(t *testing.T) {
	testutil.NeedTool(t, "tiffinfo", "tiffcp")
	dir := t.TempDir()
	pages := []*imaging.Page{
		testPage(imaging.WidthA4, 250, imaging.Standard, 31),
		testPage(imaging.WidthA4, 333, imaging.Fine, 32),
		testPage(imaging.WidthA3, 120, imaging.Fine, 33),
	}
	for _, tc := range []struct {
		comp  imaging.Compression
		order imaging.BitOrder
		want  string
	}{
		{imaging.MH, imaging.MSBFirst, "CCITT Group 3"},
		{imaging.MR, imaging.LSBFirst, "CCITT Group 3"},
		{imaging.MMR, imaging.MSBFirst, "CCITT Group 4"},
		{imaging.MMR, imaging.LSBFirst, "CCITT Group 4"},
	} {
		t.Run(fmt.Sprintf("%v-%d", tc.comp, tc.order), func(t *testing.T) {
			ours := filepath.Join(dir, fmt.Sprintf("ours-%v-%d.tif", tc.comp, tc.order))
			f, err := os.Create(ours)
			if err != nil {
				t.Fatal(err)
			}
			// Start at a non-zero file offset: the writer must make
			// offsets relative to where it started. Write to a file
			// that has the header at 0, so start at 0 here and test the
			// base offset separately.
			w := NewWriter(f, WriterOptions{Compression: tc.comp, BitOrder: tc.order, Software: "faxagent"})
			for _, p := range pages {
				pw, err := w.NewPage(PageSpec{Width: p.Width, Resolution: p.Resolution})
				if err != nil {
					t.Fatal(err)
				}
				for y := range p.Height {
					if err := pw.WriteRow(p.Row(y)); err != nil {
						t.Fatal(err)
					}
				}
				if err := pw.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			f.Close()

			out, stderr := run(t, "tiffinfo", ours)
			if len(stderr) != 0 {
				t.Errorf("tiffinfo stderr: %s", stderr)
			}
			info := string(out)
			if n := strings.Count(info, "=== TIFF directory"); n != len(pages) {
				t.Errorf("tiffinfo lists %d directories, want %d", n, len(pages))
			}
			if n := strings.Count(info, "Compression Scheme: "+tc.want); n != len(pages) {
				t.Errorf("tiffinfo: %d pages with %q\n%s", n, tc.want, info)
			}
			for i, p := range pages {
				for _, want := range []string{
					fmt.Sprintf("Image Width: %d Image Length: %d", p.Width, p.Height),
					fmt.Sprintf("Page Number: %d-%d", i, len(pages)),
				} {
					if !strings.Contains(info, want) {
						t.Errorf("tiffinfo lacks %q\n%s", want, info)
					}
				}
			}
			for _, re := range []string{`Subfile Type: multi-page document`, `Resolution: 204, 98 pixels/inch`, `Resolution: 204, 196 pixels/inch`, `Fax Data: clean`, `Bad Fax Lines: 0`} {
				if !regexp.MustCompile(re).MatchString(info) {
					t.Errorf("tiffinfo lacks %q\n%s", re, info)
				}
			}

			plain := filepath.Join(dir, fmt.Sprintf("plain-%v-%d.tif", tc.comp, tc.order))
			if _, stderr := run(t, "tiffcp", "-c", "none", ours, plain); len(stderr) != 0 {
				t.Errorf("tiffcp stderr: %s", stderr)
			}
			r := openFile(t, plain)
			if r.NumPages() != len(pages) {
				t.Fatalf("tiffcp output has %d pages", r.NumPages())
			}
			for i, want := range pages {
				got, _ := readBilevel(t, r, i)
				samePage(t, fmt.Sprintf("libtiff page %d", i+1), got, want)
			}
		})
	}
}

// TestWriteCoded writes already-coded pages (as received, LSB first, with
// bad rows) and checks the data is stored as is and the quality tags.
func TestWriteCoded(t *testing.T) {
	var f memFile
	f.Write([]byte("junk before the TIFF")) // writer starts at a non-zero offset
	w := NewWriter(&f, WriterOptions{DateTime: testTime})
	var pages []*imaging.Page
	var coded [][]byte
	for i, comp := range []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR} {
		p := testPage(imaging.WidthA4, 200+i, imaging.Fine, uint64(40+i))
		data, err := imaging.EncodePage(p, imaging.EncodeOptions{Compression: comp, Width: p.Width, K: 4, BitOrder: imaging.LSBFirst})
		if err != nil {
			t.Fatal(err)
		}
		st := imaging.RowStats{Rows: p.Height}
		if i == 1 {
			st.BadRows, st.MaxConsecutive = 3, 2
		}
		if err := w.WriteCoded(PageSpec{Width: p.Width, Resolution: p.Resolution}, data, comp, imaging.LSBFirst, st); err != nil {
			t.Fatal(err)
		}
		pages, coded = append(pages, p), append(coded, data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := f.b[len("junk before the TIFF"):]
	r, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range pages {
		got, info := readBilevel(t, r, i)
		samePage(t, fmt.Sprintf("page %d", i+1), got, want)
		wantClean, wantBad := FaxDataClean, 0
		if i == 1 {
			wantClean, wantBad = FaxDataUnclean, 3
		}
		if info.CleanFaxData != wantClean || info.BadFaxLines != wantBad || info.FillOrder != 2 || info.PageTotal != 3 {
			t.Errorf("page %d: %+v", i+1, info)
		}
		pr, _ := r.Page(i)
		data, _, _, ok := pr.RawCCITT()
		if !ok || !bytes.Equal(data, coded[i]) {
			t.Errorf("page %d: RawCCITT differs from the data written", i+1)
		}
	}

	// libtiff reads the data as stored (RTC at the end, EOLs unaligned).
	testutil.NeedTool(t, "tiffcp")
	dir := t.TempDir()
	in, plain := filepath.Join(dir, "coded.tif"), filepath.Join(dir, "plain.tif")
	os.WriteFile(in, b, 0o644)
	if _, stderr := run(t, "tiffcp", "-c", "none", in, plain); len(stderr) != 0 {
		t.Errorf("tiffcp stderr: %s", stderr)
	}
	lr := openFile(t, plain)
	for i, want := range pages {
		got, _ := readBilevel(t, lr, i)
		samePage(t, fmt.Sprintf("libtiff page %d", i+1), got, want)
	}
}

func TestWriterErrors(t *testing.T) {
	var f memFile
	w := NewWriter(&f, WriterOptions{})
	if err := w.Close(); err == nil {
		t.Error("Close of an empty document: no error")
	}
	w = NewWriter(&f, WriterOptions{})
	if _, err := w.NewPage(PageSpec{Width: 0}); err == nil {
		t.Error("width 0 accepted")
	}
	if _, err := w.NewPage(PageSpec{Width: 100000}); err == nil {
		t.Error("width 100000 accepted")
	}
	pw, err := w.NewPage(PageSpec{Width: 16, Rows: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.NewPage(PageSpec{Width: 16}); err == nil {
		t.Error("second page opened while the first is open")
	}
	pw.WriteRow([]byte{1, 2})
	pw.WriteRow([]byte{1, 2})
	if err := pw.WriteRow([]byte{1, 2}); err == nil {
		t.Error("row beyond announced Rows accepted")
	}
	if err := pw.WriteRow([]byte{1}); err == nil {
		t.Error("short row accepted")
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	pw, _ = w.NewPage(PageSpec{Width: 16, Rows: 5})
	pw.WriteRow([]byte{1, 2})
	if err := pw.Close(); err == nil {
		t.Error("page with fewer rows than announced: no error")
	}
	if err := w.WriteCoded(PageSpec{Width: 16}, []byte{1}, imaging.MH, imaging.MSBFirst, imaging.RowStats{}); err == nil {
		t.Error("WriteCoded without a height accepted")
	}
	w.Close()
	if _, err := w.NewPage(PageSpec{Width: 16}); !errors.Is(err, ErrClosed) {
		t.Errorf("NewPage after Close: %v", err)
	}
}

// TestReadRLEAndDamage covers TIFF compression 2 (MH without EOLs, rows
// byte aligned), checked against libtiff, and damaged G3 data, which must
// decode with concealed rows counted in Stats rather than fail.
func TestReadRLEAndDamage(t *testing.T) {
	p := testPage(imaging.WidthA4, 150, imaging.Fine, 50)
	rle, err := imaging.EncodePage(p, imaging.EncodeOptions{Compression: imaging.MH, Width: p.Width, NoEOL: true})
	if err != nil {
		t.Fatal(err)
	}
	mh, err := imaging.EncodePage(p, imaging.EncodeOptions{Compression: imaging.MH, Width: p.Width, AlignEOL: true})
	if err != nil {
		t.Fatal(err)
	}
	// Damage a few bytes in the middle of the MH page.
	for i := len(mh) / 3; i < len(mh)/3+6; i++ {
		mh[i] ^= 0x5a
	}
	var f memFile
	w := NewWriter(&f, WriterOptions{DateTime: testTime})
	spec := PageSpec{Width: p.Width, Rows: p.Height, Resolution: p.Resolution}
	if err := w.WriteCoded(spec, rle, imaging.MH, imaging.MSBFirst, imaging.RowStats{}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteCoded(spec, mh, imaging.MH, imaging.MSBFirst, imaging.RowStats{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Turn page 1 into Compression 2: patch its Compression value.
	b := f.b
	ifd := int(binary.LittleEndian.Uint32(b[4:]))
	n := int(binary.LittleEndian.Uint16(b[ifd:]))
	patched := false
	for i := range n {
		e := b[ifd+2+12*i:]
		if binary.LittleEndian.Uint16(e) == tagCompression {
			binary.LittleEndian.PutUint16(e[8:], CompressionRLE)
			patched = true
		}
	}
	if !patched {
		t.Fatal("no Compression tag")
	}
	r, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	got, info := readBilevel(t, r, 0)
	if info.CompressionTag != CompressionRLE || info.CompressionName != "CCITT RLE" {
		t.Errorf("page 1: %+v", info)
	}
	samePage(t, "RLE page", got, p)
	pr, _ := r.Page(0)
	if _, _, _, ok := pr.RawCCITT(); ok {
		t.Error("RawCCITT ok for an RLE page (PDF and T.30 need EOLs)")
	}

	pr, err = r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	dam, err := imaging.ReadPage(pr, p.Width, p.Resolution, 0)
	if err != nil {
		t.Fatalf("damaged page: %v", err)
	}
	st := pr.Stats()
	if dam.Height != p.Height || st.Rows != p.Height || st.BadRows == 0 || st.BadRows > 20 {
		t.Errorf("damaged page: %d rows, stats %+v", dam.Height, st)
	}

	if _, err := exec.LookPath("tiffcp"); err != nil {
		testutil.NeedTool(t, "tiffcp")
	}
	dir := t.TempDir()
	in, plain := filepath.Join(dir, "rle.tif"), filepath.Join(dir, "plain.tif")
	os.WriteFile(in, b, 0o644)
	run(t, "tiffcp", "-c", "none", in+",0", plain)
	lp, _ := readBilevel(t, openFile(t, plain), 0)
	samePage(t, "libtiff's RLE page", lp, p)
}

// TestStreamingMemory checks that reading and writing a long document
// allocates per page far less than a decoded page: nothing holds whole
// pages.
func TestStreamingMemory(t *testing.T) {
	const pages = 30
	// A long page, busy at the top and white below, like a letter.
	p := imaging.NewPage(imaging.WidthA4, 2200, imaging.Fine)
	copy(p.Pix, testPage(imaging.WidthA4, 200, imaging.Fine, 60).Pix)
	pageBytes := uint64(len(p.Pix))
	var f memFile
	f.b = make([]byte, 0, 8<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := NewWriter(&f, WriterOptions{Compression: imaging.MMR, DateTime: testTime})
	for range pages {
		pw, err := w.NewPage(PageSpec{Width: p.Width, Resolution: p.Resolution})
		if err != nil {
			t.Fatal(err)
		}
		for y := range p.Height {
			if err := pw.WriteRow(p.Row(y)); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if len(f.b) > 8<<20 {
		t.Fatalf("output of %d bytes outgrew the preallocated buffer", len(f.b))
	}
	perPage := (after.TotalAlloc - before.TotalAlloc) / pages
	t.Logf("writer: %d bytes allocated per page (decoded page %d bytes)", perPage, pageBytes)
	if perPage > pageBytes/4 {
		t.Errorf("writer allocates %d bytes per page, decoded page is %d", perPage, pageBytes)
	}

	r, err := Open(bytes.NewReader(f.b), int64(len(f.b)))
	if err != nil {
		t.Fatal(err)
	}
	row := make([]byte, p.Stride())
	runtime.ReadMemStats(&before)
	for i := range r.NumPages() {
		pr, err := r.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; ; y++ {
			err := pr.ReadRow(row)
			if err == imaging.ErrEndOfPage {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if y%500 == 0 && !bytes.Equal(row, p.Row(y)) {
				t.Fatalf("page %d row %d differs", i+1, y)
			}
		}
	}
	runtime.ReadMemStats(&after)
	perPage = (after.TotalAlloc - before.TotalAlloc) / pages
	t.Logf("reader: %d bytes allocated per page", perPage)
	if perPage > pageBytes/4 {
		t.Errorf("reader allocates %d bytes per page, decoded page is %d", perPage, pageBytes)
	}
}

// TestCloseWithBadOpenPage: Close reports the open page's error but still
// finishes the pages before it.
func TestCloseWithBadOpenPage(t *testing.T) {
	p := testPage(64, 30, imaging.Fine, 90)
	var f memFile
	w := NewWriter(&f, WriterOptions{})
	pw, _ := w.NewPage(PageSpec{Width: p.Width, Resolution: p.Resolution})
	for y := range p.Height {
		pw.WriteRow(p.Row(y))
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.NewPage(PageSpec{Width: p.Width}); err != nil { // left empty
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close with an empty open page: no error")
	}
	r, err := Open(bytes.NewReader(f.b), int64(len(f.b)))
	if err != nil {
		t.Fatal(err)
	}
	if r.NumPages() != 1 {
		t.Fatalf("%d pages", r.NumPages())
	}
	got, info := readBilevel(t, r, 0)
	samePage(t, "page 1", got, p)
	if info.PageTotal != 1 {
		t.Errorf("PageNumber total %d", info.PageTotal)
	}
}

// TestRegenerated: a re-encoded received page with concealed rows is
// marked regenerated, with its counts.
func TestRegenerated(t *testing.T) {
	p := testPage(100, 40, imaging.Standard, 91)
	var f memFile
	w := NewWriter(&f, WriterOptions{Compression: imaging.MR})
	pw, err := w.NewPage(PageSpec{Width: p.Width, Resolution: p.Resolution, SourceStats: imaging.RowStats{Rows: 40, BadRows: 5, MaxConsecutive: 3}})
	if err != nil {
		t.Fatal(err)
	}
	for y := range p.Height {
		pw.WriteRow(p.Row(y))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(bytes.NewReader(f.b), int64(len(f.b)))
	if err != nil {
		t.Fatal(err)
	}
	got, info := readBilevel(t, r, 0)
	samePage(t, "page", got, p)
	if !info.HasFaxQuality || info.CleanFaxData != FaxDataRegenerated || info.BadFaxLines != 5 || info.ConsecutiveBadFaxLines != 3 {
		t.Errorf("quality tags: %+v", info)
	}
}
