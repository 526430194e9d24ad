package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/t30"
)

// newLoopback builds the simulated network and this agent's loopback
// driver as the configuration says.
func newLoopback(c LoopbackCfg) (*loopback.Network, drivers.Driver) {
	mode := loopback.Virtual
	if c.Pacing == "real" {
		mode = loopback.Paced
	}
	net := loopback.NewNetwork(loopback.Options{Mode: mode, Seed: uint64(time.Now().UnixNano())})
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
	var d drivers.Driver = loopback.New(net, loopback.DriverOptions{Numbers: nums})
	if c.Pacing == "demo" {
		d = newPaced(d, c.Speedup)
	}
	return net, d
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

// paced is a driver whose calls, run in simulated time, end only after
// their simulated call duration divided by speedup has passed on the wall
// clock: the demo shows calls that take seconds, as a person can follow,
// without waiting the minute a real page takes.
type paced struct {
	drivers.Driver
	speedup float64
	in      chan drivers.Call
	once    sync.Once
}

func newPaced(d drivers.Driver, speedup float64) *paced {
	return &paced{Driver: d, speedup: speedup, in: make(chan drivers.Call)}
}

// Open implements drivers.Driver.
func (p *paced) Open(ctx context.Context) error {
	if err := p.Driver.Open(ctx); err != nil {
		return err
	}
	p.once.Do(func() {
		go func() {
			defer close(p.in)
			for c := range p.Driver.Incoming() {
				p.in <- &pacedCall{Call: c, p: p, hung: make(chan struct{})}
			}
		}()
	})
	return nil
}

// Incoming implements drivers.Driver.
func (p *paced) Incoming() <-chan drivers.Call { return p.in }

// Dial implements drivers.Driver: a call that does not connect still
// takes its (shortened) time, so busy and no-answer are visible.
func (p *paced) Dial(ctx context.Context, port, number string, o drivers.DialOptions) (drivers.Call, error) {
	start := time.Now()
	c, err := p.Driver.Dial(ctx, port, number, o)
	if err != nil {
		wait := loopback.BusyTime
		var de *drivers.DialError
		if errors.As(err, &de) && de.Duration > 0 {
			wait = de.Duration
		}
		p.sleep(ctx, nil, start, wait)
		return nil, err
	}
	return &pacedCall{Call: c, p: p, hung: make(chan struct{})}, nil
}

// sleep waits until start + d/speedup, or until ctx ends or hung closes.
func (p *paced) sleep(ctx context.Context, hung <-chan struct{}, start time.Time, d time.Duration) {
	wait := time.Until(start.Add(time.Duration(float64(d) / p.speedup)))
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-hung:
	}
}

type pacedCall struct {
	drivers.Call
	p    *paced
	once sync.Once
	hung chan struct{}
}

// Send implements drivers.Call.
func (c *pacedCall) Send(ctx context.Context, doc drivers.Document, sp drivers.SendParams, progress func(t30.PageEvent)) (drivers.Result, error) {
	start := time.Now()
	res, err := c.Call.Send(ctx, doc, sp, progress)
	c.p.sleep(ctx, c.hung, start, res.CallDuration)
	return res, err
}

// Receive implements drivers.Call.
func (c *pacedCall) Receive(ctx context.Context, rp drivers.ReceiveParams, sink t30.PageSink, progress func(t30.PageEvent)) (drivers.Result, error) {
	start := time.Now()
	res, err := c.Call.Receive(ctx, rp, sink, progress)
	c.p.sleep(ctx, c.hung, start, res.CallDuration)
	return res, err
}

// Hangup implements drivers.Call.
func (c *pacedCall) Hangup(cause drivers.HangupCause) error {
	c.once.Do(func() { close(c.hung) })
	return c.Call.Hangup(cause)
}
