// Command btsim runs the Brooktrout board simulator (package
// testbench/btsim) standalone until SIGINT or SIGTERM: a local service on
// a unix socket or 127.0.0.1 TCP port that faxagent-brooktrout connects
// to. `faxagent testbench btsim` is the same.
//
//	btsim -listen unix:/run/faxagent/bt.sock -boards 2 -channels 4 -page-time 1s \
//	    -line 9100=busy -line 9101=fax,rate=9600,csid=REMOTE
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/faxagent/faxagent/testbench/btsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := btsim.Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
