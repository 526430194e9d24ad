package t38

import (
	"errors"
	"fmt"
)

// IFP (Internet Facsimile Protocol) packets, ITU-T T.38 clause 7 and
// Annex A, encoded with ASN.1 PER, ALIGNED variant (ITU-T X.691).
//
//	IFPPacket ::= SEQUENCE {
//	    type-of-msg Type-of-msg,
//	    data-field  Data-Field OPTIONAL }
//	Type-of-msg ::= CHOICE {                      -- not extensible
//	    t30-indicator ENUMERATED { no-signal .. v17-14400-long-training, ...,
//	                               v8-ansam .. v33-14400-training },
//	    t30-data      ENUMERATED { v21 .. v17-14400, ..., v8 .. v33-14400 } }
//	Data-Field ::= SEQUENCE OF SEQUENCE {
//	    field-type ENUMERATED { hdlc-data .. t4-non-ecm-sig-end, ...,   -- 2002 form
//	                            cm-message, jm-message, ci-message, v34rate },
//	    field-data OCTET STRING (SIZE (1..65535)) OPTIONAL }
//
// The 1998 form (T.38 version 0) has no extension marker in field-type, so a
// field header there is 4 bits (presence + 3-bit type) instead of 5, and the
// V.8/V.34/V.33 additions do not exist. Versions 1, 2 and 3 use the 2002 form.
//
// Bit layout of the first octet, as worked out from X.691 (and matching
// SpanDSP and captures): bit 7 data-field present, bit 6 choice (0 indicator,
// 1 data), bit 5 enumeration extension, bits 4..1 the root value. So CNG is
// the single octet 0x02, V.21 preamble 0x06, and a V.21 HDLC data packet
// starts 0xC0.
//
// Alignment follows PER exactly: a field without field-data takes only its
// header bits, and the next field's header follows in the same octet. Note:
// SpanDSP 0.0.6 instead starts every field on an octet boundary in its
// encoder, and in the 2002 form shifts the extended field types (cm-message
// .. v34rate) by one bit. The two encodings coincide whenever only the last
// field of a packet lacks field-data and no extended field type is used; the
// terminal in this package only ever sends such packets.

// Errors returned by the IFP codec. Callers may branch on them with errors.Is.
var (
	ErrShortBuffer      = errors.New("t38: buffer too short")
	ErrTruncated        = errors.New("t38: packet truncated")
	ErrTrailingData     = errors.New("t38: trailing bytes after packet")
	ErrUnknownIndicator = errors.New("t38: unknown T.30 indicator")
	ErrUnknownDataType  = errors.New("t38: unknown T.30 data type")
	ErrUnknownFieldType = errors.New("t38: unknown field type")
	ErrVersion          = errors.New("t38: not available in this T.38 version")
	ErrFieldTooLong     = errors.New("t38: field data longer than 65535 octets")
	ErrTooManyFields    = errors.New("t38: too many fields in one packet")
	ErrFragmented       = errors.New("t38: fragmented PER length not supported")
	ErrMessageType      = errors.New("t38: unknown message type")
)

// MessageType says whether an IFP packet carries a T.30 indicator or T.30 data.
type MessageType uint8

const (
	TypeIndicator MessageType = 0 // t30-indicator
	TypeData      MessageType = 1 // t30-data
)

// Indicator is a T30_INDICATOR value (T.38 clause 6.1).
type Indicator uint8

// T30_INDICATOR values in ASN.1 order. Values from V8ANSam on are extension
// additions of the 2002 form (T.38 version 1 and later).
const (
	NoSignal Indicator = iota
	CNG
	CED
	V21Preamble
	V27ter2400Training
	V27ter4800Training
	V29_7200Training
	V29_9600Training
	V17_7200ShortTraining
	V17_7200LongTraining
	V17_9600ShortTraining
	V17_9600LongTraining
	V17_12000ShortTraining
	V17_12000LongTraining
	V17_14400ShortTraining
	V17_14400LongTraining
	V8ANSam
	V8Signal
	V34CntlChannel1200
	V34PriChannel
	V34CCRetrain
	V33_12000Training
	V33_14400Training
)

const (
	indicatorRootCount = 16 // no-signal .. v17-14400-long-training
	indicatorCount     = 23
)

var indicatorNames = [indicatorCount]string{
	"no-signal", "cng", "ced", "v21-preamble", "v27-2400-training", "v27-4800-training",
	"v29-7200-training", "v29-9600-training", "v17-7200-short-training", "v17-7200-long-training",
	"v17-9600-short-training", "v17-9600-long-training", "v17-12000-short-training",
	"v17-12000-long-training", "v17-14400-short-training", "v17-14400-long-training",
	"v8-ansam", "v8-signal", "v34-cntl-channel-1200", "v34-pri-channel", "v34-CC-retrain",
	"v33-12000-training", "v33-14400-training",
}

// String returns the ASN.1 name of the indicator.
func (i Indicator) String() string {
	if int(i) < len(indicatorNames) {
		return indicatorNames[i]
	}
	return fmt.Sprintf("indicator(%d)", uint8(i))
}

// DataType is a T30_DATA value (T.38 clause 6.2): the modulation and rate.
type DataType uint8

// T30_DATA values in ASN.1 order. Values from V8 on are extension additions.
const (
	V21 DataType = iota
	V27ter2400
	V27ter4800
	V29_7200
	V29_9600
	V17_7200
	V17_9600
	V17_12000
	V17_14400
	V8
	V34PriRate
	V34CC1200
	V34PriCh
	V33_12000
	V33_14400
)

const (
	dataTypeRootCount = 9 // v21 .. v17-14400
	dataTypeCount     = 15
)

var dataTypeNames = [dataTypeCount]string{
	"v21", "v27-2400", "v27-4800", "v29-7200", "v29-9600", "v17-7200", "v17-9600",
	"v17-12000", "v17-14400", "v8", "v34-pri-rate", "v34-CC-1200", "v34-pri-ch",
	"v33-12000", "v33-14400",
}

// String returns the ASN.1 name of the data type.
func (d DataType) String() string {
	if int(d) < len(dataTypeNames) {
		return dataTypeNames[d]
	}
	return fmt.Sprintf("data(%d)", uint8(d))
}

// FieldType is the type of one field of a data packet (T.38 clause 6.3).
type FieldType uint8

// Field types in ASN.1 order. Values from CMMessage on are extension
// additions of the 2002 form; the 1998 form has only the first eight.
const (
	HDLCData FieldType = iota
	HDLCSigEnd
	HDLCFCSOK
	HDLCFCSBad
	HDLCFCSOKSigEnd
	HDLCFCSBadSigEnd
	T4NonECMData
	T4NonECMSigEnd
	CMMessage
	JMMessage
	CIMessage
	V34Rate
)

const (
	fieldTypeRootCount = 8
	fieldTypeCount     = 12
)

var fieldTypeNames = [fieldTypeCount]string{
	"hdlc-data", "hdlc-sig-end", "hdlc-fcs-OK", "hdlc-fcs-BAD", "hdlc-fcs-OK-sig-end",
	"hdlc-fcs-BAD-sig-end", "t4-non-ecm-data", "t4-non-ecm-sig-end", "cm-message",
	"jm-message", "ci-message", "v34rate",
}

// String returns the ASN.1 name of the field type.
func (f FieldType) String() string {
	if int(f) < len(fieldTypeNames) {
		return fieldTypeNames[f]
	}
	return fmt.Sprintf("field(%d)", uint8(f))
}

// Field is one element of an IFP data-field. An empty Data means the
// optional field-data is absent.
type Field struct {
	Type FieldType
	Data []byte
}

// Packet is one IFP packet.
//
// Version selects the ASN.1 form on both encode and decode: 0 is the 1998
// form, 1..3 the 2002 form. Set it before calling Unmarshal.
//
// After Unmarshal, Fields[i].Data aliases the input buffer: it is valid only
// while that buffer is unchanged. Unmarshal reuses the capacity of Fields, so
// decoding into the same Packet does not allocate once Fields has grown.
type Packet struct {
	Version   int
	Type      MessageType
	Indicator Indicator // valid when Type == TypeIndicator
	DataType  DataType  // valid when Type == TypeData
	Fields    []Field   // data-field; normally empty for indicators
}

// maxFields is the largest element count a single (unfragmented) PER length
// determinant can carry.
const maxFields = 16383

func (p *Packet) check() error {
	switch p.Type {
	case TypeIndicator:
		if int(p.Indicator) >= indicatorCount {
			return ErrUnknownIndicator
		}
		if p.Version == 0 && int(p.Indicator) >= indicatorRootCount {
			return fmt.Errorf("%w: indicator %v needs version 1 or later", ErrVersion, p.Indicator)
		}
	case TypeData:
		if int(p.DataType) >= dataTypeCount {
			return ErrUnknownDataType
		}
		if p.Version == 0 && int(p.DataType) >= dataTypeRootCount {
			return fmt.Errorf("%w: data type %v needs version 1 or later", ErrVersion, p.DataType)
		}
	default:
		return ErrMessageType
	}
	if len(p.Fields) > maxFields {
		return ErrTooManyFields
	}
	for i := range p.Fields {
		f := &p.Fields[i]
		if int(f.Type) >= fieldTypeCount {
			return ErrUnknownFieldType
		}
		if p.Version == 0 && int(f.Type) >= fieldTypeRootCount {
			return fmt.Errorf("%w: field type %v needs version 1 or later", ErrVersion, f.Type)
		}
		if len(f.Data) > 65535 {
			return ErrFieldTooLong
		}
	}
	return nil
}

// MarshalSize returns the encoded size of p in octets, or 0 if p cannot be
// encoded (MarshalTo reports why).
func (p *Packet) MarshalSize() int {
	if p.check() != nil {
		return 0
	}
	var w bitWriter // nil buffer: counts bits only
	p.encode(&w)
	return w.octets()
}

// Marshal encodes p into a new slice.
func (p *Packet) Marshal() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	buf := make([]byte, p.MarshalSize())
	n, err := p.MarshalTo(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// MarshalTo encodes p into buf and returns the number of octets written.
// It does not allocate.
func (p *Packet) MarshalTo(buf []byte) (int, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	var sz bitWriter
	p.encode(&sz)
	n := sz.octets()
	if len(buf) < n {
		return 0, ErrShortBuffer
	}
	clear(buf[:n]) // the writer ORs bits in
	w := bitWriter{buf: buf}
	p.encode(&w)
	return n, nil
}

func (p *Packet) encode(w *bitWriter) {
	hasData := len(p.Fields) > 0
	w.bit(hasData)
	w.bit(p.Type == TypeData)
	if p.Type == TypeIndicator {
		w.enum(int(p.Indicator), indicatorRootCount, 4)
	} else {
		w.enum(int(p.DataType), dataTypeRootCount, 4)
	}
	if !hasData {
		w.align()
		return
	}
	w.align()
	if n := len(p.Fields); n < 128 {
		w.bits(uint32(n), 8)
	} else {
		w.bits(0x8000|uint32(n), 16)
	}
	for i := range p.Fields {
		f := &p.Fields[i]
		present := len(f.Data) > 0
		w.bit(present)
		if p.Version == 0 {
			w.bits(uint32(f.Type), 3)
		} else {
			w.enum(int(f.Type), fieldTypeRootCount, 3)
		}
		if present {
			w.align()
			w.bits(uint32(len(f.Data)-1), 16)
			w.bytes(f.Data)
		}
	}
	w.align()
}

// Unmarshal decodes one IFP packet that fills buf exactly, using the form
// selected by p.Version.
func (p *Packet) Unmarshal(buf []byte) error {
	n, err := p.UnmarshalPrefix(buf)
	if err != nil {
		return err
	}
	if n != len(buf) {
		return ErrTrailingData
	}
	return nil
}

// UnmarshalPrefix decodes one IFP packet from the start of buf and returns
// the number of octets it occupies. It is used where a packet may be
// followed by padding, as in packets rebuilt from UDPTL parity FEC.
func (p *Packet) UnmarshalPrefix(buf []byte) (int, error) {
	r := bitReader{buf: buf}
	hasData, err := r.bit()
	if err != nil {
		return 0, err
	}
	isData, err := r.bit()
	if err != nil {
		return 0, err
	}
	p.Fields = p.Fields[:0]
	if isData {
		p.Type = TypeData
		v, err := r.enum(dataTypeRootCount, 4)
		if err != nil {
			return 0, err
		}
		if v >= dataTypeCount {
			return 0, ErrUnknownDataType
		}
		p.DataType = DataType(v)
		p.Indicator = 0
	} else {
		p.Type = TypeIndicator
		v, err := r.enum(indicatorRootCount, 4)
		if err != nil {
			return 0, err
		}
		if v >= indicatorCount {
			return 0, ErrUnknownIndicator
		}
		p.Indicator = Indicator(v)
		p.DataType = 0
	}
	r.align()
	if !hasData {
		return r.octets(), nil
	}
	count, err := r.length()
	if err != nil {
		return 0, err
	}
	for i := 0; i < count; i++ {
		present, err := r.bit()
		if err != nil {
			return 0, err
		}
		var ft int
		if p.Version == 0 {
			v, err := r.bits(3)
			if err != nil {
				return 0, err
			}
			ft = int(v)
		} else {
			ft, err = r.enum(fieldTypeRootCount, 3)
			if err != nil {
				return 0, err
			}
			if ft >= fieldTypeCount {
				return 0, ErrUnknownFieldType
			}
		}
		var data []byte
		if present {
			r.align()
			l, err := r.bits(16)
			if err != nil {
				return 0, err
			}
			data, err = r.bytes(int(l) + 1)
			if err != nil {
				return 0, err
			}
		}
		p.Fields = append(p.Fields, Field{Type: FieldType(ft), Data: data})
	}
	r.align()
	return r.octets(), nil
}

// bitWriter writes PER bits MSB first. With a nil buf it only counts.
type bitWriter struct {
	buf []byte
	pos int // in bits
}

func (w *bitWriter) bit(b bool) {
	if b && w.buf != nil {
		w.buf[w.pos>>3] |= 0x80 >> (w.pos & 7)
	}
	w.pos++
}

func (w *bitWriter) bits(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bit(v>>i&1 != 0)
	}
}

func (w *bitWriter) align() { w.pos = (w.pos + 7) &^ 7 }

// bytes writes octets at an aligned position.
func (w *bitWriter) bytes(b []byte) {
	if w.buf != nil {
		copy(w.buf[w.pos>>3:], b)
	}
	w.pos += 8 * len(b)
}

// enum writes an extensible ENUMERATED value with root root values encoded
// in width bits; extension additions are written as a normally small
// non-negative whole number (X.691 10.6), always < 64 here.
func (w *bitWriter) enum(v, root, width int) {
	if v < root {
		w.bit(false)
		w.bits(uint32(v), width)
		return
	}
	w.bit(true)
	w.bit(false)
	w.bits(uint32(v-root), 6)
}

func (w *bitWriter) octets() int { return (w.pos + 7) >> 3 }

type bitReader struct {
	buf []byte
	pos int
}

func (r *bitReader) bit() (bool, error) {
	if r.pos>>3 >= len(r.buf) {
		return false, ErrTruncated
	}
	b := r.buf[r.pos>>3]&(0x80>>(r.pos&7)) != 0
	r.pos++
	return b, nil
}

func (r *bitReader) bits(n int) (uint32, error) {
	if r.pos+n > 8*len(r.buf) {
		return 0, ErrTruncated
	}
	var v uint32
	for i := 0; i < n; i++ {
		v = v<<1 | uint32(r.buf[r.pos>>3]>>(7-r.pos&7)&1)
		r.pos++
	}
	return v, nil
}

func (r *bitReader) align() { r.pos = (r.pos + 7) &^ 7 }

func (r *bitReader) bytes(n int) ([]byte, error) {
	start := r.pos >> 3
	if n > len(r.buf)-start {
		return nil, ErrTruncated
	}
	r.pos += 8 * n
	return r.buf[start : start+n : start+n], nil
}

// enum reads an extensible ENUMERATED value; extension additions come back
// as root+index. Impossible values (a root value past the root, an index of
// 64 or more) come back as 1024, which every caller rejects by range.
func (r *bitReader) enum(root, width int) (int, error) {
	ext, err := r.bit()
	if err != nil {
		return 0, err
	}
	if !ext {
		v, err := r.bits(width)
		if err != nil {
			return 0, err
		}
		if int(v) >= root {
			return 1 << 10, nil // no such root value; callers range-check
		}
		return int(v), nil
	}
	big, err := r.bit()
	if err != nil {
		return 0, err
	}
	if big {
		return 1 << 10, nil // index >= 64: no such extension addition
	}
	v, err := r.bits(6)
	if err != nil {
		return 0, err
	}
	return root + int(v), nil
}

// length reads an aligned PER length determinant (unfragmented).
func (r *bitReader) length() (int, error) {
	r.align()
	b, err := r.bits(8)
	if err != nil {
		return 0, err
	}
	switch {
	case b&0x80 == 0:
		return int(b), nil
	case b&0xC0 == 0x80:
		lo, err := r.bits(8)
		if err != nil {
			return 0, err
		}
		return int(b&0x3F)<<8 | int(lo), nil
	default:
		return 0, ErrFragmented
	}
}

func (r *bitReader) octets() int { return (r.pos + 7) >> 3 }
