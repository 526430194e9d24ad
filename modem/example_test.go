package modem_test

import (
	"fmt"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/modem"
	"github.com/faxagent/faxagent/t30"
)

// Two fax terminals talk over audio in virtual time: each t30 session
// runs over a modem.Terminal, and a Link carries 20 ms of samples each
// way per tick. The whole call takes milliseconds of CPU.
func ExampleLink() {
	clock := t30.NewVirtualClock()
	caller := modem.NewTerminal(modem.Config{}, clock)
	answerer := modem.NewTerminal(modem.Config{}, clock)

	page := imaging.NewPage(imaging.WidthA4, 200, imaging.Standard)
	for x := 100; x < 1600; x++ {
		page.Set(x, 100, true)
	}
	sink := &t30.PageCollector{}
	send, _ := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: t30.PagesDocument{page}}, caller, clock)
	recv, _ := t30.NewSession(t30.Config{Sink: sink}, answerer, clock)

	link := modem.NewLink(clock, caller, answerer, modem.LinkConfig{})
	link.Start()
	send.Start()
	recv.Start()
	for !(send.Done() && recv.Done()) {
		clock.Step()
	}
	link.Stop()
	r := send.Result()
	fmt.Println(r.Code, r.Speed, len(sink.Pages), "page")
	// Output: success V.17 14400 1 page
}
