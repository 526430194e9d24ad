package t38

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// A typical image-data packet: 9600 bit/s non-ECM data in 30 ms chunks
// (36 octets) and a 256-octet ECM frame split into one HDLC packet.
var (
	benchT4  = Packet{Version: 2, Type: TypeData, DataType: V29_9600, Fields: []Field{{T4NonECMData, bytes.Repeat([]byte{0x5a}, 36)}}}
	benchECM = Packet{Version: 2, Type: TypeData, DataType: V17_14400, Fields: []Field{
		{HDLCData, bytes.Repeat([]byte{0xa5}, 260)}, {Type: HDLCFCSOK}}}
	benchInd = Packet{Version: 2, Type: TypeIndicator, Indicator: V17_14400LongTraining}
)

func benchMarshal(b *testing.B, p *Packet) {
	buf := make([]byte, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(p.MarshalSize()))
	for b.Loop() {
		if _, err := p.MarshalTo(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func benchUnmarshal(b *testing.B, p *Packet) {
	data, err := p.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	var q Packet
	q.Version = p.Version
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := q.Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIFPMarshalIndicator(b *testing.B)   { benchMarshal(b, &benchInd) }
func BenchmarkIFPMarshalT4(b *testing.B)          { benchMarshal(b, &benchT4) }
func BenchmarkIFPMarshalECM(b *testing.B)         { benchMarshal(b, &benchECM) }
func BenchmarkIFPUnmarshalIndicator(b *testing.B) { benchUnmarshal(b, &benchInd) }
func BenchmarkIFPUnmarshalT4(b *testing.B)        { benchUnmarshal(b, &benchT4) }
func BenchmarkIFPUnmarshalECM(b *testing.B)       { benchUnmarshal(b, &benchECM) }

func benchEncode(b *testing.B, cfg EncoderConfig) {
	enc, err := NewEncoder(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ifp, _ := benchT4.Marshal()
	buf := make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.Encode(buf, ifp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUDPTLEncodeNoEC(b *testing.B) { benchEncode(b, EncoderConfig{Mode: ECNone}) }
func BenchmarkUDPTLEncodeRedundancy3(b *testing.B) {
	benchEncode(b, EncoderConfig{Mode: ECRedundancy, Redundancy: 3})
}
func BenchmarkUDPTLEncodeFEC3x3(b *testing.B) {
	benchEncode(b, EncoderConfig{Mode: ECFEC, FECSpan: 3, FECEntries: 3})
}

func BenchmarkUDPTLUnmarshalRedundancy3(b *testing.B) {
	dg := encodeAll(&testing.T{}, EncoderConfig{Mode: ECRedundancy, Redundancy: 3}, ifpStream(8))
	var p UDPTLPacket
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Unmarshal(dg[7]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiverPush: one datagram through the receiver and one IFP decode,
// i.e. the whole receive path per packet.
func BenchmarkReceiverPush(b *testing.B) {
	const n = 4096
	enc, _ := NewEncoder(EncoderConfig{Mode: ECRedundancy, Redundancy: 3})
	ifp, _ := benchT4.Marshal()
	dg := make([][]byte, n)
	for i := range dg {
		buf := make([]byte, 1500)
		k, err := enc.Encode(buf, ifp)
		if err != nil {
			b.Fatal(err)
		}
		dg[i] = buf[:k]
	}
	r := NewReceiver(ReceiverConfig{})
	var p Packet
	p.Version = 2
	h := func(_ uint16, data []byte, _ RxStatus) {
		if err := p.Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == n { // sequence numbers run on; keep feeding in order
			i = 0
			r = NewReceiver(ReceiverConfig{})
		}
		_ = r.Push(dg[i], h)
		i++
	}
}

// BenchmarkCallPerPage runs whole 5-page calls (V.17 14400, MR, T.38 v2,
// redundancy 3) between two of our terminals in virtual time and reports
// the CPU cost per page: T.30 both sides, page coding and decoding, IFP and
// UDPTL both ways.
func BenchmarkCallPerPage(b *testing.B) {
	const pages = 5
	var doc t30.PagesDocument
	for i := 0; i < pages; i++ {
		doc = append(doc, testPage(imaging.WidthA4, 1100, imaging.Standard, i+1))
	}
	comp := []imaging.Compression{imaging.MR}
	b.ReportAllocs()
	for b.Loop() {
		clock := t30.NewVirtualClock()
		ea, eb := NewPipe(clock, PipeConfig{Latency: 20 * time.Millisecond})
		tc := TerminalConfig{Version: 2, EC: ECRedundancy}
		ta, _ := NewTerminal(tc, ea, clock)
		tb, _ := NewTerminal(tc, eb, clock)
		ea.Attach(ta)
		eb.Attach(tb)
		sink := &t30.PageCollector{}
		st, _ := t30.NewSession(t30.Config{Calling: true, Transmit: true, Document: doc, Compressions: comp}, ta, clock)
		sr, _ := t30.NewSession(t30.Config{Sink: sink, Compressions: comp}, tb, clock)
		st.Start()
		sr.Start()
		if err := clock.Run(context.Background(), func() bool { return st.Done() && sr.Done() }); err != nil {
			b.Fatal(err)
		}
		if st.Result().Code != t30.OK || len(sink.Pages) != pages {
			b.Fatalf("call: %v", st.Result())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pages), "ns/page")
}
