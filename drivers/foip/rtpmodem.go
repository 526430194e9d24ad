package foip

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/faxagent/faxagent/modem"
	"github.com/faxagent/faxagent/modem/g711"
)

// AudioStats count what the audio fax phase of a call (the modem
// terminal over G.711 RTP) saw.
type AudioStats struct {
	Received, Sent uint64 // RTP packets
	// Lost counts sequence numbers never received (gaps in the sequence);
	// Late, packets that came after their samples were played out;
	// Concealed, the samples played out as silence because their packet
	// was missing while later ones had come (modem-safe concealment: a
	// modem loses the bits of the gap either way, silence at least keeps
	// the phase of what follows); Resyncs, restarts of the playout
	// position (a jump in the far end's timestamps, a new SSRC).
	Lost, Late, Concealed, Resyncs uint64
	// Underruns counts the resyncs (in Resyncs) of a playout that ran
	// dry: the next packet in order came after its samples' time, so
	// playout restarted at it with the playout delay.
	Underruns uint64
	// Held counts the samples of silence played while this process
	// caught up after a stall with nothing received to play: the
	// playout position waited for the packets still queued (up to
	// maxHeld a call), which lengthens the delay instead of losing them.
	Held uint64
	// ComfortNoise counts comfort-noise packets (RFC 3389), played out as
	// silence like the silence-suppressed gaps around them.
	ComfortNoise uint64
}

// playoutDelay is how far behind the far end's first timestamp the modem
// hears its samples: absorbs 160 ms of network jitter and of stalls of
// either process (a fax modem minds lost samples, not a little delay:
// T.30's timings are in seconds).
const playoutDelay = 1280

// playoutRing is the playout buffer length in samples (about 1 s; a power
// of two, so indexes by timestamp stay continuous across its 2^32 wrap).
const playoutRing = 8192

// maxHeld bounds the samples a call's playout waits in all (see
// AudioStats.Held): the delay grows by at most 500 ms.
const maxHeld = 4000

const ptCN = 13 // RTP comfort noise (RFC 3389)

// rtpModem carries a modem terminal's samples over the call's RTP stream:
// it implements modem.FrameIO. The far end's RTP timestamps place its
// samples: a playout position advances one frame every 20 ms and reads
// the samples stamped there, so gaps of silence suppression and of lost
// packets are heard as silence of the right length and what follows
// keeps its timing. What we send carries on the numbering of the call's
// tone phase.
type rtpModem struct {
	conn    net.PacketConn
	remote  *latch
	law     g711.Law
	pt      uint8
	crashed *atomic.Bool

	// send side (the Serve goroutine)
	ssrc   uint32
	seq    uint16
	ts     uint32
	marker bool
	pkt    []byte
	enc    []byte

	// next is when the next frame is due: frames are paced on the wall
	// clock from the start, and a stalled process catches up (frames
	// back to back) instead of dropping ticks and drifting behind.
	next  time.Time
	timer *time.Timer
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	rx    atomic.Uint64 // packets taken (silenceWatch)

	mu      sync.Mutex
	ring    [playoutRing]int16
	have    [playoutRing]bool
	started bool   // the first packet set pos
	pos     uint32 // next timestamp played out
	newest  uint32 // end of the newest samples received
	ssrcIn  uint32
	seqIn   uint16
	stats   AudioStats
	dec     []int16
}

var errAudioStopped = errors.New("foip: audio stopped")

// newRTPModem takes over the call's RTP stream from its tone phase a
// (stopped).
func newRTPModem(a *audio) *rtpModem {
	m := &rtpModem{conn: a.conn, remote: &a.latch, pt: a.pt, crashed: a.crashed,
		ssrc: a.ssrc, seq: a.sequence, ts: a.timestamp, marker: true,
		pkt: make([]byte, 12+frameSamples), enc: make([]byte, frameSamples),
		stop: make(chan struct{}), dec: make([]int16, 0, 480)}
	if a.pt == ptPCMA {
		m.law = g711.ALaw
	}
	return m
}

// start begins the frame clock and the receiver.
func (m *rtpModem) start() {
	m.next = time.Now().Add(20 * time.Millisecond)
	m.timer = time.NewTimer(time.Until(m.next))
	m.wg.Add(1)
	go m.recvLoop()
}

// close stops the receiver and the frame clock; the socket stays open.
func (m *rtpModem) close() {
	m.once.Do(func() {
		close(m.stop)
		_ = m.conn.SetReadDeadline(time.Now())
	})
	m.wg.Wait()
	_ = m.conn.SetReadDeadline(time.Time{})
	if m.timer != nil {
		m.timer.Stop()
	}
}

// Stats returns the counters so far.
func (m *rtpModem) Stats() AudioStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// ReadFrame implements modem.FrameIO: it waits for the next 20 ms tick and
// plays out the samples stamped at the playout position.
func (m *rtpModem) ReadFrame(rx []int16) error {
	wait := time.Until(m.next)
	if wait > 0 {
		m.timer.Reset(wait)
		select {
		case <-m.stop:
			return errAudioStopped
		case <-m.timer.C:
		}
	} else {
		select {
		case <-m.stop:
			return errAudioStopped
		default:
		}
		if wait < -time.Second { // stalled for long: start afresh
			m.next = time.Now()
		}
	}
	m.next = m.next.Add(time.Duration(len(rx)) * time.Second / modem.SampleRate)
	m.playout(rx, wait < 0)
	return nil
}

// playout fills rx with the samples stamped at the playout position and
// moves it on by len(rx). Behind says this process is catching up after a
// stall: if nothing is there to play, the far end's packets are likely
// still queued on the socket, and the position waits for them (Held).
func (m *rtpModem) playout(rx []int16, behind bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		clear(rx)
		return
	}
	if k := int(m.pos % playoutRing); behind && !m.have[k] && int32(m.newest-m.pos) <= 0 &&
		m.stats.Held+uint64(len(rx)) <= maxHeld {
		clear(rx)
		m.stats.Held += uint64(len(rx))
		return
	}
	for i := range rx {
		k := int(m.pos % playoutRing)
		if m.have[k] {
			rx[i], m.have[k] = m.ring[k], false
		} else {
			rx[i] = 0
			if int32(m.newest-m.pos) > 0 {
				m.stats.Concealed++ // a hole with later samples already here
			}
		}
		m.pos++
	}
}

// WriteFrame implements modem.FrameIO: one RTP packet of G.711.
func (m *rtpModem) WriteFrame(tx []int16) error {
	select {
	case <-m.stop:
		return errAudioStopped
	default:
	}
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: m.pt, SSRC: m.ssrc,
		SequenceNumber: m.seq, Timestamp: m.ts, Marker: m.marker},
		Payload: g711.Encode(m.law, m.enc, tx)}
	m.seq++
	m.ts += uint32(len(tx))
	m.marker = false
	n, err := p.MarshalTo(m.pkt)
	if err != nil {
		return err
	}
	if m.crashed != nil && m.crashed.Load() {
		return nil
	}
	if r := m.remote.get(); r.IsValid() {
		if _, err := m.conn.WriteTo(m.pkt[:n], udpAddr(r)); err == nil {
			m.mu.Lock()
			m.stats.Sent++
			m.mu.Unlock()
		}
	}
	return nil
}

func (m *rtpModem) recvLoop() {
	defer m.wg.Done()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, from, err := m.conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-m.stop:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil || pkt.Version != 2 {
			m.remote.bad.Add(1)
			continue
		}
		if !m.remote.accept(addrPortOf(from)) {
			continue
		}
		m.rx.Add(1)
		m.take(&pkt)
	}
}

// take places one packet's samples at their timestamp.
func (m *rtpModem) take(p *rtp.Packet) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.Received++
	var law g711.Law
	switch p.PayloadType {
	case ptPCMU:
		law = g711.ULaw
	case ptPCMA:
		law = g711.ALaw
	case ptCN:
		m.stats.ComfortNoise++
		return
	default:
		return // telephone-event and the like: not fax
	}
	if len(p.Payload) > playoutRing/4 {
		return
	}
	end := p.Timestamp + uint32(len(p.Payload))
	fresh := !m.started || p.SSRC != m.ssrcIn
	if !fresh {
		if gap := p.SequenceNumber - m.seqIn; gap > 1 && gap < 1000 {
			m.stats.Lost += uint64(gap - 1)
		}
		if int16(p.SequenceNumber-m.seqIn) > 0 {
			m.seqIn = p.SequenceNumber
		}
		// Too far ahead or behind for the ring: the stream jumped.
		if d := int32(end - m.pos); d > playoutRing-frameSamples || d < -playoutRing/2 {
			fresh = true
		}
		// Behind the playout but newer than anything received: the
		// playout ran dry (the far end or this process stalled longer
		// than the playout delay, or the far end's clock fell behind).
		// The stream is in order, only late on the wall clock: play it
		// from here on, with the delay again, rather than lose it all.
		if int32(p.Timestamp-m.pos) < 0 && int32(p.Timestamp-m.newest) >= 0 {
			fresh = true
			m.stats.Underruns++
		}
	}
	if fresh {
		if m.started {
			m.stats.Resyncs++
		}
		clear(m.have[:])
		m.started, m.ssrcIn, m.seqIn = true, p.SSRC, p.SequenceNumber
		m.pos, m.newest = p.Timestamp-playoutDelay, p.Timestamp
		for ts := m.pos; ts != p.Timestamp; ts++ { // the delay itself: silence, not loss
			k := int(ts % playoutRing)
			m.ring[k], m.have[k] = 0, true
		}
	}
	if int32(p.Timestamp-m.pos) < 0 {
		m.stats.Late++
		return
	}
	if cap(m.dec) < len(p.Payload) {
		m.dec = make([]int16, len(p.Payload))
	}
	m.dec = g711.Decode(law, m.dec[:cap(m.dec)], p.Payload)
	for i, v := range m.dec {
		k := int((p.Timestamp + uint32(i)) % playoutRing)
		m.ring[k], m.have[k] = v, true
	}
	if int32(end-m.newest) > 0 {
		m.newest = end
	}
}

var _ modem.FrameIO = (*rtpModem)(nil)
