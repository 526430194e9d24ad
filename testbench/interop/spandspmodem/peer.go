// Package spandspmodem runs SpanDSP's V.27 ter and V.29 data pumps
// (Debian's libspandsp-dev) as an independent peer for faxagent's modem
// interop tests: csrc/modempeer.c, compiled with gcc when a test needs it,
// transmits a bit string into samples or receives samples into bits and
// status events. faxagent's own packages stay cgo-free and never import
// this one.
//
// It may import anything in the module (it is testbench code); nothing may
// import it outside tests.
package spandspmodem

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ErrNoToolchain means gcc, pkg-config or SpanDSP's development files are
// missing, so the peer cannot be built.
var ErrNoToolchain = errors.New("spandspmodem: cannot build the SpanDSP modem peer")

// Source returns the path of csrc/modempeer.c.
func Source() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "csrc", "modempeer.c")
}

// Build compiles modempeer.c into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	for _, tool := range []string{"gcc", "pkg-config"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%w: %s not found", ErrNoToolchain, tool)
		}
	}
	flags, err := exec.CommandContext(ctx, "pkg-config", "--cflags", "--libs", "spandsp").Output()
	if err != nil {
		return "", fmt.Errorf("%w: pkg-config spandsp: %v (install libspandsp-dev)", ErrNoToolchain, err)
	}
	bin := filepath.Join(dir, "modempeer")
	args := append([]string{"-O2", "-Wall", "-o", bin, Source()}, strings.Fields(string(flags))...)
	if out, err := exec.CommandContext(ctx, "gcc", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: gcc: %v\n%s", ErrNoToolchain, err, out)
	}
	return bin, nil
}

// Peer is a built modempeer.
type Peer struct{ Bin string }

// Received is what a receiver reported: the bits and, in order, the status
// events as letters (U carrier up, T training succeeded, F training failed,
// D carrier down), with Offsets[i] the number of bits before Events[i].
type Received struct {
	Bits    []int
	Events  string
	Offsets []int
}

// Tx has SpanDSP's transmitter for modem ("v27ter" or "v29") at rate send
// bits; it returns the samples and the CPU time SpanDSP spent in the modem.
func (p Peer) Tx(ctx context.Context, modem string, rate int, bits []int) ([]int16, time.Duration, error) {
	return p.tx(ctx, modem, rate, bits)
}

// TxTEP is Tx with the training preceded by the talker echo protection
// tone (unmodulated carrier, then a short silence).
func (p Peer) TxTEP(ctx context.Context, modem string, rate int, bits []int) ([]int16, time.Duration, error) {
	return p.tx(ctx, modem, rate, bits, "tep")
}

func (p Peer) tx(ctx context.Context, modem string, rate int, bits []int, extra ...string) ([]int16, time.Duration, error) {
	in := make([]byte, len(bits))
	for i, b := range bits {
		in[i] = '0' + byte(b&1)
	}
	out, cpu, err := p.run(ctx, in, append([]string{"tx", modem, strconv.Itoa(rate)}, extra...)...)
	if err != nil {
		return nil, 0, err
	}
	s := make([]int16, len(out)/2)
	if _, err := binary.Decode(out[:2*len(s)], binary.LittleEndian, s); err != nil {
		return nil, 0, err
	}
	return s, cpu, nil
}

// Rx has SpanDSP's receiver for modem at rate demodulate samples.
func (p Peer) Rx(ctx context.Context, modem string, rate int, samples []int16) (Received, time.Duration, error) {
	in, err := binary.Append(nil, binary.LittleEndian, samples)
	if err != nil {
		return Received{}, 0, err
	}
	out, cpu, err := p.run(ctx, in, "rx", modem, strconv.Itoa(rate))
	if err != nil {
		return Received{}, 0, err
	}
	var r Received
	for _, c := range out {
		switch c {
		case '0', '1':
			r.Bits = append(r.Bits, int(c-'0'))
		default:
			r.Events += string(c)
			r.Offsets = append(r.Offsets, len(r.Bits))
		}
	}
	return r, cpu, nil
}

func (p Peer) run(ctx context.Context, in []byte, args ...string) ([]byte, time.Duration, error) {
	cmd := exec.CommandContext(ctx, p.Bin, args...)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("modempeer %v: %w: %s", args, err, stderr.String())
	}
	var ns int64
	for _, line := range strings.Split(stderr.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "cpu_ns "); ok {
			ns, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return stdout.Bytes(), time.Duration(ns), nil
}
