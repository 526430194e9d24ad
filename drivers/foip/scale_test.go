package foip

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// TestConcurrentSIPCalls runs N simultaneous real-time fax calls between
// two drivers in this process (SIP, G.711, T.38 re-INVITE, UDPTL on
// 127.0.0.1) and reports CPU time and memory per call (both ends counted);
// every page must arrive pixel-equal. It measures, so it runs only with
// FAXAGENT_BENCH=1; FAXAGENT_CALLS sets N (default 50):
//
//	FAXAGENT_BENCH=1 FAXAGENT_CALLS=200 go test -run ConcurrentSIPCalls -v -timeout 10m ./drivers/foip
func TestConcurrentSIPCalls(t *testing.T) {
	if os.Getenv("FAXAGENT_BENCH") != "1" {
		t.Skip("set FAXAGENT_BENCH=1 (and FAXAGENT_CALLS=N) to measure concurrent SIP fax calls")
	}
	n := 50
	if v, err := strconv.Atoi(os.Getenv("FAXAGENT_CALLS")); err == nil && v > 0 {
		n = v
	}
	a, b := pair(t, "udp", func(a, b *Config) {
		a.Channels, b.Channels = n, n
		a.T38Timeout, b.T38Timeout = 2*time.Minute, 2*time.Minute
	})
	doc := drivertest.Doc(1, imaging.WidthA4, 100, imaging.Standard, 11)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapInuse
	var peakHeap uint64
	var peakG int
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peakHeap = max(peakHeap, m.HeapInuse)
			peakG = max(peakG, runtime.NumGoroutine())
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	okPages, sendFail, recvFail := 0, 0, 0
	var firstErr error
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			select {
			case c := <-b.Incoming():
				sink := &pageSink{}
				r, err := c.Receive(ctx, drivers.ReceiveParams{}, sink, nil)
				mu.Lock()
				defer mu.Unlock()
				if err != nil || len(sink.pages) != 1 {
					recvFail++
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				got, _, derr := imaging.DecodePage(sink.pages[0].Data, sink.pages[0].DecodeOptions(), sink.pages[0].Resolution)
				if derr == nil && drivertest.Equal(got, doc[0]) && r.Code == t30.OK {
					okPages++
				}
			case <-ctx.Done():
			}
		}()
		go func() {
			defer wg.Done()
			c, err := a.Dial(ctx, drivers.PortID(0, i), "2002", drivers.DialOptions{})
			if err == nil {
				_, err = c.Send(ctx, doc, drivers.SendParams{}, nil)
			}
			if err != nil {
				mu.Lock()
				sendFail++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	close(stopSampling)
	<-sampled
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	t.Logf("%d calls: wall %v, CPU %v (%v per call, both ends), peak heap +%.1f MiB (%.0f KiB per call), peak goroutines %d, pages intact %d/%d, send failures %d, receive failures %d",
		n, wall.Round(time.Millisecond), cpu.Round(time.Millisecond), (cpu / time.Duration(n)).Round(time.Microsecond),
		float64(peakHeap-min(heap0, peakHeap))/(1<<20), float64(peakHeap-min(heap0, peakHeap))/1024/float64(n), peakG, okPages, n, sendFail, recvFail)
	if okPages != n {
		t.Fatalf("%d of %d pages intact (first error: %v)", okPages, n, firstErr)
	}
}
