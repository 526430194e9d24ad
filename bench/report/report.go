package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Measurement is one BENCH line.
type Measurement struct {
	Group        string    `json:"group"`
	Name         string    `json:"name"`
	Unit         string    `json:"unit"`
	Higher       bool      `json:"higher,omitempty"` // higher is better
	Ours         []float64 `json:"ours"`
	Ref          []float64 `json:"ref,omitempty"`
	RefName      string    `json:"ref_name,omitempty"`
	OursIncludes string    `json:"ours_includes"`
	RefIncludes  string    `json:"ref_includes,omitempty"`
}

// Result is a Measurement with its best and median values.
type Result struct {
	Measurement
	OursBest    float64  `json:"ours_best"`
	OursMedian  float64  `json:"ours_median"`
	RefBest     *float64 `json:"ref_best,omitempty"`
	RefMedian   *float64 `json:"ref_median,omitempty"`
	RatioBest   *float64 `json:"ratio_best,omitempty"`   // ours/ref, best against best
	RatioMedian *float64 `json:"ratio_median,omitempty"` // ours/ref, median against median
}

// Machine says where the figures were measured.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Memory string `json:"memory"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Load   string `json:"load_at_end"` // /proc/loadavg when the report was written
}

// Report is the whole report.
type Report struct {
	Date     string   `json:"date"`
	Machine  Machine  `json:"machine"`
	Results  []Result `json:"results"`
	Problems []string `json:"problems,omitempty"`
}

// Parse finds the BENCH lines of a log; bad lists lines it could not read.
func Parse(log string) (ms []Measurement, bad []string) {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		_, js, ok := strings.Cut(sc.Text(), "BENCH {")
		if !ok {
			continue
		}
		var m Measurement
		if err := json.Unmarshal([]byte("{"+js), &m); err != nil {
			bad = append(bad, fmt.Sprintf("%v: %s", err, sc.Text()))
			continue
		}
		if m.Name == "" || m.Unit == "" || len(m.Ours) == 0 {
			bad = append(bad, "incomplete: "+sc.Text())
			continue
		}
		ms = append(ms, m)
	}
	return ms, bad
}

// best is the best sample: the smallest, or the largest when higher is
// better.
func best(xs []float64, higher bool) float64 {
	if higher {
		return slices.Max(xs)
	}
	return slices.Min(xs)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Summarize computes best, median and ratios.
func Summarize(ms []Measurement) []Result {
	var rs []Result
	for _, m := range ms {
		r := Result{Measurement: m, OursBest: best(m.Ours, m.Higher), OursMedian: median(m.Ours)}
		if len(m.Ref) > 0 {
			rb, rm := best(m.Ref, m.Higher), median(m.Ref)
			r.RefBest, r.RefMedian = &rb, &rm
			if rb != 0 && rm != 0 {
				qb, qm := r.OursBest/rb, r.OursMedian/rm
				r.RatioBest, r.RatioMedian = &qb, &qm
			}
		}
		rs = append(rs, r)
	}
	return rs
}

// num formats a figure with 4 significant digits (a ratio of 1.002 must not read as 1).
func num(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

func opt(x *float64) string {
	if x == nil {
		return "–"
	}
	return num(*x)
}

// Markdown renders the report: one table of figures, then what each side
// of each measurement includes.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark report\n\n")
	fmt.Fprintf(&b, "Written by `make bench` on %s. Machine: %s, %d cores, %s memory, Linux %s, %s; load average at the end %s.\n\n",
		r.Date, r.Machine.CPU, r.Machine.Cores, r.Machine.Memory, r.Machine.Kernel, r.Machine.Go, r.Machine.Load)
	b.WriteString("Each row ran ours and the reference interleaved, round by round, on the same input; times are\n" +
		"process CPU time. Best is the lowest (or, for rates, the highest) round, median the middle one;\n" +
		"the ratio is ours/reference (below 1: we use less, or for rates: we are slower). What each side\n" +
		"includes is listed under the table.\n\n")
	b.WriteString("| group | measurement | unit | rounds | ours best | ours median | reference | ref best | ref median | ratio best | ratio median |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.Results {
		unit := x.Unit
		if x.Higher {
			unit += " (higher is better)"
		}
		ref := x.RefName
		if ref == "" {
			ref = "(none)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", x.Group, x.Name, unit, len(x.Ours),
			num(x.OursBest), num(x.OursMedian), ref, opt(x.RefBest), opt(x.RefMedian), opt(x.RatioBest), opt(x.RatioMedian))
	}
	b.WriteString("\n## What each side includes\n\n")
	seen := map[string]bool{}
	for _, x := range r.Results {
		k := x.Group + "\x00" + x.OursIncludes + "\x00" + x.RefIncludes
		if seen[k] {
			continue
		}
		seen[k] = true
		fmt.Fprintf(&b, "- **%s**: ours: %s", x.Group, x.OursIncludes)
		if x.RefIncludes != "" {
			fmt.Fprintf(&b, " Reference (%s): %s", x.RefName, x.RefIncludes)
		}
		b.WriteString("\n")
	}
	if len(r.Problems) > 0 {
		b.WriteString("\n## Problems\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "- %s\n", p)
		}
	}
	return b.String()
}

// JSON renders the report as indented JSON.
func (r Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	return append(b, '\n'), err
}

// ThisMachine describes the machine the report is written on.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown", Memory: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				if kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB")); err == nil {
					m.Memory = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	return m
}
