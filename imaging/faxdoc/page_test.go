package faxdoc

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/internal/testutil"
)

// TestPageRandomAccess: Page(i) serves any page, again and out of order,
// equal to the page Next gives, and costs one page's work: reading page
// 19 of 20 allocates about what reading page 0 does.
func TestPageRandomAccess(t *testing.T) {
	const n = 20
	var pages []*imaging.Page
	for i := 0; i < n; i++ {
		p := imaging.NewPage(imaging.WidthA4, 400, imaging.Fine)
		for y := 10 * i; y < 10*i+8; y++ {
			for x := 0; x < 100+40*i; x++ {
				p.Set(x, y, true)
			}
		}
		pages = append(pages, p)
	}
	path := filepath.Join(t.TempDir(), "doc.tif")
	writeTIFF(t, path, imaging.MMR, pages...)
	r, err := Open([]string{path}, Options{KeepResolution: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	read := func(i int) *imaging.Page {
		p, err := r.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		pg, err := imaging.ReadPage(p, p.Width, p.Resolution, 0)
		if err != nil {
			t.Fatal(err)
		}
		return pg
	}
	for _, i := range []int{7, 2, 7, 19, 0, 19} {
		if got := read(i); !bytes.Equal(got.Pix, pages[i].Pix) {
			t.Fatalf("page %d differs", i+1)
		}
	}
	if _, err := r.Page(n); err == nil {
		t.Fatal("page past the end served")
	}
	first := testutil.Allocated(func() { read(0) })
	last := testutil.Allocated(func() { read(n - 1) })
	if last > 2*first+4096 {
		t.Errorf("reading page %d allocated %d bytes, page 1 %d: pages before it were read", n, last, first)
	}
}

// TestCodedWithHeader: a stored CCITT page under a header line offers its
// coded data and the band; the coded rows with the band in place of the
// top rows are the page's rows.
func TestCodedWithHeader(t *testing.T) {
	p := imaging.NewPage(imaging.WidthA4, 300, imaging.Fine)
	for y := 0; y < 300; y += 5 {
		for x := 0; x < 800; x++ {
			p.Set(x, y, true)
		}
	}
	path := filepath.Join(t.TempDir(), "doc.tif")
	writeTIFF(t, path, imaging.MMR, p)
	for _, o := range []Options{{KeepResolution: true}, {KeepResolution: true, Header: "%d %t page %p of %s"}, {KeepResolution: true, AllowDamaged: true}} {
		r, err := Open([]string{path}, o)
		if err != nil {
			t.Fatal(err)
		}
		pg, err := r.Page(0)
		if err != nil {
			t.Fatal(err)
		}
		raw, band := pg.Coded()
		if o.AllowDamaged {
			if raw != nil {
				t.Fatal("coded data offered under AllowDamaged")
			}
			r.Close()
			continue
		}
		if raw == nil || (band != nil) != (o.Header != "") {
			t.Fatalf("header %q: raw %v band %v", o.Header, raw != nil, band != nil)
		}
		want, err := imaging.ReadPage(pg, pg.Width, pg.Resolution, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := imaging.DecodePage(raw.Data, imaging.DecodeOptions{Compression: raw.Compression, Width: pg.Width, BitOrder: raw.BitOrder, Rows: raw.Rows}, pg.Resolution)
		if err != nil {
			t.Fatal(err)
		}
		if band != nil {
			copy(got.Pix, band.Pix)
		}
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("header %q: coded data and band differ from the rows", o.Header)
		}
		r.Close()
	}
}
