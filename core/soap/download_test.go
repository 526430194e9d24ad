package soap

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/internal/testutil"
)

var pdfPages = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)

// fixturePages are the pages of testdata/three.tif as PBM, decoded by
// netpbm's tifftopnm.
func fixturePages(t *testing.T) [][]byte {
	t.Helper()
	out, err := exec.Command(testutil.Tool(t, "tifftopnm"), "testdata/three.tif").Output()
	if err != nil {
		t.Fatalf("tifftopnm: %v", err)
	}
	const page = 12 + 1728/8*200 // "P4\n1728 200\n" and the rows
	if len(out) != 3*page {
		t.Fatalf("tifftopnm gave %d bytes", len(out))
	}
	return [][]byte{out[:page], out[page : 2*page], out[2*page:]}
}

// checkDownload checks a downloaded document: its page count with our
// reader and with an independent one (libtiff's tiffinfo, poppler's
// pdfinfo), and its pages' pixels against the sent fixture's pages (1-based
// numbers in pages), decoded by netpbm (TIFF) or poppler's pdfimages (PDF).
func checkDownload(t *testing.T, typ string, b []byte, pageNos []int) {
	t.Helper()
	pages := len(pageNos)
	src := fixturePages(t)
	var want []byte
	for _, n := range pageNos {
		want = append(want, src[n-1]...)
	}
	path := filepath.Join(t.TempDir(), "dl")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	switch typ {
	case "TIF":
		r, err := tiff.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("download is not a TIFF: %v", err)
		}
		if r.NumPages() != pages {
			t.Errorf("TIFF pages = %d, want %d", r.NumPages(), pages)
		}
		out, err := exec.Command(testutil.Tool(t, "tiffinfo"), path).CombinedOutput()
		if err != nil {
			t.Fatalf("tiffinfo: %v\n%s", err, out)
		}
		if n := bytes.Count(out, []byte("TIFF Directory at offset")); n != pages {
			t.Errorf("tiffinfo sees %d pages, want %d", n, pages)
		}
		got, err := exec.Command(testutil.Tool(t, "tifftopnm"), path).Output()
		if err != nil {
			t.Fatalf("tifftopnm: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("downloaded TIFF pages differ from the sent pages %v", pageNos)
		}
	case "PDF":
		if !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("download is not a PDF: %q", b[:min(len(b), 16)])
		}
		out, err := exec.Command(testutil.Tool(t, "pdfinfo"), path).CombinedOutput()
		if err != nil {
			t.Fatalf("pdfinfo: %v\n%s", err, out)
		}
		m := pdfPages.FindSubmatch(out)
		if m == nil {
			t.Fatalf("pdfinfo: no page count:\n%s", out)
		}
		if n, _ := strconv.Atoi(string(m[1])); n != pages {
			t.Errorf("pdfinfo sees %d pages, want %d", n, pages)
		}
		prefix := filepath.Join(t.TempDir(), "img")
		if out, err := exec.Command(testutil.Tool(t, "pdfimages"), path, prefix).CombinedOutput(); err != nil {
			t.Fatalf("pdfimages: %v\n%s", err, out)
		}
		var got []byte
		for i := range pages {
			p, err := os.ReadFile(fmt.Sprintf("%s-%03d.pbm", prefix, i))
			if err != nil {
				t.Fatalf("pdfimages: %v", err)
			}
			got = append(got, p...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("downloaded PDF images differ from the sent pages %v", pageNos)
		}
	}
}
