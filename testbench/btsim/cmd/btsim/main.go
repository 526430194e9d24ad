// Command btsim runs the Brooktrout board simulator (package
// testbench/btsim) standalone: a local service on a unix socket or
// 127.0.0.1 TCP port that faxagent-brooktrout connects to.
//
//	btsim -listen unix:/run/faxagent/bt.sock -boards 2 -channels 4 -page-time 1s
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
	"github.com/faxagent/faxagent/testbench/btsim"
)

func main() {
	listen := flag.String("listen", "unix:/tmp/btsim.sock", `address: "unix:/path" or "tcp:127.0.0.1:port"`)
	boards := flag.Int("boards", 2, "boards")
	channels := flag.Int("channels", 4, "channels per board")
	pageTime := flag.Duration("page-time", 0, "time per page (0: 1ms)")
	ringTime := flag.Duration("ring-time", 0, "ring time before an answer (0: 1ms)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	network, addr := localsvc.SplitAddr(*listen)
	if network == "unix" {
		_ = os.Remove(addr)
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "btsim:", err)
		os.Exit(1)
	}
	sim := btsim.New(btsim.Config{Boards: *boards, Channels: *channels, PageTime: *pageTime, RingTime: *ringTime, Log: log})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; sim.Close() }()
	log.Info("btsim serving", "addr", *listen, "boards", *boards, "channels", *channels)
	for b := 0; b < *boards; b++ {
		for c := 0; c < *channels; c++ {
			log.Info("channel", "port", fmt.Sprintf("M%d,%d", b, c), "number", btsim.Number(b, c))
		}
	}
	if err := sim.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "btsim:", err)
		os.Exit(1)
	}
}
