package v17

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The SpanDSP peer (testdata/v17peer.c) is built once per test binary.
var peerBuild = sync.OnceValues(func() (string, error) {
	for _, tool := range []string{"gcc", "pkg-config"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%s not found", tool)
		}
	}
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "spandsp").Output()
	if err != nil {
		return "", fmt.Errorf("pkg-config spandsp: %v (install libspandsp-dev)", err)
	}
	dir, err := os.MkdirTemp("", "v17peer")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "v17peer")
	args := append([]string{"-O2", "-Wall", "-o", bin, filepath.Join("testdata", "v17peer.c")}, strings.Fields(string(flags))...)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("gcc: %v\n%s", err, out)
	}
	return bin, nil
})

// peer returns the SpanDSP peer binary, skipping the test when it cannot
// be built (failing it under CI=true, where SpanDSP is required).
func peer(t testing.TB) string {
	t.Helper()
	bin, err := peerBuild()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("SpanDSP V.17 peer: %v", err)
		}
		t.Skipf("SpanDSP V.17 peer unavailable: %v", err)
	}
	return bin
}

// burst is one carrier: its training and its data bits.
type burst struct {
	short bool
	tep   bool   // SpanDSP sends its talker echo protection tone first
	bits  []byte // 0 or 1
}

func kinds(bursts []burst) []string {
	var k []string
	for _, b := range bursts {
		s := "L"
		if b.short {
			s = "S"
		}
		if b.tep {
			s += "T"
		}
		k = append(k, s)
	}
	return k
}

// peerGap is the silence the peer puts after each burst, in samples.
const peerGap = 800

// spandspTx returns SpanDSP's V.17 transmitter's samples for the bursts.
func spandspTx(t testing.TB, rate int, bursts []burst) []int16 {
	t.Helper()
	var in bytes.Buffer
	for _, b := range bursts {
		fmt.Fprintf(&in, "%d\n", len(b.bits))
		for _, x := range b.bits {
			in.WriteByte('0' + x)
		}
		in.WriteByte('\n')
	}
	cmd := exec.Command(peer(t), append([]string{"tx", fmt.Sprint(rate)}, kinds(bursts)...)...)
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("v17peer tx: %v", err)
	}
	s := make([]int16, len(out)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return s
}

// rxReport is what a receiver made of a signal: per carrier, its events
// and the bits between training and carrier-down.
type rxReport struct {
	events []string
	bits   [][]byte
	cpuNS  float64 // CPU time SpanDSP's receiver took
}

// burstStarts finds where each burst of a clean signal starts: after
// runs of at least peerGap/2 zero samples.
func burstStarts(samples []int16) []int {
	starts := []int{0}
	zeros := 0
	for i, s := range samples {
		if s != 0 {
			if zeros >= peerGap/2 && i > zeros {
				starts = append(starts, i)
			}
			zeros = 0
			continue
		}
		zeros++
	}
	return starts
}

// spandspRx runs SpanDSP's V.17 receiver over samples, restarting it for
// each burst's training a little before the burst starts (starts[i]).
func spandspRx(t testing.TB, rate int, bursts []burst, samples []int16, starts []int) rxReport {
	t.Helper()
	in := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(in[2*i:], uint16(s))
	}
	args := []string{"rx", fmt.Sprint(rate)}
	for i, k := range kinds(bursts) {
		at := 0
		if i < len(starts) {
			at = max(0, starts[i]-peerGap/3)
		}
		args = append(args, fmt.Sprintf("%s:%d", k[:1], at))
	}
	cmd := exec.Command(peer(t), args...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("v17peer rx: %v", err)
	}
	var r rxReport
	var cur []byte
	for _, line := range strings.Split(string(out), "\n") {
		if c, ok := strings.CutPrefix(line, "C "); ok {
			fmt.Sscan(c, &r.cpuNS)
			continue
		}
		if ev, ok := strings.CutPrefix(line, "E "); ok {
			r.events = append(r.events, ev)
			switch ev {
			case "trained":
				cur = []byte{}
			case "down":
				if cur != nil {
					r.bits = append(r.bits, cur)
				}
				cur = nil
			}
			continue
		}
		if cur != nil {
			for _, c := range line {
				cur = append(cur, byte(c-'0'))
			}
		}
	}
	if cur != nil {
		r.bits = append(r.bits, cur)
	}
	return r
}
