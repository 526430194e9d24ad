package tiff

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

// run runs a tool and fails the test if it exits non-zero. It returns
// stdout and stderr.
func run(t testing.TB, name string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, errb.Bytes())
	}
	return out.Bytes(), errb.Bytes()
}

// runTo runs a tool whose stdout is a file.
func runTo(t testing.TB, path, name string, args ...string) {
	t.Helper()
	out, _ := run(t, name, args...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testPage draws a deterministic fax-like page: lines of "text" (random
// glyph blocks), a frame, a few solid rules and some noise, so that every
// code of the run-length tables and both MR modes get used.
func testPage(width, height int, res imaging.Resolution, seed uint64) *imaging.Page {
	p := imaging.NewPage(width, height, res)
	rng := rand.New(rand.NewPCG(seed, 7))
	// Frame.
	for x := range width {
		p.Set(x, 0, true)
		p.Set(x, height-1, true)
	}
	for y := range height {
		p.Set(0, y, true)
		p.Set(width-1, y, true)
	}
	for y := 8; y+12 < height; y += 20 {
		x := 10 + rng.IntN(40)
		for x+12 < width-10 {
			gw := 3 + rng.IntN(10)
			if rng.IntN(6) == 0 {
				x += gw + 4 // a space
				continue
			}
			for gy := range 12 {
				for gx := range gw {
					if rng.IntN(3) != 0 {
						p.Set(x+gx, y+gy, true)
					}
				}
			}
			x += gw + 1 + rng.IntN(3)
		}
	}
	// Solid rule, long runs of every length.
	if height > 40 {
		for x := 5; x < width-5; x++ {
			p.Set(x, height/2, true)
		}
	}
	for range width * height / 200 {
		p.Set(rng.IntN(width), rng.IntN(height), true)
	}
	return p
}

// writePBM writes a page as a raw PBM (P4), 1 = black like our model.
func writePBM(t testing.TB, path string, p *imaging.Page) {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "P4\n%d %d\n", p.Width, p.Height)
	b.Write(p.Pix)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// openFile opens a TIFF file with our reader.
func openFile(t testing.TB, path string) *Reader {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open(%s): %v", filepath.Base(path), err)
	}
	return r
}

// readBilevel reads page i into a Page.
func readBilevel(t testing.TB, r *Reader, i int) (*imaging.Page, PageInfo) {
	t.Helper()
	pr, err := r.Page(i)
	if err != nil {
		t.Fatalf("Page(%d): %v", i, err)
	}
	info := pr.Info()
	if !info.Bilevel {
		t.Fatalf("page %d not bilevel: %+v", i, info)
	}
	p, err := imaging.ReadPage(pr, info.Width, info.Resolution, 0)
	if err != nil {
		t.Fatalf("page %d: %v", i, err)
	}
	if p.Height != info.Height {
		t.Fatalf("page %d: read %d rows, ImageLength %d", i, p.Height, info.Height)
	}
	return p, info
}

// samePage fails unless got and want have the same size and pixels.
func samePage(t testing.TB, what string, got, want *imaging.Page) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height {
		t.Fatalf("%s: size %dx%d, want %dx%d", what, got.Width, got.Height, want.Width, want.Height)
	}
	for y := range want.Height {
		if !bytes.Equal(got.Row(y), want.Row(y)) {
			t.Fatalf("%s: row %d differs:\n got %x\nwant %x", what, y, got.Row(y)[:min(32, len(got.Row(y)))], want.Row(y)[:min(32, len(want.Row(y)))])
		}
	}
}
