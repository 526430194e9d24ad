package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json), including the
// build events go test emits for packages that do not compile.
type event struct {
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string
}

// key names a test in a package; Test is "" for the package itself.
type key struct{ pkg, test string }

// summary is what summarize counted.
type summary struct {
	passed, failed, skipped int
	pkgFailed, buildFailed  int
	noJSON                  int // input lines that were not JSON events
}

func (s summary) bad() bool {
	return s.failed > 0 || s.pkgFailed > 0 || s.buildFailed > 0 || s.passed+s.failed == 0
}

type timing struct {
	name    string
	elapsed time.Duration
}

// summarize reads a go test -json stream from r and writes the report to
// w, with the top slowest tests and packages.
func summarize(r io.Reader, w io.Writer, top int) (summary, error) {
	var s summary
	out := map[key]*strings.Builder{} // output held until we know it failed
	ended := map[key]bool{}           // tests that reported pass, fail or skip
	running := map[string][]string{}  // tests started per package, in order
	var tests, pkgs []timing
	var skipped []string // tests that skipped, with the reason they gave
	build := map[string]*strings.Builder{}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			s.noJSON++
			fmt.Fprintf(w, "%s\n", line) // go test's own messages (e.g. a vet failure)
			continue
		}
		switch e.Action {
		case "build-output":
			b := build[e.ImportPath]
			if b == nil {
				b = &strings.Builder{}
				build[e.ImportPath] = b
			}
			b.WriteString(e.Output)
			continue
		case "build-fail":
			s.buildFailed++
			if b := build[e.ImportPath]; b != nil {
				fmt.Fprint(w, b.String())
			}
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "run":
			running[e.Package] = append(running[e.Package], e.Test)
		case "output":
			b := out[k]
			if b == nil {
				b = &strings.Builder{}
				out[k] = b
			}
			b.WriteString(e.Output)
		case "pass", "fail", "skip":
			d := time.Duration(e.Elapsed * float64(time.Second))
			if e.Test == "" {
				pkgs = append(pkgs, timing{e.Package, d})
				if e.Action == "fail" {
					s.pkgFailed++
					// Whatever the package printed outside tests (a panic,
					// a timeout), and tests that never ended.
					for _, t := range running[e.Package] {
						if !ended[key{e.Package, t}] {
							writeHeld(w, out[key{e.Package, t}])
						}
					}
					writeHeld(w, out[k])
				} else if b := out[k]; b != nil {
					for _, l := range strings.SplitAfter(b.String(), "\n") {
						if strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "?") {
							fmt.Fprint(w, l)
						}
					}
				}
				delete(out, k)
				continue
			}
			ended[k] = true
			switch e.Action {
			case "pass":
				s.passed++
			case "skip":
				s.skipped++
				skipped = append(skipped, e.Package+"."+e.Test+": "+skipReason(out[k]))
			case "fail":
				s.failed++
				writeHeld(w, out[k])
			}
			if e.Action != "skip" && !strings.Contains(e.Test, "/") {
				tests = append(tests, timing{e.Package + "." + e.Test, d})
			}
			delete(out, k)
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if top > 0 {
		writeSlowest(w, "tests", tests, top)
		writeSlowest(w, "packages", pkgs, top)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(w, "\nskipped %d tests:\n", len(skipped))
		for _, t := range skipped {
			fmt.Fprintf(w, "  %s\n", t)
		}
	}
	if s.pkgFailed > 0 || s.buildFailed > 0 {
		fmt.Fprintf(w, "packages: %d failed, %d did not build\n", s.pkgFailed, s.buildFailed)
	}
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	return s, nil
}

// skipReason is the last line a skipped test logged before its "--- SKIP"
// line: the message of t.Skip.
func skipReason(b *strings.Builder) string {
	if b == nil {
		return "(no reason given)"
	}
	reason := "(no reason given)"
	for _, l := range strings.Split(b.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		reason = l
	}
	return reason
}

func writeHeld(w io.Writer, b *strings.Builder) {
	if b != nil {
		fmt.Fprint(w, b.String())
	}
}

func writeSlowest(w io.Writer, what string, ts []timing, top int) {
	slices.SortStableFunc(ts, func(a, b timing) int { return cmp.Compare(b.elapsed, a.elapsed) })
	ts = ts[:min(top, len(ts))]
	fmt.Fprintf(w, "\nslowest %d %s:\n", len(ts), what)
	for _, t := range ts {
		fmt.Fprintf(w, "%9.1fs  %s\n", t.elapsed.Seconds(), t.name)
	}
}
