package spandsp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// BuildAudio compiles csrc/faxpeer.c (SpanDSP's audio fax terminal) into
// dir and returns the binary's path.
func BuildAudio(ctx context.Context, dir string) (string, error) {
	return compile(ctx, dir, "faxpeer")
}

// AudioPeer drives "faxpeer audio": SpanDSP's fax_state (its own modems
// and T.30) on 8 kHz samples in lockstep virtual time.
type AudioPeer struct {
	cmd  *exec.Cmd
	in   *bufio.Writer
	inc  io.WriteCloser
	out  *bufio.Reader
	res  *PeerResult
	line []byte
	tx   []int16
}

// StartAudio starts a SpanDSP fax terminal that sends (send true) or
// receives the TIFF file, with options such as "ecm=1", "modems=4",
// "comp=2", "calling=1", "debug=1".
func StartAudio(ctx context.Context, bin string, send bool, file string, opts ...string) (*AudioPeer, error) {
	mode := "recv"
	if send {
		mode = "send"
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"audio", mode, file}, opts...)...)
	in, out, err := startPiped(cmd)
	if err != nil {
		return nil, err
	}
	return &AudioPeer{cmd: cmd, in: bufio.NewWriterSize(in, 1<<16), inc: in, out: bufio.NewReaderSize(out, 1<<16)}, nil
}

const hexDigits = "0123456789abcdef"

// Tick hands the peer rx (what reached it since the last tick), lets it
// make n samples and returns them (valid until the next Tick). Result is
// non-nil once its phase E ran.
func (p *AudioPeer) Tick(rx []int16, n int) ([]int16, error) {
	p.line = fmt.Appendf(p.line[:0], "tick %d ", n)
	for _, s := range rx {
		v := uint16(s)
		p.line = append(p.line, hexDigits[v>>12], hexDigits[v>>8&15], hexDigits[v>>4&15], hexDigits[v&15])
	}
	p.line = append(p.line, '\n')
	if _, err := p.in.Write(p.line); err != nil {
		return nil, err
	}
	if err := p.in.Flush(); err != nil {
		return nil, err
	}
	p.tx = p.tx[:0]
	for {
		line, err := p.out.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("spandsp audio peer: %w", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "tx "):
			h := line[3:]
			if len(h) != 4*n {
				return nil, fmt.Errorf("spandsp audio peer: %d hex digits for %d samples", len(h), n)
			}
			for i := 0; i+4 <= len(h); i += 4 {
				var v uint16
				for _, c := range h[i : i+4] {
					v = v<<4 | uint16(strings.IndexRune(hexDigits, c))
				}
				p.tx = append(p.tx, int16(v))
			}
		case line == "ok":
			return p.tx, nil
		case strings.HasPrefix(line, "end "):
			if p.res, err = parseEnd(line); err != nil {
				return nil, err
			}
			return p.tx, nil
		default:
			return nil, fmt.Errorf("spandsp audio peer: unexpected %q", line)
		}
	}
}

// Result returns the phase E result, or nil before it.
func (p *AudioPeer) Result() *PeerResult { return p.res }

// Close ends the peer.
func (p *AudioPeer) Close() error {
	p.inc.Close()
	return p.cmd.Wait()
}

// G711Tables runs "faxpeer g711": SpanDSP's µ-law and A-law codes of every
// 16-bit input (index x+32768) and its decodings of every code.
func G711Tables(ctx context.Context, bin string) (ulaw, alaw []byte, ulawDec, alawDec []int16, err error) {
	out, err := exec.CommandContext(ctx, bin, "g711").Output()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || len(lines[0]) != 2*65536 || len(lines[1]) != 2*65536 || len(lines[2]) != 4*256 || len(lines[3]) != 4*256 {
		return nil, nil, nil, nil, fmt.Errorf("faxpeer g711: unexpected output")
	}
	hexv := func(s string) (v int) {
		for _, c := range s {
			v = v<<4 | strings.IndexRune(hexDigits, c)
		}
		return v
	}
	ulaw, alaw = make([]byte, 65536), make([]byte, 65536)
	for i := range 65536 {
		ulaw[i] = byte(hexv(lines[0][2*i : 2*i+2]))
		alaw[i] = byte(hexv(lines[1][2*i : 2*i+2]))
	}
	ulawDec, alawDec = make([]int16, 256), make([]int16, 256)
	for i := range 256 {
		ulawDec[i] = int16(uint16(hexv(lines[2][4*i : 4*i+4])))
		alawDec[i] = int16(uint16(hexv(lines[3][4*i : 4*i+4])))
	}
	return ulaw, alaw, ulawDec, alawDec, nil
}
