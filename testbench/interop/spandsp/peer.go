// Package spandsp runs SpanDSP (Debian's libspandsp-dev) as an independent
// T.38 peer for faxagent's interop tests. The peer is a small C program,
// t38peer.c, compiled with gcc when a test needs it; faxagent's own packages
// stay cgo-free and never import this one.
//
// This package may import anything in the module (it is testbench code) but
// nothing may import it outside tests.
package spandsp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrNoToolchain means gcc, pkg-config or SpanDSP's development files are
// missing, so the peer cannot be built.
var ErrNoToolchain = errors.New("spandsp: cannot build the SpanDSP peer")

// Source returns the path of csrc/t38peer.c (kept out of the Go package
// directory, where the go tool refuses C files without cgo).
func Source() string { return csource("t38peer.c") }

func csource(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "csrc", name)
}

// Build compiles t38peer.c into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	return compile(ctx, dir, "t38peer")
}

// compile builds csrc/NAME.c against SpanDSP into dir/NAME.
func compile(ctx context.Context, dir, name string) (string, error) {
	for _, tool := range []string{"gcc", "pkg-config"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%w: %s not found", ErrNoToolchain, tool)
		}
	}
	flags, err := exec.CommandContext(ctx, "pkg-config", "--cflags", "--libs", "spandsp").Output()
	if err != nil {
		return "", fmt.Errorf("%w: pkg-config spandsp: %v (install libspandsp-dev)", ErrNoToolchain, err)
	}
	bin := filepath.Join(dir, name)
	args := append([]string{"-O2", "-Wall", "-o", bin, csource(name + ".c")}, strings.Fields(string(flags))...)
	if out, err := exec.CommandContext(ctx, "gcc", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: gcc: %v\n%s", ErrNoToolchain, err, out)
	}
	return bin, nil
}

// Codec drives "t38peer codec encode|decode VERSION" in lockstep: one line
// in, one line out.
type Codec struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// StartCodec starts the peer binary bin in codec mode.
func StartCodec(ctx context.Context, bin string, encode bool, version int) (*Codec, error) {
	mode := "decode"
	if encode {
		mode = "encode"
	}
	cmd := exec.CommandContext(ctx, bin, "codec", mode, fmt.Sprint(version))
	in, out, err := startPiped(cmd)
	if err != nil {
		return nil, err
	}
	return &Codec{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}, nil
}

// startPiped starts cmd with its stdin and stdout piped to the caller
// and its stderr on ours.
func startPiped(cmd *exec.Cmd) (io.WriteCloser, io.Reader, error) {
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return in, out, nil
}

// Do sends one request line and returns the peer's answer line ("ERR" when
// SpanDSP refused).
func (c *Codec) Do(line string) (string, error) {
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		return "", err
	}
	s, err := c.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("spandsp peer: %w", err)
	}
	return strings.TrimSuffix(s, "\n"), nil
}

// Close ends the peer and waits for it.
func (c *Codec) Close() error {
	c.in.Close()
	return c.cmd.Wait()
}
