// Package btplugin is the plugin side of the Brooktrout bridge: what the
// faxagent-brooktrout binary runs. It connects to the vendor's local board
// service through a vendor.Service (today localsvc, the protocol of
// PROTOCOL.md) and serves it to the host over go-plugin's gRPC transport
// with a versioned handshake.
//
// When the connection to the board service is lost the plugin exits: the
// host sees the process end, takes the ports down, fails the calls in
// flight as call dropped and restarts the plugin with back-off, which
// reconnects and reopens the channels. One recovery path covers a crashed
// plugin and a restarted service.
//
// btplugin imports drivers/brooktrout/vendor, localsvc and the internal
// bridge; it must never import drivers, agent or core.
package btplugin

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/faxagent/faxagent/drivers/brooktrout/internal/bridge"
	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
)

// Environment the host sets for the plugin process.
const (
	// EnvService is the address of the local service: "unix:/path" or
	// "tcp:127.0.0.1:port".
	EnvService = "FAXAGENT_BT_SERVICE"
	// EnvVersion overrides the plugin protocol version the plugin offers
	// (for testing the handshake; leave unset).
	EnvVersion = "FAXAGENT_BT_PLUGIN_VERSION"
)

// Main runs the plugin and returns the process exit code.
func Main() int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if os.Getenv(bridge.Handshake(0).MagicCookieKey) == "" {
		fmt.Fprintln(os.Stderr, "faxagent-brooktrout is a plugin of faxagent; the agent starts it (driver brooktrout).")
		return 1
	}
	addr := os.Getenv(EnvService)
	if addr == "" {
		log.Error("no board service address", "env", EnvService)
		return 1
	}
	version := uint(bridge.ProtocolVersion)
	if v := os.Getenv(EnvVersion); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			log.Error("bad plugin version override", "value", v)
			return 1
		}
		version = uint(n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	svc, err := localsvc.Dial(ctx, addr, log)
	cancel()
	if err != nil {
		log.Error("cannot reach the board service", "addr", addr, "err", err)
		return 2
	}
	go watchParent(log)
	go func() {
		<-svc.Done()
		log.Error("board service connection lost; exiting so the host restarts us", "err", svc.Err())
		os.Exit(3)
	}()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: bridge.Handshake(version),
		Plugins:         plugin.PluginSet{bridge.PluginName: &bridge.Plugin{Impl: svc}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
	return 0
}

// watchParent exits when the host process is gone (the plugin was
// re-parented), so that an orphaned plugin does not keep the board
// channels open against the host's next plugin.
func watchParent(log *slog.Logger) {
	parent := os.Getppid()
	for range time.Tick(time.Second) {
		if os.Getppid() != parent {
			log.Error("host process gone; exiting")
			os.Exit(4)
		}
	}
}
