package testutil

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// recorder is a testing.TB that records how a helper ended the test.
type recorder struct {
	testing.TB
	failed, skipped string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	panic(r)
}

// ended runs f against a recorder and returns it once f ends the test.
func ended(f func(tb testing.TB)) (r *recorder) {
	r = &recorder{}
	defer func() {
		if v := recover(); v != nil && v != r {
			panic(v)
		}
	}()
	f(r)
	return r
}

func TestMissingFailsUnderCIAndSkipsOtherwise(t *testing.T) {
	for _, c := range []struct {
		ci           string
		fails, skips bool
	}{{"true", true, false}, {"", false, true}, {"false", false, true}} {
		t.Setenv("CI", c.ci)
		r := ended(func(tb testing.TB) { NeedTool(tb, "sh", "faxagent-no-such-tool") })
		if (r.failed != "") != c.fails || (r.skipped != "") != c.skips {
			t.Errorf("CI=%q: failed %q skipped %q", c.ci, r.failed, r.skipped)
		}
	}
	t.Setenv("CI", "true")
	if r := ended(func(tb testing.TB) { NeedTool(tb, "sh") }); r.failed != "" || r.skipped != "" {
		t.Errorf("sh is on PATH, yet %q %q", r.failed, r.skipped)
	}
}

func TestNeedRealtime(t *testing.T) {
	for _, c := range []struct {
		ci, realtime string
		runs         bool
	}{{"true", "", true}, {"", "1", true}, {"", "", false}, {"", "0", false}} {
		t.Setenv("CI", c.ci)
		t.Setenv("FAXAGENT_REALTIME", c.realtime)
		r := ended(func(tb testing.TB) { NeedRealtime(tb, "a call") })
		if (r.skipped == "") != c.runs || r.failed != "" {
			t.Errorf("CI=%q FAXAGENT_REALTIME=%q: skipped %q failed %q", c.ci, c.realtime, r.skipped, r.failed)
		}
	}
}

func TestDebianPackage(t *testing.T) {
	for tool, want := range map[string]string{
		"tiffcp": "libtiff-tools", "tiffcmp": "libtiff-tools", "tifftopnm": "netpbm", "pnmtopng": "netpbm",
		"pbmtext": "netpbm", "pamtotiff": "netpbm", "g3topbm": "netpbm", "fax2tiff": "libtiff-tools",
		"pdftoppm": "poppler-utils", "pdfimages": "poppler-utils", "sipp": "sip-tester", "kamailio": "kamailio",
	} {
		if got := debianPackage(tool); got != want {
			t.Errorf("%s: %s, want %s", tool, got, want)
		}
	}
}

// TestBound checks the /proc/net reading against sockets this test binds,
// before, while and after they are bound.
func TestBound(t *testing.T) {
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up, tp := u.LocalAddr().(*net.UDPAddr).Port, l.Addr().(*net.TCPAddr).Port
	for _, c := range []struct {
		network string
		port    int
	}{{"udp", up}, {"tcp", tp}} {
		if ok, err := Bound(c.network, c.port); !ok || err != nil {
			t.Errorf("%s %d bound: %v %v", c.network, c.port, ok, err)
		}
	}
	u.Close()
	l.Close()
	if ok, _ := Bound("udp", up); ok {
		t.Errorf("udp %d still bound after Close", up)
	}
	WaitFor(t, 10*time.Second, "tcp listener gone", func() bool { ok, _ := Bound("tcp", tp); return !ok })
}

func TestBinaryBuildsOnceOnDemand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	b := NewBinary("github.com/faxagent/faxagent/internal/testutil/testdata/hello", "CGO_ENABLED=0")
	defer b.Remove()
	if b.dir != "" {
		t.Fatal("built before anyone asked")
	}
	p1, p2 := b.Path(t), b.Path(t)
	if p1 != p2 {
		t.Fatalf("built twice: %s %s", p1, p2)
	}
}

// TestResources checks the leak check finds a goroutine and a socket
// started after the snapshot, ignores what was there before, and sees
// them go.
func TestResources(t *testing.T) {
	older, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer older.Close()
	r := Snapshot()
	if gs, socks := r.Since(); len(gs) != 0 || len(socks) != 0 {
		t.Fatalf("fresh snapshot: %d goroutines %v sockets", len(gs), socks)
	}
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, stop := make(chan struct{}), make(chan struct{})
	go leakMarker(started, stop)
	<-started
	gs, socks := r.Since("testutil.leakMarker")
	if len(gs) != 1 || len(socks) != 1 {
		t.Fatalf("with one goroutine and one socket open: %d goroutines, sockets %v", len(gs), socks)
	}
	if gs, _ := r.Since("no.such/marker"); len(gs) != 0 {
		t.Fatalf("marker filter: %d goroutines", len(gs))
	}
	close(stop)
	c.Close()
	r.WaitReleased(t, 10*time.Second, "testutil.leakMarker")
}

func leakMarker(started, stop chan struct{}) { close(started); <-stop }
