package spandsp

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// PeerResult is what the SpanDSP terminal reported at T.30 phase E.
type PeerResult struct {
	Code    int // SpanDSP T30_ERR_* (0 is OK)
	Text    string
	PagesTx int
	PagesRx int
	BadRows int
	BitRate int
	ECM     bool
}

// OK reports whether SpanDSP's completion code is T30_ERR_OK.
func (r *PeerResult) OK() bool { return r.Code == 0 }

func parseEnd(line string) (*PeerResult, error) {
	f := strings.SplitN(line, " ", 8)
	if len(f) < 8 || f[0] != "end" {
		return nil, fmt.Errorf("spandsp peer: bad end line %q", line)
	}
	var n [6]int
	for i := range n {
		v, err := strconv.Atoi(f[i+1])
		if err != nil {
			return nil, fmt.Errorf("spandsp peer: bad end line %q", line)
		}
		n[i] = v
	}
	return &PeerResult{Code: n[0], PagesTx: n[1], PagesRx: n[2], BadRows: n[3], BitRate: n[4], ECM: n[5] != 0, Text: f[7]}, nil
}

// TerminalPeer drives "t38peer terminal pipe": a SpanDSP t38_terminal in
// lockstep virtual time. Each Tick hands it the datagrams that reached it
// and advances its time; it returns what it sent meanwhile.
type TerminalPeer struct {
	cmd *exec.Cmd
	in  *bufio.Writer
	inc io.WriteCloser
	out *bufio.Reader
	res *PeerResult
}

// StartTerminalPipe starts a SpanDSP terminal that sends (send true) or
// receives the TIFF file, with options such as "version=2", "ecm=1",
// "modems=4", "comp=2", "red=3".
func StartTerminalPipe(ctx context.Context, bin string, send bool, file string, opts ...string) (*TerminalPeer, error) {
	mode := "recv"
	if send {
		mode = "send"
	}
	args := append([]string{"terminal", "pipe", mode, file}, opts...)
	cmd := exec.CommandContext(ctx, bin, args...)
	in, out, err := startPiped(cmd)
	if err != nil {
		return nil, err
	}
	return &TerminalPeer{cmd: cmd, in: bufio.NewWriterSize(in, 1<<16), inc: in, out: bufio.NewReaderSize(out, 1<<16)}, nil
}

// Tick delivers rx to the peer, advances it by samples (8000 per second)
// and returns the datagrams it sent. Result is non-nil once phase E ran.
func (p *TerminalPeer) Tick(rx [][]byte, samples int) (tx [][]byte, err error) {
	for _, d := range rx {
		p.in.WriteString("rx ")
		p.in.WriteString(hex.EncodeToString(d))
		p.in.WriteByte('\n')
	}
	fmt.Fprintf(p.in, "tick %d\n", samples)
	if err := p.in.Flush(); err != nil {
		return nil, err
	}
	for {
		line, err := p.out.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("spandsp peer: %w", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "tx "):
			d, err := hex.DecodeString(line[3:])
			if err != nil {
				return nil, fmt.Errorf("spandsp peer: bad tx line: %w", err)
			}
			tx = append(tx, d)
		case line == "ok":
			return tx, nil
		case strings.HasPrefix(line, "end "):
			if p.res, err = parseEnd(line); err != nil {
				return nil, err
			}
			return tx, nil
		default:
			return nil, fmt.Errorf("spandsp peer: unexpected %q", line)
		}
	}
}

// Result returns the phase E result, or nil before it.
func (p *TerminalPeer) Result() *PeerResult { return p.res }

// Close ends the peer.
func (p *TerminalPeer) Close() error {
	p.inc.Close()
	return p.cmd.Wait()
}

// UDPPeer is "t38peer terminal udp": a SpanDSP terminal on 127.0.0.1 in
// real time.
type UDPPeer struct {
	cmd *exec.Cmd
	end chan *PeerResult
	err chan error
}

// StartTerminalUDP starts a SpanDSP terminal listening on localPort and
// sending to remotePort on 127.0.0.1.
func StartTerminalUDP(ctx context.Context, bin string, localPort, remotePort int, send bool, file string, opts ...string) (*UDPPeer, error) {
	mode := "recv"
	if send {
		mode = "send"
	}
	args := append([]string{"terminal", "udp", strconv.Itoa(localPort), strconv.Itoa(remotePort), mode, file}, opts...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &UDPPeer{cmd: cmd, end: make(chan *PeerResult, 1), err: make(chan error, 1)}
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("spandsp udp peer did not start: %q %v", line, err)
	}
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				p.err <- fmt.Errorf("spandsp udp peer: %w", err)
				return
			}
			if strings.HasPrefix(line, "end ") {
				res, err := parseEnd(strings.TrimSuffix(line, "\n"))
				if err != nil {
					p.err <- err
					return
				}
				p.end <- res
				return
			}
		}
	}()
	return p, nil
}

// End returns a channel that yields the phase E result.
func (p *UDPPeer) End() <-chan *PeerResult { return p.end }

// Err returns a channel that yields a failure to read the peer.
func (p *UDPPeer) Err() <-chan error { return p.err }

// Close waits for the peer to exit (it does one second after phase E).
func (p *UDPPeer) Close() error { return p.cmd.Wait() }
