package main

import (
	"fmt"
	"os"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/loopback"
)

// newLoopback builds the simulated network and this agent's loopback
// driver as the configuration says; closeNet closes the network and its
// deliveries log.
func newLoopback(c LoopbackCfg) (drv drivers.Driver, closeNet func(), err error) {
	// demo: every call in virtual time, paced to Speedup times real time
	// (page by page, so a hang-up cuts a call where it is, on both
	// ends); real: real time; none: every call in virtual time, at once.
	o := loopback.Options{Mode: loopback.Virtual, Seed: uint64(time.Now().UnixNano())}
	switch c.Pacing {
	case "real":
		o.Mode = loopback.Paced
	case "demo":
		o.Speedup = c.Speedup
	}
	var log *os.File
	if c.Deliveries != "" {
		log, err = os.OpenFile(c.Deliveries, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("loopback deliveries: %w", err)
		}
		o.Deliveries = log
	}
	net := loopback.NewNetwork(o)
	closeNet = func() {
		net.Close()
		if log != nil {
			log.Close()
		}
	}
	for _, n := range c.Busy {
		net.SetModel(n, loopback.Model{Kind: loopback.Busy})
	}
	for _, n := range c.NoAnswer {
		net.SetModel(n, loopback.Model{Kind: loopback.NoAnswer})
	}
	for _, l := range c.Lines {
		kind, _ := lineKind(l.Kind)
		net.SetModel(l.Number, loopback.Model{Kind: kind, DropAfterPage: l.DropAfterPage, BitErrorRate: l.BitErrorRate,
			FrameErrorRate: l.FrameErrorRate, TrainFailAbove: l.TrainFailAbove, RemoteMaxRate: l.RemoteMaxRate,
			RemoteNoECM: l.RemoteNoECM, RemoteCSID: l.RemoteCSID, Calls: l.Calls, Audio: l.Audio})
	}
	nums := make([]string, len(c.Ports))
	for i, p := range c.Ports {
		nums[i] = p.Number
	}
	return loopback.New(net, loopback.DriverOptions{Numbers: nums}), closeNet, nil
}

// lineKind parses LineCfg.Kind.
func lineKind(s string) (loopback.Kind, error) {
	switch s {
	case "", "clean":
		return loopback.Clean, nil
	case "busy":
		return loopback.Busy, nil
	case "no_answer":
		return loopback.NoAnswer, nil
	case "rings_out":
		return loopback.RingsOut, nil
	case "voice":
		return loopback.Voice, nil
	}
	return 0, fmt.Errorf("line kind %q: want clean, busy, no_answer, rings_out or voice", s)
}
