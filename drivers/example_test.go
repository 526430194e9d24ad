package drivers_test

import (
	"context"
	"fmt"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// A host-managed driver runs both T.30 ends through the shared helper: the
// line is whatever the driver has (here t30's in-memory pair, in a SIP
// driver a t38.Terminal), the loop the clock the sessions run on.
func ExampleSendOver() {
	loop := drivers.NewVirtualLoop()
	a, b := t30.NewLinePair(loop.Clock(), t30.LineModel{})
	loop.Expect(2) // both ends start at the same virtual instant
	loop.Close()   // no more sessions after those two
	go func() { _ = loop.Run(context.Background()) }()

	caps := drivers.Capabilities{Send: true, Receive: true, ECM: true}
	received := &t30.PageCollector{}
	done := make(chan drivers.Result)
	go func() {
		r, _ := drivers.ReceiveOver(context.Background(), loop, b, caps, drivers.ReceiveParams{CSID: "RECEIVER"}, received, nil, nil)
		done <- r
	}()
	doc := drivertest.Doc(2, imaging.WidthA4, 100, imaging.Fine, 1)
	sent, err := drivers.SendOver(context.Background(), loop, a, caps, doc, drivers.SendParams{CSID: "SENDER"}, nil, nil)
	rx := <-done
	fmt.Println(sent.Code, err, sent.PagesConfirmed, sent.RemoteIdent, sent.Protocol())
	fmt.Println(rx.Code, len(received.Pages), rx.RemoteIdent)
	// Output:
	// success <nil> 2 RECEIVER V17
	// success 2 SENDER
}
