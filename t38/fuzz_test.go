package t38

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/faxagent/faxagent/t30"
)

func FuzzIFP(f *testing.F) {
	for _, v := range ifpVectors {
		f.Add(mustHex(f, v.hex), uint8(v.pkt.Version))
	}
	f.Add([]byte{0xc0, 0x80, 0x02}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, version uint8) {
		v := int(version % 4)
		p := Packet{Version: v}
		if err := p.Unmarshal(data); err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil {
			if errors.Is(err, ErrVersion) && v == 0 {
				return // 1998-form packets carrying later indicators: read, not written
			}
			t.Fatalf("decoded %x but cannot re-encode %+v: %v", data, p, err)
		}
		q := Packet{Version: v}
		if err := q.Unmarshal(out); err != nil {
			t.Fatalf("re-encoding %x of %x does not decode: %v", out, data, err)
		}
		if !packetsEqual(&p, &q) {
			t.Fatalf("round trip of %x: %+v != %+v", data, p, q)
		}
		if len(out) > len(data) {
			t.Fatalf("canonical encoding %x longer than input %x", out, data)
		}
	})
}

func FuzzUDPTL(f *testing.F) {
	for _, v := range udptlVectors {
		f.Add(mustHex(f, v.hex))
	}
	for _, d := range encodeAll(&testing.T{}, EncoderConfig{Mode: ECFEC, FECSpan: 2, FECEntries: 2}, ifpStream(6)) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p UDPTLPacket
		if err := p.Unmarshal(data); err == nil {
			out, err := p.Marshal()
			if err != nil {
				t.Fatalf("decoded %x but cannot re-encode: %v", data, err)
			}
			var q UDPTLPacket
			if err := q.Unmarshal(out); err != nil || !udptlEqual(&p, &q) {
				t.Fatalf("round trip of %x via %x: %v", data, out, err)
			}
		}
		// A receiver fed hostile datagrams neither panics nor stalls.
		r := NewReceiver(ReceiverConfig{Window: 2})
		n := 0
		h := func(uint16, []byte, RxStatus) { n++ }
		_ = r.Push(data, h)
		_ = r.Push(data, h)
		r.Flush(h)
		st := r.Stats()
		if st.Received+st.Malformed != 2 || uint64(n) != st.Delivered+st.Lost {
			t.Fatalf("stats %+v, handler calls %d", st, n)
		}
	})
}

// FuzzReceiver drives a valid stream through a channel the fuzzer controls
// (drop, duplicate, delay) and checks that what comes out is in order, each
// packet exactly once, and every packet not declared lost is the original.
func FuzzReceiver(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{1, 0x40, 0x41, 0x80, 0x03, 0xc0, 0x05})
	f.Add([]byte{2, 0x40, 0x40, 0x40, 0x81, 0x82, 0x83, 0x84})
	const n = 48
	in := ifpStream(n)
	streams := [][][]byte{
		encodeAll(&testing.T{}, EncoderConfig{Mode: ECNone, FirstSeq: 65520}, in),
		encodeAll(&testing.T{}, EncoderConfig{Mode: ECRedundancy, Redundancy: 2, FirstSeq: 65520}, in),
		encodeAll(&testing.T{}, EncoderConfig{Mode: ECFEC, FECSpan: 2, FECEntries: 2, FirstSeq: 65520}, in),
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		dg := streams[int(ops[0])%len(streams)]
		ops = ops[1:]
		r := NewReceiver(ReceiverConfig{Window: 3, Version: 2})
		var log rxLog
		var held [][]byte
		for i, d := range dg {
			op := byte(0)
			if i < len(ops) {
				op = ops[i]
			}
			switch op >> 6 {
			case 1: // drop
				continue
			case 2: // duplicate
				_ = r.Push(d, log.handle)
			case 3: // delay by a few packets
				held = append(held, d)
				if len(held) > int(op&3) {
					_ = r.Push(held[0], log.handle)
					held = held[1:]
				}
				continue
			}
			if err := r.Push(d, log.handle); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range held {
			_ = r.Push(d, log.handle)
		}
		r.Flush(log.handle)
		for i, s := range log.seqs {
			if i > 0 && s != log.seqs[i-1]+1 {
				t.Fatalf("out of order: %s", log.String())
			}
			idx := int(uint16(s - 65520))
			if idx >= n {
				t.Fatalf("seq %d never sent", s)
			}
			if log.status[i] != RxLost && !bytes.Equal(log.data[i], in[idx]) {
				t.Fatalf("seq %d (%v) wrong data", s, log.status[i])
			}
		}
	})
}

func FuzzSDP(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "sdp", "*.sdp"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	local := Capabilities{Address: "192.0.2.1", Port: 4000, Version: 3, MaxBitRate: 14400, Redundancy: true, FEC: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSession(data)
		if err != nil {
			return
		}
		out := s.Marshal()
		s2, err := ParseSession(out)
		if err != nil {
			t.Fatalf("our output does not parse: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip changed the session:\n%q\n%q", data, out)
		}
		for i := range s.Media {
			_, _ = s.Media[i].T38()
		}
		if ans, p, err := Answer(s, local); err == nil {
			if _, err := ParseSession(ans.Marshal()); err != nil {
				t.Fatalf("answer does not parse: %v", err)
			}
			if p.Version > 3 || (p.MaxBitRate > 14400) {
				t.Fatalf("answer exceeds local capabilities: %+v", p)
			}
		}
	})
}

// FuzzTerminal feeds arbitrary datagrams (two-octet length prefixed) to a
// terminal: they must be counted and dropped or turned into events, never
// panic or stall the clock.
func FuzzTerminal(f *testing.F) {
	var seed []byte
	for _, d := range encodeAll(&testing.T{}, EncoderConfig{Mode: ECRedundancy, Redundancy: 2}, [][]byte{
		mustHex(f, "06"), mustHex(f, "c001800006ff138000eef880"), mustHex(f, "c00120"), mustHex(f, "1e"),
		mustHex(f, "d001e00002000102"), mustHex(f, "d00170"), mustHex(f, "00"),
	}) {
		seed = append(seed, byte(len(d)>>8), byte(len(d)))
		seed = append(seed, d...)
	}
	f.Add(seed, uint8(2))
	f.Add([]byte{0, 3, 0, 0, 0}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, version uint8) {
		clock := t30.NewVirtualClock()
		a, b := NewPipe(clock, PipeConfig{})
		term, err := NewTerminal(TerminalConfig{Version: int(version % 4), RateManagement: RateLocalTCF}, a, clock)
		if err != nil {
			t.Fatal(err)
		}
		_ = b
		events := 0
		term.SetHandler(func(t30.Event) { events++ })
		for len(data) >= 2 {
			n := int(data[0])<<8 | int(data[1])
			data = data[2:]
			if n > len(data) {
				n = len(data)
			}
			term.Receive(data[:n])
			data = data[n:]
		}
		for i := 0; i < 100000 && clock.Step(); i++ {
		}
		if clock.Pending() != 0 {
			t.Fatalf("terminal keeps the clock busy: %d timers pending", clock.Pending())
		}
	})
}
