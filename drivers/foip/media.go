package foip

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/faxagent/faxagent/t38"
)

// portRange hands out media sockets from a configured range.
type portRange struct {
	mu       sync.Mutex
	min, max int
	next     int
}

// listen binds a UDP socket on ip, from the range if there is one.
func (r *portRange) listen(ip string) (net.PacketConn, error) {
	if r.min == 0 {
		return net.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.max - r.min + 1
	if r.next < r.min || r.next > r.max {
		r.next = r.min
	}
	var last error
	for i := 0; i < n; i++ {
		p := r.next
		r.next++
		if r.next > r.max {
			r.next = r.min
		}
		c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("foip: no free media port in %d-%d: %w", r.min, r.max, last)
}

// listenRTP binds an RTP socket on an even port and its RTCP socket on the
// next one, from the range; without a range the RTP socket takes any port
// and rtcp is nil (RTCP is not used: it only keeps the port reserved).
func (r *portRange) listenRTP(ip string) (rtpConn, rtcpConn net.PacketConn, err error) {
	if r.min == 0 {
		c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
		return c, nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	lo := r.min + r.min%2
	n := (r.max - lo + 1) / 2
	if r.next < lo || r.next+1 > r.max {
		r.next = lo
	}
	r.next += r.next % 2
	var last error = errors.New("range holds no even/odd port pair")
	for i := 0; i < n; i++ {
		p := r.next
		r.next += 2
		if r.next+1 > r.max {
			r.next = lo
		}
		a, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err != nil {
			last = err
			continue
		}
		b, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(p+1)))
		if err != nil {
			_ = a.Close()
			last = err
			continue
		}
		return a, b, nil
	}
	return nil, nil, fmt.Errorf("foip: no free RTP/RTCP port pair in %d-%d: %w", r.min, r.max, last)
}

func localPort(c net.PacketConn) int {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.Port
	}
	return 0
}

// latch is the far end's media address: first taken from SDP, then
// replaced by the source of the first valid packet (symmetric RTP/UDPTL
// through NAT); later packets from elsewhere are strays and dropped.
type latch struct {
	mu      sync.Mutex
	remote  netip.AddrPort
	latched bool
	stray   atomic.Uint64
	bad     atomic.Uint64
}

func (l *latch) set(a netip.AddrPort) {
	l.mu.Lock()
	if !l.latched {
		l.remote = a
	}
	l.mu.Unlock()
}

func (l *latch) get() netip.AddrPort {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.remote
}

// accept reports whether a valid packet from src is to be used, latching
// to src on the first one.
func (l *latch) accept(src netip.AddrPort) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.latched {
		l.remote, l.latched = src, true
		return true
	}
	if src == l.remote {
		return true
	}
	l.stray.Add(1)
	return false
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// udptlLink is the T.38 transport of a call: it implements t38.Transport
// and feeds the terminal from its socket.
type udptlLink struct {
	conn net.PacketConn
	latch
	// rx and tx count the datagrams taken from the far end and sent to
	// it (the call's silenceWatch reads them).
	rx, tx atomic.Uint64
	// crashed, when set and true, drops what we send (tests: a process
	// that died).
	crashed *atomic.Bool
}

// Send implements t38.Transport.
func (u *udptlLink) Send(dg []byte) error {
	if u.crashed != nil && u.crashed.Load() {
		return nil
	}
	r := u.get()
	if !r.IsValid() {
		return errors.New("foip: UDPTL peer address unknown")
	}
	_, err := u.conn.WriteTo(dg, udpAddr(r))
	if err == nil {
		u.tx.Add(1)
	}
	return err
}

// serve reads datagrams until the socket is closed.
func (u *udptlLink) serve(t *t38.Terminal) {
	buf := make([]byte, 2048)
	var pkt t38.UDPTLPacket
	for {
		n, from, err := u.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			u.bad.Add(1)
			continue
		}
		if !u.accept(addrPortOf(from)) {
			continue
		}
		u.rx.Add(1)
		t.ReceiveAsync(buf[:n])
	}
}

// audio is the G.711 phase of a call: it sends 20 ms RTP packets (a tone
// pattern, else silence) and receives the far end's, latching to their
// source and listening for CNG/CED in the packets put back in sequence order
// by a small reordering buffer (jitterBuffer).
type audio struct {
	conn net.PacketConn
	latch
	pt    uint8
	tone  tonePattern
	onCED func() // called once when CED (2100 Hz) is heard
	onCNG func() // called once when CNG (1100 Hz) is heard
	// crashed, when set and true, stops what we send (tests: a process
	// that died).
	crashed *atomic.Bool

	stop chan struct{}
	wg   sync.WaitGroup

	rx, tx     atomic.Uint64
	heardCNG   atomic.Bool
	heardCED   atomic.Bool
	stopOnce   sync.Once
	cngFrames  int           // receive goroutine only
	jitter     *jitterBuffer // receive goroutine; read after close
	cedFrames  int
	ssrc       uint32
	sequence   uint16
	timestamp  uint32
	started    time.Time
	sampleTime int
}

// tonePattern is a cadenced tone: freq Hz for on, then off, repeated (off 0:
// continuous for on, then silence).
type tonePattern struct {
	freq    float64
	on, off time.Duration
}

var (
	cngPattern = tonePattern{freq: 1100, on: 500 * time.Millisecond, off: 3 * time.Second}
	cedPattern = tonePattern{freq: 2100, on: 3 * time.Second}
)

func newAudio(conn net.PacketConn, remote netip.AddrPort, pt int, tone tonePattern) *audio {
	a := &audio{conn: conn, pt: uint8(pt), tone: tone, stop: make(chan struct{}),
		ssrc: rand.Uint32(), sequence: uint16(rand.Uint32()), timestamp: rand.Uint32()}
	a.set(remote)
	return a
}

func (a *audio) start() {
	a.started = time.Now()
	a.wg.Add(2)
	go a.sendLoop()
	go a.recvLoop()
}

// close stops both loops; the socket stays open (the caller owns it).
func (a *audio) close() {
	a.stopOnce.Do(func() {
		close(a.stop)
		_ = a.conn.SetReadDeadline(time.Now())
	})
	a.wg.Wait()
	_ = a.conn.SetReadDeadline(time.Time{})
}

const frameSamples = 160 // 20 ms at 8 kHz

func (a *audio) sendLoop() {
	defer a.wg.Done()
	// Frames are paced on a sample clock from the start: after a stall of
	// this process the frames owed go out back to back (as rtpModem's do),
	// so the stream's timestamps keep up with the wall clock; a ticker
	// would drop them and leave the far end's playout running dry.
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	payload := make([]byte, frameSamples)
	buf := make([]byte, 12+frameSamples)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: a.pt, SSRC: a.ssrc}}
	for {
		next = next.Add(20 * time.Millisecond)
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-a.stop:
				return
			case <-timer.C:
			}
		} else {
			select {
			case <-a.stop:
				return
			default:
			}
			if wait < -time.Second { // stalled for long: start afresh
				next = time.Now()
			}
		}
		a.fill(payload)
		pkt.SequenceNumber = a.sequence
		pkt.Timestamp = a.timestamp
		pkt.Marker = a.sampleTime == 0
		pkt.Payload = payload
		n, err := pkt.MarshalTo(buf)
		a.sequence++
		a.timestamp += frameSamples
		if err != nil {
			continue
		}
		if a.crashed != nil && a.crashed.Load() {
			continue
		}
		if r := a.get(); r.IsValid() {
			if _, err := a.conn.WriteTo(buf[:n], udpAddr(r)); err == nil {
				a.tx.Add(1)
			}
		}
	}
}

// fill writes the next 20 ms of the tone pattern as G.711.
func (a *audio) fill(p []byte) {
	period := a.tone.on + a.tone.off
	for i := range p {
		t := time.Duration(a.sampleTime) * time.Second / 8000
		a.sampleTime++
		var v float64
		if a.tone.freq > 0 {
			in := t
			if a.tone.off > 0 {
				in = t % period
			}
			if in < a.tone.on {
				v = 0.3 * 32767 * math.Sin(2*math.Pi*a.tone.freq*float64(a.sampleTime)/8000)
			}
		}
		if a.pt == ptPCMA {
			p[i] = linearToALaw(int16(v))
		} else {
			p[i] = linearToULaw(int16(v))
		}
	}
}

func (a *audio) recvLoop() {
	defer a.wg.Done()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	lin := make([]float64, 0, frameSamples)
	a.jitter = newJitterBuffer(jitterDepth, func(_ uint16, pt uint8, payload []byte) {
		lin = lin[:0]
		for _, b := range payload {
			if pt == ptPCMA {
				lin = append(lin, float64(aLawToLinear(b)))
			} else {
				lin = append(lin, float64(uLawToLinear(b)))
			}
		}
		a.detect(lin)
	})
	var ssrc uint32
	for {
		n, from, err := a.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil || pkt.Version != 2 {
			a.bad.Add(1)
			continue
		}
		if !a.accept(addrPortOf(from)) {
			continue
		}
		a.rx.Add(1)
		if pkt.PayloadType != ptPCMU && pkt.PayloadType != ptPCMA {
			continue
		}
		if pkt.SSRC != ssrc {
			a.jitter.reset() // a new stream: its numbering starts afresh
			ssrc = pkt.SSRC
		}
		a.jitter.push(pkt.SequenceNumber, pkt.PayloadType, pkt.Payload)
	}
}

// detect runs Goertzel filters for 1100 Hz (CNG) and 2100 Hz (CED) over one
// packet; a tone is heard after 200 ms of packets dominated by it.
func (a *audio) detect(x []float64) {
	if len(x) < 80 {
		return
	}
	var energy float64
	for _, v := range x {
		energy += v * v
	}
	if energy/float64(len(x)) < 1e5 { // about -45 dBm0: silence
		a.cngFrames, a.cedFrames = 0, 0
		return
	}
	dominant := func(f float64) bool {
		return goertzel(x, f)/(energy*float64(len(x))/2) > 0.6
	}
	if dominant(1100) {
		if a.cngFrames++; a.cngFrames == 10 && !a.heardCNG.Swap(true) && a.onCNG != nil {
			a.onCNG()
		}
	} else {
		a.cngFrames = 0
	}
	if dominant(2100) {
		if a.cedFrames++; a.cedFrames == 10 && !a.heardCED.Swap(true) && a.onCED != nil {
			a.onCED()
		}
	} else {
		a.cedFrames = 0
	}
}

// goertzel returns the squared magnitude of frequency f (Hz) in x at 8 kHz.
func goertzel(x []float64, f float64) float64 {
	w := 2 * math.Pi * f / 8000
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// G.711 (ITU-T G.711 tables, computed).

func linearToULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	if v > clip {
		v = clip
	}
	v += bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

func uLawToLinear(u byte) int16 {
	u = ^u
	exp := int(u>>4) & 7
	mant := int(u & 0x0f)
	v := ((mant << 3) + 0x84) << exp
	v -= 0x84
	if u&0x80 != 0 {
		return int16(-v)
	}
	return int16(v)
}

func linearToALaw(s int16) byte {
	v := int(s) >> 3 // 13 bits
	sign := 0x80
	if v < 0 {
		v, sign = -v-1, 0
	}
	if v > 4095 {
		v = 4095
	}
	exp := 0
	for t := v >> 5; t > 0; t >>= 1 {
		exp++
	}
	var mant int
	if exp == 0 {
		mant = v >> 1
	} else {
		mant = (v >> exp) & 0x0f
	}
	return byte(sign|exp<<4|mant) ^ 0x55
}

func aLawToLinear(a byte) int16 {
	a ^= 0x55
	exp := int(a>>4) & 7
	mant := int(a & 0x0f)
	var v int
	if exp == 0 {
		v = mant<<4 + 8
	} else {
		v = (mant<<4 + 0x108) << (exp - 1)
	}
	if a&0x80 == 0 {
		return int16(-v)
	}
	return int16(v)
}
