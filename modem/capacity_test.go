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

func rusage() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestRealTimeCapacity runs FAXAGENT_CALLS (default 200) audio fax calls
// at once in real time in this process, each between two of our
// terminals (both ends here, so 2 x calls terminals): one page, V.17
// 14400, MR, ECM. Each call has its own wall clock and is paced by its
// own 20 ms ticker; on every tick both terminals process a frame and
// exchange it. A tick handled more than 20 ms after it was due is a late
// frame: on an RTP line it would have missed its jitter buffer. It
// asserts every page arrives pixel-equal and reports late frames, ticks
// the pacing lost, and the CPU used. A benchmark: FAXAGENT_BENCH=1
// (about 30 s of wall time).
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
	var late, frames atomic.Int64
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
			ta, tb := make([]int16, BlockSamples), make([]int16, BlockSamples)
			ra, rb := make([]int16, BlockSamples), make([]int16, BlockSamples)
			step := make(chan bool, 1)
			tick := func() {
				a.Process(ra, ta)
				b.Process(rb, tb)
				copy(rb, ta)
				copy(ra, tb)
				step <- sa.Done() && sb.Done()
			}
			ticker := time.NewTicker(20 * time.Millisecond)
			defer ticker.Stop()
			for {
				var due time.Time
				select {
				case due = <-ticker.C:
				case <-cctx.Done():
					return
				}
				clock.AfterFunc(0, tick)
				var fin bool
				select {
				case fin = <-step:
				case <-cctx.Done():
					return
				}
				frames.Add(1)
				if time.Since(due) > 20*time.Millisecond {
					late.Add(1)
				}
				if fin {
					break
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
		} else if i < 5 {
			t.Logf("call %d: send %v (%v), recv %v (%v), %d pages", i, o.send.Code, o.send.Err, o.recv.Code, o.recv.Err, len(o.pages))
		}
	}
	// Frames the calls should have had in their wall time, had every tick come.
	t.Logf("%d concurrent real-time calls (both ends in process, %d terminals), V.17 14400, 1 page MR ECM: %d intact; wall %v, CPU %v (%.2f cores, %.2f ms per terminal-second); %d frame steps, %d late (%.3f %%)",
		calls, 2*calls, intact, wall.Round(time.Millisecond), cpu.Round(time.Millisecond), cpu.Seconds()/wall.Seconds(),
		float64(cpu.Milliseconds())/float64(frames.Load()*2)*50, frames.Load(), late.Load(), 100*float64(late.Load())/float64(max(frames.Load(), 1)))
	if intact != calls {
		t.Errorf("%d of %d calls lost their page", calls-intact, calls)
	}
}
