package t38

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

var udptlVectors = []struct {
	name string
	hex  string
	pkt  UDPTLPacket
}{
	{"cng no secondaries", "0001010200" + "00", UDPTLPacket{Seq: 1, Primary: []byte{0x02}}},
	{"hdlc with two secondaries", "000503c00110" + "00" + "02" + "0106" + "0102",
		UDPTLPacket{Seq: 5, Primary: []byte{0xc0, 0x01, 0x10}, Secondary: [][]byte{{0x06}, {0x02}}}},
	{"fec span 3 two entries", "0100" + "0100" + "80" + "0103" + "02" + "02aabb" + "01cc",
		UDPTLPacket{Seq: 0x100, Primary: []byte{0x00}, FEC: true, FECSpan: 3, FECData: [][]byte{{0xaa, 0xbb}, {0xcc}}}},
	{"fec span 200 needs two octets", "ffff" + "0102" + "80" + "0200c8" + "00",
		UDPTLPacket{Seq: 0xffff, Primary: []byte{0x02}, FEC: true, FECSpan: 200}},
	{"fec span 0 no entries", "0000010280010000",
		UDPTLPacket{Seq: 0, Primary: []byte{0x02}, FEC: true, FECSpan: 0}},
}

func TestUDPTLVectors(t *testing.T) {
	for _, tc := range udptlVectors {
		t.Run(tc.name, func(t *testing.T) {
			want := mustHex(t, tc.hex)
			got, err := tc.pkt.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Marshal = %x, want %x", got, want)
			}
			var p UDPTLPacket
			if err := p.Unmarshal(want); err != nil {
				t.Fatal(err)
			}
			if !udptlEqual(&p, &tc.pkt) {
				t.Fatalf("Unmarshal = %+v, want %+v", p, tc.pkt)
			}
		})
	}
}

func udptlEqual(a, b *UDPTLPacket) bool {
	eq := func(x, y [][]byte) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !bytes.Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a.Seq == b.Seq && bytes.Equal(a.Primary, b.Primary) && a.FEC == b.FEC && a.FECSpan == b.FECSpan &&
		eq(a.Secondary, b.Secondary) && eq(a.FECData, b.FECData)
}

func TestUDPTLLongPrimary(t *testing.T) {
	p := UDPTLPacket{Seq: 7, Primary: bytes.Repeat([]byte{0x55}, 300)}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if b[2] != 0x81 || b[3] != 0x2c {
		t.Fatalf("length determinant %x, want 812c", b[2:4])
	}
	var q UDPTLPacket
	if err := q.Unmarshal(b); err != nil || !udptlEqual(&p, &q) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestUDPTLErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want error
	}{
		{"empty", "", ErrUDPTLTruncated},
		{"seq only", "0001", ErrUDPTLTruncated},
		{"empty primary", "000100", ErrUDPTLEmptyIFP},
		{"primary truncated", "00010502", ErrUDPTLTruncated},
		{"no error recovery", "00010102", ErrUDPTLTruncated},
		{"secondary count missing", "0001010200", ErrUDPTLTruncated},
		{"secondary truncated", "000101020001", ErrUDPTLTruncated},
		{"empty secondary", "00010102000100", ErrUDPTLEmptyIFP},
		{"trailing", "000101020000ff", ErrUDPTLTrailing},
		{"fragmented primary", "0001c1", ErrFragmented},
		{"negative span", "000101028001ff00", ErrUDPTLFECSpan},
		{"zero-length span", "00010102800000", ErrUDPTLFECSpan},
		{"fec entry truncated", "00010102800103010300", ErrUDPTLTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p UDPTLPacket
			if err := p.Unmarshal(mustHex(t, tc.hex)); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := (&UDPTLPacket{}).Marshal(); !errors.Is(err, ErrUDPTLEmptyIFP) {
		t.Fatalf("Marshal empty primary: %v", err)
	}
}

// ifpStream returns n distinct IFP packets of varying length.
func ifpStream(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		p := Packet{Version: 2, Type: TypeData, DataType: V17_14400,
			Fields: []Field{{T4NonECMData, bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 1+i%23)}}}
		b, err := p.Marshal()
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	return out
}

func TestEncoderRedundancy(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{Mode: ECRedundancy, Redundancy: 3, FirstSeq: 65534})
	if err != nil {
		t.Fatal(err)
	}
	in := ifpStream(6)
	buf := make([]byte, 1500)
	for i, ifp := range in {
		n, err := enc.Encode(buf, ifp)
		if err != nil {
			t.Fatal(err)
		}
		var p UDPTLPacket
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if p.Seq != uint16(65534+i) {
			t.Fatalf("seq %d, want %d", p.Seq, uint16(65534+i))
		}
		if want := min(i, 3); len(p.Secondary) != want {
			t.Fatalf("packet %d: %d secondaries, want %d", i, len(p.Secondary), want)
		}
		for k, s := range p.Secondary {
			if !bytes.Equal(s, in[i-1-k]) {
				t.Fatalf("packet %d secondary %d is not packet %d", i, k, i-1-k)
			}
		}
	}
}

func TestEncoderMaxDatagram(t *testing.T) {
	in := [][]byte{bytes.Repeat([]byte{1}, 40), bytes.Repeat([]byte{2}, 40), bytes.Repeat([]byte{3}, 40)}
	enc, _ := NewEncoder(EncoderConfig{Mode: ECRedundancy, Redundancy: 5, MaxDatagram: 100})
	buf := make([]byte, 1500)
	var p UDPTLPacket
	for i, ifp := range in {
		n, err := enc.Encode(buf, ifp)
		if err != nil {
			t.Fatal(err)
		}
		if n > 100 {
			t.Fatalf("datagram %d is %d octets, limit 100", i, n)
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if want := min(i, 1); len(p.Secondary) != want { // 2+1+40+1+1 + 41 = 86; a second would be 127
			t.Fatalf("datagram %d: %d secondaries, want %d", i, len(p.Secondary), want)
		}
	}
	if _, err := enc.Encode(buf, bytes.Repeat([]byte{4}, 97)); !errors.Is(err, ErrDatagramTooLarge) {
		t.Fatalf("oversize primary: err = %v", err)
	}
	if enc.NextSeq() != 3 {
		t.Fatalf("a refused packet consumed a sequence number: next %d", enc.NextSeq())
	}
	fenc, _ := NewEncoder(EncoderConfig{Mode: ECFEC, FECSpan: 2, FECEntries: 3, MaxDatagram: 120})
	for i := 0; i < 10; i++ {
		n, err := fenc.Encode(buf, bytes.Repeat([]byte{byte(i)}, 30))
		if err != nil {
			t.Fatal(err)
		}
		if n > 120 {
			t.Fatalf("FEC datagram %d is %d octets", i, n)
		}
	}
}

func TestEncoderFECParity(t *testing.T) {
	const span, entries = 3, 2
	enc, err := NewEncoder(EncoderConfig{Mode: ECFEC, FECSpan: span, FECEntries: entries})
	if err != nil {
		t.Fatal(err)
	}
	in := ifpStream(12)
	buf := make([]byte, 1500)
	for i, ifp := range in {
		n, err := enc.Encode(buf, ifp)
		if err != nil {
			t.Fatal(err)
		}
		var p UDPTLPacket
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if !p.FEC || p.FECSpan != span {
			t.Fatalf("packet %d: FEC %v span %d", i, p.FEC, p.FECSpan)
		}
		wantEntries := min(entries, i/span)
		if len(p.FECData) != wantEntries {
			t.Fatalf("packet %d: %d entries, want %d (wind-up)", i, len(p.FECData), wantEntries)
		}
		for m, got := range p.FECData {
			var want []byte
			for k := 1; k <= span; k++ {
				src := in[i+m-k*wantEntries]
				for len(want) < len(src) {
					want = append(want, 0)
				}
				for j, b := range src {
					want[j] ^= b
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("packet %d entry %d = %x, want %x", i, m, got, want)
			}
		}
	}
}

func TestNewEncoderErrors(t *testing.T) {
	for _, cfg := range []EncoderConfig{
		{Mode: ECRedundancy, Redundancy: -1},
		{Mode: ECRedundancy, Redundancy: 200},
		{Mode: ECFEC, FECSpan: 0, FECEntries: 1},
		{Mode: ECFEC, FECSpan: 20, FECEntries: 20},
		{Mode: 9},
		{Mode: ECNone, MaxDatagram: -1},
	} {
		if _, err := NewEncoder(cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewEncoder(%+v) err = %v", cfg, err)
		}
	}
}

type rxLog struct {
	seqs   []uint16
	data   [][]byte
	status []RxStatus
}

func (l *rxLog) handle(seq uint16, ifp []byte, st RxStatus) {
	l.seqs = append(l.seqs, seq)
	l.data = append(l.data, bytes.Clone(ifp))
	l.status = append(l.status, st)
}

func (l *rxLog) String() string {
	var b bytes.Buffer
	for i, s := range l.seqs {
		fmt.Fprintf(&b, "%d:%v ", s, l.status[i])
	}
	return b.String()
}

func encodeAll(t *testing.T, cfg EncoderConfig, in [][]byte) [][]byte {
	t.Helper()
	enc, err := NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(in))
	buf := make([]byte, 4096)
	for i, ifp := range in {
		n, err := enc.Encode(buf, ifp)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = bytes.Clone(buf[:n])
	}
	return out
}

func TestReceiverOrderDuplicatesLate(t *testing.T) {
	in := ifpStream(12)
	dg := encodeAll(t, EncoderConfig{Mode: ECNone, FirstSeq: 100}, in)
	r := NewReceiver(ReceiverConfig{Window: 3})
	var log rxLog
	order := []int{0, 1, 1, 3, 2, 4, 0, 9, 10, 11, 5, 8}
	for _, i := range order {
		if err := r.Push(dg[i], log.handle); err != nil {
			t.Fatal(err)
		}
	}
	r.Flush(log.handle)
	// 103 arrives before 102 but inside the window, so both go on in order;
	// 109..111 push the gap at 105 past the window, so 105..108 are given up
	// and 105 and 108 arrive late.
	want := "100:received 101:received 102:received 103:received 104:received 105:lost 106:lost 107:lost 108:lost 109:received 110:received 111:received "
	got := log.String()
	if got != want {
		t.Fatalf("delivery\n got %s\nwant %s", got, want)
	}
	st := r.Stats()
	if st.Duplicates != 2 {
		t.Errorf("duplicates = %d, want 2 (seq 101 twice, seq 100 again)", st.Duplicates)
	}
	if st.Received != uint64(len(order)) {
		t.Errorf("received = %d", st.Received)
	}
	for i, s := range log.seqs {
		if i > 0 && s != log.seqs[i-1]+1 {
			t.Fatalf("out of order delivery: %s", got)
		}
		if log.status[i] != RxLost && !bytes.Equal(log.data[i], in[s-100]) {
			t.Fatalf("seq %d delivered wrong data", s)
		}
	}
	if st.Delivered+st.Lost != 12 {
		t.Errorf("delivered %d + lost %d != 12", st.Delivered, st.Lost)
	}
	if st.Late != 2 {
		t.Errorf("late = %d, want 2 (seq 105 and 108 after being given up)", st.Late)
	}
}

// impair models a lossy channel: drop with probability loss, duplicate with
// probability dup, and swap adjacent datagrams with probability swap.
func impair(dg [][]byte, seed uint64, loss, dup, swap float64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out [][]byte
	for _, d := range dg {
		if rng.Float64() < loss {
			continue
		}
		out = append(out, d)
		if rng.Float64() < dup {
			out = append(out, d)
		}
	}
	for i := 0; i+1 < len(out); i++ {
		if rng.Float64() < swap {
			out[i], out[i+1] = out[i+1], out[i]
			i++
		}
	}
	return out
}

func TestReceiverRecoversUnderLoss(t *testing.T) {
	const n = 2000
	in := ifpStream(n)
	for _, tc := range []struct {
		name      string
		cfg       EncoderConfig
		loss      float64
		maxLost   int
		minRecFEC uint64
	}{
		{"no EC 10% loss", EncoderConfig{Mode: ECNone}, 0.10, n, 0},
		{"redundancy 3, 10% loss", EncoderConfig{Mode: ECRedundancy, Redundancy: 3}, 0.10, 2, 0},
		{"FEC span 3 x 3, 5% loss", EncoderConfig{Mode: ECFEC, FECSpan: 3, FECEntries: 3}, 0.05, n / 50, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dg := encodeAll(t, tc.cfg, in)
			r := NewReceiver(ReceiverConfig{Window: 8, Version: 2})
			var log rxLog
			for _, d := range impair(dg, 42, tc.loss, 0.02, 0.02) {
				if err := r.Push(d, log.handle); err != nil {
					t.Fatal(err)
				}
			}
			r.Flush(log.handle)
			st := r.Stats()
			if len(log.seqs) != n {
				t.Fatalf("handed on %d packets, want %d (%+v)", len(log.seqs), n, st)
			}
			lost := 0
			for i, s := range log.seqs {
				if int(s) != i {
					t.Fatalf("position %d holds seq %d", i, s)
				}
				if log.status[i] == RxLost {
					lost++
					continue
				}
				if !bytes.Equal(log.data[i], in[i]) {
					t.Fatalf("seq %d (%v) = %x, want %x", s, log.status[i], log.data[i], in[i])
				}
			}
			if lost != int(st.Lost) || lost > tc.maxLost {
				t.Fatalf("lost %d (stats %d), allowed %d; stats %+v", lost, st.Lost, tc.maxLost, st)
			}
			if tc.cfg.Mode != ECNone && st.Recovered == 0 {
				t.Fatalf("nothing recovered: %+v", st)
			}
			if st.RecoveredFEC < tc.minRecFEC {
				t.Fatalf("FEC recovered %d: %+v", st.RecoveredFEC, st)
			}
			if st.Duplicates == 0 {
				t.Fatalf("channel duplicated packets but none counted: %+v", st)
			}
			t.Logf("%+v", st)
		})
	}
}

func TestReceiverFECRebuildsAndTrims(t *testing.T) {
	// Group of span 2, 1 entry: packet 2 carries parity of packets 0 and 1.
	in := [][]byte{mustHex(t, "c001800002aabbcc"), mustHex(t, "c00110"), mustHex(t, "02")}
	dg := encodeAll(t, EncoderConfig{Mode: ECFEC, FECSpan: 2, FECEntries: 1}, in)
	r := NewReceiver(ReceiverConfig{Version: 2})
	var log rxLog
	for _, i := range []int{0, 2} { // packet 1 (shorter than 0) is lost
		if err := r.Push(dg[i], log.handle); err != nil {
			t.Fatal(err)
		}
	}
	if len(log.seqs) != 3 || log.status[1] != RxRecovered {
		t.Fatalf("delivery %s", log.String())
	}
	if !bytes.Equal(log.data[1], in[1]) {
		t.Fatalf("rebuilt %x, want %x (trimmed)", log.data[1], in[1])
	}
	if st := r.Stats(); st.RecoveredFEC != 1 || st.Lost != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReceiverMalformedAndRestart(t *testing.T) {
	r := NewReceiver(ReceiverConfig{})
	var log rxLog
	if err := r.Push([]byte{0, 1, 5}, log.handle); err == nil {
		t.Fatal("malformed datagram accepted")
	}
	a := encodeAll(t, EncoderConfig{FirstSeq: 10}, ifpStream(2))
	b := encodeAll(t, EncoderConfig{FirstSeq: 30000}, ifpStream(2))
	for _, d := range append(a, b...) {
		if err := r.Push(d, log.handle); err != nil {
			t.Fatal(err)
		}
	}
	st := r.Stats()
	if st.Malformed != 1 || st.Restarts != 1 || st.Lost != 0 || st.Delivered != 4 {
		t.Fatalf("stats %+v, log %s", st, log.String())
	}
	if log.String() != "10:received 11:received 30000:received 30001:received " {
		t.Fatalf("log %s", log.String())
	}
}

func TestReceiverNoAllocSteadyState(t *testing.T) {
	dg := encodeAll(t, EncoderConfig{Mode: ECRedundancy, Redundancy: 3}, ifpStream(600))
	r := NewReceiver(ReceiverConfig{})
	h := func(uint16, []byte, RxStatus) {}
	for _, d := range dg[:300] {
		_ = r.Push(d, h)
	}
	i := 300
	allocs := testing.AllocsPerRun(200, func() {
		_ = r.Push(dg[i], h)
		i++
	})
	if allocs != 0 {
		t.Fatalf("Receiver.Push allocates %v per datagram", allocs)
	}
	enc, _ := NewEncoder(EncoderConfig{Mode: ECFEC, FECSpan: 3, FECEntries: 3})
	in := ifpStream(50)
	buf := make([]byte, 2048)
	for _, p := range in {
		_, _ = enc.Encode(buf, p)
	}
	j := 0
	allocs = testing.AllocsPerRun(200, func() {
		_, _ = enc.Encode(buf, in[j%50])
		j++
	})
	if allocs != 0 {
		t.Fatalf("Encoder.Encode allocates %v per datagram", allocs)
	}
}

// TestEncoderBurst: a datagram sent right behind others repeats that many
// more earlier packets, newest first, as far as the datagram limit allows,
// so whichever datagram of a back-to-back burst arrives first carries the
// rest of the burst to a receiver that discards late arrivals.
func TestEncoderBurst(t *testing.T) {
	cases := []struct {
		name            string
		depth, burst    int
		maxDatagram     int
		wantSecondaries int
	}{
		{"no burst", 3, 0, 0, 3},
		{"burst of 5", 3, 4, 0, 7},
		{"burst trimmed to the datagram", 3, 4, 250, 5}, // 2+41+1+1 = 45, +41 each
		{"no redundancy stays none", 0, 4, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := NewEncoder(EncoderConfig{Mode: ECRedundancy, Redundancy: tc.depth, MaxDatagram: tc.maxDatagram})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			var in [][]byte
			for i := range 10 {
				in = append(in, bytes.Repeat([]byte{byte(i)}, 40))
				if _, err := enc.Encode(buf, in[i]); err != nil {
					t.Fatal(err)
				}
			}
			in = append(in, bytes.Repeat([]byte{10}, 40))
			n, err := enc.EncodeBurst(buf, in[10], tc.burst)
			if err != nil {
				t.Fatal(err)
			}
			var p UDPTLPacket
			if err := p.Unmarshal(buf[:n]); err != nil {
				t.Fatal(err)
			}
			if tc.maxDatagram > 0 && n > tc.maxDatagram {
				t.Fatalf("%d octets over the %d limit", n, tc.maxDatagram)
			}
			if len(p.Secondary) != tc.wantSecondaries {
				t.Fatalf("%d secondaries, want %d", len(p.Secondary), tc.wantSecondaries)
			}
			for k, s := range p.Secondary {
				if !bytes.Equal(s, in[9-k]) {
					t.Fatalf("secondary %d is not packet %d", k, 9-k)
				}
			}
		})
	}
}
