package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/faxagent/faxagent/testbench/btsim"
)

// runBtsim is `faxagent testbench btsim`: the Brooktrout board simulator
// standalone, a local service the faxagent-brooktrout plugin connects to,
// until SIGINT or SIGTERM. Flags (see btsim.Run): -listen unix:/path or
// tcp:127.0.0.1:port, -boards, -channels, -line NUMBER=KIND[,pages=K]
// [,rate=R][,csid=TEXT] (repeatable), -no-default-lines, -network,
// -deliveries, -page-time, -ring-time, -response-delay, -copy-only.
func runBtsim(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return btsim.Run(ctx, args, stdout, stderr)
}
