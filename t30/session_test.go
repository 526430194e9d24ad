package t30

import (
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
