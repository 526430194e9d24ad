package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout"
)

// newBrooktrout starts the Brooktrout driver the configuration describes
// and discovers its ports (the driver's Open is idempotent: the agent's
// Open later finds it open). A port ID another driver already has is an
// error.
func newBrooktrout(ctx context.Context, c BrooktroutCfg, dataDir string, taken map[string]bool, log *slog.Logger) (*brooktrout.Driver, []drivers.PortInfo, error) {
	spool := c.Spool
	if spool == "" {
		spool = filepath.Join(dataDir, "brooktrout-spool")
	}
	// The service opens the files by the paths it is given.
	spool, err := filepath.Abs(spool)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, nil, fmt.Errorf("brooktrout spool: %w", err)
	}
	d := brooktrout.New(brooktrout.Options{PluginPath: c.Plugin, ServiceAddr: c.Service, Spool: spool, Log: log.With("driver", "brooktrout")})
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := d.Open(octx); err != nil {
		d.Close()
		return nil, nil, fmt.Errorf("brooktrout (plugin %s, service %s): %w", c.Plugin, c.Service, err)
	}
	ports := d.Ports()
	for _, p := range ports {
		if taken[p.ID] {
			d.Close()
			return nil, nil, fmt.Errorf("brooktrout: port %s is also a loopback or FoIP port: turn the loopback off (agent: loopback: enabled: false) or move the FoIP board", p.ID)
		}
	}
	for _, b := range c.Boards {
		if !slices.ContainsFunc(ports, func(p drivers.PortInfo) bool { return p.Board == b }) {
			d.Close()
			return nil, nil, fmt.Errorf("brooktrout: board %d is not among the service's boards", b)
		}
	}
	return d, ports, nil
}
