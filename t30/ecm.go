package t30

import (
	"errors"
	"fmt"
	"time"
)

// ECM (T.30 Annex A): the page is cut into frames of 64 or 256 octets,
// sent in partial pages (blocks) of up to 256 frames on the high-speed
// carrier; after each block the sender asks with PPS whether all frames
// arrived and the receiver answers MCF or PPR with a map of the missing
// ones. After four PPRs the sender falls back a speed with CTC/CTR; at the
// lowest speed it continues to correct there (CTC at the same speed) as
// long as the PPRs still ask for fewer frames each time, and gives up the
// block with EOR/ERR once they do not. (A receiver that loses symbol
// timing a few seconds into a long burst, as SpanDSP's V.27 ter receiver
// does at a 100 ppm clock offset, takes a block a few frames per burst.)

// fcfNULL is the "no post-page command" octet of PPS-NULL and EOR-NULL.
const fcfNULL FCF = 0x00

// pprsBeforeCTC is how many PPRs for one block the sender accepts before
// it changes speed (T.30 A.4.3: four).
const pprsBeforeCTC = 4

type ecmTx struct {
	frames   [][]byte // the page cut into frames
	block    int      // block number within the page
	first    int      // index of the block's first frame
	count    int      // frames in the block
	send     [256]bool
	pprs     int
	asked    int // frames the last PPR asked for (the block's count before one)
	pageCnt  int // page counter for PPS (mod 256)
	awaitCTR bool
	awaitERR bool
	rnrSince time.Time
	rnr      bool
	sentLast bool // PPS of the page's last block already sent once
	frameBuf []byte
}

type ecmRx struct {
	have [256]bool
	lens [256]int
	// count is the frame count of the block being received, taken from
	// the first PPS of the block (0: no PPS yet); high is the highest
	// frame number received in the block plus one. See ecmBlockFrames.
	count     int
	high      int
	buf       []byte // 256 frames of frameSize
	page      []byte // accepted blocks of the current page
	lastPage  int
	lastBlock int
	accepted  bool // lastPage/lastBlock are valid
}

// --- sender ---

func (s *Session) ecmStartPage() {
	e := &s.ecmTx
	e.frames = e.frames[:0]
	for off := 0; off < len(s.pageData); off += s.frameSize {
		e.frames = append(e.frames, s.pageData[off:min(off+s.frameSize, len(s.pageData))])
	}
	if len(e.frames) == 0 {
		e.frames = append(e.frames, []byte{0})
	}
	e.block = 0
	e.sentLast = false
	s.ecmStartBlock()
}

func (s *Session) ecmStartBlock() {
	e := &s.ecmTx
	e.first = e.block * 256
	e.count = min(256, len(e.frames)-e.first)
	for i := range e.send {
		e.send[i] = i < e.count
	}
	e.pprs, e.asked = 0, e.count
	s.ecmSendBlock()
}

func (s *Session) ecmLastBlock() bool {
	e := &s.ecmTx
	return e.first+e.count >= len(e.frames)
}

func (s *Session) ecmSendBlock() {
	e := &s.ecmTx
	s.setPhase(phaseC)
	s.setState(stTxPage)
	sp := s.speed
	short := sp.Modem == V17 && s.trained
	s.sendAfterGap(func() error {
		if err := s.line.StartTx(sp, short); err != nil {
			return err
		}
		for i := 0; i < e.count; i++ {
			if !e.send[i] {
				continue
			}
			data := e.frames[e.first+i]
			e.frameBuf = append(e.frameBuf[:0], AddressByte, ControlNotFinal, byte(FCFFCD), byte(i))
			e.frameBuf = append(e.frameBuf, data...)
			if err := s.line.SendFrame(e.frameBuf); err != nil {
				return err
			}
		}
		rcp := []byte{AddressByte, ControlNotFinal, byte(FCFRCP)}
		for range 3 {
			if err := s.line.SendFrame(rcp); err != nil {
				return err
			}
		}
		return s.line.StopTx()
	}, s.ecmSendPPS)
}

// ecmPostCmd is the post-page command PPS carries for the current block.
func (s *Session) ecmPostCmd() FCF {
	if !s.ecmLastBlock() {
		return fcfNULL
	}
	if s.lastPage() {
		return FCFEOP
	}
	if s.nextNeedsEOM() {
		return FCFEOM
	}
	return FCFMPS
}

func (s *Session) ecmSendPPS() {
	e := &s.ecmTx
	s.setPhase(phaseD)
	pp := s.ecmPostCmd()
	s.postCmd = pp
	if pp != fcfNULL && !e.sentLast {
		e.sentLast = true
		if s.pageTries == 1 {
			s.res.PagesSent++
		}
		s.progress(PageEvent{Page: s.page + 1, Status: PageSent, Bytes: len(s.pageData)})
	}
	ppx := pp
	if pp != fcfNULL {
		ppx |= s.x()
	}
	fif := []byte{byte(ppx), byte(e.pageCnt), byte(e.block), byte(e.count - 1)}
	s.tries = 0
	s.sendCommand([]Frame{s.frame(FCFPPS, fif)}, func() { s.awaitResponse(stTxWaitPostResp) })
}

func (s *Session) ecmResponse(f *Frame) {
	e := &s.ecmTx
	k := f.Kind()
	switch {
	case e.awaitCTR:
		if k == FCFCTR {
			s.stopTimer()
			e.awaitCTR = false
			e.pprs = 0
			s.ecmSendBlock()
		} else if k == FCFCRP {
			s.stopTimer()
			s.repeatCommand()
		}
		return
	case e.awaitERR:
		if k == FCFERR {
			s.stopTimer()
			e.awaitERR = false
			s.disconnect(CodeECMFailed, fmt.Errorf("t30: page %d block %d could not be corrected at %v", s.page+1, e.block, s.speed))
		} else if k == FCFCRP {
			s.stopTimer()
			s.repeatCommand()
		}
		return
	}
	switch k {
	case FCFMCF:
		s.stopTimer()
		e.rnr = false
		if !s.ecmLastBlock() {
			e.block++
			s.ecmStartBlock()
			return
		}
		e.pageCnt++
		s.pageConfirmed(false)
	case FCFPPR:
		s.stopTimer()
		e.rnr = false
		s.res.PPRs++
		e.pprs++
		n := 0
		for i := 0; i < e.count; i++ {
			e.send[i] = i/8 < len(f.Info) && f.Info[i/8]&(1<<uint(i%8)) != 0
			if e.send[i] {
				n++
			}
		}
		if n == 0 {
			// A PPR that asks for nothing: ask again.
			s.tries = 0
			s.repeatCommand()
			return
		}
		progress := n < e.asked
		e.asked = n
		if e.pprs >= pprsBeforeCTC {
			s.ecmSpeedDown(progress)
			return
		}
		s.ecmSendBlock()
	case FCFRNR:
		s.stopTimer()
		now := s.clock.Now()
		if !e.rnr {
			e.rnr, e.rnrSince = true, now
		}
		if now.Sub(e.rnrSince) >= s.timers.T5 {
			s.disconnect(CodeT5Timeout, errors.New("t30: receiver not ready for longer than T5"))
			return
		}
		s.tries = 0
		s.sendCommand([]Frame{s.frame(FCFRR, nil)}, func() { s.awaitResponse(stTxWaitPostResp) })
	case FCFPIN:
		s.stopTimer()
		s.disconnect(CodeInterrupted, errors.New("t30: remote answered PIN"))
	case FCFCRP:
		s.stopTimer()
		s.repeatCommand()
	}
}

// ecmSpeedDown sends CTC with the next lower speed; at the lowest, CTC
// with the same speed if the last PPR showed progress, else EOR.
func (s *Session) ecmSpeedDown(progress bool) {
	e := &s.ecmTx
	fb, ok := s.speed.Fallback(s.common())
	s.tries = 0
	if !ok && progress {
		fb, ok = s.speed, true
	}
	if !ok {
		e.awaitERR = true
		pp := s.ecmPostCmd()
		if pp != fcfNULL {
			pp |= s.x()
		}
		s.sendCommand([]Frame{s.frame(FCFEOR, []byte{byte(pp)})}, func() { s.awaitResponse(stTxWaitPostResp) })
		return
	}
	s.speed = fb
	s.trained = false
	s.res.Retrains++
	e.awaitCTR = true
	c := Caps{Speed: fb}
	fif, _ := c.AppendFIF(nil, true)
	s.sendCommand([]Frame{s.frame(FCFCTC, fif[:2])}, func() { s.awaitResponse(stTxWaitPostResp) })
}

// --- receiver ---

func (s *Session) rxECMFrame(raw []byte, ok bool) {
	if s.cfg.Transmit || !s.ecm || !ok {
		return
	}
	if s.st == stRxWaitPage {
		s.stopTimer()
		s.setPhase(phaseC)
		s.setState(stRxPage)
	}
	if s.st != stRxPage {
		return
	}
	var f Frame
	if err := f.Unmarshal(raw); err != nil || f.Kind() != FCFFCD || len(f.Info) < 1 {
		return
	}
	n := int(f.Info[0])
	data := f.Info[1:]
	if len(data) > s.frameSize {
		return
	}
	r := &s.ecmRx
	if len(r.buf) < 256*s.frameSize {
		r.buf = make([]byte, 256*s.frameSize)
	}
	copy(r.buf[n*s.frameSize:], data)
	r.have[n] = true
	r.lens[n] = len(data)
	r.high = max(r.high, n+1)
}

// ecmBlockFrames returns the number of frames in the block being
// received, given the frame count field of a PPS for it.
//
// The fourth FIF octet of PPS is the frame count minus one (T.30 Annex
// A). Whether a PPS after a retransmission counts the frames of the block
// or only those resent is read both ways in practice: ours repeats the
// block's count, SpanDSP (t30.c, which calls the field "not well
// specified") sends the number of frames of the retransmission burst, so
// after a PPR for one frame the count is 1. Both
// readings agree on the first PPS of a block, which always follows the
// complete burst (PPR is only sent in answer to a PPS), so that count is
// kept for the whole block and never shrunk by a later PPS; a frame
// received with a higher number (a sender that miscounted) raises it.
func (r *ecmRx) ecmBlockFrames(ppsCount int) int {
	if r.count == 0 {
		r.count = ppsCount
	}
	return max(r.count, r.high)
}

// ecmNextBlock forgets the per-block state after a block was accepted.
func (r *ecmRx) ecmNextBlock() {
	r.have = [256]bool{}
	r.count, r.high = 0, 0
}

func (s *Session) ecmCommand(f *Frame) {
	r := &s.ecmRx
	s.stopTimer()
	switch f.Kind() {
	case FCFRR:
		if pending := s.ecmPending; pending != nil {
			// The sender asks whether we are ready now.
			s.ecmPending = nil
			s.ecmCommand(&Frame{FCF: FCFPPS, Info: pending})
			return
		}
		if len(s.lastResp) > 0 {
			s.sendFrames(s.lastResp, s.ecmWaitNext)
		}
	case FCFCTC:
		c, err := ParseCaps(append(append([]byte(nil), f.Info...), 0), true)
		if err != nil || !s.cfg.modems().Allows(c.Speed) {
			s.disconnect(CodeProtocol, fmt.Errorf("t30: CTC with invalid speed: %v", err))
			return
		}
		s.speed = c.Speed
		s.trained = false
		s.lastResp = []Frame{s.frame(FCFCTR, nil)}
		s.sendFrames(s.lastResp, func() {
			s.setState(stRxWaitPage)
			s.line.SetRx(s.speed, false)
			s.setTimer(s.timers.T2, s.onT2)
		})
	case FCFPPS, FCFEOR:
		eor := f.Kind() == FCFEOR
		if len(f.Info) < 1 || !eor && len(f.Info) < 4 {
			s.disconnect(CodeProtocol, fmt.Errorf("t30: %v with %d-octet FIF", f.Kind(), len(f.Info)))
			return
		}
		pp := FCF(f.Info[0]).Bare()
		if pp != fcfNULL && !isPostPageCmd(pp) {
			s.disconnect(CodeProtocol, fmt.Errorf("t30: %v with post-page command 0x%02X", f.Kind(), f.Info[0]))
			return
		}
		if eor {
			s.ecmAccept(pp, true)
			return
		}
		page, block := int(f.Info[1]), int(f.Info[2])
		if r.accepted && page == r.lastPage && block == r.lastBlock {
			// Our MCF was lost: confirm again.
			s.lastResp = []Frame{s.frame(FCFMCF, nil)}
			s.sendFrames(s.lastResp, func() { s.ecmAfterBlock(pp) })
			return
		}
		count := r.ecmBlockFrames(int(f.Info[3]) + 1)
		var ppr [32]byte
		missing := 0
		for i := 0; i < count; i++ {
			if !r.have[i] {
				ppr[i/8] |= 1 << uint(i%8)
				missing++
			}
		}
		if missing > 0 {
			s.debug("t30 ECM PPR", "missing", missing, "of", count)
			s.lastResp = []Frame{s.frame(FCFPPR, ppr[:])}
			s.sendFrames(s.lastResp, s.ecmWaitNext)
			return
		}
		if b, ok := s.cfg.Sink.(BusySink); ok && b.Busy() {
			// Flow control: not ready to take the block; the sender
			// polls with RR (for up to T5).
			s.ecmPending = append([]byte(nil), f.Info...)
			s.lastResp = []Frame{s.frame(FCFRNR, nil)}
			s.sendFrames(s.lastResp, func() {
				s.setState(stRxWaitCmd)
				s.setTimer(s.timers.T2, s.onT2)
			})
			return
		}
		r.lastPage, r.lastBlock, r.accepted = page, block, true
		s.ecmBlockCount = count
		s.ecmAccept(pp, false)
	}
}

func isPostPageCmd(k FCF) bool {
	switch k {
	case FCFMPS, FCFEOP, FCFEOM, FCFPRIMPS, FCFPRIEOP, FCFPRIEOM:
		return true
	}
	return false
}

// ecmAccept appends the block to the page (with holes zero-filled after
// EOR), answers MCF (or ERR) and, at the end of a page, delivers it.
func (s *Session) ecmAccept(pp FCF, eor bool) {
	r := &s.ecmRx
	count := s.ecmBlockCount
	if eor {
		// Zero-fill what never came, up to the block's count if a PPS
		// gave it.
		count = max(r.count, r.high)
	}
	if len(r.buf) < 256*s.frameSize {
		// EOR after a block of which no frame arrived.
		r.buf = make([]byte, 256*s.frameSize)
	}
	for i := 0; i < count; i++ {
		n := r.lens[i]
		if !r.have[i] {
			n = s.frameSize
			clear(r.buf[i*s.frameSize : (i+1)*s.frameSize])
		}
		if len(r.page)+n > MaxPageBytes {
			s.disconnect(CodeProtocol, errors.New("t30: ECM page too large"))
			return
		}
		r.page = append(r.page, r.buf[i*s.frameSize:i*s.frameSize+n]...)
	}
	r.ecmNextBlock()
	resp := FCFMCF
	if eor {
		resp = FCFERR
	}
	if pp != fcfNULL {
		st, err := s.decodeRx(r.page)
		if err := s.deliver(r.page, st); err != nil {
			s.disconnect(CodeDocument, err)
			return
		}
		_ = err
		r.page = r.page[:0]
	}
	s.lastResp = []Frame{s.frame(resp, nil)}
	s.sendFrames(s.lastResp, func() { s.ecmAfterBlock(pp) })
}

func (s *Session) ecmAfterBlock(pp FCF) {
	if pp == fcfNULL {
		s.ecmWaitNext()
		return
	}
	s.afterPostResp(pp, FCFMCF)
}

// ecmWaitNext waits for the next block or a retransmission (or a V.21
// command: CTC, EOR, RR, DCN).
func (s *Session) ecmWaitNext() {
	s.setState(stRxWaitPage)
	s.line.SetRx(s.speed, s.speed.Modem == V17 && s.trained)
	s.setTimer(s.timers.T2, s.onT2)
}
