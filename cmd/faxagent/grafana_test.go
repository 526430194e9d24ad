package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faxagent/faxagent/prommetrics"
)

// TestGrafanaDashboard checks docs/grafana/faxagent.json against the
// metrics serve registers: every metric a panel queries exists (histogram
// series by their _bucket, _sum and _count), every metric is shown by some
// panel, and every panel queries the dashboard's Prometheus input.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana/faxagent.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Inputs []struct {
			Name, PluginID string
		} `json:"__inputs"`
		Panels []struct {
			ID         int    `json:"id"`
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			GridPos struct{ H, W, X, Y int } `json:"gridPos"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	if dash.UID == "" || len(dash.Inputs) != 1 || dash.Inputs[0].Name != "DS_PROMETHEUS" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard header: %+v", dash)
	}
	// The metrics serve registers, by their descriptors.
	descs := make(chan *prometheus.Desc, 100)
	prommetrics.New(prommetrics.Build{}).Describe(descs)
	prommetrics.NewStoreCollector(nil, nil, nil).Describe(descs)
	close(descs)
	fq := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	known := map[string]bool{"faxagent_build_info": true}
	for d := range descs {
		if s := fq.FindStringSubmatch(d.String()); s != nil {
			known[s[1]] = true
		}
	}
	histograms := map[string]bool{"faxagent_call_duration_seconds": true, "faxagent_dispatch_latency_seconds": true}
	used := map[string]bool{}
	name := regexp.MustCompile(`faxagent_[a-z_]+`)
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] || p.Datasource.UID != "${DS_PROMETHEUS}" || len(p.Targets) == 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: id %d, datasource %q, %d targets, grid %+v", p.Title, p.ID, p.Datasource.UID, len(p.Targets), p.GridPos)
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") {
				t.Errorf("panel %q: unbalanced parentheses in %s", p.Title, tg.Expr)
			}
			for _, n := range name.FindAllString(tg.Expr, -1) {
				base := n
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					if b := strings.TrimSuffix(n, suf); b != n && histograms[b] {
						base = b
					}
				}
				if !known[base] || histograms[base] && base == n {
					t.Errorf("panel %q queries %s, which serve does not export as such", p.Title, n)
				}
				used[base] = true
			}
		}
	}
	for n := range known {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}
