package foip

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// waitFor polls cond (a counter the call keeps) until it holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

// drainEvents drops the port events so far.
func drainEvents(d *Driver) {
	for {
		select {
		case <-d.Events():
		default:
			return
		}
	}
}

// waitIdle waits for the event that port goes idle.
func waitIdle(ctx context.Context, t *testing.T, d *Driver, port string) {
	t.Helper()
	for {
		select {
		case ev := <-d.Events():
			if ev.Port == port && ev.State == drivers.StateIdle {
				return
			}
		case <-ctx.Done():
			t.Fatalf("port %s never went idle: %v", port, ctx.Err())
		}
	}
}

// stateOf is a port's state as the driver lists it.
func stateOf(d *Driver, port string) drivers.PortState {
	for _, p := range d.Ports() {
		if p.ID == port {
			return p.State
		}
	}
	return drivers.StateDown
}

// silentCall is a call between two drivers where one side "dies" (sends
// nothing more, not even BYE) at a chosen moment; the other side, with a
// short media timeout, must end its call with the silence cause and free
// its port.
type silentCall struct {
	ctx        context.Context
	sender     *call // on a
	receiver   *call // on b
	sent, recv chan drivers.Result
	sink       *pageSink
}

func startSilentCall(t *testing.T, mod func(a, b *Config), doc t30.PagesDocument, progress func(t30.PageEvent)) (*silentCall, *Driver, *Driver) {
	t.Helper()
	a, b := pair(t, "udp", mod)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	s := &silentCall{ctx: ctx, sent: make(chan drivers.Result, 1), recv: make(chan drivers.Result, 1), sink: &pageSink{}}
	incoming := make(chan *call, 1)
	go func() {
		select {
		case c := <-b.Incoming():
			incoming <- c.(*call)
			r, _ := c.Receive(ctx, drivers.ReceiveParams{CSID: "RECEIVER"}, s.sink, nil)
			s.recv <- r
		case <-ctx.Done():
		}
	}()
	c, err := a.Dial(ctx, a.Ports()[0].ID, "2002", drivers.DialOptions{RingTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.sender = c.(*call)
	go func() {
		r, _ := c.Send(ctx, doc, drivers.SendParams{CSID: "SENDER", ECM: drivers.ECMOff}, progress)
		s.sent <- r
	}()
	select {
	case s.receiver = <-incoming:
	case <-ctx.Done():
		t.Fatal("no incoming call")
	}
	return s, a, b
}

func checkSilent(t *testing.T, side string, r drivers.Result, what string, limit time.Duration) {
	t.Helper()
	cause := "remote silent for " + limit.String() + ": no " + what + " packets"
	if r.Code != t30.CodeCallDropped || r.Cause != cause || !errors.Is(r.Err, ErrRemoteSilent) {
		t.Errorf("%s: code %v, cause %q, err %v; want call dropped, %q, ErrRemoteSilent", side, r.Code, r.Cause, r.Err, cause)
	}
}

// TestUDPTLSilenceMidPage kills one end of a T.38 call in the middle of
// page 2 (after page 1 was confirmed and page 2's data is flowing): the
// other end ends its call within its UDPTL timeout with the silence cause
// and its port goes idle, long before T.30 or the agent's watchdog would.
// The receiving end keeps page 1 (a partial receive, not a lost one).
func TestUDPTLSilenceMidPage(t *testing.T) {
	// Longer than the gaps of a sound call (preamble 1 s, training 1.4 s),
	// shorter than T4 (3 s): the silence, not T.30, ends the call.
	const limit = 2 * time.Second
	var wg sync.WaitGroup
	for _, tc := range []struct {
		name     string
		killSend bool // the sender dies, the receiver must notice
	}{
		{"sender dies, receiver frees its channel", true},
		{"receiver dies, sender frees its channel", false},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(tc.name, func(t *testing.T) {
				confirmed := make(chan struct{})
				var once sync.Once
				s, a, b := startSilentCall(t, func(ca, cb *Config) {
					// The dying side never times out by itself.
					ca.UDPTLTimeout, cb.UDPTLTimeout = -1, limit
					if !tc.killSend {
						ca.UDPTLTimeout, cb.UDPTLTimeout = limit, -1
					}
				}, append(drivertest.Doc(1, imaging.WidthA4, 40, imaging.Standard, 11),
					drivertest.Doc(1, imaging.WidthA4, 200, imaging.Standard, 12)...), func(e t30.PageEvent) {
					if e.Page == 1 && e.Status == t30.PageConfirmed {
						once.Do(func() { close(confirmed) })
					}
				})
				select {
				case <-confirmed:
				case r := <-s.sent:
					t.Fatalf("send ended before page 1 was confirmed: %v %v", r.Code, r.Err)
				case <-s.ctx.Done():
					t.Fatal("page 1 never confirmed")
				}
				// Page 2's data is on its way to the receiver.
				waitFor(s.ctx, t, "the receiver's T.38 stream", func() bool { return s.receiver.link.Load() != nil })
				from := s.receiver.link.Load().rx.Load()
				waitFor(s.ctx, t, "page 2 data", func() bool { return s.receiver.link.Load().rx.Load() >= from+30 })
				dead, liveDrv, port := s.sender, b, b.Ports()[0].ID
				if !tc.killSend {
					dead, liveDrv, port = s.receiver, a, a.Ports()[0].ID
				}
				if st := stateOf(liveDrv, port); st == drivers.StateIdle {
					t.Fatalf("port %s idle before the kill", port)
				}
				drainEvents(liveDrv)
				killed := time.Now()
				dead.crashed.Store(true)
				waitIdle(s.ctx, t, liveDrv, port)
				t.Logf("%s: port idle %v after the kill (timeout %v)", tc.name, time.Since(killed).Round(time.Millisecond), limit)
				if tc.killSend {
					rr := <-s.recv
					checkSilent(t, "receiver", rr, "UDPTL", limit)
					s.sink.mu.Lock()
					pages := len(s.sink.pages)
					s.sink.mu.Unlock()
					if pages != 1 || rr.PagesReceived != 1 {
						t.Errorf("receiver kept %d pages (result says %d), want page 1", pages, rr.PagesReceived)
					}
				} else {
					sr := <-s.sent
					checkSilent(t, "sender", sr, "UDPTL", limit)
					if sr.PagesConfirmed != 1 {
						t.Errorf("sender: %d pages confirmed, want 1", sr.PagesConfirmed)
					}
				}
				// The dead side's own T.30 would end by itself (T4, T2);
				// end it now.
				_ = dead.Hangup(drivers.CauseCancelled)
				<-map[bool]chan drivers.Result{true: s.sent, false: s.recv}[tc.killSend]
			})
		}()
	}
	wg.Wait()
}

// TestRTPSilence kills one end of a call in its G.711 phase (neither side
// switches to T.38): the other end ends within its RTP timeout with the
// silence cause, and its port goes idle.
func TestRTPSilence(t *testing.T) {
	const limit = time.Second
	var wg sync.WaitGroup
	for _, tc := range []struct {
		name     string
		killSend bool
	}{
		{"caller dies, callee frees its channel", true},
		{"callee dies, caller frees its channel", false},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(tc.name, func(t *testing.T) {
				s, a, b := startSilentCall(t, func(ca, cb *Config) {
					ca.ReinviteOut, cb.ReinviteIn = -1, -1
					ca.T38Timeout, cb.T38Timeout = time.Minute, time.Minute
					ca.RTPTimeout, cb.RTPTimeout = -1, limit
					if !tc.killSend {
						ca.RTPTimeout, cb.RTPTimeout = limit, -1
					}
				}, drivertest.Doc(1, imaging.WidthA4, 40, imaging.Standard, 3), nil)
				dead, live, liveDrv, port := s.sender, s.receiver, b, b.Ports()[0].ID
				if !tc.killSend {
					dead, live, liveDrv, port = s.receiver, s.sender, a, a.Ports()[0].ID
				}
				heard := func() uint64 {
					live.mu.Lock()
					au := live.audio
					live.mu.Unlock()
					if au == nil {
						return 0
					}
					return au.rx.Load()
				}
				waitFor(s.ctx, t, "audio from the far end", func() bool { return heard() >= 10 })
				drainEvents(liveDrv)
				dead.crashed.Store(true)
				waitIdle(s.ctx, t, liveDrv, port)
				r := map[bool]chan drivers.Result{true: s.recv, false: s.sent}[tc.killSend]
				checkSilent(t, "live side", <-r, "RTP", limit)
				// The dead side would give up waiting for T.38 by itself.
				if err := dead.Hangup(drivers.CauseCancelled); err != nil {
					t.Error(err)
				}
				<-map[bool]chan drivers.Result{true: s.sent, false: s.recv}[tc.killSend]
			})
		}()
	}
	wg.Wait()
}

// stalledClock is a virtual clock whose callbacks due while this process
// is stopped, in [from, to), run at to, late.
type stalledClock struct {
	*t30.VirtualClock
	from, to time.Time
}

func (c *stalledClock) AfterFunc(d time.Duration, f func()) t30.Timer {
	if due := c.Now().Add(d); !due.Before(c.from) && due.Before(c.to) {
		d = c.to.Sub(c.Now())
	}
	return c.VirtualClock.AfterFunc(d, f)
}

// TestSilenceWatch runs the watch in virtual time against scripted
// streams: when it arms, when it fires, and that it never fires on gaps
// shorter than its limit, while paused, after stop, or because our own
// process stalled.
func TestSilenceWatch(t *testing.T) {
	const limit = 2 * time.Second
	s := time.Second
	for _, tc := range []struct {
		name    string
		limit   time.Duration
		frameAt time.Duration      // first frame (arms the watch); 0 never
		packets [][2]time.Duration // [from, to): a packet every 20 ms
		pause   [2]time.Duration   // paused in [from, to)
		stopAt  time.Duration      // watch stopped; 0 never
		stall   [2]time.Duration   // this process stalled in [from, to)
		fireMin time.Duration      // 0: must not fire within a minute
	}{
		{name: "dies mid-stream", limit: limit, frameAt: s / 2, packets: [][2]time.Duration{{0, 5 * s}}, fireMin: 5 * s},
		{name: "never armed", limit: limit, packets: [][2]time.Duration{{0, 5 * s}}},
		{name: "gaps under the limit", limit: limit, frameAt: s / 2,
			packets: [][2]time.Duration{{0, 1 * s}, {2900 * time.Millisecond, 3 * s}, {4900 * time.Millisecond, 70 * s}}},
		{name: "silence after the first frame", limit: limit, frameAt: s, packets: [][2]time.Duration{{s, s + 1}}, fireMin: s},
		{name: "paused", limit: limit, frameAt: s / 2, packets: [][2]time.Duration{{0, 5 * s}}, pause: [2]time.Duration{4 * s, 30 * s}, fireMin: 30 * s},
		{name: "stopped", limit: limit, frameAt: s / 2, packets: [][2]time.Duration{{0, 5 * s}}, stopAt: 6 * s},
		{name: "off", limit: -1, frameAt: s / 2, packets: [][2]time.Duration{{0, 5 * s}}},
		// A gap of a sound call (1 s), and our process stops for 1.6 s
		// at its end (a loaded machine) while the far end sends again:
		// the watch's check runs late, before the packets that waited
		// in the socket are read.
		{name: "process stalled", limit: limit, frameAt: s / 2, packets: [][2]time.Duration{{0, 2 * s}, {3 * s, 70 * s}},
			stall: [2]time.Duration{2900 * time.Millisecond, 4500 * time.Millisecond}},
		{name: "dies after a stall", limit: limit, frameAt: s / 2, packets: [][2]time.Duration{{0, 2 * s}, {3 * s, 10 * s}},
			stall: [2]time.Duration{2900 * time.Millisecond, 4500 * time.Millisecond}, fireMin: 10 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vclock := t30.NewVirtualClock()
			start := vclock.Now()
			clock := &stalledClock{VirtualClock: vclock, from: start.Add(tc.stall[0]), to: start.Add(tc.stall[1])}
			var frames, total atomic.Uint64
			var fired error
			var firedAt time.Duration
			w := &silenceWatch{clock: clock, limit: tc.limit, what: "UDPTL",
				activity: func() (uint64, uint64) { return frames.Load(), total.Load() },
				paused: func() bool {
					at := clock.Now().Sub(start)
					return at >= tc.pause[0] && at < tc.pause[1]
				},
				fired: func(err error) {
					if fired != nil {
						t.Fatal("fired twice")
					}
					fired, firedAt = err, clock.Now().Sub(start)
				}}
			for _, p := range tc.packets {
				for at := p[0]; at < p[1]; at += 20 * time.Millisecond {
					if at >= tc.stall[0] && at < tc.stall[1] {
						// Read from the socket once the process runs again,
						// just after its timers.
						at = tc.stall[1] + time.Millisecond
					}
					vclock.AfterFunc(at, func() { total.Add(1) })
				}
			}
			if tc.frameAt > 0 {
				clock.AfterFunc(tc.frameAt, func() { frames.Add(1) })
			}
			if tc.stopAt > 0 {
				clock.AfterFunc(tc.stopAt, w.stop)
			}
			end := false
			clock.AfterFunc(time.Minute+5*time.Second, func() { end = true })
			w.start()
			if err := clock.Run(context.Background(), func() bool { return end }); err != nil {
				t.Fatal(err)
			}
			w.stop()
			if tc.fireMin == 0 {
				if fired != nil {
					t.Fatalf("fired at %v: %v", firedAt, fired)
				}
				return
			}
			if fired == nil {
				t.Fatal("never fired")
			}
			if firedAt < tc.fireMin+tc.limit || firedAt > tc.fireMin+tc.limit*5/4 {
				t.Errorf("fired at %v, want within [%v, %v]", firedAt, tc.fireMin+tc.limit, tc.fireMin+tc.limit*5/4)
			}
			if !errors.Is(fired, ErrRemoteSilent) || fired.Error() != "remote silent for 2s: no UDPTL packets" || w.firedErr() != fired {
				t.Errorf("error %v", fired)
			}
		})
	}
}
