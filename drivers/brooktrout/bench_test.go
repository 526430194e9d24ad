package brooktrout

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/drivers/loopback"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
	"github.com/faxagent/faxagent/testbench/btsim"
)

// TestDirectService runs the driver over a localsvc client in this
// process (no plugin): the same Result as through the plugin.
func TestDirectService(t *testing.T) {
	d, _ := directDriver(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, "M0,1", "9007", drivers.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(ctx, drivertest.Doc(2, imaging.WidthA4, 100, imaging.Standard, 1), drivers.SendParams{}, nil)
	if err != nil || res.PagesConfirmed != 2 || res.Protocol() != "V29" || res.RemoteIdent != "V29 REMOTE" {
		t.Fatalf("%v %+v", err, res)
	}
}

func directDriver(tb testing.TB) (*Driver, *btsim.Sim) {
	tb.Helper()
	dir := tb.TempDir()
	sock := filepath.Join(dir, "bt.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	sim := btsim.New(btsim.Config{PageTime: time.Microsecond, RingTime: time.Microsecond})
	go sim.Serve(ln)
	tb.Cleanup(func() { sim.Close() })
	d := New(Options{Spool: dir, ServiceAddr: "unix:" + sock})
	d.connect = func(ctx context.Context) (vendor.Service, error) {
		return localsvc.Dial(ctx, "unix:"+sock, slog.New(slog.DiscardHandler))
	}
	if err := d.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d, sim
}

func pluginDriver(tb testing.TB) *Driver {
	tb.Helper()
	dir := tb.TempDir()
	sock := filepath.Join(dir, "bt.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	sim := btsim.New(btsim.Config{PageTime: time.Microsecond, RingTime: time.Microsecond})
	go sim.Serve(ln)
	tb.Cleanup(func() { sim.Close() })
	d := New(Options{PluginPath: pluginBinary.Path(tb), ServiceAddr: "unix:" + sock, Spool: dir})
	if err := d.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkPluginHop measures one call (dial, a 1-page send, hang-up) on
// the same document three ways: the loopback driver (our T.30 engine in
// this process, virtual time), the Brooktrout driver straight over the
// local protocol to btsim (which runs the same engine), and the Brooktrout
// driver through the plugin process. plugin minus direct is the plugin hop
// (gRPC round trips, process boundary); direct minus loopback is the local
// protocol and the spool hand-off of the document.
func BenchmarkPluginHop(b *testing.B) {
	doc := drivertest.Doc(1, imaging.WidthA4, 1100, imaging.Fine, 1)
	for _, mode := range []string{"loopback", "direct", "plugin"} {
		b.Run(mode, func(b *testing.B) {
			var d drivers.Driver
			switch mode {
			case "loopback":
				n := loopback.NewNetwork(loopback.Options{Mode: loopback.Virtual})
				ld := loopback.New(n, loopback.DriverOptions{Numbers: []string{"7000"}})
				if err := ld.Open(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { ld.Close(); n.Close() })
				d = ld
			case "direct":
				d, _ = directDriver(b)
			default:
				d = pluginDriver(b)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				c, err := d.Dial(ctx, "M0,0", "9005", drivers.DialOptions{})
				if err != nil {
					b.Fatal(err)
				}
				res, err := c.Send(ctx, doc, drivers.SendParams{}, nil)
				if err != nil || res.Code != t30.OK {
					b.Fatal(err)
				}
				for d.Ports()[0].State != drivers.StateIdle {
					time.Sleep(10 * time.Microsecond)
				}
			}
		})
	}
}

// BenchmarkRoundTrip is one request and response (STATUS) straight over
// the local protocol and through the plugin: a call makes three of them
// (dial, send, hang-up) plus its page events.
func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range []string{"direct", "plugin"} {
		b.Run(mode, func(b *testing.B) {
			var d *Driver
			if mode == "direct" {
				d, _ = directDriver(b)
			} else {
				d = pluginDriver(b)
			}
			d.mu.Lock()
			svc := d.inst.svc
			d.mu.Unlock()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.Status(ctx, vendor.ChannelRef{Board: 1, Channel: 2}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
