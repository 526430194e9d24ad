package foip

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestJitterBuffer feeds sequence numbers in arrival order and checks the
// order they reach the detector in and the counters.
func TestJitterBuffer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []uint16
		out   []uint16
		stats JitterStats
	}{
		{"in order", []uint16{1, 2, 3, 4, 5}, []uint16{1, 2, 3, 4, 5}, JitterStats{}},
		{"swapped pair", []uint16{1, 3, 2, 4}, []uint16{1, 2, 3, 4}, JitterStats{Reordered: 1}},
		{"reversed within depth", []uint16{10, 14, 13, 12, 11, 15}, []uint16{10, 11, 12, 13, 14, 15}, JitterStats{Reordered: 3}},
		{"duplicate held", []uint16{1, 3, 3, 2, 4}, []uint16{1, 2, 3, 4}, JitterStats{Reordered: 1, Duplicates: 1}},
		{"duplicate delivered", []uint16{1, 2, 2, 3, 1}, []uint16{1, 2, 3}, JitterStats{Duplicates: 2}},
		{"lost", []uint16{1, 2, 4, 5, 6, 7, 8}, []uint16{1, 2, 4, 5, 6, 7, 8}, JitterStats{Lost: 1}},
		{"late after given up", []uint16{1, 2, 4, 5, 6, 7, 3, 8}, []uint16{1, 2, 4, 5, 6, 7, 8}, JitterStats{Lost: 1, Late: 1}},
		{"burst lost", []uint16{1, 9, 10}, []uint16{1, 9, 10}, JitterStats{Lost: 7}},
		{"restart with gaps held", []uint16{1, 3, 5, 40000}, []uint16{1, 3, 5, 40000}, JitterStats{Lost: 2, Resets: 1}},
		{"wrap in order", []uint16{65534, 65535, 0, 1}, []uint16{65534, 65535, 0, 1}, JitterStats{}},
		{"wrap reordered", []uint16{65534, 0, 65535, 2, 1, 3}, []uint16{65534, 65535, 0, 1, 2, 3}, JitterStats{Reordered: 2}},
		{"wrap lost", []uint16{65535, 1, 2, 3, 4}, []uint16{65535, 1, 2, 3, 4}, JitterStats{Lost: 1}},
		{"wrap duplicate", []uint16{65535, 0, 65535, 1}, []uint16{65535, 0, 1}, JitterStats{Duplicates: 1}},
		{"restart", []uint16{100, 102, 30000, 30001}, []uint16{100, 102, 30000, 30001}, JitterStats{Lost: 1, Resets: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint16
			j := newJitterBuffer(jitterDepth, func(seq uint16, pt uint8, payload []byte) {
				if len(payload) != 2 || uint16(payload[0])<<8|uint16(payload[1]) != seq || pt != ptPCMA {
					t.Errorf("seq %d delivered with payload %v, pt %d", seq, payload, pt)
				}
				got = append(got, seq)
			})
			for _, s := range tc.in {
				j.push(s, ptPCMA, []byte{byte(s >> 8), byte(s)})
			}
			j.reset() // flush what is held
			if !slices.Equal(got, tc.out) {
				t.Errorf("delivered %v, want %v", got, tc.out)
			}
			want := tc.stats
			want.Resets++ // the flush above
			if j.stats != want {
				t.Errorf("stats %+v, want %+v", j.stats, want)
			}
		})
	}
}

// TestCEDFromReorderedStream sends a CED tone as RTP to a call's audio
// receiver over UDP with every other pair of packets swapped, some sent
// twice and one lost; CED is still heard once, and the buffer's counters
// show what it undid.
func TestCEDFromReorderedStream(t *testing.T) {
	rx, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()

	heard := make(chan struct{}, 2)
	a := newAudio(rx, addrPortOf(tx.LocalAddr()), ptPCMU, tonePattern{})
	a.onCED = func() { heard <- struct{}{} }
	a.wg.Add(1)
	go a.recvLoop() // receive only: the sender is the test
	defer a.close()

	// 40 packets (800 ms) of CED from a generator like the far end's.
	gen := newAudio(nil, netip.AddrPort{}, ptPCMU, cedPattern)
	const n = 40
	packets := make([][]byte, n)
	for i := range packets {
		payload := make([]byte, frameSamples)
		gen.fill(payload)
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptPCMU, SSRC: 7,
			SequenceNumber: 65520 + uint16(i), Timestamp: uint32(i * frameSamples)}, Payload: payload}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		packets[i] = b
	}
	var order []int
	for i := 0; i < n; i += 2 {
		switch {
		case i == 20: // lost
			order = append(order, i+1)
		case i%4 == 0 && i > 0: // swapped (the stream starts at the first packet seen)
			order = append(order, i+1, i)
		default: // the second sent twice
			order = append(order, i, i+1, i+1)
		}
	}
	dst := rx.LocalAddr()
	for _, i := range order {
		if _, err := tx.WriteTo(packets[i], dst); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // keep them in this order on loopback
	}
	select {
	case <-heard:
	case <-time.After(10 * time.Second):
		t.Fatal("CED not heard in the reordered stream")
	}
	a.close()
	if len(heard) != 0 {
		t.Error("CED reported twice")
	}
	st := a.jitter.stats
	if st.Reordered == 0 || st.Duplicates == 0 || st.Lost != 1 || st.Late != 0 {
		t.Errorf("jitter stats %+v, want reordered and duplicates, 1 lost", st)
	}
	if !a.heardCED.Load() || a.heardCNG.Load() {
		t.Errorf("heard CED %v CNG %v", a.heardCED.Load(), a.heardCNG.Load())
	}
}

// FuzzJitterBuffer: any arrival order of sequence numbers delivers each
// at most once between restarts, in increasing order, without panicking.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 0, 2, 0, 4})
	f.Add([]byte{255, 254, 0, 0, 255, 255, 0, 1})
	f.Add([]byte{0, 1, 120, 0, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		var last uint16
		var resets uint64
		have := false
		var j *jitterBuffer
		j = newJitterBuffer(jitterDepth, func(seq uint16, _ uint8, _ []byte) {
			if j.stats.Resets != resets { // a restarted stream may go on from anywhere
				resets, have = j.stats.Resets, false
			}
			if have && int16(seq-last) <= 0 {
				t.Fatalf("delivered %d after %d", seq, last)
			}
			last, have = seq, true
		})
		for i := 0; i+1 < len(b); i += 2 {
			j.push(uint16(b[i])<<8|uint16(b[i+1]), ptPCMU, b[i:i+2])
		}
	})
}
