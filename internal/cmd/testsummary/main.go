// Command testsummary reads `go test -json` on standard input and writes
// what a person wants from a CI run: one line per package (as go test
// prints it), the whole output of every failing test and failing package,
// the slowest tests and packages, and a closing "tests: N passed, N
// failed, N skipped" line. It exits 1 when anything failed (a test, a
// package, a build) or when no test ran.
//
// It imports nothing of faxagent.
package main

import (
	"fmt"
	"os"
)

func main() {
	s, err := summarize(os.Stdin, os.Stdout, 20)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if s.bad() {
		os.Exit(1)
	}
}
