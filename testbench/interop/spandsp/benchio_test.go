package spandsp

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/t30"
)

// The CPU benchmarks against SpanDSP give our side the same work as
// SpanDSP's: read the pages to send from a TIFF file and write the pages
// received to a TIFF file, with the calls the agent makes
// (agent/document.go): faxdoc.Open and Page for the document, and
// tiff.Writer.WriteCoded for each received page.

// tiffDoc is a t30.Document over a TIFF file read with faxdoc, as the
// agent's fileDoc reads it: opened once, each page found by index
// (faxdoc.Reader.Page) as the engine asks, however often it asks.
type tiffDoc struct {
	r *faxdoc.Reader
}

func openTIFFDoc(path string) (*tiffDoc, error) {
	r, err := faxdoc.Open([]string{path}, faxdoc.Options{KeepResolution: true})
	if err != nil {
		return nil, err
	}
	return &tiffDoc{r: r}, nil
}

func (d *tiffDoc) NumPages() int { return d.r.Pages() }

func (d *tiffDoc) Page(i int) (t30.PageSource, error) {
	p, err := d.r.Page(i)
	if err != nil {
		return t30.PageSource{}, err
	}
	src := t30.PageSource{Width: p.Width, Resolution: p.Resolution, Rows: p}
	if raw, band := p.Coded(); raw != nil {
		src.Coded, src.CodedOptions = raw.Data, imaging.DecodeOptions{Compression: raw.Compression,
			Width: p.Width, BitOrder: raw.BitOrder, Rows: raw.Rows}
		src.Overlay = band
	}
	return src, nil
}

func (d *tiffDoc) Close() error { return d.r.Close() }

// tiffSink writes each received page, as received, into a TIFF file.
type tiffSink struct {
	f     *os.File
	w     *tiff.Writer
	pages int
}

func createTIFFSink(path string) (*tiffSink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &tiffSink{f: f, w: tiff.NewWriter(f, tiff.WriterOptions{Software: "faxagent"})}, nil
}

func (s *tiffSink) Page(p *t30.ReceivedPage) error {
	s.pages++
	spec := tiff.PageSpec{Width: p.Width, Resolution: p.Resolution, Rows: p.Stats.Rows}
	return s.w.WriteCoded(spec, p.Data, p.Compression, p.BitOrder, p.Stats)
}

func (s *tiffSink) Close() error {
	err := s.w.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// benchDoc is the 20-page document of the CPU benchmarks, written as an MR
// TIFF to send.tif in a fresh directory; recv.tif beside it is where each
// side writes what it received.
func benchDoc(t *testing.T) (doc t30.PagesDocument, send, recv string) {
	for i := range benchPages {
		doc = append(doc, testPage(1100, imaging.Standard, i+1))
	}
	dir := t.TempDir()
	send, recv = filepath.Join(dir, "send.tif"), filepath.Join(dir, "recv.tif")
	writeTIFF(t, send, doc, imaging.MR)
	return doc, send, recv
}

const benchPages = 20

// interleave runs SpanDSP's side and ours once per round (FAXAGENT_BENCH_ROUNDS,
// or def), alternating which goes first, each into a fresh recv.tif that
// must then hold the whole document, and returns the CPU time of every run.
func interleave(t *testing.T, def int, doc t30.PagesDocument, recv string, ref, ours func() time.Duration) (o, r []time.Duration) {
	for round := range benchRounds(t, def) {
		sides := []string{"SpanDSP", "ours"}
		if round%2 == 1 {
			sides = []string{"ours", "SpanDSP"}
		}
		for _, side := range sides {
			os.Remove(recv)
			if side == "SpanDSP" {
				r = append(r, ref())
			} else {
				o = append(o, ours())
			}
			if got := readTIFF(t, recv); len(got) != len(doc) || !pagesEqual(got[len(doc)-1], doc[len(doc)-1]) {
				t.Fatalf("%s round %d: %d pages in recv.tif, or the last differs", side, round+1, len(got))
			}
		}
		t.Logf("round %d: ours %v, SpanDSP %v", round+1, o[round], r[round])
	}
	return o, r
}

// benchRounds is FAXAGENT_BENCH_ROUNDS, or def.
func benchRounds(t *testing.T, def int) int {
	if v := os.Getenv("FAXAGENT_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("FAXAGENT_BENCH_ROUNDS=%q", v)
		}
		return n
	}
	return def
}

// benchLine logs a BENCH line for bench/report (see bench/report): ms of
// CPU per page for each round of each side.
func benchLine(t *testing.T, group, name string, pages int, ours, ref []time.Duration, oursIncludes, refIncludes string) {
	ms := func(ds []time.Duration) []float64 {
		var out []float64
		for _, d := range ds {
			out = append(out, float64(d)/float64(time.Millisecond)/float64(pages))
		}
		return out
	}
	b, err := json.Marshal(map[string]any{
		"group": group, "name": name, "unit": "ms CPU/page", "ours": ms(ours), "ref": ms(ref), "ref_name": "SpanDSP " + spandspVersion(),
		"ours_includes": oursIncludes, "ref_includes": refIncludes,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("BENCH %s", b)
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	t.Logf("%s, %d rounds: ours best %v median %v per page; SpanDSP best %v median %v per page; ratio ours/SpanDSP best %.2f median %.2f",
		name, len(ours), slices.Min(ours)/time.Duration(pages), med(ours)/time.Duration(pages),
		slices.Min(ref)/time.Duration(pages), med(ref)/time.Duration(pages),
		float64(slices.Min(ours))/float64(slices.Min(ref)), float64(med(ours))/float64(med(ref)))
}

// spandspVersion is the version pkg-config gives for SpanDSP.
func spandspVersion() string {
	out, err := exec.Command("pkg-config", "--modversion", "spandsp").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}
