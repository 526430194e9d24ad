package t38

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

var hdlcDIS = []byte{0xff, 0x13, 0x80, 0x00, 0xee, 0xf8, 0x80} // a DIS frame body (address, control, FCF, FIF)

// ifpVectors are worked out by hand from X.691 aligned PER and the T.38
// ASN.1; the single-field ones are also exactly what SpanDSP emits (see
// testbench/interop/spandsp) and what Wireshark shows for captured calls.
var ifpVectors = []struct {
	name string
	hex  string
	pkt  Packet
}{
	{"v0 no-signal", "00", Packet{Version: 0, Type: TypeIndicator, Indicator: NoSignal}},
	{"v0 cng", "02", Packet{Version: 0, Type: TypeIndicator, Indicator: CNG}},
	{"v0 ced", "04", Packet{Version: 0, Type: TypeIndicator, Indicator: CED}},
	{"v0 v21-preamble", "06", Packet{Version: 0, Type: TypeIndicator, Indicator: V21Preamble}},
	{"v0 v27-2400", "08", Packet{Version: 0, Type: TypeIndicator, Indicator: V27ter2400Training}},
	{"v0 v29-9600", "0e", Packet{Version: 0, Type: TypeIndicator, Indicator: V29_9600Training}},
	{"v0 v17-14400-long", "1e", Packet{Version: 0, Type: TypeIndicator, Indicator: V17_14400LongTraining}},
	{"v2 cng", "02", Packet{Version: 2, Type: TypeIndicator, Indicator: CNG}},
	{"v2 v8-ansam", "2000", Packet{Version: 2, Type: TypeIndicator, Indicator: V8ANSam}},
	{"v2 v8-signal", "2040", Packet{Version: 2, Type: TypeIndicator, Indicator: V8Signal}},
	{"v2 v34-cntl-channel-1200", "2080", Packet{Version: 2, Type: TypeIndicator, Indicator: V34CntlChannel1200}},
	{"v2 v34-pri-channel", "20c0", Packet{Version: 2, Type: TypeIndicator, Indicator: V34PriChannel}},
	{"v2 v34-CC-retrain", "2100", Packet{Version: 2, Type: TypeIndicator, Indicator: V34CCRetrain}},
	{"v3 v33-12000", "2140", Packet{Version: 3, Type: TypeIndicator, Indicator: V33_12000Training}},
	{"v3 v33-14400", "2180", Packet{Version: 3, Type: TypeIndicator, Indicator: V33_14400Training}},

	{"v0 v21 hdlc-data", "c001800006ff138000eef880", Packet{Version: 0, Type: TypeData, DataType: V21,
		Fields: []Field{{HDLCData, hdlcDIS}}}},
	{"v0 v21 hdlc-sig-end", "c00110", Packet{Version: 0, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCSigEnd}}}},
	{"v0 v21 hdlc-fcs-OK", "c00120", Packet{Version: 0, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSOK}}}},
	{"v0 v21 hdlc-fcs-BAD", "c00130", Packet{Version: 0, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSBad}}}},
	{"v0 v21 hdlc-fcs-OK-sig-end", "c00140", Packet{Version: 0, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSOKSigEnd}}}},
	{"v0 v21 hdlc-fcs-BAD-sig-end", "c00150", Packet{Version: 0, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSBadSigEnd}}}},
	{"v0 v29-9600 t4-non-ecm-data", "c801e00002000102", Packet{Version: 0, Type: TypeData, DataType: V29_9600,
		Fields: []Field{{T4NonECMData, []byte{0, 1, 2}}}}},
	{"v0 v17-14400 t4-non-ecm-sig-end", "d00170", Packet{Version: 0, Type: TypeData, DataType: V17_14400,
		Fields: []Field{{Type: T4NonECMSigEnd}}}},
	// data plus the closing FCS in one packet
	{"v0 hdlc-data + fcs-OK", "c002800000ff20", Packet{Version: 0, Type: TypeData, DataType: V21,
		Fields: []Field{{HDLCData, []byte{0xff}}, {Type: HDLCFCSOK}}}},
	// PER packs a field without field-data into half an octet in the 1998 form
	{"v0 fcs-OK + sig-end packed", "c00221", Packet{Version: 0, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSOK}, {Type: HDLCSigEnd}}}},
	{"v0 fcs-OK + hdlc-data", "c002280000aa", Packet{Version: 0, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSOK}, {HDLCData, []byte{0xaa}}}}},

	{"v2 v21 hdlc-data", "c001800006ff138000eef880", Packet{Version: 2, Type: TypeData, DataType: V21,
		Fields: []Field{{HDLCData, hdlcDIS}}}},
	{"v2 v21 hdlc-sig-end", "c00108", Packet{Version: 2, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCSigEnd}}}},
	{"v2 v21 hdlc-fcs-OK", "c00110", Packet{Version: 2, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSOK}}}},
	{"v2 v21 hdlc-fcs-BAD", "c00118", Packet{Version: 2, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSBad}}}},
	{"v2 v21 hdlc-fcs-OK-sig-end", "c00120", Packet{Version: 2, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSOKSigEnd}}}},
	{"v2 v21 hdlc-fcs-BAD-sig-end", "c00128", Packet{Version: 2, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSBadSigEnd}}}},
	{"v2 v27-4800 t4-non-ecm-data", "c401b00000ff", Packet{Version: 2, Type: TypeData, DataType: V27ter4800,
		Fields: []Field{{T4NonECMData, []byte{0xff}}}}},
	{"v2 v17-12000 t4-non-ecm-sig-end", "ce0138", Packet{Version: 2, Type: TypeData, DataType: V17_12000,
		Fields: []Field{{Type: T4NonECMSigEnd}}}},
	{"v2 hdlc-data + fcs-OK-sig-end", "c00280000100ff20", Packet{Version: 2, Type: TypeData, DataType: V21,
		Fields: []Field{{HDLCData, []byte{0x00, 0xff}}, {Type: HDLCFCSOKSigEnd}}}},
	// 2002 form: 5-bit headers pack across octets
	{"v2 fcs-OK + sig-end packed", "c0021040", Packet{Version: 2, Type: TypeData, DataType: V21,
		Fields: []Field{{Type: HDLCFCSOK}, {Type: HDLCSigEnd}}}},
	{"v2 v8 cm-message", "e0000180000102e0", Packet{Version: 2, Type: TypeData, DataType: V8,
		Fields: []Field{{Type: HDLCData, Data: []byte{0x02, 0xe0}}}}},
	{"v2 v8 cm-message field", "e00001c00000010155", Packet{Version: 2, Type: TypeData, DataType: V8,
		Fields: []Field{{CMMessage, []byte{0x01, 0x55}}}}},
	{"v2 v8 jm-message field", "e00001c08000010155", Packet{Version: 2, Type: TypeData, DataType: V8,
		Fields: []Field{{JMMessage, []byte{0x01, 0x55}}}}},
	{"v2 v8 ci-message field", "e00001c10000000a", Packet{Version: 2, Type: TypeData, DataType: V8,
		Fields: []Field{{CIMessage, []byte{0x0a}}}}},
	{"v3 v34-pri-rate v34rate field", "e04001c1800001" + "3132", Packet{Version: 3, Type: TypeData, DataType: V34PriRate,
		Fields: []Field{{V34Rate, []byte("12")}}}},
	{"v3 v34rate without data", "e040014180", Packet{Version: 3, Type: TypeData, DataType: V34PriRate,
		Fields: []Field{{Type: V34Rate}}}},
	{"v2 v33-14400 data", "e1400180000000", Packet{Version: 2, Type: TypeData, DataType: V33_14400,
		Fields: []Field{{HDLCData, []byte{0}}}}},
	{"v2 data without data-field", "40", Packet{Version: 2, Type: TypeData, DataType: V21}},
}

func TestIFPVectors(t *testing.T) {
	for _, tc := range ifpVectors {
		t.Run(tc.name, func(t *testing.T) {
			want := mustHex(t, tc.hex)
			got, err := tc.pkt.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Marshal = %x, want %x", got, want)
			}
			if n := tc.pkt.MarshalSize(); n != len(want) {
				t.Errorf("MarshalSize = %d, want %d", n, len(want))
			}
			p := Packet{Version: tc.pkt.Version}
			if err := p.Unmarshal(want); err != nil {
				t.Fatalf("Unmarshal(%x): %v", want, err)
			}
			if !packetsEqual(&p, &tc.pkt) {
				t.Fatalf("Unmarshal(%x) = %+v, want %+v", want, p, tc.pkt)
			}
		})
	}
}

func packetsEqual(a, b *Packet) bool {
	if a.Version != b.Version || a.Type != b.Type || a.Indicator != b.Indicator || a.DataType != b.DataType ||
		len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Type != b.Fields[i].Type || !bytes.Equal(a.Fields[i].Data, b.Fields[i].Data) {
			return false
		}
	}
	return true
}

// TestIFPAllTypes walks every indicator, data type and field type in both
// forms and checks the first octets against the PER layout.
func TestIFPAllTypes(t *testing.T) {
	for _, v := range []int{0, 1, 2, 3} {
		for i := 0; i < indicatorCount; i++ {
			p := Packet{Version: v, Type: TypeIndicator, Indicator: Indicator(i)}
			b, err := p.Marshal()
			if v == 0 && i >= indicatorRootCount {
				if !errors.Is(err, ErrVersion) {
					t.Errorf("v0 %v: err = %v, want ErrVersion", Indicator(i), err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("v%d %v: %v", v, Indicator(i), err)
			}
			var want []byte
			if i < indicatorRootCount {
				want = []byte{byte(i << 1)}
			} else {
				e := i - indicatorRootCount
				want = []byte{0x20 | byte(e>>2), byte(e << 6)}
			}
			if !bytes.Equal(b, want) {
				t.Errorf("v%d %v = %x, want %x", v, Indicator(i), b, want)
			}
		}
		for d := 0; d < dataTypeCount; d++ {
			for f := 0; f < fieldTypeCount; f++ {
				for _, data := range [][]byte{nil, {0x5a, 0xa5}} {
					p := Packet{Version: v, Type: TypeData, DataType: DataType(d), Fields: []Field{{FieldType(f), data}}}
					b, err := p.Marshal()
					if v == 0 && (d >= dataTypeRootCount || f >= fieldTypeRootCount) {
						if !errors.Is(err, ErrVersion) {
							t.Errorf("v0 %v/%v: err = %v, want ErrVersion", DataType(d), FieldType(f), err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("v%d %v/%v: %v", v, DataType(d), FieldType(f), err)
					}
					var q Packet
					q.Version = v
					if err := q.Unmarshal(b); err != nil {
						t.Fatalf("v%d %v/%v: Unmarshal(%x): %v", v, DataType(d), FieldType(f), b, err)
					}
					if !packetsEqual(&p, &q) {
						t.Fatalf("v%d round trip of %x: got %+v", v, b, q)
					}
					// first octet: present(1) choice=data(1) ext root(4) pad
					if d < dataTypeRootCount && b[0] != 0xC0|byte(d<<1) {
						t.Errorf("v%d %v first octet %02x", v, DataType(d), b[0])
					}
				}
			}
		}
	}
}

func TestIFPErrors(t *testing.T) {
	decode := []struct {
		name    string
		version int
		hex     string
		want    error
	}{
		{"empty", 2, "", ErrTruncated},
		{"indicator ext index 7", 2, "21c0", ErrUnknownIndicator},
		{"indicator ext big number", 2, "3000", ErrUnknownIndicator},
		{"indicator ext truncated", 2, "20", ErrTruncated},
		{"data root value 9", 2, "5200", ErrUnknownDataType},
		{"data ext index 6", 2, "e180", ErrUnknownDataType},
		{"field count missing", 2, "c0", ErrTruncated},
		{"field header missing", 2, "c001", ErrTruncated},
		{"field length truncated", 2, "c00180", ErrTruncated},
		{"field data truncated", 2, "c00180000301", ErrTruncated},
		{"field type ext index 4", 2, "c001c20000", ErrUnknownFieldType},
		{"fragmented count", 2, "c0c1", ErrFragmented},
		{"trailing data", 2, "0200", ErrTrailingData},
		{"trailing after data", 0, "c0011000", ErrTrailingData},
	}
	for _, tc := range decode {
		t.Run(tc.name, func(t *testing.T) {
			p := Packet{Version: tc.version}
			err := p.Unmarshal(mustHex(t, tc.hex))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Unmarshal(%s) err = %v, want %v", tc.hex, err, tc.want)
			}
		})
	}
	encode := []struct {
		name string
		p    Packet
		want error
	}{
		{"v0 v8 indicator", Packet{Version: 0, Type: TypeIndicator, Indicator: V8Signal}, ErrVersion},
		{"bad indicator", Packet{Version: 2, Type: TypeIndicator, Indicator: 23}, ErrUnknownIndicator},
		{"bad data type", Packet{Version: 2, Type: TypeData, DataType: 15}, ErrUnknownDataType},
		{"bad field type", Packet{Version: 2, Type: TypeData, Fields: []Field{{Type: 12}}}, ErrUnknownFieldType},
		{"v0 cm-message", Packet{Version: 0, Type: TypeData, Fields: []Field{{Type: CMMessage}}}, ErrVersion},
		{"field too long", Packet{Version: 2, Type: TypeData, Fields: []Field{{HDLCData, make([]byte, 65536)}}}, ErrFieldTooLong},
		{"bad message type", Packet{Version: 2, Type: 2}, ErrMessageType},
	}
	for _, tc := range encode {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.p.Marshal(); !errors.Is(err, tc.want) {
				t.Fatalf("Marshal err = %v, want %v", err, tc.want)
			}
			if n := tc.p.MarshalSize(); n != 0 {
				t.Fatalf("MarshalSize = %d for an unencodable packet", n)
			}
		})
	}
	p := Packet{Version: 2, Type: TypeData, Fields: []Field{{HDLCData, []byte{1, 2, 3}}}}
	if _, err := p.MarshalTo(make([]byte, 7)); !errors.Is(err, ErrShortBuffer) {
		t.Fatalf("MarshalTo short buffer: err = %v", err)
	}
}

func TestIFPLargeFieldCountAndData(t *testing.T) {
	// 200 fields needs the two-octet length determinant; a 65535-octet field
	// the largest field-data length.
	p := Packet{Version: 2, Type: TypeData, DataType: V17_14400}
	for i := 0; i < 200; i++ {
		p.Fields = append(p.Fields, Field{T4NonECMData, []byte{byte(i)}})
	}
	p.Fields = append(p.Fields, Field{T4NonECMData, bytes.Repeat([]byte{0xaa}, 65535)})
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if b[1] != 0x80 || b[2] != 201 {
		t.Fatalf("count determinant = %x, want 80c9", b[1:3])
	}
	q := Packet{Version: 2}
	if err := q.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if !packetsEqual(&p, &q) {
		t.Fatal("round trip mismatch")
	}
}

func TestIFPUnmarshalAliasesAndReuses(t *testing.T) {
	buf := mustHex(t, "c002800000ff20")
	var p Packet
	if err := p.Unmarshal(buf); err != nil {
		t.Fatal(err)
	}
	buf[5] = 0x11
	if p.Fields[0].Data[0] != 0x11 {
		t.Fatal("field data does not alias the input buffer")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := p.Unmarshal(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Unmarshal allocates %v times per packet in steady state", allocs)
	}
	out := make([]byte, 64)
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := p.MarshalTo(out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("MarshalTo allocates %v times per packet", allocs)
	}
}

func TestIFPUnmarshalPrefix(t *testing.T) {
	// FEC-rebuilt packets carry zero padding up to the longest packet in the group.
	buf := mustHex(t, "c001100000")
	p := Packet{Version: 2}
	n, err := p.UnmarshalPrefix(buf)
	if err != nil || n != 3 {
		t.Fatalf("UnmarshalPrefix = %d, %v; want 3, nil", n, err)
	}
	want := Packet{Version: 2, Type: TypeData, Fields: []Field{{Type: HDLCFCSOK}}}
	if !reflect.DeepEqual(p.Fields, want.Fields) {
		t.Fatalf("got %+v", p)
	}
}

func TestIFPNames(t *testing.T) {
	if CNG.String() != "cng" || V33_14400Training.String() != "v33-14400-training" || Indicator(99).String() != "indicator(99)" {
		t.Error("indicator names")
	}
	if V17_14400.String() != "v17-14400" || V8.String() != "v8" || DataType(99).String() != "data(99)" {
		t.Error("data type names")
	}
	if HDLCFCSOKSigEnd.String() != "hdlc-fcs-OK-sig-end" || V34Rate.String() != "v34rate" || FieldType(99).String() != "field(99)" {
		t.Error("field type names")
	}
}
