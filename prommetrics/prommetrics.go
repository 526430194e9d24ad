// Package prommetrics exposes a serve process's figures to Prometheus:
// the agent's calls, pages, call durations, dispatch latency and port
// states (Metrics implements agent.Metrics), the per-port use the ports
// API shows, and at scrape time the queue's depth and the licence's ports
// (StoreCollector).
//
// prommetrics imports agent, core (QueueStats), drivers and t30 for their
// types; nothing imports it but cmd/faxagent.
package prommetrics

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/faxagent/faxagent/agent"
	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// Metrics is the agent's Metrics (agent.Metrics) in a Prometheus registry
// of its own, plus the per-port counts the ports API shows.
type Metrics struct {
	reg      *prometheus.Registry
	calls    *prometheus.CounterVec
	pages    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	dispatch prometheus.Histogram
	state    *prometheus.GaugeVec

	mu      sync.Mutex
	drivers map[string]string // port ID -> driver name
	ports   map[string]*portUse
	started time.Time
	build   prometheus.Gauge
}

type portUse struct {
	state drivers.PortState
	calls int
	busy  time.Duration
}

// Build labels faxagent_build_info.
type Build struct {
	Version, Revision, GoVersion string
}

// New makes the instruments and registers them, with the build's labels
// and the Go runtime and process collectors, in a registry of their own.
func New(b Build) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "faxagent_calls_total",
			Help: "Fax calls by direction, driver, result (success, cancelled or failed) and completion code ID."},
			[]string{"direction", "driver", "result", "code"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "faxagent_pages_total",
			Help: "Pages confirmed (outbound) or received (inbound)."}, []string{"direction"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "faxagent_call_duration_seconds",
			Help:    "Time a port was busy with a call, from dialling or arrival to hang-up.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800}}, []string{"direction"}),
		dispatch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "faxagent_dispatch_latency_seconds",
			Help:    "Time from a job becoming claimable to its dialling.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "faxagent_port_state",
			Help: "1 for the state each port is in."}, []string{"port", "state"}),
		drivers: map[string]string{},
		ports:   map[string]*portUse{},
		started: time.Now(),
	}
	m.build = prometheus.NewGauge(prometheus.GaugeOpts{Name: "faxagent_build_info",
		Help:        "Always 1; the labels say which build is running (faxagent --version).",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion}})
	m.build.Set(1)
	m.reg.MustRegister(m.calls, m.pages, m.duration, m.dispatch, m.state, m.build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the instruments are registered; serve it with
// promhttp.HandlerFor.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Describe sends the descriptors of the instruments New makes (not the
// runtime and process collectors').
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range []prometheus.Collector{m.calls, m.pages, m.duration, m.dispatch, m.state, m.build} {
		c.Describe(ch)
	}
}

func (m *Metrics) use(port string) *portUse {
	u := m.ports[port]
	if u == nil {
		u = &portUse{}
		m.ports[port] = u
	}
	return u
}

// SetDriver records which driver a port belongs to.
func (m *Metrics) SetDriver(port, driver string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drivers[port] = driver
}

// PortState implements agent.Metrics.
func (m *Metrics) PortState(port string, s drivers.PortState) {
	m.mu.Lock()
	u := m.use(port)
	old := u.state
	u.state = s
	m.mu.Unlock()
	if old != s {
		m.state.WithLabelValues(port, old.String()).Set(0)
	}
	m.state.WithLabelValues(port, s.String()).Set(1)
}

// CallEnded implements agent.Metrics.
func (m *Metrics) CallEnded(port string, dir drivers.Direction, code t30.Code, pages int, d time.Duration) {
	m.mu.Lock()
	u := m.use(port)
	u.calls++
	u.busy += d
	drv := m.drivers[port]
	m.mu.Unlock()
	result := "failed"
	switch code {
	case t30.OK:
		result = "success"
	case t30.CodeCancelled:
		result = "cancelled"
	}
	m.calls.WithLabelValues(dir.String(), drv, result, strconv.Itoa(code.ID())).Inc()
	m.pages.WithLabelValues(dir.String()).Add(float64(pages))
	m.duration.WithLabelValues(dir.String()).Observe(d.Seconds())
}

// Dispatched implements agent.Metrics.
func (m *Metrics) Dispatched(latency time.Duration) {
	m.dispatch.Observe(latency.Seconds())
}

// Usage returns a port's calls, busy time and share of the time since
// start it was busy.
func (m *Metrics) Usage(port string, now time.Time) (calls int, busy time.Duration, util float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.ports[port]
	if u == nil {
		return 0, 0, 0
	}
	if up := now.Sub(m.started); up > 0 {
		util = min(float64(u.busy)/float64(up), 1)
	}
	return u.calls, u.busy, util
}

// QueueStater is what StoreCollector needs of the store.
type QueueStater interface {
	QueueStats(ctx context.Context) (core.QueueStats, error)
}

// StoreCollector reads the queue and licence figures at scrape time.
type StoreCollector struct {
	store   QueueStater
	ag      func() *agent.Agent
	log     *slog.Logger
	depth   *prometheus.Desc
	age     *prometheus.Desc
	licUsed *prometheus.Desc
	licMax  *prometheus.Desc
}

// NewStoreCollector collects the queue's figures from st and the licence's
// from the agent ag returns (none while it or ag is nil); register it in
// Registry.
func NewStoreCollector(st QueueStater, ag func() *agent.Agent, log *slog.Logger) *StoreCollector {
	return &StoreCollector{
		store: st, ag: ag, log: log,
		depth: prometheus.NewDesc("faxagent_queue_jobs", "Jobs in the queue by state.", []string{"state"}, nil),
		age: prometheus.NewDesc("faxagent_queue_oldest_age_seconds",
			"Age of the oldest claimable job (0 when none).", nil, nil),
		licUsed: prometheus.NewDesc("faxagent_license_ports_used", "Licensed ports in use by driver.", []string{"driver"}, nil),
		licMax:  prometheus.NewDesc("faxagent_license_ports_licensed", "Ports the licence grants by driver.", []string{"driver"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *StoreCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.age
	ch <- c.licUsed
	ch <- c.licMax
}

// Collect implements prometheus.Collector.
func (c *StoreCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qs, err := c.store.QueueStats(ctx)
	if err != nil {
		c.log.Warn("metrics: queue stats", "err", err)
	} else {
		for _, s := range []struct {
			name string
			n    int
		}{{"held", qs.Held}, {"queued", qs.Queued}, {"leased", qs.Leased}, {"done", qs.Done}, {"failed", qs.Failed}, {"cancelled", qs.Cancelled}} {
			ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.n), s.name)
		}
		age := 0.0
		if !qs.OldestQueued.IsZero() {
			age = max(time.Since(qs.OldestQueued).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age)
	}
	if c.ag == nil {
		return
	}
	ag := c.ag()
	if ag == nil {
		return
	}
	used := map[string]int{}
	for _, p := range ag.Ports() {
		if p.Licensed {
			used[p.Driver]++
		}
	}
	for drv, n := range ag.License().Ports {
		ch <- prometheus.MustNewConstMetric(c.licMax, prometheus.GaugeValue, float64(n), drv)
		ch <- prometheus.MustNewConstMetric(c.licUsed, prometheus.GaugeValue, float64(used[drv]), drv)
	}
}
