package t30

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/faxagent/faxagent/imaging"
)

// MaxPageBytes bounds the coded data of one received page.
const MaxPageBytes = 8 << 20

// sendDIS sends CSI + DIS from the answering terminal: our receive
// capabilities, or, when we answer to be polled, the polling bit.
func (s *Session) sendDIS() {
	if s.done {
		return
	}
	s.setPhase(phaseB)
	caps := s.cfg.localCaps()
	if s.cfg.Transmit {
		caps = Caps{Poll: true, Modems: s.cfg.modems(), MinScanMS: 0}
	}
	fif, err := caps.AppendFIF(nil, false)
	if err != nil {
		s.disconnect(CodeInternal, err)
		return
	}
	frames := make([]Frame, 0, 2)
	if s.cfg.Ident != "" {
		frames = append(frames, s.frame(FCFCSI, EncodeIdent(nil, s.cfg.Ident)))
	}
	frames = append(frames, s.frame(FCFDIS, fif))
	s.lastResp = frames
	s.sendFrames(frames, func() {
		if s.cfg.Transmit {
			if !s.gotDTC {
				s.setState(stTxWaitDTC)
				s.setTimer(s.timers.T4Auto, s.sendDIS)
			}
			return
		}
		s.setState(stRxWaitCmd)
		if s.gotDCS {
			// Phase B again after EOM: wait for the new DCS.
			s.setTimer(s.timers.T2, s.onT2)
			return
		}
		s.setTimer(s.timers.T4Auto, s.sendDIS)
	})
}

// onPollDIS: we called to poll and the remote says what it has.
func (s *Session) onPollDIS(f *Frame) {
	caps, err := ParseCaps(f.Info, false)
	if err != nil {
		s.debug("t30 bad DIS", "err", err)
		return
	}
	s.res.RemoteCaps = caps
	if !caps.Poll {
		s.disconnect(CodeIncompatible, errors.New("t30: polled remote has no document to send (DIS bit 9 clear)"))
		return
	}
	if s.cng != nil {
		s.cng.Stop()
		s.cng = nil
	}
	s.gotDIS = true
	s.sendDTC()
}

func (s *Session) sendDTC() {
	if s.tries >= s.cfg.MaxTries {
		s.disconnect(CodeNoResponse, fmt.Errorf("t30: no DCS after %d DTCs", s.tries))
		return
	}
	s.tries++
	s.setPhase(phaseB)
	caps := s.cfg.localCaps()
	fif, _ := caps.AppendFIF(nil, false)
	frames := make([]Frame, 0, 2)
	if s.cfg.Ident != "" {
		frames = append(frames, s.frame(FCFCIG, EncodeIdent(nil, s.cfg.Ident)))
	}
	frames = append(frames, s.frame(FCFDTC, fif))
	s.lastResp = frames
	s.sendFrames(frames, func() {
		if s.gotDCS {
			return
		}
		s.setState(stRxWaitCmd)
		s.setTimer(s.t4(), s.sendDTC)
	})
}

func (s *Session) receiverFrame(f *Frame) {
	switch k := f.Kind(); k {
	case FCFDIS:
		if s.cfg.Calling && !s.gotDCS && (s.st == stRxPollWaitDIS || s.st == stRxWaitCmd) {
			s.onPollDIS(f)
		}
	case FCFCSI:
		s.sideFrame(f)
	case FCFDCS:
		s.onDCS(f)
	case FCFMPS, FCFEOP, FCFEOM, FCFPRIMPS, FCFPRIEOP, FCFPRIEOM:
		if s.gotDCS {
			s.onPostPage(k)
		}
	case FCFPPS, FCFEOR, FCFRR, FCFCTC:
		if s.gotDCS && s.ecm {
			s.ecmCommand(f)
		}
	case FCFDCN:
		s.onDCN()
	case FCFCRP:
		if len(s.lastResp) > 0 {
			s.sendFrames(s.lastResp, s.afterResponse)
		}
	case FCFTSI, FCFNSS, FCFSUB, FCFSID, FCFPWD:
		s.sideFrame(f)
	}
}

// afterResponse is what happens after a repeated response: nothing new,
// the state and timer stay as they were.
func (s *Session) afterResponse() {}

func (s *Session) onDCN() {
	s.stopTimer()
	_ = s.line.Hangup()
	if s.docComplete {
		s.finish(OK, nil)
		return
	}
	if len(s.lastResp) == 1 && s.lastResp[0].Kind() == FCFRTN {
		s.finish(CodeReceiveFailed, errors.New("t30: remote gave up after we rejected a page (RTN)"))
		return
	}
	s.finish(CodeDCNUnexpected, errors.New("t30: remote sent DCN before the end of the document"))
}

func (s *Session) onT2() {
	if s.docComplete {
		_ = s.line.Hangup()
		s.finish(OK, nil)
		return
	}
	s.disconnect(CodeT2Timeout, fmt.Errorf("t30: T2 expired in %v", s.st))
}

func (s *Session) onDCS(f *Frame) {
	d, err := ParseCaps(f.Info, true)
	if err != nil {
		s.debug("t30 bad DCS", "err", err)
		return
	}
	c := &s.cfg
	var bad string
	var comp imaging.Compression
	res := imaging.Standard
	switch {
	case d.MMR && d.MR:
		bad = "DCS sets both MR and MMR"
	case d.MMR:
		comp = imaging.MMR
	case d.MR:
		comp = imaging.MR
	default:
		comp = imaging.MH
	}
	switch {
	case d.Ultrafine:
		res = imaging.Ultrafine
	case d.Superfine:
		res = imaging.Superfine
	case d.Fine:
		res = imaging.Fine
	}
	switch {
	case bad != "":
	case !c.modems().Allows(d.Speed):
		bad = fmt.Sprintf("DCS speed %v not offered", d.Speed)
	case !c.allowsCompression(comp) || comp == imaging.MR && !c.localCaps().MR:
		bad = fmt.Sprintf("DCS coding %v not offered", comp)
	case comp == imaging.MMR && !d.ECM:
		bad = "DCS asks for MMR without ECM"
	case d.ECM && !c.ECM:
		bad = "DCS asks for ECM, not offered"
	case !c.allowsResolution(res):
		bad = fmt.Sprintf("DCS resolution %v not offered", res)
	case d.Width > c.MaxWidth:
		bad = fmt.Sprintf("DCS width %d wider than offered", d.Width.Pixels(false))
	}
	if bad != "" {
		s.res.RemoteCaps = d
		s.disconnect(CodeIncompatible, errors.New("t30: "+bad))
		return
	}
	s.dcs = d
	s.res.RemoteCaps = d
	s.speed, s.comp, s.resol, s.ecm = d.Speed, comp, res, d.ECM
	s.width = d.Width.Pixels(res == imaging.Ultrafine)
	s.frameSize = 256
	if d.Frame64 {
		s.frameSize = 64
	}
	if !s.gotDCS {
		s.gotDCS = true
		s.tries = 0
		s.stopT1()
	}
	s.setPhase(phaseB)
	s.tcfBuf = s.tcfBuf[:0]
	s.tcfGotData = false
	s.line.SetRx(s.speed, false)
	s.setState(stRxTCF)
	s.setTimer(s.timers.T2, func() {
		// No TCF: wait for the sender to repeat DCS.
		s.setState(stRxWaitCmd)
		s.setTimer(s.timers.T2, s.onT2)
	})
}

func (s *Session) hsUp(sp Speed) {
	switch s.st {
	case stRxTCF:
		s.tcfGotData = true
		s.tcfBuf = s.tcfBuf[:0]
	case stRxWaitPage:
		s.stopTimer()
		s.setPhase(phaseC)
		s.setState(stRxPage)
		if s.ecm {
			return // frames arrive as EventFrame; the block map persists across retransmissions
		}
		s.rxPage = s.rxPage[:0]
		s.rxOverflow = false
	}
}

func (s *Session) hsData(p []byte) {
	switch s.st {
	case stRxTCF:
		if len(s.tcfBuf) < 64<<10 {
			s.tcfBuf = append(s.tcfBuf, p...)
		}
	case stRxPage:
		if s.ecm {
			return
		}
		if len(s.rxPage)+len(p) > MaxPageBytes {
			s.rxOverflow = true
			return
		}
		s.rxPage = append(s.rxPage, p...)
	}
}

func (s *Session) hsDown() {
	switch s.st {
	case stRxTCF:
		if !s.tcfGotData {
			return
		}
		s.stopTimer()
		if s.tcfOK() {
			s.trained = true
			s.lastResp = []Frame{s.frame(FCFCFR, nil)}
			s.sendFrames(s.lastResp, func() {
				s.awaitPage()
			})
		} else {
			s.lastResp = []Frame{s.frame(FCFFTT, nil)}
			s.sendFrames(s.lastResp, func() {
				s.setState(stRxWaitCmd)
				s.setTimer(s.timers.T2, s.onT2)
			})
		}
	case stRxPage:
		s.rxHavePage = true
		s.setPhase(phaseD)
		s.setState(stRxWaitCmd)
		s.setTimer(s.timers.T2, s.onT2)
	}
}

func (s *Session) awaitPage() {
	s.setState(stRxWaitPage)
	s.line.SetRx(s.speed, s.speed.Modem == V17)
	s.setTimer(s.timers.T2, s.onT2)
}

// tcfOK judges the training check: at least one second of consecutive zero
// octets (T.30 leaves the criterion to the receiver).
func (s *Session) tcfOK() bool {
	run, best := 0, 0
	for _, b := range s.tcfBuf {
		if b == 0 {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	ok := best*8 >= s.speed.Rate
	s.debug("t30 TCF", "bytes", len(s.tcfBuf), "zero-run", best, "ok", ok)
	return ok
}

// decodeRx runs the received page through the imaging decoder for its
// row statistics.
func (s *Session) decodeRx(data []byte) (imaging.RowStats, error) {
	dec, err := imaging.NewDecoder(bytes.NewReader(data), imaging.DecodeOptions{
		Compression: s.comp, Width: s.width, BitOrder: imaging.LSBFirst,
	})
	if err != nil {
		return imaging.RowStats{}, err
	}
	if need := imaging.RowBytes(s.width); cap(s.rowBuf) < need {
		s.rowBuf = make([]byte, need)
	}
	row := s.rowBuf[:imaging.RowBytes(s.width)]
	for {
		err := dec.ReadRow(row)
		if errors.Is(err, imaging.ErrEndOfPage) {
			return dec.Stats(), nil
		}
		if err != nil {
			return dec.Stats(), err
		}
	}
}

func (s *Session) onPostPage(cmd FCF) {
	s.stopTimer()
	if !s.rxHavePage {
		if len(s.lastResp) == 1 && isPostResp(s.lastResp[0].Kind()) {
			// Our response was lost: say it again.
			s.sendFrames(s.lastResp, func() { s.afterPostResp(cmd, s.lastResp[0].Kind()) })
			return
		}
		s.lastResp = []Frame{s.frame(FCFRTN, nil)}
		s.sendFrames(s.lastResp, func() { s.afterPostResp(cmd, FCFRTN) })
		return
	}
	s.rxHavePage = false
	st, err := s.decodeRx(s.rxPage)
	resp := s.cfg.Quality(st, err)
	if s.rxOverflow {
		resp = FCFRTN
	}
	if resp == FCFMCF || resp == FCFRTP {
		if err := s.deliver(s.rxPage, st); err != nil {
			s.disconnect(CodeDocument, err)
			return
		}
	} else {
		s.progress(PageEvent{Page: s.res.PagesReceived + 1, Status: PageBad, Bytes: len(s.rxPage), BadRows: st.BadRows})
	}
	s.lastResp = []Frame{s.frame(resp, nil)}
	s.sendFrames(s.lastResp, func() { s.afterPostResp(cmd, resp) })
}

func isPostResp(k FCF) bool {
	switch k {
	case FCFMCF, FCFRTP, FCFRTN, FCFPIP, FCFPIN:
		return true
	}
	return false
}

// deliver hands a good page to the sink.
func (s *Session) deliver(data []byte, st imaging.RowStats) error {
	p := &ReceivedPage{
		Index: s.res.PagesReceived, Data: append([]byte(nil), data...), Compression: s.comp,
		BitOrder: imaging.LSBFirst, Width: s.width, Resolution: s.resol, Stats: st, Speed: s.speed, ECM: s.ecm,
	}
	if err := s.cfg.Sink.Page(p); err != nil {
		return fmt.Errorf("t30: page sink: %w", err)
	}
	s.res.PagesReceived++
	s.res.BadRows = append(s.res.BadRows, st.BadRows)
	s.progress(PageEvent{Page: s.res.PagesReceived, Status: PageReceived, Bytes: len(data), BadRows: st.BadRows})
	return nil
}

func (s *Session) afterPostResp(cmd, resp FCF) {
	good := resp != FCFRTN && resp != FCFPIN
	switch cmd.Bare() {
	case FCFEOP, FCFPRIEOP:
		if good {
			s.docComplete = true
		}
	case FCFEOM, FCFPRIEOM:
		if good {
			// Phase B again: DIS until a new DCS, within T1.
			s.gotDCS = false
			s.stopT1()
			s.t1 = s.clock.AfterFunc(s.timers.T1, s.onT1)
			s.sendDIS()
			return
		}
	case FCFMPS, FCFPRIMPS:
		if resp == FCFMCF || resp == FCFPIP {
			s.awaitPage()
			return
		}
	}
	s.setState(stRxWaitCmd)
	s.setTimer(s.timers.T2, s.onT2)
}
