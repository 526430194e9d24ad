package impair

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"testing"
	"time"
)

func seqData(i int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)) }

func seqOf(b []byte) int { return int(binary.BigEndian.Uint32(b)) }

// runShaper feeds n datagrams, one every gap of synthetic time, through a
// shaper and returns the sequence numbers in the order they left, with the
// counters. Every datagram is also checked to leave no earlier than its
// arrival plus Delay and no later than that plus Jitter (and MaxHold, or
// the next arrival, when it was held).
func runShaper(t *testing.T, imp Impairment, seed uint64, n int, gap time.Duration) ([]int, Stats) {
	t.Helper()
	if imp.Reorder > 0 && imp.MaxHold == 0 {
		imp.MaxHold = 10 * gap // only the last datagram can wait that long
	}
	s := shaper{imp: imp, rng: rand.New(rand.NewPCG(seed, 1))}
	var c counters
	t0 := time.Unix(1000, 0)
	arrived := map[int]time.Time{}
	var out []int
	var buf [][]byte
	step := time.Millisecond
	now := t0
	end := t0.Add(time.Duration(n)*gap + imp.Delay + imp.Jitter + imp.MaxHold + gap)
	for i := 0; now.Before(end) || len(s.q) > 0; now = now.Add(step) {
		for ; i < n && !t0.Add(time.Duration(i)*gap).After(now); i++ {
			arrived[i] = now
			s.admit(now, seqData(i), &c)
		}
		buf, _ = s.pop(now, buf[:0])
		for _, b := range buf {
			k := seqOf(b)
			late := now.Sub(arrived[k])
			if late < imp.Delay {
				t.Fatalf("datagram %d left after %v, before its delay %v", k, late, imp.Delay)
			}
			if imp.Reorder == 0 && late > imp.Delay+imp.Jitter+step {
				t.Fatalf("datagram %d left after %v, later than delay+jitter", k, late)
			}
			out = append(out, k)
		}
		if now.Sub(t0) > time.Hour {
			t.Fatal("shaper never drained")
		}
	}
	return out, c.snapshot()
}

// inversions counts adjacent pairs that left in the wrong order.
func inversions(seq []int) int {
	n := 0
	for i := 1; i < len(seq); i++ {
		if seq[i] < seq[i-1] {
			n++
		}
	}
	return n
}

func TestShaperRates(t *testing.T) {
	const n = 10000
	for _, c := range []struct {
		name string
		imp  Impairment
		// expected counts are n*p; bounds are about ±4 standard deviations
		minDrop, maxDrop, minDup, maxDup, minReo, maxReo uint64
	}{
		{"none", Impairment{}, 0, 0, 0, 0, 0, 0},
		{"drop 10%", Impairment{Drop: 0.10}, 880, 1120, 0, 0, 0, 0},
		{"drop 50%", Impairment{Drop: 0.5}, 4800, 5200, 0, 0, 0, 0},
		{"dup 2%", Impairment{Duplicate: 0.02}, 0, 0, 140, 260, 0, 0},
		{"reorder 5%", Impairment{Reorder: 0.05}, 0, 0, 0, 0, 380, 560},
		{"all", Impairment{Drop: 0.1, Duplicate: 0.02, Reorder: 0.05}, 880, 1120, 120, 240, 340, 520},
		{"drop everything", Impairment{Drop: 1}, n, n, 0, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, st := runShaper(t, c.imp, 7, n, 20*time.Millisecond)
			if st.Dropped < c.minDrop || st.Dropped > c.maxDrop {
				t.Errorf("dropped %d, want %d..%d", st.Dropped, c.minDrop, c.maxDrop)
			}
			if st.Duplicated < c.minDup || st.Duplicated > c.maxDup {
				t.Errorf("duplicated %d, want %d..%d", st.Duplicated, c.minDup, c.maxDup)
			}
			if st.Reordered < c.minReo || st.Reordered > c.maxReo {
				t.Errorf("reordered %d, want %d..%d", st.Reordered, c.minReo, c.maxReo)
			}
			if want := n - int(st.Dropped) + int(st.Duplicated); len(out) != want {
				t.Errorf("%d datagrams left, want %d", len(out), want)
			}
			// Each reordered datagram leaves right after the one that
			// followed it, so it is one adjacent inversion.
			if inv := inversions(out); uint64(inv) != st.Reordered {
				t.Errorf("%d inversions in the output, %d reordered", inv, st.Reordered)
			}
			seen := map[int]int{}
			for _, k := range out {
				seen[k]++
			}
			twice := 0
			for _, v := range seen {
				if v > 2 {
					t.Fatalf("a datagram left %d times", v)
				}
				if v == 2 {
					twice++
				}
			}
			if uint64(twice) != st.Duplicated || len(seen) != n-int(st.Dropped) {
				t.Errorf("%d distinct, %d twice; counters %+v", len(seen), twice, st)
			}
		})
	}
}

func TestShaperSeedReproducible(t *testing.T) {
	imp := Impairment{Drop: 0.1, Duplicate: 0.05, Reorder: 0.1, Jitter: 30 * time.Millisecond}
	a, sa := runShaper(t, imp, 42, 2000, 20*time.Millisecond)
	b, sb := runShaper(t, imp, 42, 2000, 20*time.Millisecond)
	c, _ := runShaper(t, imp, 43, 2000, 20*time.Millisecond)
	if !slices.Equal(a, b) || sa != sb {
		t.Fatal("same seed, different outcome")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds, same outcome")
	}
}

func TestShaperDelay(t *testing.T) {
	// A fixed delay keeps the order; runShaper checks each datagram left
	// exactly no earlier than arrival+Delay (and no later, Jitter is 0).
	out, _ := runShaper(t, Impairment{Delay: 100 * time.Millisecond}, 1, 500, 20*time.Millisecond)
	if len(out) != 500 || inversions(out) != 0 {
		t.Fatalf("fixed delay: %d out, %d inversions", len(out), inversions(out))
	}
	// Jitter wider than the spacing makes datagrams overtake each other,
	// but none is lost or left twice.
	out, _ = runShaper(t, Impairment{Delay: 10 * time.Millisecond, Jitter: 60 * time.Millisecond}, 1, 500, 20*time.Millisecond)
	if len(out) != 500 || inversions(out) == 0 {
		t.Fatalf("jitter: %d out, %d inversions", len(out), inversions(out))
	}
	s := slices.Clone(out)
	slices.Sort(s)
	for i, k := range s {
		if k != i {
			t.Fatalf("jitter: datagram %d missing", i)
		}
	}
}

func TestShaperMaxHold(t *testing.T) {
	s := shaper{imp: Impairment{Reorder: 1, MaxHold: 50 * time.Millisecond}, rng: rand.New(rand.NewPCG(1, 1))}
	var c counters
	t0 := time.Unix(0, 0)
	s.admit(t0, seqData(1), &c)
	out, next := s.pop(t0.Add(49*time.Millisecond), nil)
	if len(out) != 0 || !next.Equal(t0.Add(50*time.Millisecond)) {
		t.Fatalf("held datagram: out %d, next %v", len(out), next.Sub(t0))
	}
	out, next = s.pop(t0.Add(50*time.Millisecond), nil)
	if len(out) != 1 || !next.IsZero() || c.reordered.Load() != 0 {
		t.Fatalf("after MaxHold: out %d, next %v, reordered %d", len(out), next, c.reordered.Load())
	}
	// Without MaxHold, a held datagram waits for the next one.
	s = shaper{imp: Impairment{Reorder: 1}, rng: rand.New(rand.NewPCG(1, 1))}
	s.admit(t0, seqData(1), &c)
	if out, next = s.pop(t0.Add(time.Hour), nil); len(out) != 0 || !next.IsZero() {
		t.Fatalf("held without MaxHold: out %d, next %v", len(out), next)
	}
	s.admit(t0.Add(time.Hour), seqData(2), &c)
	out, _ = s.pop(t0.Add(time.Hour), nil)
	if len(out) != 2 || seqOf(out[0]) != 2 || seqOf(out[1]) != 1 || c.reordered.Load() != 1 {
		t.Fatalf("release after the next: %v, reordered %d", out, c.reordered.Load())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{AToB: Impairment{Drop: 1.5}},
		{BToA: Impairment{Duplicate: -0.1}},
		{AToB: Impairment{Delay: -time.Second}},
	} {
		if p, err := New(cfg); !errors.Is(err, ErrConfig) {
			if p != nil {
				p.Close()
			}
			t.Errorf("%+v: err %v, want ErrConfig", cfg, err)
		}
	}
}

func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recvN reads n datagrams from c, failing if they do not come.
func recvN(t *testing.T, c *net.UDPConn, n int) []int {
	t.Helper()
	var got []int
	buf := make([]byte, 100)
	for len(got) < n {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), n, err)
		}
		got = append(got, seqOf(buf[:k]))
	}
	return got
}

// waitFor polls cond (a guard against hangs, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 500 {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProxyForwardsBothWays(t *testing.T) {
	a, b := listen(t), listen(t)
	// A's address is learned, B's is fixed.
	p, err := New(Config{B: b.LocalAddr().(*net.UDPAddr)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Nothing came from A yet: B's datagram has nowhere to go.
	if _, err := b.WriteToUDP(seqData(99), p.AddrB()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "unroutable", func() bool { return p.Stats(BToA).Unroutable == 1 })
	const n = 200
	for i := range n {
		if _, err := a.WriteToUDP(seqData(i), p.AddrA()); err != nil {
			t.Fatal(err)
		}
	}
	if got := recvN(t, b, n); !slices.Equal(got, seqRange(n)) {
		t.Fatalf("A→B arrived as %v", got)
	}
	for i := range n {
		if _, err := b.WriteToUDP(seqData(i), p.AddrB()); err != nil {
			t.Fatal(err)
		}
	}
	if got := recvN(t, a, n); !slices.Equal(got, seqRange(n)) {
		t.Fatalf("B→A arrived as %v", got)
	}
	// (A counter moves just after its write: wait for it to settle.)
	waitFor(t, "counters", func() bool { return p.Stats(BToA).Forwarded == n })
	ab, ba := p.Stats(AToB), p.Stats(BToA)
	if ab != (Stats{Received: n, Forwarded: n}) || ba != (Stats{Received: n + 1, Forwarded: n, Unroutable: 1}) {
		t.Fatalf("stats A→B %+v, B→A %+v", ab, ba)
	}
}

func seqRange(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestProxyImpairs(t *testing.T) {
	a, b := listen(t), listen(t)
	imp := Impairment{Drop: 0.1, Duplicate: 0.05, Reorder: 0.1}
	p, err := New(Config{A: a.LocalAddr().(*net.UDPAddr), B: b.LocalAddr().(*net.UDPAddr), AToB: imp, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 1000
	// Read B's socket while sending, so that its buffer never overflows.
	arrived := make(chan int, 2*n)
	go func() {
		buf := make([]byte, 100)
		for {
			k, _, err := b.ReadFromUDP(buf)
			if err != nil {
				close(arrived)
				return
			}
			arrived <- seqOf(buf[:k])
		}
	}()
	for i := range n {
		if _, err := a.WriteToUDP(seqData(i), p.AddrA()); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 { // keep the proxy's socket buffer from overflowing
			waitFor(t, "the proxy to read", func() bool { return p.Stats(AToB).Received == uint64(i+1) })
		}
	}
	// The last datagram may be held for reordering until a next one;
	// only the others are sure to go out.
	waitFor(t, "forwarding", func() bool {
		s := p.Stats(AToB)
		return s.Forwarded+s.Dropped+2 >= s.Received+s.Duplicated
	})
	st := p.Stats(AToB)
	var got []int
	for len(got) < int(st.Forwarded) {
		select {
		case k := <-arrived:
			got = append(got, k)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d forwarded datagrams arrived", len(got), st.Forwarded)
		}
	}
	if st.Received != n || st.Dropped < 60 || st.Dropped > 140 || st.Duplicated < 20 || st.Duplicated > 85 ||
		st.Reordered < 50 || st.Reordered > 140 || st.WriteErrs != 0 {
		t.Fatalf("stats %+v", st)
	}
	if inv := inversions(got); uint64(inv) != st.Reordered {
		t.Fatalf("%d inversions observed, %d reordered", inv, st.Reordered)
	}
	// The other direction is unimpaired.
	if _, err := b.WriteToUDP(seqData(5), p.AddrB()); err != nil {
		t.Fatal(err)
	}
	if got := recvN(t, a, 1); got[0] != 5 {
		t.Fatalf("B→A: %v", got)
	}
}

// TestProxyDelayOrder measures the delay by order, not by a clock: A→B is
// delayed 300 ms, B→A not at all, and both deliver to the same socket. The
// datagram sent first through the delayed direction arrives second.
func TestProxyDelayOrder(t *testing.T) {
	r, s := listen(t), listen(t)
	ra := r.LocalAddr().(*net.UDPAddr)
	p, err := New(Config{A: ra, B: ra, AToB: Impairment{Delay: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := s.WriteToUDP(seqData(1), p.AddrA()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteToUDP(seqData(2), p.AddrB()); err != nil {
		t.Fatal(err)
	}
	if got := recvN(t, r, 2); !slices.Equal(got, []int{2, 1}) {
		t.Fatalf("arrival order %v, want the undelayed datagram first", got)
	}
}

func TestProxyCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	a := listen(t)
	p, err := New(Config{A: a.LocalAddr().(*net.UDPAddr), B: a.LocalAddr().(*net.UDPAddr),
		AToB: Impairment{Delay: time.Hour, Reorder: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 { // some wait an hour in the queue, some are held
		if _, err := a.WriteToUDP(seqData(i), p.AddrA()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the proxy to read", func() bool { return p.Stats(AToB).Received == 20 })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	if p.Stats(AToB).Forwarded != 0 {
		t.Fatal("a delayed datagram went out")
	}
}

// BenchmarkShaper is the cost of one datagram's decisions and scheduling.
func BenchmarkShaper(b *testing.B) {
	b.ReportAllocs()
	s := shaper{imp: Impairment{Drop: 0.1, Duplicate: 0.02, Reorder: 0.05, Delay: 20 * time.Millisecond, Jitter: 10 * time.Millisecond},
		rng: rand.New(rand.NewPCG(1, 1))}
	var c counters
	data := seqData(1)
	now := time.Unix(0, 0)
	var out [][]byte
	for b.Loop() {
		now = now.Add(20 * time.Millisecond)
		s.admit(now, data, &c)
		out, _ = s.pop(now, out[:0])
	}
}
