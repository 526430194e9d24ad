// Command report turns the measurements the bench/ scripts print into one
// report: bench/REPORT.md (a markdown table) and bench/report.json, with
// the date and the machine. make bench runs every script and then this.
//
// A script prints one line per measurement, anywhere in its output:
//
//	BENCH {"group":"codecs","name":"MH encode","unit":"ms CPU/page","ours":[...],"ref":[...],
//	       "ref_name":"libtiff","ours_includes":"...","ref_includes":"..."}
//
// ours and ref hold one sample per round (the scripts interleave the two
// sides round by round); lower is better unless "higher" is true. A line
// with no ref samples is a figure of ours alone (a load test, say). The
// report gives the best and the median of each side and their ratio,
// ours/reference: below 1 we are cheaper (or, for a higher-is-better unit,
// slower).
//
//	go run ./bench/report -md bench/REPORT.md -json bench/report.json LOG...
//
// It imports nothing of faxagent.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	md := flag.String("md", "bench/REPORT.md", "markdown report to write")
	js := flag.String("json", "bench/report.json", "JSON report to write")
	flag.Parse()
	var ms []Measurement
	var problems []string
	for _, path := range flag.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		m, bad := Parse(string(b))
		ms = append(ms, m...)
		for _, p := range bad {
			problems = append(problems, path+": "+p)
		}
	}
	r := Report{Date: time.Now().UTC().Format(time.RFC3339), Machine: ThisMachine(), Results: Summarize(ms), Problems: problems}
	if err := os.WriteFile(*md, []byte(r.Markdown()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	j, err := r.JSON()
	if err == nil {
		err = os.WriteFile(*js, j, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	fmt.Print(r.Markdown())
	if len(problems) > 0 || len(ms) == 0 {
		os.Exit(1)
	}
}
