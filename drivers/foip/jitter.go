package foip

// JitterStats count what the RTP reordering buffer of a call's audio phase
// saw.
type JitterStats struct {
	Reordered  uint64 // arrived after a packet with a higher sequence number, still in time
	Duplicates uint64 // a sequence number held or delivered already
	Lost       uint64 // sequence numbers given up on (skipped)
	Late       uint64 // arrived after their sequence number was given up on
	Resets     uint64 // jumps in the sequence (or a new SSRC) that restarted the buffer
}

// jitterDepth is how many packets the audio phase's buffer holds (20 ms
// each): reordering within 80 ms is undone.
const jitterDepth = 4

// jitterJump is the sequence distance beyond which a packet is taken as a
// restarted stream rather than a late or early one.
const jitterJump = 1000

type jitterSlot struct {
	seq     uint16
	full    bool
	pt      uint8
	payload []byte
}

// jitterBuffer puts RTP packets back in sequence-number order (modulo
// 2^16) before they reach the tone detector. It holds up to depth packets:
// a gap is waited for until a packet depth ahead of it arrives, then
// counted lost. Duplicates and packets behind the delivery point are
// dropped. It is used by one goroutine.
type jitterBuffer struct {
	depth     int
	slots     []jitterSlot
	started   bool
	next      uint16 // next sequence number to deliver
	highest   uint16 // highest sequence number seen
	delivered uint64 // bit i: next-1-i was delivered (not skipped)
	deliver   func(seq uint16, pt uint8, payload []byte)
	stats     JitterStats
}

func newJitterBuffer(depth int, deliver func(seq uint16, pt uint8, payload []byte)) *jitterBuffer {
	// A power of two, so slot indexes stay distinct across the 2^16 wrap.
	n := 1
	for n < depth {
		n <<= 1
	}
	depth = n
	return &jitterBuffer{depth: depth, slots: make([]jitterSlot, depth), deliver: deliver}
}

// reset forgets the stream: held packets are delivered in order first (the
// gaps before them counted lost).
func (j *jitterBuffer) reset() {
	if !j.started {
		return
	}
	held := 0
	for _, s := range j.slots {
		if s.full {
			held++
		}
	}
	for held > 0 {
		if s := j.slots[int(j.next)%j.depth]; s.full && s.seq == j.next {
			held--
		}
		j.advance()
	}
	j.started = false
	j.stats.Resets++
}

// push takes one packet; payload is copied if it is held.
func (j *jitterBuffer) push(seq uint16, pt uint8, payload []byte) {
	if j.started {
		if d := int(int16(seq - j.next)); d > jitterJump || d < -jitterJump {
			j.reset()
		}
	}
	if !j.started {
		j.started, j.next, j.highest, j.delivered = true, seq, seq, 0
	}
	d := int(int16(seq - j.next))
	if d < 0 {
		if back := -d - 1; back < 64 && j.delivered&(1<<back) != 0 {
			j.stats.Duplicates++
		} else {
			j.stats.Late++
		}
		return
	}
	if int16(seq-j.highest) < 0 {
		j.stats.Reordered++
	} else {
		j.highest = seq
	}
	for d >= j.depth { // make room: give up on the oldest gap(s)
		j.advance()
		d--
	}
	s := &j.slots[int(seq)%j.depth]
	if s.full && s.seq == seq {
		j.stats.Duplicates++
		return
	}
	s.seq, s.full, s.pt = seq, true, pt
	s.payload = append(s.payload[:0], payload...)
	for j.slots[int(j.next)%j.depth].full && j.slots[int(j.next)%j.depth].seq == j.next {
		j.advance()
	}
}

// advance delivers the packet at next if held, else counts it lost, and
// moves on by one.
func (j *jitterBuffer) advance() {
	s := &j.slots[int(j.next)%j.depth]
	if s.full && s.seq == j.next {
		s.full = false
		j.deliver(s.seq, s.pt, s.payload)
		j.delivered = j.delivered<<1 | 1
	} else {
		j.stats.Lost++
		j.delivered <<= 1
	}
	j.next++
}
