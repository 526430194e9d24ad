package t38

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// TestConcurrentCalls runs N real-time T.38 calls at once between this
// process (senders) and a child process (receivers) over UDP on
// 127.0.0.1, one socket pair per call, and reports CPU time and memory per
// call for each side. Every page must arrive pixel-equal. It measures, so it
// runs only with FAXAGENT_BENCH=1; FAXAGENT_CALLS sets N (default 100):
//
//	FAXAGENT_BENCH=1 FAXAGENT_CALLS=500 go test -run ConcurrentCalls -v -timeout 20m ./t38
func TestConcurrentCalls(t *testing.T) {
	if os.Getenv("FAXAGENT_SCALE_CHILD") == "1" {
		scaleChild(t)
		return
	}
	if os.Getenv("FAXAGENT_BENCH") != "1" {
		t.Skip("set FAXAGENT_BENCH=1 (and FAXAGENT_CALLS=N) to measure concurrent real-time calls")
	}
	n := 100
	if v, err := strconv.Atoi(os.Getenv("FAXAGENT_CALLS")); err == nil && v > 0 {
		n = v
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	child := exec.CommandContext(ctx, exe, "-test.run=^TestConcurrentCalls$", "-test.v")
	child.Env = append(os.Environ(), "FAXAGENT_SCALE_CHILD=1", fmt.Sprintf("FAXAGENT_CALLS=%d", n))
	child.Stderr = os.Stderr
	cin, _ := child.StdinPipe()
	cout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(cout)
	var peerPorts []int
	for peerPorts == nil {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		if rest, ok := strings.CutPrefix(line, "ports "); ok {
			for _, f := range strings.Fields(rest) {
				p, _ := strconv.Atoi(f)
				peerPorts = append(peerPorts, p)
			}
		}
	}
	conns := listenN(t, n)
	var ports []string
	for _, c := range conns {
		ports = append(ports, strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port))
	}
	fmt.Fprintf(cin, "ports %s\n", strings.Join(ports, " "))
	c0, rss0 := usage(t)
	start := time.Now()
	results, heap := runCalls(ctx, t, conns, peerPorts, true)
	wall := time.Since(start)
	cpu, rss := usage(t)
	ok := 0
	for _, r := range results {
		if r.Code == t30.OK {
			ok++
		}
	}
	var childLine string
	for {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("child ended without a summary: %v", err)
		}
		if strings.HasPrefix(line, "summary ") {
			childLine = strings.TrimSpace(line)
			break
		}
	}
	cin.Close()
	_ = child.Wait()
	var cOK, cIntact, cN int
	var cCPU, cHeap, cRSS int64
	fmt.Sscanf(childLine, "summary %d %d %d %d %d %d", &cN, &cOK, &cIntact, &cCPU, &cHeap, &cRSS)
	t.Logf("N=%d concurrent real-time calls, 1 page each, V.17 14400, redundancy 3, wall %v", n, wall.Round(time.Second))
	t.Logf("senders:   %d/%d OK, CPU %v (%v per call), heap in use %d KiB (%d KiB per call), max RSS %d MiB",
		ok, n, cpu-c0, (cpu-c0)/time.Duration(n), heap>>10, heap/int64(n)>>10, rss>>20)
	t.Logf("receivers: %d/%d OK, %d pages intact, CPU %v (%v per call), heap in use %d KiB (%d KiB per call), max RSS %d MiB",
		cOK, cN, cIntact, time.Duration(cCPU), time.Duration(cCPU)/time.Duration(n), cHeap>>10, cHeap/int64(n)>>10, cRSS>>20)
	_ = rss0
	// For bench/report: figures of ours alone (no reference runs this).
	what := "real-time T.38 calls over UDP on 127.0.0.1, 1 page each, V.17 14400, redundancy 3, senders in one process and receivers in another; the whole process's CPU and heap in use while all calls run, divided by N."
	for _, f := range []struct {
		name, unit string
		v          float64
	}{
		{fmt.Sprintf("%d concurrent calls: senders", n), "ms CPU/call", float64(cpu-c0) / float64(time.Millisecond) / float64(n)},
		{fmt.Sprintf("%d concurrent calls: receivers", n), "ms CPU/call", float64(cCPU) / float64(time.Millisecond) / float64(n)},
		{fmt.Sprintf("%d concurrent calls: senders", n), "KiB heap/call", float64(heap) / 1024 / float64(n)},
		{fmt.Sprintf("%d concurrent calls: receivers", n), "KiB heap/call", float64(cHeap) / 1024 / float64(n)},
	} {
		b, _ := json.Marshal(map[string]any{"group": "t38 scale", "name": f.name, "unit": f.unit, "ours": []float64{f.v}, "ours_includes": what})
		t.Logf("BENCH %s", b)
	}
	if ok != n || cOK != n || cIntact != n {
		t.Fatalf("not every call succeeded with its page intact")
	}
}

func scaleChild(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FAXAGENT_CALLS"))
	conns := listenN(t, n)
	var ports []string
	for _, c := range conns {
		ports = append(ports, strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port))
	}
	fmt.Printf("ports %s\n", strings.Join(ports, " "))
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var peerPorts []int
	for _, f := range strings.Fields(strings.TrimPrefix(line, "ports ")) {
		p, _ := strconv.Atoi(f)
		peerPorts = append(peerPorts, p)
	}
	c0, _ := usage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	results, heap := runCalls(ctx, t, conns, peerPorts, false)
	cpu, rss := usage(t)
	ok, intact := 0, 0
	want := scalePage()
	for _, r := range results {
		if r.Code == t30.OK {
			ok++
		}
		if len(r.pages) == 1 {
			p, st, err := imaging.DecodePage(r.pages[0].Data, r.pages[0].DecodeOptions(), r.pages[0].Resolution)
			if err == nil && st.BadRows == 0 && bytes.Equal(p.Pix, want.Pix) {
				intact++
			}
		}
	}
	fmt.Printf("summary %d %d %d %d %d %d\n", n, ok, intact, int64(cpu-c0), heap, rss)
}

func scalePage() *imaging.Page { return testPage(imaging.WidthA4, 1100, imaging.Standard, 11) }

func listenN(t *testing.T, n int) []net.PacketConn {
	conns := make([]net.PacketConn, n)
	for i := range conns {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	return conns
}

func usage(t *testing.T) (cpu time.Duration, maxRSS int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss << 10
}

type scaleResult struct {
	t30.Result
	pages []*t30.ReceivedPage
}

// runCalls runs one call per socket on a few shared wall clocks and
// returns the results and the heap in use while all calls were running.
func runCalls(ctx context.Context, t *testing.T, conns []net.PacketConn, peerPorts []int, send bool) ([]scaleResult, int64) {
	n := len(conns)
	nClocks := 2 * runtime.GOMAXPROCS(0)
	clocks := make([]*t30.WallClock, nClocks)
	for i := range clocks {
		clocks[i] = t30.NewWallClock()
	}
	results := make([]scaleResult, n)
	sessions := make([]*t30.Session, n)
	sinks := make([]*t30.PageCollector, n)
	doc := t30.PagesDocument{scalePage()}
	var serve sync.WaitGroup
	sctx, stopServe := context.WithCancel(ctx)
	for i := 0; i < n; i++ {
		clock := clocks[i%nClocks]
		tr := NewUDPTransport(conns[i], &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: peerPorts[i]})
		term, err := NewTerminal(TerminalConfig{Version: 2, EC: ECRedundancy}, tr, clock)
		if err != nil {
			t.Fatal(err)
		}
		sink := &t30.PageCollector{}
		sinks[i] = sink
		cfg := t30.Config{Calling: send, Transmit: send, Compressions: []imaging.Compression{imaging.MR}}
		if send {
			cfg.Document = doc
		} else {
			cfg.Sink = sink
		}
		s, err := t30.NewSession(cfg, term, clock)
		if err != nil {
			t.Fatal(err)
		}
		sessions[i] = s
		serve.Add(1)
		go func() { defer serve.Done(); _ = tr.Serve(sctx, term) }()
		clock.AfterFunc(0, s.Start)
	}
	var heap int64
	var once sync.Once
	var wg sync.WaitGroup
	for k, clock := range clocks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = clock.Run(ctx, func() bool {
				for i := k; i < n; i += nClocks {
					if !sessions[i].Done() {
						return false
					}
				}
				return true
			})
		}()
	}
	// sample the heap midway through the calls
	go func() {
		select {
		case <-time.After(15 * time.Second):
			once.Do(func() {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = int64(ms.HeapInuse)
			})
		case <-ctx.Done():
		}
	}()
	wg.Wait()
	once.Do(func() {})
	stopServe()
	serve.Wait()
	for i, s := range sessions {
		results[i] = scaleResult{Result: s.Result(), pages: sinks[i].Pages}
	}
	return results, heap
}
