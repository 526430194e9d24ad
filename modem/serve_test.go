package modem

import (
	"context"
	"testing"
	"time"

	"github.com/faxagent/faxagent/t30"
)

// rtPipe is one end of a real-time 20 ms frame pipe.
type rtPipe struct {
	tick <-chan time.Time
	in   <-chan []int16
	out  chan<- []int16
}

func (p *rtPipe) ReadFrame(rx []int16) error {
	<-p.tick
	select {
	case f := <-p.in:
		copy(rx, f)
	default:
		clear(rx) // nothing arrived: a lost frame is silence
	}
	return nil
}

func (p *rtPipe) WriteFrame(tx []int16) error {
	select {
	case p.out <- append([]int16(nil), tx...):
	default:
	}
	return nil
}

// TestServeRealTime: two terminals on the wall clock over 20 ms frames;
// a V.21 burst goes across in real time.
func TestServeRealTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clock := t30.NewWallClock()
	go clock.Run(ctx, func() bool { return false })
	a := NewTerminal(Config{}, clock)
	b := NewTerminal(Config{}, clock)
	got := make(chan t30.Event, 16)
	b.SetHandler(func(ev t30.Event) {
		if ev.Kind == t30.EventFrame {
			ev.Frame = append([]byte(nil), ev.Frame...)
			got <- ev
		}
	})
	a.SetHandler(func(t30.Event) {})
	ab, ba := make(chan []int16, 50), make(chan []int16, 50)
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	tb := make(chan time.Time)
	ta := make(chan time.Time)
	go func() { // one ticker drives both ends
		for {
			select {
			case now := <-ticker.C:
				ta <- now
				tb <- now
			case <-ctx.Done():
				return
			}
		}
	}()
	go a.Serve(ctx, &rtPipe{tick: ta, in: ba, out: ab}, 0)
	go b.Serve(ctx, &rtPipe{tick: tb, in: ab, out: ba}, 0)
	frame := []byte{0xFF, 0x13, 0xFB}
	clock.AfterFunc(0, func() {
		a.StartTx(t30.Speed{Modem: t30.V21}, false)
		a.SendFrame(frame)
		a.StopTx()
	})
	select {
	case ev := <-got:
		if !ev.FCSOK || string(ev.Frame) != string(frame) {
			t.Fatalf("got %x ok=%v", ev.Frame, ev.FCSOK)
		}
	case <-ctx.Done():
		t.Fatal("no frame in real time")
	}
}
