package agent_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/agent/agenttest"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
)

// benchAgent starts an agent with n loopback ports in virtual call time
// and wall-clock agent time.
func benchAgent(b *testing.B, n int, m agent.Metrics) (*agent.Agent, *agenttest.MemQueue, func()) {
	pub, priv, _ := agent.GenerateKey(nil)
	net := loopback.NewNetwork(loopback.Options{})
	nums := make([]string, n)
	for i := range nums {
		nums[i] = fmt.Sprint("1", i)
	}
	d := loopback.New(net, loopback.DriverOptions{Numbers: nums})
	lic, _ := agent.Sign(agent.License{AgentID: "bench", Ports: map[string]int{"loopback": n}, Expires: time.Now().Add(time.Hour)}, priv)
	q := agenttest.NewMemQueue(nil)
	a, err := agent.New(agent.Config{AgentID: "bench", Drivers: []drivers.Driver{d}, License: lic, LicenseKey: pub,
		Queue: q, Reporter: agenttest.NewMemReporter(), Metrics: m, SpoolDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return a, q, func() { a.Shutdown(context.Background()); net.Close() }
}

// Jobs per second through queue -> agent -> loopback (virtual call time)
// -> report, with 64 ports.
func BenchmarkJobs64Ports(b *testing.B) {
	b.ReportAllocs()
	_, q, stop := benchAgent(b, 64, nil)
	defer stop()
	doc := drivertest.Doc(1, pageW, 24, imaging.Standard, 1)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := q.Add(agent.Job{ID: fmt.Sprint("j", i), Number: fmt.Sprint("9", i%50), Doc: doc}); err != nil {
			b.Fatal(err)
		}
	}
	<-q.AllFinal()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// Dispatch latency: from a job becoming claimable to dialling, with free
// ports.
func BenchmarkDispatchLatency(b *testing.B) {
	b.ReportAllocs()
	m := &countMetrics{}
	_, q, stop := benchAgent(b, 64, m)
	defer stop()
	doc := drivertest.Doc(1, pageW, 24, imaging.Standard, 1)
	for i := 0; b.Loop(); i++ {
		if err := q.Add(agent.Job{ID: fmt.Sprint("j", i), Number: "9", Doc: doc}); err != nil {
			b.Fatal(err)
		}
		<-q.AllFinal()
	}
	m.mu.Lock()
	lat := slices.Clone(m.latency)
	m.mu.Unlock()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	}
}
