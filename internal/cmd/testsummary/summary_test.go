package main

import (
	"strings"
	"testing"
)

// stream is go test -json output of two packages: one passing with a
// skipped test, one with a failing subtest, plus a package that does not
// build and a line go test printed itself.
const stream = `{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestFast"}
{"Action":"output","Package":"a","Test":"TestFast","Output":"=== RUN   TestFast\n"}
{"Action":"output","Package":"a","Test":"TestFast","Output":"--- PASS: TestFast (0.10s)\n"}
{"Action":"pass","Package":"a","Test":"TestFast","Elapsed":0.1}
{"Action":"run","Package":"a","Test":"TestSkip"}
{"Action":"output","Package":"a","Test":"TestSkip","Output":"=== RUN   TestSkip\n"}
{"Action":"output","Package":"a","Test":"TestSkip","Output":"    a_test.go:5: set FAXAGENT_BENCH=1 to measure\n"}
{"Action":"output","Package":"a","Test":"TestSkip","Output":"--- SKIP: TestSkip (0.00s)\n"}
{"Action":"skip","Package":"a","Test":"TestSkip","Elapsed":0}
{"Action":"output","Package":"a","Output":"PASS\n"}
{"Action":"output","Package":"a","Output":"ok  \ta\t0.2s\n"}
{"Action":"pass","Package":"a","Elapsed":0.2}
{"Action":"run","Package":"b","Test":"TestSlow"}
{"Action":"run","Package":"b","Test":"TestSlow/case"}
{"Action":"output","Package":"b","Test":"TestSlow/case","Output":"    b_test.go:9: wanted 2, got 3\n"}
{"Action":"output","Package":"b","Test":"TestSlow/case","Output":"    --- FAIL: TestSlow/case (3.00s)\n"}
{"Action":"fail","Package":"b","Test":"TestSlow/case","Elapsed":3}
{"Action":"output","Package":"b","Test":"TestSlow","Output":"--- FAIL: TestSlow (3.00s)\n"}
{"Action":"fail","Package":"b","Test":"TestSlow","Elapsed":3}
{"Action":"output","Package":"b","Output":"FAIL\tb\t3.1s\n"}
{"Action":"fail","Package":"b","Elapsed":3.1}
{"ImportPath":"c","Action":"build-output","Output":"c/c.go:1:1: syntax error\n"}
{"ImportPath":"c","Action":"build-fail"}
go: some message from go test itself
`

func TestSummarize(t *testing.T) {
	var out strings.Builder
	s, err := summarize(strings.NewReader(stream), &out, 20)
	if err != nil {
		t.Fatal(err)
	}
	if s.passed != 1 || s.failed != 2 || s.skipped != 1 || s.pkgFailed != 1 || s.buildFailed != 1 || !s.bad() {
		t.Errorf("counts %+v", s)
	}
	got := out.String()
	for _, want := range []string{
		"ok  \ta\t0.2s\n",
		"b_test.go:9: wanted 2, got 3\n",
		"--- FAIL: TestSlow (3.00s)\n",
		"FAIL\tb\t3.1s\n",
		"c/c.go:1:1: syntax error\n",
		"go: some message from go test itself\n",
		"slowest 2 tests:\n      3.0s  b.TestSlow\n      0.1s  a.TestFast\n",
		"slowest 2 packages:\n      3.1s  b\n      0.2s  a\n",
		"skipped 1 tests:\n  a.TestSkip: a_test.go:5: set FAXAGENT_BENCH=1 to measure\n",
		"\ntests: 1 passed, 2 failed, 1 skipped\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	for _, noise := range []string{"=== RUN   TestFast", "--- PASS"} {
		if strings.Contains(got, noise) {
			t.Errorf("report shows passing output %q", noise)
		}
	}
	if !strings.HasSuffix(got, "tests: 1 passed, 2 failed, 1 skipped\n") {
		t.Errorf("the closing line is not last:\n%s", got)
	}
}

func TestSummarizeAllPassedAndNothingRan(t *testing.T) {
	for _, c := range []struct {
		in     string
		failed bool
	}{
		{`{"Action":"pass","Package":"a","Test":"TestX","Elapsed":0.1}` + "\n" + `{"Action":"pass","Package":"a","Elapsed":0.1}` + "\n", false},
		{`{"Action":"skip","Package":"a","Elapsed":0}` + "\n", true},
		{`{"Action":"output","Package":"a","Test":"TestX","Output":"panic: boom\n"}` + "\n" + `{"Action":"run","Package":"a","Test":"TestX"}` + "\n" + `{"Action":"fail","Package":"a","Elapsed":0.1}` + "\n", true},
	} {
		var out strings.Builder
		s, err := summarize(strings.NewReader(c.in), &out, 0)
		if err != nil || s.bad() != c.failed {
			t.Errorf("%q: failed %v (%v), want %v\n%s", c.in, s.bad(), err, c.failed, out.String())
		}
		if strings.Contains(c.in, "panic") && !strings.Contains(out.String(), "panic: boom") {
			t.Errorf("a crashed test's output is not shown:\n%s", out.String())
		}
	}
}
