package modem

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// tickPipe is one end of a real-time frame pipe: ReadFrame waits for the
// end's own 20 ms ticker, then takes the next frame the far end wrote,
// through a jitter buffer that plays out once five frames (100 ms) are in (as an
// RTP receiver would); an empty buffer while playing is a lost frame
// (silence), counted: the far end was late.
type tickPipe struct {
	tick    *time.Ticker
	in      chan []int16
	out     chan []int16
	lost    *atomic.Int64
	playing bool
}

func (p *tickPipe) ReadFrame(rx []int16) error {
	<-p.tick.C
	if !p.playing {
		if len(p.in) < 5 {
			clear(rx)
			return nil
		}
		p.playing = true
	}
	select {
	case f := <-p.in:
		copy(rx, f)
	default:
		clear(rx)
		p.lost.Add(1)
		p.playing = false
	}
	return nil
}

func (p *tickPipe) WriteFrame(tx []int16) error {
	select {
	case p.out <- append([]int16(nil), tx...):
	default:
		p.lost.Add(1)
	}
	return nil
}

func rusage() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestRealTimeCapacity runs FAXAGENT_CALLS (default 200) audio fax calls
// at once in real time in this process, each between two of our
// terminals (both ends here, so 2 x calls terminals) over 20 ms frames on
// the wall clock: one page, V.17 14400, MR, ECM (a frame lost to a late
// goroutine costs a PPR, not the page). It asserts every page arrives
// pixel-equal, and reports frames lost to lateness and the CPU used. A benchmark: FAXAGENT_BENCH=1 (about 30 s of wall time).
func TestRealTimeCapacity(t *testing.T) {
	if os.Getenv("FAXAGENT_BENCH") != "1" {
		t.Skip("set FAXAGENT_BENCH=1 to measure concurrent real-time calls")
	}
	calls := 200
	if n, err := strconv.Atoi(os.Getenv("FAXAGENT_CALLS")); err == nil && n > 0 {
		calls = n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	page := testPage(1100, 7)
	var lost atomic.Int64
	var wg sync.WaitGroup
	type outcome struct {
		send, recv t30.Result
		pages      []*t30.ReceivedPage
	}
	res := make([]outcome, calls)
	c0, w0 := rusage(), time.Now()
	for i := range calls {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cctx, ccancel := context.WithCancel(ctx)
			defer ccancel()
			clock := t30.NewWallClock()
			go clock.Run(cctx, func() bool { return false })
			a := NewTerminal(Config{}, clock)
			b := NewTerminal(Config{}, clock)
			sink := &t30.PageCollector{}
			comp := []imaging.Compression{imaging.MR}
			var sa, sb *t30.Session
			ready := make(chan struct{})
			clock.AfterFunc(0, func() {
				var err error
				sa, err = t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: t30.PagesDocument{page}, Compressions: comp, ECM: true}, a, clock)
				if err != nil {
					panic(err)
				}
				sb, err = t30.NewSession(t30.Config{Sink: sink, Compressions: comp, ECM: true}, b, clock)
				if err != nil {
					panic(err)
				}
				sa.Start()
				sb.Start()
				close(ready)
			})
			<-ready
			ab, ba := make(chan []int16, 32), make(chan []int16, 32)
			ta, tb := time.NewTicker(20*time.Millisecond), time.NewTicker(20*time.Millisecond)
			defer ta.Stop()
			defer tb.Stop()
			go a.Serve(cctx, &tickPipe{tick: ta, in: ba, out: ab, lost: &lost}, 0)
			go b.Serve(cctx, &tickPipe{tick: tb, in: ab, out: ba, lost: &lost}, 0)
			poll := time.NewTicker(200 * time.Millisecond)
			defer poll.Stop()
			for {
				var fin bool
				ch := make(chan bool, 1)
				clock.AfterFunc(0, func() { ch <- sa.Done() && sb.Done() })
				select {
				case fin = <-ch:
				case <-cctx.Done():
					return
				}
				if fin {
					break
				}
				select {
				case <-poll.C:
				case <-cctx.Done():
					return
				}
			}
			ch := make(chan outcome, 1)
			clock.AfterFunc(0, func() { ch <- outcome{sa.Result(), sb.Result(), sink.Pages} })
			res[i] = <-ch
		}(i)
	}
	wg.Wait()
	wall, cpu := time.Since(w0), rusage()-c0
	intact := 0
	for i, o := range res {
		ok := o.send.Code == t30.OK && o.recv.Code == t30.OK && len(o.pages) == 1
		if ok {
			p, st, err := imaging.DecodePage(o.pages[0].Data, o.pages[0].DecodeOptions(), o.pages[0].Resolution)
			ok = err == nil && st.BadRows == 0 && bytes.Equal(p.Pix, page.Pix)
		}
		if ok {
			intact++
		} else if i < 5 || intact == 0 {
			t.Logf("call %d: send %v (%v), recv %v (%v), %d pages", i, o.send.Code, o.send.Err, o.recv.Code, o.recv.Err, len(o.pages))
		}
	}
	t.Logf("%d concurrent real-time calls (both ends in process, %d terminals), V.17 14400, 1 page MR ECM: %d intact; wall %v, CPU %v (%.2f cores), frames lost to lateness %d",
		calls, 2*calls, intact, wall.Round(time.Millisecond), cpu.Round(time.Millisecond), cpu.Seconds()/wall.Seconds(), lost.Load())
	if intact != calls {
		t.Errorf("%d of %d calls lost their page", calls-intact, calls)
	}
}
