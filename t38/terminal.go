package t38

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/faxagent/faxagent/t30"
)

// Transport carries UDPTL datagrams to the far end. Send must not keep
// datagram after it returns. Received datagrams go the other way through
// Terminal.Receive (or ReceiveAsync).
type Transport interface {
	Send(datagram []byte) error
}

// TerminalConfig configures a T.38 terminal; the values normally come from
// the SDP negotiation (see ConfigFromParams).
type TerminalConfig struct {
	Version        int            // T.38 version: IFP form and available indicators
	MaxBitRate     int            // highest data rate allowed (0: 14400)
	RateManagement RateManagement // transferredTCF (default) or localTCF
	// FillBitRemoval (T38FaxFillBitRemoval negotiated): fill bits are
	// stripped from non-ECM page data before it is sent (never from TCF).
	// Received data needs no change either way: the t30 decoder does not
	// need fill, and no minimum scan time applies to a T.38 terminal.
	FillBitRemoval bool

	// UDPTL error recovery towards the far end and its datagram limit
	// (the far end's T38FaxMaxDatagram).
	EC          ECMode
	Redundancy  int // depth for ECRedundancy (default 3)
	FECSpan     int // for ECFEC (default 3)
	FECEntries  int // for ECFEC (default 3)
	MaxDatagram int // 0: 1400

	// PacketInterval is how much line time one data packet carries
	// (T.38 practice: 20–40 ms). Default 30 ms.
	PacketInterval time.Duration
	// Repeats is how many extra copies of each indicator and each
	// end-of-signal packet are sent (same sequence number). Default 2.
	Repeats int
	// ReorderWindow and FlushDelay tune the receiver: packets held while
	// a gap is open, and how long to wait for it before giving up.
	// Defaults 4 packets and 60 ms.
	ReorderWindow int
	FlushDelay    time.Duration

	Logger *slog.Logger
}

// ConfigFromParams returns the terminal configuration for a negotiated
// session: p is the answer's (or accepted offer's) T.38 parameters and
// remoteMaxDatagram the far end's T38FaxMaxDatagram (0 if not given).
func ConfigFromParams(p T38Params, remoteMaxDatagram int) TerminalConfig {
	c := TerminalConfig{
		Version: p.Version, MaxBitRate: p.MaxBitRate, RateManagement: p.RateManagement,
		FillBitRemoval: p.FillBitRemoval, EC: p.UDPEC, MaxDatagram: remoteMaxDatagram,
	}
	if p.ECDepthMin > 0 {
		c.Redundancy = p.ECDepthMin
	}
	if p.FECMaxSpan > 0 {
		c.FECSpan = p.FECMaxSpan
	}
	return c
}

// T.38 carries HDLC and T.4 octets with the first bit on the line as the
// most significant bit (T.38 clause 7.4; what SpanDSP and gateways send),
// while t30 hands octets with the first bit in the least significant bit
// (as HDLC and T.4 number them). reverse maps one to the other.
var reverse = func() (r [256]byte) {
	for i := range r {
		b := byte(i)
		b = b>>4 | b<<4
		b = (b&0xCC)>>2 | (b&0x33)<<2
		b = (b&0xAA)>>1 | (b&0x55)<<1
		r[i] = b
	}
	return r
}()

// reversed returns a copy of p with every octet's bit order reversed.
func reversed(dst, p []byte) []byte {
	for _, b := range p {
		dst = append(dst, reverse[b])
	}
	return dst
}

// Errors of the terminal.
var (
	ErrRateNotAllowed = errors.New("t38: data rate above the negotiated T38MaxBitRate")
	ErrNoIFPMapping   = errors.New("t38: modulation has no T.38 representation")
)

// TerminalStats counts a terminal's traffic.
type TerminalStats struct {
	UDPTL       Stats  // receive side
	BadIFP      uint64 // datagrams whose IFP did not decode
	TxPackets   uint64 // IFP packets sent (not counting repeats)
	TxDatagrams uint64 // datagrams sent, repeats included
	TxErrors    uint64 // Transport.Send failures
	TCFLocal    uint64 // TCFs generated locally (localTCF)
	FlushGraces uint64 // reorder waits extended after a stall or with datagrams queued
}

// Terminal is a T.38 terminal: it implements t30.Line over UDPTL. All its
// methods, including Receive, must be called on the clock's loop (the t30
// contract); ReceiveAsync may be called from any goroutine.
//
// Transmission is paced in line time: an indicator goes out when its
// signal starts, data when it would have been demodulated (packets of
// PacketInterval), end-of-signal when the carrier ends, exactly as a T.38
// gateway would send them. The same code runs on a t30.VirtualClock in
// tests and on a t30.WallClock in production.
type Terminal struct {
	cfg   TerminalConfig
	tr    Transport
	clock t30.Clock
	log   *slog.Logger

	h    func(t30.Event)
	down bool

	// transmit side
	txq         []txItem // items from txHead on are queued; the array is kept
	txHead      int
	runTxFn     func()
	txArmed     bool
	burst       int // datagrams runTx has sent so far in this run
	enc         *Encoder
	busy        time.Time // line time when everything queued so far ends
	txSpeed     t30.Speed // carrier being sent
	txTCF       bool      // current carrier is a TCF (after DCS) under localTCF
	txStrip     bool      // fill-bit removal on this carrier
	fill        fillStripper
	lastDCS     bool // last V.21 frame sent was a DCS
	hdlcCarrier bool // frames (not T.4 data) were sent on this carrier
	pkt         Packet
	ifpBuf      []byte
	dgBuf       []byte
	maxField    int // largest field-data per packet

	// receive side
	rx       *Receiver
	rxPkt    Packet
	rxSpeed  t30.Speed // carrier being received
	frame    []byte
	rxData   []byte
	frameBad bool
	rxDCS    bool // last V.21 frame received was a DCS
	flushT   t30.Timer
	onIFP    RxHandler
	// rxQueued counts datagrams ReceiveAsync handed to the loop that have
	// not run yet (written from the reader goroutine).
	rxQueued atomic.Int64

	stats TerminalStats
}

// NewTerminal returns a terminal that sends through tr and runs on clock.
func NewTerminal(cfg TerminalConfig, tr Transport, clock t30.Clock) (*Terminal, error) {
	if cfg.Version < 0 || cfg.Version > 3 {
		return nil, fmt.Errorf("%w: T.38 version %d", ErrBadConfig, cfg.Version)
	}
	if cfg.MaxBitRate <= 0 {
		cfg.MaxBitRate = 14400
	}
	if cfg.RateManagement == RateUnset {
		cfg.RateManagement = RateTransferredTCF
	}
	if cfg.Redundancy == 0 {
		cfg.Redundancy = 3
	}
	if cfg.FECSpan == 0 {
		cfg.FECSpan = 3
	}
	if cfg.FECEntries == 0 {
		cfg.FECEntries = 3
	}
	if cfg.MaxDatagram <= 0 {
		cfg.MaxDatagram = 1400
	}
	if cfg.MaxDatagram < 32 {
		return nil, fmt.Errorf("%w: max datagram %d too small", ErrBadConfig, cfg.MaxDatagram)
	}
	if cfg.PacketInterval <= 0 {
		cfg.PacketInterval = 30 * time.Millisecond
	}
	if cfg.Repeats < 0 {
		cfg.Repeats = 0
	} else if cfg.Repeats == 0 {
		cfg.Repeats = 2
	}
	if cfg.FlushDelay <= 0 {
		cfg.FlushDelay = 60 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ec := EncoderConfig{Mode: cfg.EC, MaxDatagram: cfg.MaxDatagram}
	switch cfg.EC {
	case ECRedundancy:
		ec.Redundancy = cfg.Redundancy
	case ECFEC:
		ec.FECSpan, ec.FECEntries = cfg.FECSpan, cfg.FECEntries
	}
	enc, err := NewEncoder(ec)
	if err != nil {
		return nil, err
	}
	t := &Terminal{
		cfg: cfg, tr: tr, clock: clock, log: log, enc: enc,
		ifpBuf: make([]byte, cfg.MaxDatagram), dgBuf: make([]byte, cfg.MaxDatagram),
		// A page at 14400 bit/s queues a packet per PacketInterval: a
		// few hundred items, queued at once by SendData.
		txq: make([]txItem, 0, txqPrealloc),
		// UDPTL header (seq 2, length 2, choice and count 2) and IFP
		// header with two fields (at most 9 octets) must fit with the data.
		maxField: cfg.MaxDatagram - 16,
		rx:       NewReceiver(ReceiverConfig{Window: cfg.ReorderWindow, Version: cfg.Version}),
	}
	t.onIFP = t.handleIFP
	t.runTxFn = t.runTx
	return t, nil
}

// Stats returns the terminal's counters.
func (t *Terminal) Stats() TerminalStats {
	s := t.stats
	s.UDPTL = t.rx.Stats()
	return s
}

// SetHandler implements t30.Line.
func (t *Terminal) SetHandler(h func(t30.Event)) { t.h = h }

// SetRx implements t30.Line; T.38 says which carrier comes, so it is not needed.
func (t *Terminal) SetRx(t30.Speed, bool) {}

func (t *Terminal) emit(ev t30.Event) {
	if t.h != nil && !t.down {
		t.h(ev)
	}
}

// start returns the line time at which the next transmission begins.
func (t *Terminal) start() time.Time {
	if now := t.clock.Now(); t.busy.Before(now) {
		t.busy = now
	}
	return t.busy
}

// txItem is one scheduled transmission: an indicator, a data packet, the
// end of a transmission (EventTxDone), or several of these at once.
type txItem struct {
	when   time.Time
	isInd  bool // send indicator ind
	ind    Indicator
	nf     int // send a data packet of type dt with fields f[:nf]
	dt     DataType
	f      [2]Field
	copies int       // extra copies of the data packet
	done   bool      // then report EventTxDone
	speed  t30.Speed // for EventTxDone
}

// at queues it. Items run strictly in the order they were queued (their
// times never decrease), through one timer for the head of the queue: a
// wall clock could otherwise swap two items due at the same instant, and a
// frame would arrive after its sig-end.
func (t *Terminal) at(it txItem) {
	if len(t.txq) == cap(t.txq) && t.txHead > 0 {
		// Reuse the array: move the queued items to its front.
		n := copy(t.txq, t.txq[t.txHead:])
		clear(t.txq[n:])
		t.txq, t.txHead = t.txq[:n], 0
	}
	t.txq = append(t.txq, it)
	if !t.txArmed {
		t.armTx()
	}
}

// txqPrealloc is the transmit queue's initial capacity.
const txqPrealloc = 512

// queued is the number of items waiting in the transmit queue.
func (t *Terminal) queued() int { return len(t.txq) - t.txHead }

func (t *Terminal) armTx() {
	t.txArmed = true
	t30.At(t.clock, t.txq[t.txHead].when, t.runTxFn)
}

func (t *Terminal) runTx() {
	t.txArmed = false
	now := t.clock.Now()
	// Everything due now leaves at once: later datagrams of the run repeat
	// the earlier ones (EncodeBurst).
	t.burst = 0
	defer func() { t.burst = 0 }()
	for t.queued() > 0 && !t.txq[t.txHead].when.After(now) {
		it := t.txq[t.txHead]
		t.txq[t.txHead] = txItem{}
		t.txHead++
		if t.down {
			continue
		}
		if it.isInd {
			t.sendIndicator(it.ind)
		}
		if it.nf > 0 {
			t.sendFields(it.dt, it.copies, it.f[:it.nf]...)
		}
		if it.done {
			t.emit(t30.Event{Kind: t30.EventTxDone, Speed: it.speed})
		}
	}
	if t.queued() == 0 {
		t.txq, t.txHead = t.txq[:0], 0
	} else if !t.txArmed {
		t.armTx()
	}
}

// sendIFP encodes the current t.pkt and sends it now, copies extra times.
func (t *Terminal) sendIFP(copies int) {
	n, err := t.pkt.MarshalTo(t.ifpBuf)
	if err != nil {
		t.stats.TxErrors++
		t.log.Warn("t38 tx: encode", "err", err)
		return
	}
	dn, err := t.enc.EncodeBurst(t.dgBuf, t.ifpBuf[:n], t.burst)
	t.burst++
	if err != nil {
		t.stats.TxErrors++
		t.log.Warn("t38 tx: udptl", "err", err)
		return
	}
	t.stats.TxPackets++
	for i := 0; i <= copies; i++ {
		t.stats.TxDatagrams++
		if err := t.tr.Send(t.dgBuf[:dn]); err != nil {
			t.stats.TxErrors++
			t.log.Debug("t38 tx: send", "err", err)
		}
	}
}

func (t *Terminal) sendIndicator(ind Indicator) {
	t.pkt = Packet{Version: t.cfg.Version, Type: TypeIndicator, Indicator: ind, Fields: t.pkt.Fields[:0]}
	t.sendIFP(t.cfg.Repeats)
}

// sendFields sends one data packet. Data slices are copied into the
// encoded packet before sendFields returns.
func (t *Terminal) sendFields(dt DataType, copies int, fields ...Field) {
	t.pkt.Version = t.cfg.Version
	t.pkt.Type = TypeData
	t.pkt.DataType = dt
	t.pkt.Fields = append(t.pkt.Fields[:0], fields...)
	t.sendIFP(copies)
}

// speedOf maps a T.30 speed to its T.38 data type.
func dataTypeOf(sp t30.Speed) (DataType, bool) {
	switch sp.Modem {
	case t30.V21:
		return V21, true
	case t30.V27ter:
		if sp.Rate <= 2400 {
			return V27ter2400, true
		}
		return V27ter4800, true
	case t30.V29:
		if sp.Rate <= 7200 {
			return V29_7200, true
		}
		return V29_9600, true
	case t30.V17:
		switch {
		case sp.Rate <= 7200:
			return V17_7200, true
		case sp.Rate <= 9600:
			return V17_9600, true
		case sp.Rate <= 12000:
			return V17_12000, true
		}
		return V17_14400, true
	}
	return 0, false
}

// speedOfData maps a T.38 data type to the T.30 speed.
func speedOfData(dt DataType) (t30.Speed, bool) {
	switch dt {
	case V21:
		return t30.Speed{Modem: t30.V21, Rate: 300}, true
	case V27ter2400:
		return t30.Speed{Modem: t30.V27ter, Rate: 2400}, true
	case V27ter4800:
		return t30.Speed{Modem: t30.V27ter, Rate: 4800}, true
	case V29_7200:
		return t30.Speed{Modem: t30.V29, Rate: 7200}, true
	case V29_9600:
		return t30.Speed{Modem: t30.V29, Rate: 9600}, true
	case V17_7200:
		return t30.Speed{Modem: t30.V17, Rate: 7200}, true
	case V17_9600:
		return t30.Speed{Modem: t30.V17, Rate: 9600}, true
	case V17_12000:
		return t30.Speed{Modem: t30.V17, Rate: 12000}, true
	case V17_14400:
		return t30.Speed{Modem: t30.V17, Rate: 14400}, true
	}
	return t30.Speed{}, false
}

// trainingIndicator maps a carrier start to its T.38 indicator.
func trainingIndicator(sp t30.Speed, short bool) (Indicator, bool) {
	switch sp.Modem {
	case t30.V21:
		return V21Preamble, true
	case t30.V27ter:
		if sp.Rate <= 2400 {
			return V27ter2400Training, true
		}
		return V27ter4800Training, true
	case t30.V29:
		if sp.Rate <= 7200 {
			return V29_7200Training, true
		}
		return V29_9600Training, true
	case t30.V17:
		base := V17_14400ShortTraining
		switch {
		case sp.Rate <= 7200:
			base = V17_7200ShortTraining
		case sp.Rate <= 9600:
			base = V17_9600ShortTraining
		case sp.Rate <= 12000:
			base = V17_12000ShortTraining
		}
		if !short {
			base++ // the long training follows the short one in the enumeration
		}
		return base, true
	}
	return 0, false
}

// speedOfIndicator maps a training indicator to the carrier it announces.
func speedOfIndicator(ind Indicator) (sp t30.Speed, short, ok bool) {
	switch ind {
	case V21Preamble:
		return t30.Speed{Modem: t30.V21, Rate: 300}, false, true
	case V27ter2400Training:
		return t30.Speed{Modem: t30.V27ter, Rate: 2400}, false, true
	case V27ter4800Training:
		return t30.Speed{Modem: t30.V27ter, Rate: 4800}, false, true
	case V29_7200Training:
		return t30.Speed{Modem: t30.V29, Rate: 7200}, false, true
	case V29_9600Training:
		return t30.Speed{Modem: t30.V29, Rate: 9600}, false, true
	case V17_7200ShortTraining, V17_7200LongTraining:
		return t30.Speed{Modem: t30.V17, Rate: 7200}, ind == V17_7200ShortTraining, true
	case V17_9600ShortTraining, V17_9600LongTraining:
		return t30.Speed{Modem: t30.V17, Rate: 9600}, ind == V17_9600ShortTraining, true
	case V17_12000ShortTraining, V17_12000LongTraining:
		return t30.Speed{Modem: t30.V17, Rate: 12000}, ind == V17_12000ShortTraining, true
	case V17_14400ShortTraining, V17_14400LongTraining:
		return t30.Speed{Modem: t30.V17, Rate: 14400}, ind == V17_14400ShortTraining, true
	}
	return t30.Speed{}, false, false
}

// StartTx implements t30.Line: the training (or V.21 preamble) indicator
// goes out now; data follows after the training time.
func (t *Terminal) StartTx(sp t30.Speed, short bool) error {
	if t.down {
		return t30.ErrLineDown
	}
	if sp.Modem == t30.V21 {
		sp.Rate = 300
	} else if sp.Rate > t.cfg.MaxBitRate {
		return fmt.Errorf("%w: %v > %d", ErrRateNotAllowed, sp, t.cfg.MaxBitRate)
	}
	ind, ok := trainingIndicator(sp, short)
	if !ok {
		return fmt.Errorf("%w: %v", ErrNoIFPMapping, sp)
	}
	t.txSpeed = sp
	afterDCS := sp.Modem != t30.V21 && t.lastDCS // this carrier is the TCF
	t.txTCF = afterDCS && t.cfg.RateManagement == RateLocalTCF
	t.txStrip = t.cfg.FillBitRemoval && sp.Modem != t30.V21 && !afterDCS
	t.fill = fillStripper{}
	if sp.Modem != t30.V21 {
		t.lastDCS = false // only the first high-speed carrier after DCS is the TCF
	}
	t.at(txItem{when: t.start(), isInd: true, ind: ind})
	t.busy = t.busy.Add(t30.TrainingTime(sp, short))
	return nil
}

// SendFrame implements t30.Line: the frame (address to FIF) goes out when
// its last bit would have been received, with hdlc-fcs-OK in the same
// packet; frames larger than a datagram, and on a high-speed carrier
// with UDPTL error correction frames longer than PacketInterval of line
// time, are split into hdlc-data packets.
func (t *Terminal) SendFrame(frame []byte) error {
	if t.down {
		return t30.ErrLineDown
	}
	if t.txSpeed.Modem == t30.ModemNone {
		return t30.ErrNoCarrier
	}
	dt, _ := dataTypeOf(t.txSpeed)
	t.hdlcCarrier = true
	if t.txSpeed.Modem == t30.V21 {
		var f t30.Frame
		t.lastDCS = f.Unmarshal(frame) == nil && f.Kind() == t30.FCFDCS
	}
	bits := t30.HDLCBits(frame)
	start := t.start()
	end := start.Add(t30.BitsDuration(bits, t.txSpeed.Rate))
	t.busy = end
	data := reversed(make([]byte, 0, len(frame)), frame)
	// Split so each part fits the datagram, and on a high-speed carrier
	// (ECM) into PacketInterval of line time, as SpanDSP does (30 ms:
	// 54 octets at 14400), so that redundancy, which repeats whole
	// packets within a datagram, covers the image data; each part leaves
	// when its share of the frame's line time has passed.
	// Without error correction a frame is better off in one packet (any
	// lost part loses the frame), so it is cut only under redundancy or
	// FEC.
	part := t.maxField
	if t.txSpeed.Modem != t30.V21 && t.cfg.EC != ECNone {
		part = max(1, min(part, int(int64(t.txSpeed.Rate)*int64(t.cfg.PacketInterval)/int64(8*time.Second))))
	}
	for off := 0; off < len(data) || off == 0; {
		n := min(len(data)-off, part)
		it := txItem{nf: 1, dt: dt, f: [2]Field{{HDLCData, data[off : off+n]}}}
		off += n
		if off >= len(data) {
			it.when, it.nf, it.f[1] = end, 2, Field{Type: HDLCFCSOK}
			t.at(it)
			break
		}
		it.when = start.Add(t30.BitsDuration(int64(off)*8, t.txSpeed.Rate))
		t.at(it)
	}
	return nil
}

// SendData implements t30.Line: non-ECM data in packets of PacketInterval
// of line time, each sent when its last bit would have been received.
// Under localTCF the TCF after a DCS is not sent: the far end makes its own.
func (t *Terminal) SendData(p []byte) error {
	if t.down {
		return t30.ErrLineDown
	}
	if t.txSpeed.Modem == t30.ModemNone || t.txSpeed.Modem == t30.V21 {
		return t30.ErrNoCarrier
	}
	dt, _ := dataTypeOf(t.txSpeed)
	start := t.start()
	t.busy = start.Add(t30.BitsDuration(int64(len(p))*8, t.txSpeed.Rate))
	if t.txTCF {
		return nil
	}
	chunk := int(int64(t.txSpeed.Rate) * int64(t.cfg.PacketInterval) / int64(8*time.Second))
	chunk = max(1, min(chunk, t.maxField))
	// One buffer for the whole call, in wire bit order; the queued
	// packets are slices of it.
	var buf []byte
	if t.txStrip {
		buf = make([]byte, 0, len(p)+4)
	} else {
		buf = reversed(make([]byte, 0, len(p)), p)
	}
	// Counted from the head: at may move the queue within its array.
	first := t.queued()
	for off := 0; off < len(p); off += chunk {
		end := min(off+chunk, len(p))
		lo, hi := off, end
		if t.txStrip {
			// Fill-bit removal: send what is left of this line time's
			// octets when they would have been received.
			lo = len(buf)
			buf = t.fill.Strip(buf, p[off:end])
			hi = len(buf)
		}
		if hi == lo {
			continue
		}
		when := start.Add(t30.BitsDuration(int64(end)*8, t.txSpeed.Rate))
		t.at(txItem{when: when, nf: 1, dt: dt, f: [2]Field{{Type: T4NonECMData}}})
		t.txq[len(t.txq)-1].f[0].Data = buf[lo:hi]
	}
	if t.txStrip {
		for i := range buf {
			buf[i] = reverse[buf[i]]
		}
		// buf may have moved while growing: point the items at its final
		// backing array (their offsets are unchanged).
		off := 0
		for i := t.txHead + first; i < len(t.txq); i++ {
			n := len(t.txq[i].f[0].Data)
			t.txq[i].f[0].Data = buf[off : off+n]
			off += n
		}
	}
	return nil
}

// StopTx implements t30.Line: end-of-signal when the carrier ends, then
// EventTxDone.
func (t *Terminal) StopTx() error {
	if t.down {
		return t30.ErrLineDown
	}
	sp := t.txSpeed
	if sp.Modem == t30.ModemNone {
		return t30.ErrNoCarrier
	}
	dt, _ := dataTypeOf(sp)
	end := t.start()
	field := HDLCSigEnd
	if sp.Modem != t30.V21 && !t.hdlcCarrier {
		field = T4NonECMSigEnd
		if t.txStrip {
			if tail := reversed(nil, t.fill.Flush(nil)); len(tail) > 0 {
				t.at(txItem{when: end, nf: 1, dt: dt, f: [2]Field{{T4NonECMData, tail}}})
			}
		}
	}
	t.at(txItem{when: end, nf: 1, dt: dt, f: [2]Field{{Type: field}}, copies: t.cfg.Repeats, done: true, speed: sp})
	t.txSpeed = t30.Speed{}
	t.txTCF = false
	t.hdlcCarrier = false
	return nil
}

// SendTone implements t30.Line: CNG and CED become indicators at the
// start of the tone and no-signal at its end; silence sends nothing.
func (t *Terminal) SendTone(tone t30.Tone, d time.Duration) error {
	if t.down {
		return t30.ErrLineDown
	}
	start := t.start()
	end := start.Add(d)
	t.busy = end
	var ind Indicator
	switch tone {
	case t30.ToneCNG:
		ind = CNG
	case t30.ToneCED:
		ind = CED
	}
	if tone != t30.ToneNone {
		t.at(txItem{when: start, isInd: true, ind: ind})
	}
	t.at(txItem{when: end, isInd: tone != t30.ToneNone, ind: NoSignal, done: true})
	return nil
}

// Hangup implements t30.Line: nothing more is sent or reported.
func (t *Terminal) Hangup() error {
	t.down = true
	if t.flushT != nil {
		t.flushT.Stop()
	}
	return nil
}

// Close reports the call gone (e.g. the SIP dialog ended) to the engine as
// EventLineLost; after it the terminal reports nothing more. It may be
// called from any goroutine: the event is delivered on the clock's loop.
func (t *Terminal) Close(err error) {
	if err == nil {
		err = t30.ErrLineDown
	}
	t.clock.AfterFunc(0, func() {
		if t.down {
			return
		}
		t.emit(t30.Event{Kind: t30.EventLineLost, Err: err})
		t.down = true
	})
}

// ReceiveAsync copies datagram and hands it to the terminal on the clock's
// loop. It may be called from any goroutine (a socket reader).
func (t *Terminal) ReceiveAsync(datagram []byte) {
	d := append([]byte(nil), datagram...)
	t.rxQueued.Add(1)
	t.clock.AfterFunc(0, func() {
		t.rxQueued.Add(-1)
		t.Receive(d)
	})
}

// Receive processes one UDPTL datagram. It must run on the clock's loop.
// Malformed datagrams are counted and dropped.
func (t *Terminal) Receive(datagram []byte) {
	if t.down {
		return
	}
	if err := t.rx.Push(datagram, t.onIFP); err != nil {
		t.log.Debug("t38 rx: drop", "err", err)
	}
	if t.rx.Pending() && t.flushT == nil {
		t.armFlush(0)
	}
}

// maxFlushGraces bounds how often the flush timer defers a give-up because
// the process stalled or datagrams were still queued for the loop.
const maxFlushGraces = 4

// armFlush starts the timer that gives up on the open gaps after
// FlushDelay. The wait is meant in receive-side time: if the timer fires
// more than FlushDelay/4 late (the process stalled, so the missing
// datagram may be sitting in the socket behind the stalled reader) or
// datagrams handed over by ReceiveAsync are still waiting to run on the
// loop, it waits FlushDelay once more instead of declaring queued packets
// lost. On time and with nothing queued it gives up exactly as before.
func (t *Terminal) armFlush(graces int) {
	due := t.clock.Now().Add(t.cfg.FlushDelay)
	t.flushT = t.clock.AfterFunc(t.cfg.FlushDelay, func() {
		t.flushT = nil
		if t.down {
			return
		}
		stalled := t.clock.Now().Sub(due) > t.cfg.FlushDelay/4
		if t.rx.Pending() && graces < maxFlushGraces && (stalled || t.rxQueued.Load() > 0) {
			t.stats.FlushGraces++
			t.armFlush(graces + 1)
			return
		}
		t.rx.Flush(t.onIFP)
	})
}

func (t *Terminal) handleIFP(seq uint16, ifp []byte, st RxStatus) {
	if st == RxLost {
		t.frameBad = true
		return
	}
	p := &t.rxPkt
	p.Version = t.cfg.Version
	if err := p.Unmarshal(ifp); err != nil {
		t.stats.BadIFP++
		t.frameBad = true
		t.log.Debug("t38 rx: bad IFP", "seq", seq, "err", err)
		return
	}
	if p.Type == TypeIndicator {
		t.rxIndicator(p.Indicator)
		return
	}
	sp, ok := speedOfData(p.DataType)
	if !ok {
		return // V.8 / V.34 / V.33: not used by this terminal
	}
	if t.rxSpeed != sp {
		t.carrierDown()
		t.carrierUp(sp)
	}
	for _, f := range p.Fields {
		switch f.Type {
		case HDLCData:
			t.frame = reversed(t.frame, f.Data)
		case HDLCFCSOK, HDLCFCSBad, HDLCFCSOKSigEnd, HDLCFCSBadSigEnd:
			t.frame = reversed(t.frame, f.Data)
			ok := (f.Type == HDLCFCSOK || f.Type == HDLCFCSOKSigEnd) && !t.frameBad
			t.rxFrame(sp, ok)
			if f.Type == HDLCFCSOKSigEnd || f.Type == HDLCFCSBadSigEnd {
				t.carrierDown()
			}
		case HDLCSigEnd:
			t.frame = reversed(t.frame, f.Data)
			if len(t.frame) > 0 { // a frame cut off without its FCS
				t.rxFrame(sp, false)
			}
			t.carrierDown()
		case T4NonECMData:
			if len(f.Data) > 0 {
				t.rxData = reversed(t.rxData[:0], f.Data)
				t.emit(t30.Event{Kind: t30.EventData, Speed: sp, Data: t.rxData})
			}
		case T4NonECMSigEnd:
			if len(f.Data) > 0 {
				t.rxData = reversed(t.rxData[:0], f.Data)
				t.emit(t30.Event{Kind: t30.EventData, Speed: sp, Data: t.rxData})
			}
			t.carrierDown()
		}
	}
}

func (t *Terminal) rxFrame(sp t30.Speed, ok bool) {
	if sp.Modem == t30.V21 {
		var f t30.Frame
		t.rxDCS = ok && f.Unmarshal(t.frame) == nil && f.Kind() == t30.FCFDCS
	}
	t.emit(t30.Event{Kind: t30.EventFrame, Speed: sp, Frame: t.frame, FCSOK: ok})
	t.frame = t.frame[:0]
	t.frameBad = false
}

func (t *Terminal) carrierUp(sp t30.Speed) {
	t.rxSpeed = sp
	t.frame = t.frame[:0]
	t.frameBad = false
	t.emit(t30.Event{Kind: t30.EventCarrierUp, Speed: sp})
}

func (t *Terminal) carrierDown() {
	if t.rxSpeed.Modem == t30.ModemNone {
		return
	}
	sp := t.rxSpeed
	t.rxSpeed = t30.Speed{}
	t.frame = t.frame[:0]
	t.frameBad = false
	t.emit(t30.Event{Kind: t30.EventCarrierDown, Speed: sp})
}

func (t *Terminal) rxIndicator(ind Indicator) {
	switch ind {
	case NoSignal:
		t.carrierDown()
	case CNG, CED:
		t.carrierDown()
		tone := t30.ToneCNG
		if ind == CED {
			tone = t30.ToneCED
		}
		t.emit(t30.Event{Kind: t30.EventTone, Tone: tone})
	default:
		sp, short, ok := speedOfIndicator(ind)
		if !ok {
			return
		}
		if sp == t.rxSpeed {
			return // a repeated indicator
		}
		t.carrierDown()
		t.carrierUp(sp)
		if sp.Modem != t30.V21 {
			if t.rxDCS && t.cfg.RateManagement == RateLocalTCF {
				t.localTCF(sp, short)
			}
			t.rxDCS = false
		}
	}
}

// localTCF plays the TCF the far end did not send (localTCF rate
// management): 1.5 s of zeros after the training, then the carrier ends.
func (t *Terminal) localTCF(sp t30.Speed, short bool) {
	t.stats.TCFLocal++
	t.rxDCS = false
	n := int(int64(sp.Rate) * int64(t30.TCFDuration) / int64(8*time.Second))
	zeros := make([]byte, n)
	t.clock.AfterFunc(t30.TrainingTime(sp, short)+t30.TCFDuration, func() {
		if t.down || t.rxSpeed != sp {
			return
		}
		t.emit(t30.Event{Kind: t30.EventData, Speed: sp, Data: zeros})
		t.carrierDown()
	})
}
