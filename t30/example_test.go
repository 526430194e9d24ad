package t30_test

import (
	"context"
	"fmt"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// A sender and a receiver back to back over an in-memory line, in virtual
// time: the whole call takes milliseconds of CPU.
func Example() {
	clock := t30.NewVirtualClock()
	a, b := t30.NewLinePair(clock, t30.LineModel{})

	page := imaging.NewPage(1728, 200, imaging.Fine)
	for x := 100; x < 1600; x++ {
		page.Set(x, 100, true) // a line across the page
	}
	sender, err := t30.NewSession(t30.Config{
		Calling: true, Transmit: true, Ident: "+1 555 0100",
		Document: t30.PagesDocument{page, page},
	}, a, clock)
	if err != nil {
		panic(err)
	}
	pages := &t30.PageCollector{}
	receiver, err := t30.NewSession(t30.Config{Ident: "+1 555 0199", Sink: pages}, b, clock)
	if err != nil {
		panic(err)
	}
	sender.Start()
	receiver.Start()
	if err := clock.Run(context.Background(), func() bool { return sender.Done() && receiver.Done() }); err != nil {
		panic(err)
	}
	tx, rx := sender.Result(), receiver.Result()
	fmt.Println(tx.Code, tx.PagesConfirmed, tx.Speed, tx.Compression, tx.Resolution, tx.RemoteIdent)
	fmt.Println(rx.Code, rx.PagesReceived, rx.RemoteIdent, len(pages.Pages))
	// Output:
	// success 2 V.17 14400 MR fine +1 555 0199
	// success 2 +1 555 0100 2
}
