package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/faxagent/faxagent/testbench/scenarios"
)

// runTestbench runs end-to-end scenarios against this program's serve, or
// with "btsim" first, the Brooktrout board simulator (runBtsim).
func runTestbench(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "btsim" {
		if err := runBtsim(args[1:], stdout, stderr); !errors.Is(err, flag.ErrHelp) {
			return err
		}
		return nil
	}
	fs := flag.NewFlagSet("testbench", flag.ContinueOnError)
	report := fs.String("report", "", "write the JSON report to `FILE`")
	letter := fs.String("letter", "testdata/sample/letter.png", "the one-page sample document `FILE`")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound on each scenario (a `DURATION`)")
	list := fs.Bool("list", false, "list the scenarios and exit")
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *list {
		for _, n := range scenarios.Names() {
			fmt.Fprintf(stdout, "%-10s %s\n", n[0], n[1])
		}
		return nil
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	if _, err := os.Stat(*letter); err != nil {
		return fmt.Errorf("sample document: %w (run from the repository root or give --letter)", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := scenarios.Run(ctx, scenarios.Options{Binary: bin, Letter: *letter, Timeout: *timeout}, names, stdout)
	if err != nil {
		return err
	}
	if *report != "" {
		if err := scenarios.WriteReport(*report, rep); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", rep.Passed, rep.Failed)
	if rep.Failed > 0 {
		for _, r := range rep.Results {
			if !r.Pass && r.ServerLog != "" {
				fmt.Fprintf(stderr, "--- %s: server log\n%s", r.Name, r.ServerLog)
			}
		}
		return fmt.Errorf("%d scenario(s) failed", rep.Failed)
	}
	return nil
}
