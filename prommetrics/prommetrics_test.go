package prommetrics

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/t30"
)

// gather returns the registry's samples as "name{label=value,...}" →
// value (counters, gauges; histograms by their count).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "faxagent_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			var l []string
			for _, lp := range m.GetLabel() {
				l = append(l, lp.GetName()+"="+lp.GetValue())
			}
			key := mf.GetName() + "{" + strings.Join(l, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetrics: calls are counted by direction, driver, result and code;
// a port's state gauge moves (the old state set to 0); Usage sums a port's
// calls and busy time.
func TestMetrics(t *testing.T) {
	m := New(Build{Version: "v1.2.3", Revision: "abc", GoVersion: "go1"})
	m.SetDriver("p1", "loopback")
	m.PortState("p1", drivers.StateIdle)
	m.PortState("p1", drivers.StateDialling)
	m.CallEnded("p1", drivers.Outbound, t30.OK, 3, 10*time.Second)
	m.CallEnded("p1", drivers.Outbound, t30.CodeCancelled, 0, 2*time.Second)
	m.CallEnded("p2", drivers.Inbound, t30.Code(0), 1, time.Second)
	m.Dispatched(20 * time.Millisecond)

	got := gather(t, m.Registry())
	okID := t30.OK.ID()
	for key, want := range map[string]float64{
		`faxagent_build_info{goversion=go1,revision=abc,version=v1.2.3}`:                                                      1,
		`faxagent_calls_total{code=` + itoa(okID) + `,direction=outbound,driver=loopback,result=success}`:                     1,
		`faxagent_calls_total{code=` + itoa(t30.CodeCancelled.ID()) + `,direction=outbound,driver=loopback,result=cancelled}`: 1,
		`faxagent_pages_total{direction=outbound}`:                                                                            3,
		`faxagent_pages_total{direction=inbound}`:                                                                             1,
		`faxagent_call_duration_seconds{direction=outbound}`:                                                                  2,
		`faxagent_dispatch_latency_seconds{}`:                                                                                 1,
		`faxagent_port_state{port=p1,state=` + drivers.StateIdle.String() + `}`:                                               0,
		`faxagent_port_state{port=p1,state=` + drivers.StateDialling.String() + `}`:                                           1,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v\nall: %v", key, v, ok, want, got)
		}
	}
	calls, busy, util := m.Usage("p1", time.Now().Add(time.Minute))
	if calls != 2 || busy != 12*time.Second || util <= 0 || util > 0.2 {
		t.Errorf("usage p1: %d calls, %v busy, %.3f", calls, busy, util)
	}
	if calls, busy, util := m.Usage("none", time.Now()); calls != 0 || busy != 0 || util != 0 {
		t.Errorf("usage of an unknown port: %d %v %v", calls, busy, util)
	}
}

type fakeQueue struct {
	qs  core.QueueStats
	err error
}

func (f fakeQueue) QueueStats(context.Context) (core.QueueStats, error) { return f.qs, f.err }

// TestStoreCollector: the queue's depth by state and the oldest job's age
// at scrape time; a store error leaves them out rather than failing the
// scrape.
func TestStoreCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewStoreCollector(fakeQueue{qs: core.QueueStats{Queued: 4, Leased: 2, Failed: 1, OldestQueued: time.Now().Add(-time.Hour)}}, nil, slog.New(slog.DiscardHandler)))
	got := gather(t, reg)
	if got["faxagent_queue_jobs{state=queued}"] != 4 || got["faxagent_queue_jobs{state=leased}"] != 2 ||
		got["faxagent_queue_jobs{state=failed}"] != 1 || got["faxagent_queue_jobs{state=done}"] != 0 {
		t.Errorf("depth: %v", got)
	}
	if age := got["faxagent_queue_oldest_age_seconds{}"]; age < 3599 || age > 3700 {
		t.Errorf("oldest age %v", age)
	}
	reg = prometheus.NewRegistry()
	reg.MustRegister(NewStoreCollector(fakeQueue{err: errors.New("down")}, nil, slog.New(slog.DiscardHandler)))
	if got := gather(t, reg); len(got) != 0 {
		t.Errorf("store down: %v", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
