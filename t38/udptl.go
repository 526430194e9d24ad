package t38

import (
	"errors"
	"fmt"
)

// UDPTL, ITU-T T.38 clause 9.1 and Annex A:
//
//	UDPTLPacket ::= SEQUENCE {
//	    seq-number         INTEGER (0..65535),
//	    primary-ifp-packet TYPE-IDENTIFIER.&Type(IFPPacket),
//	    error-recovery     CHOICE {
//	        secondary-ifp-packets SEQUENCE OF TYPE-IDENTIFIER.&Type(IFPPacket),
//	        fec-info SEQUENCE {
//	            fec-npackets INTEGER,
//	            fec-data     SEQUENCE OF OCTET STRING } } }
//
// In aligned PER this is: two octets of sequence number; the primary IFP as
// an open type (length determinant + octets); one octet holding the choice
// bit (0x00 redundancy, 0x80 FEC) and its padding; then either a count and
// length-prefixed secondary IFPs, most recent first, or the FEC span as an
// unconstrained INTEGER (length octet + two's complement) followed by a count
// and length-prefixed parity entries.
//
// Parity FEC (as deployed by SpanDSP, Asterisk and most gateways): with span
// S and E entries in packet N, entry m (0 <= m < E) is the XOR of the primary
// IFPs of packets N+m-k*E for k = 1..S, each padded with zeros to the longest.
// Together the entries cover packets N-S*E .. N-1, and any one packet missing
// from an entry's group can be rebuilt from the others.

// Errors returned by the UDPTL codec, encoder and receiver.
var (
	ErrUDPTLTruncated   = errors.New("t38: UDPTL packet truncated")
	ErrUDPTLTrailing    = errors.New("t38: trailing bytes after UDPTL packet")
	ErrUDPTLEmptyIFP    = errors.New("t38: empty IFP packet in UDPTL")
	ErrUDPTLFECSpan     = errors.New("t38: bad UDPTL fec-npackets")
	ErrDatagramTooLarge = errors.New("t38: IFP packet does not fit the maximum datagram size")
	ErrBadConfig        = errors.New("t38: bad UDPTL configuration")
)

// maxLength is the largest length one unfragmented PER length determinant holds.
const maxLength = 16383

// UDPTLPacket is one UDPTL datagram. After Unmarshal, Primary, Secondary and
// FECData alias the input buffer. Unmarshal reuses the capacity of
// Secondary and FECData, so it does not allocate in the steady state.
type UDPTLPacket struct {
	Seq     uint16
	Primary []byte // the IFP packet, encoded

	// FEC selects the fec-info alternative of error-recovery; otherwise
	// Secondary holds the redundant copies of earlier IFP packets, most
	// recent (Seq-1) first.
	FEC       bool
	Secondary [][]byte
	FECSpan   int // fec-npackets: packets covered by each entry
	FECData   [][]byte
}

func lenSize(n int) int {
	if n < 128 {
		return 1
	}
	return 2
}

func intSize(v int) int { // octets of a non-negative two's complement integer
	n := 1
	for v >= 0x80 {
		v >>= 8
		n++
	}
	return n
}

func (p *UDPTLPacket) check() error {
	if len(p.Primary) == 0 {
		return ErrUDPTLEmptyIFP
	}
	if len(p.Primary) > maxLength || len(p.Secondary) > maxLength || len(p.FECData) > maxLength {
		return ErrFragmented
	}
	if p.FEC {
		if p.FECSpan < 0 || p.FECSpan > 1<<30 {
			return ErrUDPTLFECSpan
		}
		for _, d := range p.FECData {
			if len(d) > maxLength {
				return ErrFragmented
			}
		}
		return nil
	}
	for _, s := range p.Secondary {
		if len(s) == 0 {
			return ErrUDPTLEmptyIFP
		}
		if len(s) > maxLength {
			return ErrFragmented
		}
	}
	return nil
}

// MarshalSize returns the encoded size of p in octets.
func (p *UDPTLPacket) MarshalSize() int {
	n := 2 + lenSize(len(p.Primary)) + len(p.Primary) + 1
	if p.FEC {
		n += 1 + intSize(p.FECSpan) + lenSize(len(p.FECData))
		for _, d := range p.FECData {
			n += lenSize(len(d)) + len(d)
		}
		return n
	}
	n += lenSize(len(p.Secondary))
	for _, s := range p.Secondary {
		n += lenSize(len(s)) + len(s)
	}
	return n
}

// Marshal encodes p into a new slice.
func (p *UDPTLPacket) Marshal() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	buf := make([]byte, p.MarshalSize())
	n, err := p.MarshalTo(buf)
	return buf[:n], err
}

func putLen(buf []byte, n int) int {
	if n < 128 {
		buf[0] = byte(n)
		return 1
	}
	buf[0] = 0x80 | byte(n>>8)
	buf[1] = byte(n)
	return 2
}

// MarshalTo encodes p into buf and returns the octets written. It does not
// allocate.
func (p *UDPTLPacket) MarshalTo(buf []byte) (int, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	if len(buf) < p.MarshalSize() {
		return 0, ErrShortBuffer
	}
	buf[0] = byte(p.Seq >> 8)
	buf[1] = byte(p.Seq)
	n := 2
	n += putLen(buf[n:], len(p.Primary))
	n += copy(buf[n:], p.Primary)
	if p.FEC {
		buf[n] = 0x80
		n++
		k := intSize(p.FECSpan)
		buf[n] = byte(k)
		n++
		for i := k - 1; i >= 0; i-- {
			buf[n] = byte(p.FECSpan >> (8 * i))
			n++
		}
		n += putLen(buf[n:], len(p.FECData))
		for _, d := range p.FECData {
			n += putLen(buf[n:], len(d))
			n += copy(buf[n:], d)
		}
		return n, nil
	}
	buf[n] = 0x00
	n++
	n += putLen(buf[n:], len(p.Secondary))
	for _, s := range p.Secondary {
		n += putLen(buf[n:], len(s))
		n += copy(buf[n:], s)
	}
	return n, nil
}

type octetReader struct {
	buf []byte
	pos int
}

func (r *octetReader) byte() (byte, error) {
	if r.pos >= len(r.buf) {
		return 0, ErrUDPTLTruncated
	}
	b := r.buf[r.pos]
	r.pos++
	return b, nil
}

func (r *octetReader) length() (int, error) {
	b, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case b&0x80 == 0:
		return int(b), nil
	case b&0xC0 == 0x80:
		lo, err := r.byte()
		if err != nil {
			return 0, err
		}
		return int(b&0x3F)<<8 | int(lo), nil
	default:
		return 0, ErrFragmented
	}
}

func (r *octetReader) octets(n int) ([]byte, error) {
	if n > len(r.buf)-r.pos {
		return nil, ErrUDPTLTruncated
	}
	b := r.buf[r.pos : r.pos+n : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *octetReader) openType() ([]byte, error) {
	n, err := r.length()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, ErrUDPTLEmptyIFP
	}
	return r.octets(n)
}

// Unmarshal decodes a UDPTL datagram that fills buf exactly.
func (p *UDPTLPacket) Unmarshal(buf []byte) error {
	r := octetReader{buf: buf}
	hi, err := r.byte()
	if err != nil {
		return err
	}
	lo, err := r.byte()
	if err != nil {
		return err
	}
	p.Seq = uint16(hi)<<8 | uint16(lo)
	if p.Primary, err = r.openType(); err != nil {
		return err
	}
	choice, err := r.byte()
	if err != nil {
		return err
	}
	p.Secondary = p.Secondary[:0]
	p.FECData = p.FECData[:0]
	p.FECSpan = 0
	p.FEC = choice&0x80 != 0
	if !p.FEC {
		n, err := r.length()
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			s, err := r.openType()
			if err != nil {
				return err
			}
			p.Secondary = append(p.Secondary, s)
		}
	} else {
		k, err := r.length()
		if err != nil {
			return err
		}
		if k < 1 || k > 4 {
			return fmt.Errorf("%w: %d-octet integer", ErrUDPTLFECSpan, k)
		}
		v, err := r.octets(k)
		if err != nil {
			return err
		}
		if v[0]&0x80 != 0 {
			return fmt.Errorf("%w: negative", ErrUDPTLFECSpan)
		}
		span := 0
		for _, b := range v {
			span = span<<8 | int(b)
		}
		p.FECSpan = span
		n, err := r.length()
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			l, err := r.length()
			if err != nil {
				return err
			}
			d, err := r.octets(l)
			if err != nil {
				return err
			}
			p.FECData = append(p.FECData, d)
		}
	}
	if r.pos != len(buf) {
		return ErrUDPTLTrailing
	}
	return nil
}

// ECMode is the UDPTL error-recovery scheme (SDP T38FaxUdpEC).
type ECMode uint8

const (
	ECNone       ECMode = iota // redundancy with zero secondaries
	ECRedundancy               // t38UDPRedundancy
	ECFEC                      // t38UDPFEC
)

func (m ECMode) String() string {
	switch m {
	case ECNone:
		return "none"
	case ECRedundancy:
		return "t38UDPRedundancy"
	case ECFEC:
		return "t38UDPFEC"
	}
	return fmt.Sprintf("ECMode(%d)", uint8(m))
}

// EncoderConfig configures a UDPTL Encoder.
type EncoderConfig struct {
	Mode ECMode
	// Redundancy is the number of earlier IFP packets repeated in each
	// datagram (ECRedundancy). It is reduced per datagram to fit MaxDatagram.
	Redundancy int
	// FECSpan is the number of packets XORed into one FEC entry and
	// FECEntries the number of entries per datagram (ECFEC). Entries are
	// dropped per datagram to fit MaxDatagram.
	FECSpan, FECEntries int
	// MaxDatagram is the largest UDPTL payload the far end accepts
	// (T38FaxMaxDatagram); 0 means no limit.
	MaxDatagram int
	// FirstSeq is the sequence number of the first datagram.
	FirstSeq uint16
}

// maxHistory bounds redundancy depth and FEC span*entries.
const maxHistory = 128

// Encoder wraps IFP packets into UDPTL datagrams with error recovery. It
// keeps copies of the last packets it sent; it is not safe for concurrent
// use.
type Encoder struct {
	cfg   EncoderConfig
	seq   uint16
	hist  [maxHistory][]byte // hist[seq%maxHistory]
	count int                // packets sent so far, saturating at maxHistory
	pkt   UDPTLPacket
	fec   [][]byte // entry buffers
}

// NewEncoder returns an Encoder for cfg.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	switch cfg.Mode {
	case ECNone:
	case ECRedundancy:
		if cfg.Redundancy < 0 || cfg.Redundancy >= maxHistory {
			return nil, fmt.Errorf("%w: redundancy depth %d", ErrBadConfig, cfg.Redundancy)
		}
	case ECFEC:
		if cfg.FECSpan < 1 || cfg.FECEntries < 1 || cfg.FECSpan*cfg.FECEntries >= maxHistory {
			return nil, fmt.Errorf("%w: FEC span %d entries %d", ErrBadConfig, cfg.FECSpan, cfg.FECEntries)
		}
	default:
		return nil, fmt.Errorf("%w: mode %v", ErrBadConfig, cfg.Mode)
	}
	if cfg.MaxDatagram < 0 {
		return nil, fmt.Errorf("%w: max datagram %d", ErrBadConfig, cfg.MaxDatagram)
	}
	return &Encoder{cfg: cfg, seq: cfg.FirstSeq}, nil
}

// NextSeq returns the sequence number the next datagram will carry.
func (e *Encoder) NextSeq() uint16 { return e.seq }

func (e *Encoder) past(k int) []byte { // the packet sent k datagrams ago (k >= 1)
	return e.hist[(int(e.seq)-k)&(maxHistory-1)]
}

// Encode wraps the encoded IFP packet ifp into the next datagram, writes it
// to dst and returns its length. dst should hold MaxDatagram octets (or
// enough for the configured depth). It does not allocate in the steady
// state.
func (e *Encoder) Encode(dst []byte, ifp []byte) (int, error) {
	return e.EncodeBurst(dst, ifp, 0)
}

// EncodeBurst is Encode for a datagram that leaves right behind burst
// others (sent at the same instant, e.g. when the sender catches up after
// a stall). Under ECRedundancy it repeats burst more earlier packets than
// configured, as many as fit the datagram: datagrams sent together may
// arrive in any order, and a receiver recovers from the first one to
// arrive only the packets it repeats (later arrivals of older sequence
// numbers are discarded as late, as SpanDSP's and Asterisk's UDPTL do).
// T.38 lets the number of secondary IFPs differ from datagram to datagram.
func (e *Encoder) EncodeBurst(dst []byte, ifp []byte, burst int) (int, error) {
	limit := e.cfg.MaxDatagram
	if limit == 0 || limit > len(dst) {
		limit = len(dst)
	}
	p := &e.pkt
	p.Seq = e.seq
	p.Primary = ifp
	p.FEC = false
	p.Secondary = p.Secondary[:0]
	p.FECData = p.FECData[:0]
	if len(ifp) == 0 {
		return 0, ErrUDPTLEmptyIFP
	}
	if len(ifp) > maxLength {
		return 0, ErrFragmented
	}
	switch e.cfg.Mode {
	case ECRedundancy:
		depth := e.cfg.Redundancy
		if depth > 0 && burst > 0 {
			depth = min(depth+burst, maxHistory-1)
		}
		depth = min(depth, e.count)
		for k := 1; k <= depth; k++ {
			p.Secondary = append(p.Secondary, e.past(k))
		}
		for len(p.Secondary) > 0 && p.MarshalSize() > limit {
			p.Secondary = p.Secondary[:len(p.Secondary)-1]
		}
	case ECFEC:
		p.FEC = true
		p.FECSpan = e.cfg.FECSpan
		entries := min(e.cfg.FECEntries, e.count/e.cfg.FECSpan)
		for ; entries >= 0; entries-- {
			e.buildFEC(entries)
			if p.MarshalSize() <= limit {
				break
			}
		}
	}
	if p.MarshalSize() > limit {
		if e.cfg.MaxDatagram > 0 && p.MarshalSize() > e.cfg.MaxDatagram {
			return 0, ErrDatagramTooLarge
		}
		return 0, ErrShortBuffer
	}
	n, err := p.MarshalTo(dst)
	if err != nil {
		return 0, err
	}
	slot := &e.hist[int(e.seq)&(maxHistory-1)]
	*slot = append((*slot)[:0], ifp...)
	e.seq++
	if e.count < maxHistory {
		e.count++
	}
	return n, nil
}

// buildFEC fills e.pkt.FECData with the given number of parity entries.
func (e *Encoder) buildFEC(entries int) {
	p := &e.pkt
	p.FECData = p.FECData[:0]
	for len(e.fec) < entries {
		e.fec = append(e.fec, nil)
	}
	span := e.cfg.FECSpan
	for m := 0; m < entries; m++ {
		buf := e.fec[m][:0]
		for k := 1; k <= span; k++ {
			// packet N+m-k*entries is past(k*entries-m)
			src := e.past(k*entries - m)
			for len(buf) < len(src) {
				buf = append(buf, 0)
			}
			for i, b := range src {
				buf[i] ^= b
			}
		}
		e.fec[m] = buf
		p.FECData = append(p.FECData, buf)
	}
}

// RxStatus says how a Receiver obtained the IFP packet it hands on.
type RxStatus uint8

const (
	RxReceived  RxStatus = iota // arrived as a primary
	RxRecovered                 // rebuilt from redundancy or FEC
	RxLost                      // given up: ifp is nil
)

func (s RxStatus) String() string {
	switch s {
	case RxReceived:
		return "received"
	case RxRecovered:
		return "recovered"
	case RxLost:
		return "lost"
	}
	return fmt.Sprintf("RxStatus(%d)", uint8(s))
}

// RxHandler receives IFP packets from a Receiver in sequence order. ifp
// aliases the Receiver's buffers and is valid until the next call into the
// Receiver.
type RxHandler func(seq uint16, ifp []byte, status RxStatus)

// ReceiverConfig configures a UDPTL Receiver.
type ReceiverConfig struct {
	// Window is how many packets past a gap the receiver holds back waiting
	// for the missing packet (reordering) before declaring it lost. 0 means
	// the default of 4.
	Window int
	// Version is the T.38 version, used to trim IFP packets rebuilt by FEC
	// (parity entries are padded to the longest packet of their group).
	Version int
	// MaxJump is the sequence-number distance beyond which a packet is taken
	// as a restart of the stream rather than a burst of loss. 0 means 1000.
	MaxJump int
}

// Stats counts what a Receiver saw.
type Stats struct {
	Received     uint64 // well-formed datagrams
	Malformed    uint64 // datagrams that failed to decode
	Duplicates   uint64 // primaries already delivered or recovered
	Late         uint64 // primaries that arrived after being declared lost
	Recovered    uint64 // packets rebuilt from redundancy or FEC
	RecoveredFEC uint64 // of Recovered, rebuilt from FEC
	Lost         uint64 // packets given up on
	Delivered    uint64 // packets handed on (received or recovered)
	Restarts     uint64 // sequence number jumps treated as a new stream
}

const ringSize = 256 // slots; >= maxHistory + ahead window

type slotState uint8

const (
	slotEmpty slotState = iota
	slotHave            // data present, not yet delivered
	slotDone            // delivered, data kept for FEC
	slotLost            // declared lost
)

type rxSlot struct {
	seq       uint16
	state     slotState
	recovered bool
	data      []byte
	fecSpan   int
	fecN      int
	fec       [][]byte
}

// Receiver reassembles the IFP packet stream from UDPTL datagrams: it drops
// duplicates and late packets, holds a small reordering window, and rebuilds
// lost packets from redundancy or parity FEC. It is not safe for concurrent
// use.
type Receiver struct {
	cfg     ReceiverConfig
	started bool
	next    uint16 // next sequence number to hand on
	high    uint16 // highest sequence number seen
	slots   [ringSize]rxSlot
	pkt     UDPTLPacket
	ifp     Packet
	stats   Stats
}

// NewReceiver returns a Receiver for cfg.
func NewReceiver(cfg ReceiverConfig) *Receiver {
	if cfg.Window <= 0 {
		cfg.Window = 4
	}
	if cfg.Window > ringSize-maxHistory-1 {
		cfg.Window = ringSize - maxHistory - 1
	}
	if cfg.MaxJump <= 0 {
		cfg.MaxJump = 1000
	}
	return &Receiver{cfg: cfg}
}

// Stats returns the counters so far.
func (r *Receiver) Stats() Stats { return r.stats }

// Pending reports whether packets are held back waiting for a gap to fill;
// the owner should call Flush if nothing arrives for a while.
func (r *Receiver) Pending() bool { return r.started && r.next != r.high+1 }

func (r *Receiver) slot(seq uint16) *rxSlot { return &r.slots[int(seq)%ringSize] }

// have reports whether the data of packet seq is held (pending or delivered).
func (r *Receiver) have(seq uint16) bool {
	s := r.slot(seq)
	return s.seq == seq && (s.state == slotHave || s.state == slotDone)
}

func (r *Receiver) store(seq uint16, data []byte, recovered bool) {
	s := r.slot(seq)
	s.seq = seq
	s.state = slotHave
	s.recovered = recovered
	s.data = append(s.data[:0], data...)
	s.fecN = 0
}

// Push feeds one received datagram. Packets that become deliverable are
// handed to h in sequence order. A malformed datagram is counted and
// reported as an error; the receiver state is unchanged by it.
func (r *Receiver) Push(datagram []byte, h RxHandler) error {
	p := &r.pkt
	if err := p.Unmarshal(datagram); err != nil {
		r.stats.Malformed++
		return fmt.Errorf("t38: malformed UDPTL datagram: %w", err)
	}
	r.stats.Received++
	seq := p.Seq
	if !r.started {
		r.started = true
		r.next, r.high = seq, seq
		r.reset(seq)
	}
	d := int(int16(seq - r.next))
	switch {
	case d < 0:
		s := r.slot(seq)
		if s.seq == seq && s.state == slotDone {
			r.stats.Duplicates++
		} else {
			r.stats.Late++
		}
		return nil
	case d > r.cfg.MaxJump:
		r.Flush(h)
		r.stats.Restarts++
		r.next, r.high = seq, seq
		r.reset(seq)
	}
	// Make room: everything must fit ahead of the kept history.
	for int(uint16(seq-r.next)) >= ringSize-maxHistory {
		r.giveUp(h)
	}
	if r.have(seq) {
		r.stats.Duplicates++
		return nil
	}
	if int16(seq-r.high) > 0 {
		for q := r.high + 1; q != seq; q++ { // clear stale slots in the new range
			if s := r.slot(q); s.seq != q {
				s.seq, s.state, s.fecN = q, slotEmpty, 0
			}
		}
		r.high = seq
	}
	r.store(seq, p.Primary, false)
	if p.FEC {
		s := r.slot(seq)
		s.fecSpan = p.FECSpan
		for len(s.fec) < len(p.FECData) {
			s.fec = append(s.fec, nil)
		}
		for i, e := range p.FECData {
			s.fec[i] = append(s.fec[i][:0], e...)
		}
		s.fecN = len(p.FECData)
	} else {
		for i, sec := range p.Secondary {
			q := seq - 1 - uint16(i)
			if int16(q-r.next) < 0 {
				break
			}
			if !r.have(q) {
				r.store(q, sec, true)
				r.stats.Recovered++
			}
		}
	}
	r.deliver(h)
	if r.next != r.high+1 {
		r.recoverFEC()
		r.deliver(h)
	}
	for int(uint16(r.high-r.next)) >= r.cfg.Window && r.next != r.high+1 {
		r.giveUp(h)
	}
	return nil
}

func (r *Receiver) reset(seq uint16) {
	for i := range r.slots {
		r.slots[i].state = slotEmpty
		r.slots[i].fecN = 0
		r.slots[i].seq = seq - 1 - uint16(ringSize) // matches no live sequence number
	}
}

// deliver hands on every consecutive packet from r.next.
func (r *Receiver) deliver(h RxHandler) {
	for {
		s := r.slot(r.next)
		if s.seq != r.next || s.state != slotHave {
			return
		}
		s.state = slotDone
		r.stats.Delivered++
		st := RxReceived
		if s.recovered {
			st = RxRecovered
		}
		seq := r.next
		r.next++
		if h != nil {
			h(seq, s.data, st)
		}
	}
}

// giveUp declares r.next lost (if missing) and delivers what follows.
func (r *Receiver) giveUp(h RxHandler) {
	s := r.slot(r.next)
	if s.seq != r.next || s.state != slotHave {
		s.seq, s.state, s.fecN = r.next, slotLost, 0
		r.stats.Lost++
		seq := r.next
		r.next++
		if h != nil {
			h(seq, nil, RxLost)
		}
	}
	r.deliver(h)
}

// Flush gives up on every gap and hands on everything held. Call it when the
// stream pauses (e.g. on a timer), so held packets are not delayed forever.
func (r *Receiver) Flush(h RxHandler) {
	if !r.started {
		return
	}
	for r.next != r.high+1 {
		r.giveUp(h)
	}
}

// recoverFEC rebuilds missing packets from the parity entries held in
// pending slots until no more can be rebuilt.
func (r *Receiver) recoverFEC() {
	for progress := true; progress; {
		progress = false
		for q := r.next; q != r.high+1; q++ {
			s := r.slot(q)
			if s.seq != q || s.state != slotHave || s.fecN == 0 || s.fecSpan < 1 {
				continue
			}
			entries := s.fecN
			if s.fecSpan*entries > maxHistory {
				continue
			}
			for m := 0; m < entries; m++ {
				missing, nmissing := uint16(0), 0
				for k := 1; k <= s.fecSpan; k++ {
					c := q + uint16(m) - uint16(k*entries)
					if !r.have(c) {
						missing = c
						nmissing++
					}
				}
				if nmissing != 1 || int16(missing-r.next) < 0 {
					continue
				}
				ms := r.slot(missing)
				buf := append(ms.data[:0], s.fec[m]...)
				for k := 1; k <= s.fecSpan; k++ {
					c := q + uint16(m) - uint16(k*entries)
					if c == missing {
						continue
					}
					for i, b := range r.slot(c).data {
						if i < len(buf) {
							buf[i] ^= b
						}
					}
				}
				r.ifp.Version = r.cfg.Version
				if n, err := r.ifp.UnmarshalPrefix(buf); err == nil {
					buf = buf[:n]
				}
				ms.data = buf
				ms.seq, ms.state, ms.recovered, ms.fecN = missing, slotHave, true, 0
				r.stats.Recovered++
				r.stats.RecoveredFEC++
				progress = true
			}
		}
	}
}
