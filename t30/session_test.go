package t30

import (
	"bytes"
	"testing"

	"github.com/faxagent/faxagent/imaging"
)

func TestBackToBackBasic(t *testing.T) {
	doc := textDoc(3, 1728, 1100, imaging.Fine)
	c := runCall(t, Config{Document: doc, Ident: "+1 555 0100"}, Config{Ident: "+1 555 0199"}, LineModel{})
	if c.tx.Code != OK || c.rx.Code != OK {
		t.Fatalf("codes tx=%v (%v) rx=%v (%v)", c.tx.Code, c.tx.Err, c.rx.Code, c.rx.Err)
	}
	checkPages(t, doc, 0, c.pages.Pages, imaging.Fine)
	if c.tx.PagesConfirmed != 3 || c.rx.PagesReceived != 3 || c.tx.PagesSent != 3 {
		t.Fatalf("pages %+v / %+v", c.tx, c.rx)
	}
	if c.tx.RemoteIdent != "+1 555 0199" || c.rx.RemoteIdent != "+1 555 0100" {
		t.Fatalf("idents %q %q", c.tx.RemoteIdent, c.rx.RemoteIdent)
	}
	t.Logf("virtual %v, tx %+v", c.clock.Elapsed(), c.tx.Timings)
}

func TestSubaddressPasswordNSF(t *testing.T) {
	doc := textDoc(1, 1728, 200, imaging.Standard)
	c := runCall(t, Config{Document: doc, Subaddress: "4711", Password: "secret#1"}, Config{}, LineModel{})
	if c.tx.Code != OK || c.rx.Subaddress != "4711" || c.rx.Password != "secret#1" {
		t.Fatalf("code %v sub %q pwd %q", c.tx.Code, c.rx.Subaddress, c.rx.Password)
	}
	// A remote that sends NSF (vendor data we do not understand) before
	// CSI and DIS: it is recorded and ignored; SUB is not sent to a
	// remote without bit 49.
	res, sc, _ := runSender(t, Config{Document: doc, Subaddress: "4711"}, LineModel{}, func(sc *script, f Frame) {
		if f.Kind() == FCFDCS {
			sc.send(Frame{FCF: FCFDCN})
		}
	}, func(sc *script) {
		nsf := Frame{FCF: FCFNSF, Info: []byte{0xB5, 0x00, 0x12, 0xFF, 0xFF, 0x00, 0x13, 0x80}}
		sc.send(nsf, Frame{FCF: FCFCSI, Info: EncodeIdent(nil, "NSF")}, disFrame(fullDIS()))
	})
	if res.NSFVendor() != "T.35 country 0xB5, provider 0x0012" || res.RemoteIdent != "NSF" {
		t.Fatalf("NSF %q ident %q", res.NSFVendor(), res.RemoteIdent)
	}
	for _, k := range sc.frames {
		if k == FCFSUB {
			t.Fatal("SUB sent to a remote that did not offer subaddressing")
		}
	}
}

func TestCopyQualityWithBitErrors(t *testing.T) {
	doc := textDoc(4, 1728, 700, imaging.Fine)
	var statuses []PageStatus
	rxCfg := Config{Progress: func(ev PageEvent) { statuses = append(statuses, ev.Status) }}
	c := runCall(t, Config{Document: doc, Compressions: []imaging.Compression{imaging.MH}}, rxCfg, LineModel{BitErrorRate: 5e-6, Seed: 3})
	if c.tx.Code != OK || c.rx.Code != OK {
		t.Fatalf("codes %v (%v) / %v", c.tx.Code, c.tx.Err, c.rx.Code)
	}
	received := 0
	for _, st := range statuses {
		if st == PageReceived {
			received++
		}
	}
	if received != 4 {
		t.Fatalf("receiver progress %v", statuses)
	}
	bad := 0
	for _, n := range c.rx.BadRows {
		bad += n
	}
	if len(c.rx.BadRows) != 4 || bad == 0 {
		t.Fatalf("bad rows %v: want some damage recorded", c.rx.BadRows)
	}
	// Every accepted page met the policy: decoding it again gives the
	// same counts the receiver reported.
	for i, p := range c.pages.Pages {
		_, st, err := imaging.DecodePage(p.Data, p.DecodeOptions(), p.Resolution)
		if err != nil || st.BadRows != c.rx.BadRows[i] || DefaultQuality(st, nil) == FCFRTN {
			t.Fatalf("page %d: stats %+v err %v, receiver said %d bad", i+1, st, err, c.rx.BadRows[i])
		}
	}
	// A strict policy (any bad row is RTN) makes the sender resend.
	strict := Config{Quality: func(st imaging.RowStats, err error) FCF {
		if err != nil || st.BadRows > 0 {
			return FCFRTN
		}
		return FCFMCF
	}}
	c2 := runCall(t, Config{Document: doc, Compressions: []imaging.Compression{imaging.MH}, MaxPageTries: 10}, strict, LineModel{BitErrorRate: 5e-6, Seed: 3})
	if c2.tx.Code != OK || c2.tx.Retrains == 0 {
		t.Fatalf("strict: code %v (%v) retrains %d", c2.tx.Code, c2.tx.Err, c2.tx.Retrains)
	}
	checkPages(t, doc, 0, c2.pages.Pages, imaging.Fine)
	t.Logf("lenient: bad rows %v; strict: %d retrains, speed %v", c.rx.BadRows, c2.tx.Retrains, c2.tx.Speed)
}

func TestEOMForPageParameterChanges(t *testing.T) {
	doc := PagesDocument{
		textPage(1728, 300, imaging.Fine, 1),
		textPage(3456, 300, imaging.Ultrafine, 2),
		textPage(2048, 300, imaging.Fine, 3),
		textPage(1728, 300, imaging.Fine, 4),
	}
	for _, ecm := range []bool{false, true} {
		c := runCall(t, Config{Document: doc, ECM: ecm}, Config{ECM: ecm, MaxWidth: WidthA3}, LineModel{})
		if c.tx.Code != OK || c.rx.Code != OK || c.tx.PagesConfirmed != 4 || c.rx.PagesReceived != 4 {
			t.Fatalf("ECM=%v: codes %v (%v) / %v (%v), pages %d/%d", ecm, c.tx.Code, c.tx.Err, c.rx.Code, c.rx.Err, c.tx.PagesConfirmed, c.rx.PagesReceived)
		}
		for i, p := range c.pages.Pages {
			got, st, err := imaging.DecodePage(p.Data, p.DecodeOptions(), p.Resolution)
			if err != nil || st.BadRows != 0 || p.Width != doc[i].Width || p.Resolution != doc[i].Resolution || !bytes.Equal(got.Pix, doc[i].Pix) {
				t.Fatalf("ECM=%v page %d: width %d res %v err %v stats %+v", ecm, i+1, p.Width, p.Resolution, err, st)
			}
		}
	}
	// EOM whose DIS never comes back: T1.
	n := 0
	m := LineModel{Frame: func(from, _ int, b []byte) Fate {
		if from == 1 && FCF(b[2]) == FCFDIS {
			n++
			if n > 1 {
				return Drop
			}
		}
		return Deliver
	}}
	c := runCall(t, Config{Document: doc[:2]}, Config{}, m)
	if c.tx.Code != CodeT1Timeout || c.tx.PagesConfirmed != 1 || c.tx.FailedPage != 2 || c.rx.Code != CodeT1Timeout {
		t.Fatalf("lost DIS after EOM: %v/%v confirmed %d failed %d", c.tx.Code, c.rx.Code, c.tx.PagesConfirmed, c.tx.FailedPage)
	}
}

type codedDoc []*imaging.Page

func (d codedDoc) NumPages() int { return len(d) }
func (d codedDoc) Page(i int) (PageSource, error) {
	p := d[i]
	o := imaging.EncodeOptions{Compression: imaging.MMR, Width: p.Width, BitOrder: imaging.MSBFirst}
	data, err := imaging.EncodePage(p, o)
	if err != nil {
		return PageSource{}, err
	}
	return PageSource{Width: p.Width, Resolution: p.Resolution, Coded: data,
		CodedOptions: imaging.DecodeOptions{Compression: imaging.MMR, Width: p.Width, BitOrder: imaging.MSBFirst, Rows: p.Height}}, nil
}

func TestCodedPagesAreTranscoded(t *testing.T) {
	pages := textDoc(2, 1728, 400, imaging.Superfine)
	for _, ecm := range []bool{false, true} {
		// MMR pages (as from a TIFF) to a receiver that takes MH/MR only
		// and fine at most: transcoded and rescaled on the way.
		c := runCall(t, Config{Document: codedDoc(pages), ECM: ecm},
			Config{ECM: ecm, Compressions: []imaging.Compression{imaging.MH, imaging.MR}, Resolutions: []imaging.Resolution{imaging.Fine}}, LineModel{})
		if c.tx.Code != OK || c.tx.Compression != imaging.MR || c.tx.Resolution != imaging.Fine {
			t.Fatalf("ECM=%v: %v (%v) %v %v", ecm, c.tx.Code, c.tx.Err, c.tx.Compression, c.tx.Resolution)
		}
		checkPages(t, pages, 0, c.pages.Pages, imaging.Fine)
	}
}
