package t38

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/internal/testutil"
	"github.com/faxagent/faxagent/t30"
)

// TestUDPTransport runs two terminals over real UDP sockets on 127.0.0.1
// on the wall clock: a V.21 burst goes across and arrives intact, and a
// datagram from a stranger is dropped.
func TestUDPTransport(t *testing.T) {
	ca, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		testutil.Missing(t, "no UDP on loopback: %v", err)
	}
	defer ca.Close()
	cb, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	clock := t30.NewWallClock()
	ua, ub := NewUDPTransport(ca, cb.LocalAddr()), NewUDPTransport(cb, ca.LocalAddr())
	cfg := TerminalConfig{Version: 2, EC: ECRedundancy}
	ta, err := NewTerminal(cfg, ua, clock)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := NewTerminal(cfg, ub, clock)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	var down bool
	tb.SetHandler(func(ev t30.Event) {
		switch ev.Kind {
		case t30.EventFrame:
			frames = append(frames, append([]byte(nil), ev.Frame...))
		case t30.EventCarrierDown:
			down = true
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range []struct {
		u *UDPTransport
		t *Terminal
	}{{ua, ta}, {ub, tb}} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.u.Serve(ctx, s.t) }()
	}
	stranger, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := stranger.WriteTo([]byte{0, 0, 1, 2, 0, 0}, cb.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	dis := []byte{0xff, 0x13, 0x80, 0x00, 0xce, 0xf4}
	clock.AfterFunc(0, func() {
		// a short burst: V.21 preamble is 1 s of line time
		_ = ta.StartTx(t30.Speed{Modem: t30.V21, Rate: 300}, false)
		_ = ta.SendFrame(dis)
		_ = ta.StopTx()
	})
	if err := clock.Run(ctx, func() bool { return down }); err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	if len(frames) != 1 || string(frames[0]) != string(dis) {
		t.Fatalf("frames %x", frames)
	}
	if ub.Stray() != 1 {
		t.Fatalf("stray datagrams %d, want 1", ub.Stray())
	}
}
