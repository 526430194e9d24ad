package tiff

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

// memFile is an in-memory io.WriteSeeker.
type memFile struct {
	b   []byte
	pos int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := m.pos + int64(len(p)); need > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, need-int64(len(m.b)))...)
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
	needTool(t, "tiffinfo", "tiffcp")
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
