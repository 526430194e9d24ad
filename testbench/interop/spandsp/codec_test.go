package spandsp

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/faxagent/faxagent/t38"
)

// request renders p in the peer's line notation.
func request(p *t38.Packet) string {
	if p.Type == t38.TypeIndicator {
		return fmt.Sprintf("ind %d", p.Indicator)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "data %d", p.DataType)
	for _, f := range p.Fields {
		fmt.Fprintf(&b, " %d:%x", f.Type, f.Data)
	}
	return b.String()
}

var (
	shortData = []byte{0xff, 0x13, 0x80}
	longData  = bytes.Repeat([]byte{0x5a, 0x00, 0xff}, 100) // 300 octets
)

// interopPackets lists what both implementations must encode identically:
// every indicator and data type of the version, every root field type with
// and without field-data, and multi-field packets in which only the last
// field lacks data (the shape both encoders agree on; see package t38).
func interopPackets(version int) []t38.Packet {
	var ps []t38.Packet
	nInd, nData := 16, 9
	if version > 0 {
		nInd, nData = 23, 15
	}
	for i := 0; i < nInd; i++ {
		ps = append(ps, t38.Packet{Version: version, Type: t38.TypeIndicator, Indicator: t38.Indicator(i)})
	}
	for d := 0; d < nData; d++ {
		dt := t38.DataType(d)
		for f := t38.HDLCData; f <= t38.T4NonECMSigEnd; f++ {
			ps = append(ps,
				t38.Packet{Version: version, Type: t38.TypeData, DataType: dt, Fields: []t38.Field{{Type: f, Data: shortData}}},
				t38.Packet{Version: version, Type: t38.TypeData, DataType: dt, Fields: []t38.Field{{Type: f}}})
		}
		ps = append(ps,
			t38.Packet{Version: version, Type: t38.TypeData, DataType: dt, Fields: []t38.Field{
				{Type: t38.HDLCData, Data: shortData}, {Type: t38.HDLCFCSOK}}},
			t38.Packet{Version: version, Type: t38.TypeData, DataType: dt, Fields: []t38.Field{
				{Type: t38.HDLCData, Data: longData}, {Type: t38.HDLCFCSOKSigEnd}}},
			t38.Packet{Version: version, Type: t38.TypeData, DataType: dt, Fields: []t38.Field{
				{Type: t38.T4NonECMData, Data: shortData}, {Type: t38.T4NonECMData, Data: longData},
				{Type: t38.T4NonECMData, Data: []byte{0}}, {Type: t38.T4NonECMSigEnd}}},
			t38.Packet{Version: version, Type: t38.TypeData, DataType: dt, Fields: []t38.Field{
				{Type: t38.HDLCData, Data: shortData}, {Type: t38.HDLCFCSBad, Data: []byte{1}}, {Type: t38.HDLCSigEnd}}})
	}
	return ps
}

func TestCodecMatchesSpanDSP(t *testing.T) {
	bin := peerBinary(t)
	ctx := context.Background()
	for _, version := range []int{0, 2} {
		t.Run(fmt.Sprintf("version %d", version), func(t *testing.T) {
			enc, err := StartCodec(ctx, bin, true, version)
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			dec, err := StartCodec(ctx, bin, false, version)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()

			packets := interopPackets(version)
			if version == 0 {
				// Fields without data packed into half octets (1998 form):
				// SpanDSP's decoder follows PER here.
				packets = append(packets,
					t38.Packet{Version: 0, Type: t38.TypeData, DataType: t38.V21, Fields: []t38.Field{
						{Type: t38.HDLCFCSOK}, {Type: t38.HDLCSigEnd}}},
					t38.Packet{Version: 0, Type: t38.TypeData, DataType: t38.V21, Fields: []t38.Field{
						{Type: t38.HDLCFCSOK}, {Type: t38.HDLCData, Data: shortData}, {Type: t38.HDLCFCSOKSigEnd}}})
			}
			encoded := 0
			for i := range packets {
				p := &packets[i]
				ours, err := p.Marshal()
				if err != nil {
					t.Fatalf("%s: Marshal: %v", request(p), err)
				}
				packed := version == 0 && len(p.Fields) > 1 && len(p.Fields[0].Data) == 0
				if !packed {
					theirs, err := enc.Do(request(p))
					if err != nil {
						t.Fatal(err)
					}
					if theirs != hex.EncodeToString(ours) {
						t.Fatalf("%s:\n ours    %x\n spandsp %s", request(p), ours, theirs)
					}
					encoded++
				}
				seen, err := dec.Do(hex.EncodeToString(ours))
				if err != nil {
					t.Fatal(err)
				}
				if seen != request(p) {
					t.Fatalf("SpanDSP decoded our %x as %q, want %q", ours, seen, request(p))
				}
			}
			t.Logf("version %d: %d packets encoded byte-identically, %d decoded identically by SpanDSP",
				version, encoded, len(packets))
		})
	}
}

// TestSpanDSPExtendedFieldTypes pins down the one place SpanDSP 0.0.6's
// encoder departs from X.691: the 2002-form extension field types
// (cm-message .. v34rate) are written one bit too far right. We write the
// PER form; this test fails if either side changes.
func TestSpanDSPExtendedFieldTypes(t *testing.T) {
	bin := peerBinary(t)
	enc, err := StartCodec(context.Background(), bin, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	for ft := t38.CMMessage; ft <= t38.V34Rate; ft++ {
		n := byte(ft - t38.CMMessage)
		p := t38.Packet{Version: 2, Type: t38.TypeData, DataType: t38.V8, Fields: []t38.Field{{Type: ft, Data: []byte{0x42}}}}
		ours, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		// ours: e0 00 01 | 1 1 0 n5..n1 | n0 0000000 | 00 00 | 42
		if ours[3] != 0xC0|n>>1 || ours[4] != n<<7 {
			t.Fatalf("%v: our header %x", ft, ours[3:5])
		}
		theirs, err := enc.Do(request(&p))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("e00001%02x%02x000042", 0xC0|n>>2, (n<<6)&0xC0)
		if theirs != want {
			t.Fatalf("%v: SpanDSP wrote %s, expected its known form %s", ft, theirs, want)
		}
	}
}
