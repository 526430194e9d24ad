package soap

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/faxagent/faxagent/imaging/tiff"
)

// needTool returns a tool's path, or skips (fails under CI=true).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed", name)
		}
		t.Skipf("%s is not installed (poppler-utils / libtiff-tools); set CI=true to fail instead", name)
	}
	return p
}

var pdfPages = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)

// checkDownload checks a downloaded document's page count with our reader
// and with an independent one (libtiff's tiffinfo, poppler's pdfinfo).
func checkDownload(t *testing.T, typ string, b []byte, pages int) {
	t.Helper()
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
		out, err := exec.Command(needTool(t, "tiffinfo"), path).CombinedOutput()
		if err != nil {
			t.Fatalf("tiffinfo: %v\n%s", err, out)
		}
		if n := bytes.Count(out, []byte("TIFF Directory at offset")); n != pages {
			t.Errorf("tiffinfo sees %d pages, want %d", n, pages)
		}
	case "PDF":
		if !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("download is not a PDF: %q", b[:min(len(b), 16)])
		}
		out, err := exec.Command(needTool(t, "pdfinfo"), path).CombinedOutput()
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
	}
}
