package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const log = `== something the script printed
    cpu_test.go:99: BENCH {"group":"t38","name":"CPU per page","unit":"ms CPU/page","ours":[12,10,11,30],"ref":[20,22,21,19],"ref_name":"SpanDSP","ours_includes":"T.30, T.38, TIFF.","ref_includes":"t38_terminal, TIFF."}
BENCH {"group":"soap","name":"SendCompleteMessage","unit":"requests/s","higher":true,"ours":[100,120,110],"ours_includes":"serve --role core."}
BENCH {"group":"broken","name":
BENCH {"group":"x","name":"no samples","unit":"s","ours":[]}
`

func TestParseAndSummarize(t *testing.T) {
	ms, bad := Parse(log)
	if len(ms) != 2 || len(bad) != 2 {
		t.Fatalf("parsed %d, bad %d: %v", len(ms), len(bad), bad)
	}
	rs := Summarize(ms)
	cpu, soap := rs[0], rs[1]
	if cpu.OursBest != 10 || cpu.OursMedian != 11.5 || *cpu.RefBest != 19 || *cpu.RefMedian != 20.5 {
		t.Errorf("cpu %+v ref %v %v", cpu, *cpu.RefBest, *cpu.RefMedian)
	}
	if r := *cpu.RatioBest; r < 0.526 || r > 0.527 {
		t.Errorf("ratio best %v, want 10/19", r)
	}
	if soap.OursBest != 120 || soap.OursMedian != 110 || soap.RefBest != nil || soap.RatioBest != nil {
		t.Errorf("soap %+v", soap)
	}
	r := Report{Date: "2026-12-07T15:00:00Z", Machine: Machine{CPU: "test CPU", Cores: 2}, Results: rs, Problems: bad}
	md := r.Markdown()
	for _, want := range []string{
		"| t38 | CPU per page | ms CPU/page | 4 | 10 | 11.5 | SpanDSP | 19 | 20.5 | 0.5263 | 0.561 |",
		"| soap | SendCompleteMessage | requests/s (higher is better) | 3 | 120 | 110 | (none) | – | – | – | – |",
		"- **t38**: ours: T.30, T.38, TIFF. Reference (SpanDSP): t38_terminal, TIFF.",
		"2026-12-07T15:00:00Z", "test CPU, 2 cores", "## Problems",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	j, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(j, &back); err != nil || len(back.Results) != 2 || *back.Results[0].RatioMedian != *cpu.RatioMedian {
		t.Fatalf("JSON round trip: %v\n%s", err, j)
	}
}

func TestThisMachine(t *testing.T) {
	m := ThisMachine()
	if m.Cores < 1 || m.Go == "" {
		t.Fatalf("%+v", m)
	}
}
