package hdlc

// Deframer finds frames in a bit stream: it hunts for flags, deletes
// inserted zeros, drops aborted and non-octet frames, and checks the FCS.
type Deframer struct {
	maxLen   int
	minFlags int
	h        func(frame []byte, fcsOK bool)

	shift  uint32 // last bits, newest in bit 0 ... only the low 8 matter
	ones   int    // consecutive ones seen
	oct    byte
	nbits  int
	buf    []byte
	flags  int  // consecutive flags seen while hunting
	synced bool // enough flags seen: frames are collected
	inFr   bool // collecting a frame (data since the last flag)
	over   bool // frame longer than maxLen: dropped at its end

	stats Stats
}

// Stats counts what a Deframer saw.
type Stats struct {
	Frames   int // frames with a good FCS
	BadFCS   int // frames of whole octets whose FCS failed
	Aborts   int // frames cut by seven or more ones
	TooLong  int // frames over the length limit
	Runts    int // frames too short or not whole octets
	Flags    int // flags seen
	SyncLost int
}

// NewDeframer returns a deframer that reports frames up to maxLen octets
// (without FCS) to h, once minFlags consecutive flags have been seen (1 is
// HDLC's rule; more resists noise). Frames passed to h are valid only
// during the call. Frames too short to hold an address, a control field
// and an FCS (fewer than 4 octets in all) are dropped silently.
func NewDeframer(maxLen, minFlags int, h func(frame []byte, fcsOK bool)) *Deframer {
	if minFlags < 1 {
		minFlags = 1
	}
	return &Deframer{maxLen: maxLen, minFlags: minFlags, h: h, buf: make([]byte, 0, maxLen+2)}
}

// Synced reports whether the deframer has seen its flags and is
// collecting frames (a V.21 receiver reports the preamble with it).
func (d *Deframer) Synced() bool { return d.synced }

// Stats returns the counters.
func (d *Deframer) Stats() Stats { return d.stats }

// Reset forgets the bit stream (a new carrier follows); counters stay.
func (d *Deframer) Reset() {
	d.shift, d.ones, d.oct, d.nbits = 0, 0, 0, 0
	d.buf = d.buf[:0]
	d.flags, d.synced, d.inFr, d.over = 0, false, false, false
}

// PutBits feeds the octets of p, least significant bit first.
func (d *Deframer) PutBits(p []byte) {
	for _, b := range p {
		for i := range 8 {
			d.PutBit(int(b>>i) & 1)
		}
	}
}

// PutBit feeds one bit (0 or 1).
func (d *Deframer) PutBit(bit int) {
	if bit != 0 {
		d.ones++
		if d.ones >= 7 {
			// Abort (or idle ones): whatever was being collected is gone.
			if d.ones == 7 {
				if d.inFr && len(d.buf) > 0 {
					d.stats.Aborts++
				}
				if d.synced {
					d.stats.SyncLost++
				}
			}
			d.synced, d.flags, d.inFr, d.over = false, 0, false, false
			d.buf, d.nbits = d.buf[:0], 0
			return
		}
		d.addBit(1)
		return
	}
	ones := d.ones
	d.ones = 0
	switch {
	case ones == 6: // 0111111 0: a flag ends here
		d.flag()
		return
	case ones == 5: // an inserted zero: delete it
		return
	}
	d.addBit(0)
}

func (d *Deframer) addBit(b int) {
	if !d.inFr {
		return
	}
	d.oct = d.oct>>1 | byte(b)<<7
	d.nbits++
	if d.nbits == 8 {
		d.nbits = 0
		if len(d.buf) >= d.maxLen+2 {
			d.over = true
			return
		}
		d.buf = append(d.buf, d.oct)
	}
}

// flag handles a flag: the six ones before it went into the octet
// collector as data, so they (and the zero that opened the flag) are
// taken off again: 7 bits of the flag were collected.
func (d *Deframer) flag() {
	d.stats.Flags++
	if d.inFr {
		// Remove the flag's first seven bits (0111111) from the collector.
		n := d.nbits - 7
		for n < 0 {
			if len(d.buf) == 0 {
				break
			}
			d.buf = d.buf[:len(d.buf)-1]
			n += 8
		}
		switch {
		case d.over:
			d.stats.TooLong++
		case n != 0 && len(d.buf) > 0:
			d.stats.Runts++ // not a whole number of octets
		case len(d.buf) == 0:
			// back-to-back flags
		case len(d.buf) < 4:
			d.stats.Runts++
		default:
			ok := CRC(0xFFFF, d.buf) == crcGood
			if ok {
				d.stats.Frames++
			} else {
				d.stats.BadFCS++
			}
			if d.synced && d.h != nil {
				d.h(d.buf[:len(d.buf)-2], ok)
			}
		}
		if !d.synced && (len(d.buf) > 0 || n != 0) {
			d.flags = 0 // flags must come back to back to count
		}
	}
	if !d.synced {
		d.flags++
		if d.flags >= d.minFlags {
			d.synced = true
		}
	}
	d.buf, d.nbits, d.over, d.inFr = d.buf[:0], 0, false, true
}
