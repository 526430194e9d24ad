package t30

import (
	"fmt"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

// TestMatrix sends every speed, coding, resolution and ECM setting back to
// back and checks the received pages pixel for pixel.
func TestMatrix(t *testing.T) {
	type tc struct {
		name   string
		tx, rx Config
		pages  int
		rows   int
		res    imaging.Resolution
		width  int
		speed  Speed
		comp   imaging.Compression
	}
	var cases []tc
	all := SetV27ter | SetV29 | SetV17
	for _, sp := range all.Speeds() {
		for _, ecm := range []bool{false, true} {
			m := all
			if sp.Modem == V29 {
				m = SetV29 | SetV27ter
			}
			cases = append(cases, tc{
				name: fmt.Sprintf("%v/ecm=%v", sp, ecm),
				tx:   Config{Modems: m, MaxRate: sp.Rate, ECM: ecm, Compressions: []imaging.Compression{imaging.MH, imaging.MR}},
				rx:   Config{ECM: ecm}, pages: 1, rows: 300, res: imaging.Fine, width: 1728, speed: sp, comp: imaging.MR,
			})
		}
	}
	for _, comp := range []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR} {
		for _, ecm := range []bool{false, true} {
			if comp == imaging.MMR && !ecm {
				continue // T.6 needs ECM
			}
			cases = append(cases, tc{
				name: fmt.Sprintf("%v/ecm=%v", comp, ecm),
				tx:   Config{ECM: ecm, Compressions: []imaging.Compression{comp}},
				rx:   Config{ECM: ecm}, pages: 2, rows: 500, res: imaging.Fine, width: 1728, speed: Speed{V17, 14400}, comp: comp,
			})
		}
	}
	for _, res := range []imaging.Resolution{imaging.Standard, imaging.Fine, imaging.Superfine, imaging.Ultrafine} {
		for _, ecm := range []bool{false, true} {
			w := 1728
			if res == imaging.Ultrafine {
				w = 3456
			}
			comp := imaging.MR
			if ecm {
				comp = imaging.MMR
			}
			cases = append(cases, tc{
				name: fmt.Sprintf("%v/ecm=%v", res, ecm), tx: Config{ECM: ecm}, rx: Config{ECM: ecm},
				pages: 1, rows: 400, res: res, width: w, speed: Speed{V17, 14400}, comp: comp,
			})
		}
	}
	for _, w := range []int{2048, 2432} {
		cases = append(cases, tc{
			name: fmt.Sprintf("width %d", w), tx: Config{}, rx: Config{MaxWidth: WidthA3},
			pages: 1, rows: 300, res: imaging.Fine, width: w, speed: Speed{V17, 14400}, comp: imaging.MR,
		})
	}
	for _, n := range []int{1, 3, 50} {
		for _, ecm := range []bool{false, true} {
			cases = append(cases, tc{
				name: fmt.Sprintf("%d pages/ecm=%v", n, ecm), tx: Config{ECM: ecm, Compressions: []imaging.Compression{imaging.MR}},
				rx: Config{ECM: ecm}, pages: n, rows: 400, res: imaging.Fine, width: 1728, speed: Speed{V17, 14400}, comp: imaging.MR,
			})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := textDoc(c.pages, c.width, c.rows, c.res)
			c.tx.Document = doc
			r := runCall(t, c.tx, c.rx, LineModel{})
			if r.tx.Code != OK || r.rx.Code != OK {
				t.Fatalf("codes %v (%v) / %v (%v)", r.tx.Code, r.tx.Err, r.rx.Code, r.rx.Err)
			}
			if r.tx.Speed != c.speed || r.tx.Compression != c.comp || r.tx.Resolution != c.res || r.tx.Width != c.width {
				t.Fatalf("negotiated %v %v %v %d, want %v %v %v %d", r.tx.Speed, r.tx.Compression, r.tx.Resolution, r.tx.Width,
					c.speed, c.comp, c.res, c.width)
			}
			if r.tx.ECM != (c.tx.ECM && c.rx.ECM) || r.rx.ECM != r.tx.ECM {
				t.Fatalf("ECM %v/%v", r.tx.ECM, r.rx.ECM)
			}
			if r.tx.PagesSent != c.pages || r.tx.PagesConfirmed != c.pages || r.rx.PagesReceived != c.pages {
				t.Fatalf("pages sent %d confirmed %d received %d", r.tx.PagesSent, r.tx.PagesConfirmed, r.rx.PagesReceived)
			}
			checkPages(t, doc, 0, r.pages.Pages, c.res)
		})
	}
}
