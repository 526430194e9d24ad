package btsim

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/drivers/drivertest"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		spec   string
		number string
		line   Line
		err    bool
	}{
		{"9001=busy", "9001", Line{Kind: LineBusy}, false},
		{"9002=noanswer", "9002", Line{Kind: LineNoAnswer}, false},
		{"9003=drop", "9003", Line{Kind: LineDropAfter, Pages: 1}, false},
		{"9003=drop,pages=4", "9003", Line{Kind: LineDropAfter, Pages: 4}, false},
		{"9004=trainfail", "9004", Line{Kind: LineTrainFail}, false},
		{"9006=nofax", "9006", Line{Kind: LineNoFax}, false},
		{"9007=fax,rate=9600,csid=V29 REMOTE", "9007", Line{Kind: LineFax, Rate: 9600, CSID: "V29 REMOTE"}, false},
		{"+4930123=fax,csid=", "+4930123", Line{Kind: LineFax}, false},
		{"9007", "", Line{}, true},
		{"=fax", "", Line{}, true},
		{"90a=fax", "", Line{}, true},
		{"9007=modem", "", Line{}, true},
		{"9007=fax,rate=9601", "", Line{}, true},
		{"9007=fax,rate=fast", "", Line{}, true},
		{"9007=fax,rate=9600,rate=4800", "", Line{}, true},
		{"9007=fax,speed=9600", "", Line{}, true},
		{"9007=fax,csid", "", Line{}, true},
		{"9007=fax,csid=123456789012345678901", "", Line{}, true},
		{"9007=fax,csid=\x01", "", Line{}, true},
		{"9003=drop,pages=-1", "", Line{}, true},
	}
	for _, tc := range tests {
		n, l, err := ParseLine(tc.spec)
		if tc.err {
			if !errors.Is(err, ErrLineSpec) {
				t.Errorf("%q: err %v, want ErrLineSpec", tc.spec, err)
			}
			continue
		}
		if err != nil || n != tc.number || l != tc.line {
			t.Errorf("%q: %q %+v %v, want %q %+v", tc.spec, n, l, err, tc.number, tc.line)
			continue
		}
		if n2, l2, err := ParseLine(FormatLine(n, l)); err != nil || n2 != n || l2 != l {
			t.Errorf("%q: %q does not read back: %q %+v %v", tc.spec, FormatLine(n, l), n2, l2, err)
		}
	}
	// The default models can be written as flags.
	for n, l := range DefaultLines() {
		if n2, l2, err := ParseLine(FormatLine(n, l)); err != nil || n2 != n || l2 != l {
			t.Errorf("default %q: %q reads %+v %v", n, FormatLine(n, l), l2, err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"9001=busy", "9003=drop,pages=2", "9007=fax,rate=9600,csid=V29 REMOTE", "=", "9=fax,,", "9=fax,csid=a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		n, l, err := ParseLine(spec)
		if err != nil {
			if !errors.Is(err, ErrLineSpec) {
				t.Fatalf("%q: error %v is not ErrLineSpec", spec, err)
			}
			return
		}
		n2, l2, err := ParseLine(FormatLine(n, l))
		if err != nil || n2 != n || l2 != l {
			t.Fatalf("%q: %q reads back as %q %+v %v", spec, FormatLine(n, l), n2, l2, err)
		}
	})
}

func TestRunArgs(t *testing.T) {
	for _, args := range [][]string{
		{"-boards", "0"},
		{"-channels", "100"},
		{"-line", "9x=busy"},
		{"-line", "9100=weird"},
		{"-no-such-flag"},
		{"extra"},
		{"-listen", "unix:" + filepath.Join(t.TempDir(), "missing", "dir", "s.sock")},
	} {
		var stderr bytes.Buffer
		if err := Run(context.Background(), args, io.Discard, &stderr); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	if err := Run(context.Background(), []string{"-h"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// syncBuffer is a bytes.Buffer written by Run's goroutine and read by
// the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRun runs the standalone simulator with flags and drives it as the
// plugin would: boards and channels as asked, the line models of the
// flags, the loopback network's fax machine for other numbers; it stops
// when its context ends.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "run.sock")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, []string{"-listen", "unix:" + sock, "-boards", "1", "-channels", "2", "-no-default-lines",
			"-line", "9100=busy", "-line", "9101=fax,rate=9600,csid=RUN REMOTE", "-network"}, &stdout, io.Discard)
	}()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c *localsvc.Client
	for {
		var err error
		if c, err = localsvc.Dial(cctx, "unix:"+sock, nil); err == nil {
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("Run: %v", err)
		case <-cctx.Done():
			t.Fatalf("never served: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	defer c.Close()
	bs, err := c.Boards(cctx)
	if err != nil || len(bs) != 1 || len(bs[0].Channels) != 2 {
		t.Fatalf("boards %+v %v", bs, err)
	}
	src := filepath.Join(dir, "tx.tif")
	writeDoc(t, src, drivertest.Doc(2, imaging.WidthA4, 100, imaging.Fine, 3))
	tests := []struct {
		number string
		dial   t30.Code
		rate   int
		remote string
	}{
		{"9100", t30.CodeBusy, 0, ""},
		{"9005", t30.OK, 14400, ""}, // no longer a default line model: the network's fax machine
		{"9101", t30.OK, 9600, "RUN REMOTE"},
	}
	ch := vendor.ChannelRef{Board: 0, Channel: 1}
	for _, tc := range tests {
		con, err := c.Dial(cctx, ch, tc.number, vendor.DialOptions{})
		if err != nil || con.Code != tc.dial {
			t.Errorf("%s: dial %+v %v, want %v", tc.number, con, err, tc.dial)
			continue
		}
		if tc.dial != t30.OK {
			continue
		}
		comp, err := c.Send(cctx, ch, src, vendor.FaxOptions{ECM: true})
		if err != nil || comp.Code != t30.OK || comp.Pages != 2 || comp.Rate != tc.rate ||
			(tc.remote != "" && comp.RemoteCSID != tc.remote) {
			t.Errorf("%s: send %+v %v", tc.number, comp, err)
		}
		if err := c.Hangup(cctx, ch, 0); err != nil {
			t.Errorf("%s: hangup %v", tc.number, err)
		}
	}
	stop()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
	out := stdout.String()
	for _, want := range []string{"channel M0,1 number 7001", "9100=busy", "9101=fax,rate=9600,csid=RUN REMOTE"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}
