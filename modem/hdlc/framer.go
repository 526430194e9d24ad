// Package hdlc frames and deframes the HDLC bit stream that carries T.30
// control frames (V.21 channel 2, and ECM frames on the high-speed
// carriers): flags, zero-bit insertion and deletion, abort, and the 16-bit
// FCS. Bits are in line order; octets go out least significant bit first.
//
// hdlc imports only t30 (for its CRC-16) and the standard library; it knows
// nothing of modems.
package hdlc

// Flag is the HDLC flag octet 01111110.
const Flag = 0x7E

// NoBit is what Framer.Bit returns when nothing is queued (it equals
// pump.EndOfData).
const NoBit = -1

// Framer turns queued flags and frames into a bit stream. Frames get
// their FCS, zero-bit insertion and a closing flag; a frame queued
// directly after another shares that flag. The zero value is ready.
type Framer struct {
	q    []txItem
	head int
	// bit state of the item being sent
	cur   []byte // octets still to send (frame then FCS)
	fcs   [2]byte
	inFCS bool
	oct   byte // current octet, shifted as it is sent
	nbits int  // bits left in oct
	ones  int  // run of ones sent in the frame (for insertion)
	flags int  // flags left to send in a flags item
	flagB int  // bits of the current flag left
	busy  bool // an item is being sent
	frame bool // the current item is a frame
}

type txItem struct {
	frame []byte // nil: flags
	flags int
}

// Flags queues n flags.
func (f *Framer) Flags(n int) {
	if n > 0 {
		f.q = append(f.q, txItem{flags: n})
	}
}

// Frame queues frame (without FCS), its FCS and a closing flag. The framer
// keeps frame until it has been sent: the caller must not change it.
func (f *Framer) Frame(frame []byte) {
	f.q = append(f.q, txItem{frame: frame}, txItem{flags: 1})
}

// Pending reports whether bits are left to send.
func (f *Framer) Pending() bool { return f.busy || f.head < len(f.q) }

// Reset drops everything queued.
func (f *Framer) Reset() { *f = Framer{q: f.q[:0]} }

// Bit returns the next bit in line order, or NoBit when the queue is empty.
func (f *Framer) Bit() int {
	for {
		if f.busy {
			if !f.frame {
				if f.flagB == 0 {
					if f.flags == 0 {
						f.busy = false
						continue
					}
					f.flags--
					f.flagB = 8
				}
				f.flagB--
				return int(Flag>>(7-f.flagB)) & 1
			}
			if f.ones == 5 {
				f.ones = 0
				return 0 // inserted zero
			}
			if f.nbits == 0 {
				switch {
				case len(f.cur) > 0:
					f.oct, f.cur = f.cur[0], f.cur[1:]
				case !f.inFCS:
					f.inFCS = true
					f.cur = f.fcs[1:]
					f.oct = f.fcs[0]
				default:
					// The last bit may have completed a run of five:
					// the zero above was inserted already; the frame is out.
					f.busy = false
					continue
				}
				f.nbits = 8
			}
			b := int(f.oct & 1)
			f.oct >>= 1
			f.nbits--
			if b == 1 {
				f.ones++
			} else {
				f.ones = 0
			}
			return b
		}
		if f.head >= len(f.q) {
			f.q, f.head = f.q[:0], 0
			return NoBit
		}
		it := f.q[f.head]
		f.q[f.head] = txItem{}
		f.head++
		f.busy = true
		if it.frame == nil {
			f.frame, f.flags, f.flagB = false, it.flags, 0
			continue
		}
		f.frame, f.cur, f.inFCS, f.nbits, f.ones = true, it.frame, false, 0, 0
		f.fcs = FCS(it.frame)
	}
}
