package render

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/internal/testutil"
)

// run runs a shell pipeline of netpbm tools with stdin and returns stdout.
func run(t testing.TB, stdin []byte, tools []string, pipeline string) []byte {
	t.Helper()
	for _, tool := range tools {
		testutil.NeedTool(t, tool)
	}
	cmd := exec.Command("sh", "-c", pipeline)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", pipeline, err, stderr.String())
	}
	return out
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// plainPNM is a netpbm picture parsed by the test's own minimal reader of
// netpbm's plain output (pnmtoplainpnm), independent of decodePNM.
type plainPNM struct {
	kind          string
	w, h, maxval  int
	samples       []int // row-major, channels interleaved
	channelsPerPx int
}

func parsePlain(t testing.TB, data []byte) plainPNM {
	t.Helper()
	// Tokens: runs of non-space bytes, comments (# to end of line) dropped.
	var tokens [][]byte
	for i := 0; i < len(data); {
		switch c := data[i]; {
		case c == '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
			i++
		default:
			j := i
			for j < len(data) && !bytes.ContainsRune([]byte(" \n\r\t#"), rune(data[j])) {
				j++
			}
			tokens = append(tokens, data[i:j])
			i = j
		}
	}
	if len(tokens) < 3 {
		t.Fatalf("plain netpbm too short: %q", data)
	}
	atoi := func(b []byte) int {
		v, err := strconv.Atoi(string(b))
		if err != nil {
			t.Fatalf("plain netpbm: %v", err)
		}
		return v
	}
	p := plainPNM{kind: string(tokens[0]), maxval: 1, channelsPerPx: 1}
	p.w, p.h = atoi(tokens[1]), atoi(tokens[2])
	rest := tokens[3:]
	switch p.kind {
	case "P1":
		p.samples = make([]int, 0, p.w*p.h)
		for _, f := range rest { // digits may be run together
			for _, c := range f {
				p.samples = append(p.samples, int(c-'0'))
			}
		}
	case "P2", "P3":
		p.maxval = atoi(rest[0])
		p.samples = make([]int, 0, len(rest)-1)
		for _, f := range rest[1:] {
			p.samples = append(p.samples, atoi(f))
		}
		if p.kind == "P3" {
			p.channelsPerPx = 3
		}
	default:
		t.Fatalf("not a plain netpbm: %q", p.kind)
	}
	if len(p.samples) != p.w*p.h*p.channelsPerPx {
		t.Fatalf("plain %s %dx%d: %d samples", p.kind, p.w, p.h, len(p.samples))
	}
	return p
}

// pageFromPlainPBM turns a parsed P1 into a page.
func pageFromPlainPBM(t testing.TB, p plainPNM) *imaging.Page {
	t.Helper()
	if p.kind != "P1" {
		t.Fatalf("want P1, got %s", p.kind)
	}
	pg := imaging.NewPage(p.w, p.h, imaging.Fine)
	for i, v := range p.samples {
		if v == 1 {
			pg.Set(i%p.w, i/p.w, true)
		}
	}
	return pg
}

// diffPages returns a description of the first differences, "" if equal.
func diffPages(a, b *imaging.Page) string {
	if a.Width != b.Width || a.Height != b.Height {
		return fmt.Sprintf("size %dx%d vs %dx%d", a.Width, a.Height, b.Width, b.Height)
	}
	var sb strings.Builder
	n := 0
	for y := 0; y < a.Height; y++ {
		for x := 0; x < a.Width; x++ {
			if a.Black(x, y) != b.Black(x, y) {
				if n < 5 {
					fmt.Fprintf(&sb, "(%d,%d) %v vs %v; ", x, y, a.Black(x, y), b.Black(x, y))
				}
				n++
			}
		}
	}
	if n > 0 {
		fmt.Fprintf(&sb, "%d pixels differ", n)
	}
	return sb.String()
}

// blackFraction is the share of black pixels in a rectangle of p.
func blackFraction(p *imaging.Page, r image.Rectangle) float64 {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if p.Black(x, y) {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

func decodeFixture(t testing.TB, name string) image.Image {
	t.Helper()
	img, err := Decode(bytes.NewReader(readFixture(t, name)), name, Limits{})
	if err != nil {
		t.Fatalf("Decode(%s): %v", name, err)
	}
	return img
}
