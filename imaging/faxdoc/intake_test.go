package faxdoc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/bombs"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/internal/testutil"
)

const psPage = "%!PS\n/Helvetica findfont 24 scalefont setfont 72 700 moveto (Hello fax) show\n4 setlinewidth 72 72 moveto 500 500 lineto stroke showpage\n"

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Kind
	}{
		{"%PDF-1.7\n", KindPDF},
		{"%!PS-Adobe-3.0\n", KindPostScript},
		{"\xc5\xd0\xd3\xc6\x20\x00", KindPostScript},
		{"II*\x00\x08\x00", KindTIFF},
		{"\x89PNG\r\n\x1a\n", KindPNG},
		{"\xff\xd8\xff\xe0", KindJPEG},
		{"GIF89a", KindGIF},
		{"P4\n8 1\n\x00", KindPNM},
		{"café naïve ✓\n\tx\f", KindText},
		{"\xef\xbb\xbfBOM text", KindText},
		{"ends in a cut \xe2\x9c", KindText},
		{"bad \xff utf-8", KindUnknown},
		{"nul\x00inside", KindUnknown},
		{"\x01\x02\x03", KindUnknown},
		{"", KindUnknown},
	} {
		if got := Sniff([]byte(tc.in)); got != tc.want {
			t.Errorf("Sniff(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// readAll reads every page of a document into memory.
func readAll(t *testing.T, paths []string, o Options) []*imaging.Page {
	t.Helper()
	r, err := Open(paths, o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pages []*imaging.Page
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		pg, err := imaging.ReadPage(p, p.Width, p.Resolution, 0)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, pg)
	}
	return pages
}

func blackPixels(p *imaging.Page) int {
	n := 0
	for y := 0; y < p.Height; y++ {
		for x := 0; x < p.Width; x++ {
			if p.Black(x, y) {
				n++
			}
		}
	}
	return n
}

// TestIntakeKinds: PDF, PostScript and text become fax pages of the page
// width and about A4 length, with ink on them; the rasterised pages are
// removed at Close.
func TestIntakeKinds(t *testing.T) {
	testutil.NeedTool(t, "pdftoppm", "pdfinfo", "gs")
	for _, tc := range []struct {
		name  string
		data  []byte
		res   imaging.Resolution
		pages int
	}{
		{"two.pdf", bombs.PDF(2, 595, 842), imaging.Fine, 2},
		{"letter.pdf", bombs.PDF(1, 612, 792), imaging.Superfine, 1},
		{"one.ps", []byte(psPage), imaging.Fine, 1},
		{"two.txt", []byte("page one\fpage two\n"), imaging.Standard, 2},
		{"ultra.txt", []byte("ultrafine\n"), imaging.Ultrafine, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			path := writeTemp(t, tc.name, tc.data)
			pages := readAll(t, []string{path}, Options{Resolution: tc.res, TempDir: tmp})
			if len(pages) != tc.pages {
				t.Fatalf("%d pages, want %d", len(pages), tc.pages)
			}
			xdpi, _ := tc.res.DPI()
			wantW := int(imaging.WidthA4 * xdpi / 204)
			for i, p := range pages {
				rows := render.A4Rows(tc.res)
				if p.Width != wantW || p.Resolution != tc.res || p.Height < rows*9/10 || p.Height > rows*11/10 {
					t.Errorf("page %d: %dx%d %v, want %d wide, about %d rows at %v", i+1, p.Width, p.Height, p.Resolution, wantW, rows, tc.res)
				}
				if blackPixels(p) < 100 {
					t.Errorf("page %d is blank", i+1)
				}
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestIntakeRefused: the bad-input corpus is refused at Open with one
// clear line naming the problem, the typed error callers branch on, and
// bounded memory in this process.
func TestIntakeRefused(t *testing.T) {
	testutil.NeedTool(t, "pdftoppm", "pdfinfo", "gs")
	good := bombs.PDF(3, 595, 842)
	huge := bytes.Repeat([]byte("a line of text that goes on and on\n"), 600_000) // 21 MB
	for _, tc := range []struct {
		name string
		data []byte
		lim  Limits
		want error
		text string
	}{
		{"empty.pdf", nil, Limits{}, ErrBroken, "empty"},
		{"binary.bin", []byte("\x00\x01\x02\x03junk"), Limits{}, ErrUnsupported, "want PDF"},
		{"truncated.pdf", good[:len(good)/2], Limits{}, ErrBroken, "not a readable PDF"},
		{"garbage.pdf", []byte("%PDF-1.4\ngarbage\n"), Limits{}, ErrBroken, "not a readable PDF"},
		{"mediabox.pdf", bombs.PDF(1, 14400, 14400), Limits{}, ErrTooLarge, "larger than A0"},
		{"tall.pdf", bombs.PDF(1, 100, 3000), Limits{}, ErrTooLarge, "too long"},
		{"pages.pdf", good, Limits{MaxPages: 2}, ErrTooLarge, "3 pages"},
		{"broken.ps", []byte("%!PS\n/x { undefinedthing } def x\n"), Limits{}, ErrBroken, "not a readable PostScript"},
		{"huge.txt", huge, Limits{}, ErrTooLarge, "text longer than"},
		{"long.txt", bytes.Repeat([]byte("line\n"), 2000), Limits{MaxPages: 5}, ErrTooLarge, "more than 5 pages"},
		{"latin1.txt", append([]byte(strings.Repeat("plain ", 200)), "caf\xe9"...), Limits{}, ErrBroken, "UTF-8"},
		{"blank.txt", []byte("\n\n \n"), Limits{}, ErrBroken, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, tc.name, tc.data)
			var err error
			alloc := testutil.Allocated(func() {
				var r *Reader
				r, err = OpenContext(context.Background(), []string{path}, Options{Resolution: imaging.Fine, Limits: tc.lim, TempDir: t.TempDir()})
				if err == nil {
					r.Close()
				}
			})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want %v with %q on one line", err, tc.want, tc.text)
			}
			if alloc > 16<<20 {
				t.Errorf("allocated %d MiB refusing it", alloc>>20)
			}
		})
	}
}

// TestConvertLeavesNothing: a conversion that fails creates no output.
func TestConvertLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	in := writeTemp(t, "x.bin", []byte("\x00\x00\x00"))
	out := filepath.Join(dir, "out.tif")
	if _, err := Convert(context.Background(), []string{in}, Options{}, out, WriteOptions{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
}

// FuzzIntake opens arbitrary bytes as a document (every kind, small
// limits): an error or pages that all read, never a panic.
func FuzzIntake(f *testing.F) {
	f.Add([]byte("café naïve ✓\n\tx\fy"))
	f.Add([]byte(psPage))
	f.Add(bombs.PDF(1, 200, 200))
	f.Add(bombs.PNG(40, 30, false))
	f.Add([]byte("P1\n4 2\n1 0 1 0 0 1 0 1\n"))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r, err := OpenContext(ctx, []string{path}, Options{Resolution: imaging.Standard, TempDir: dir,
			Limits: Limits{MaxPages: 4, MaxTextBytes: 64 << 10, Picture: render.Limits{MaxPixels: 4 << 20, MaxMemory: 32 << 20}}})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on more than one line: %q", err)
			}
			return
		}
		defer r.Close()
		for {
			p, err := r.Next()
			if err != nil {
				return
			}
			if _, err := imaging.ReadPage(p, p.Width, p.Resolution, 0); err != nil {
				return
			}
		}
	})
}
