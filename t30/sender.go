package t30

import (
	"errors"
	"fmt"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

func (s *Session) sendCNG() {
	if s.gotDIS || s.done {
		return
	}
	s.send(func() error { return s.line.SendTone(ToneCNG, 500*time.Millisecond) }, func() {
		if s.gotDIS || s.done {
			return
		}
		s.cng = s.clock.AfterFunc(3*time.Second, s.sendCNG)
	})
}

func (s *Session) senderFrame(f *Frame) {
	k := f.Kind()
	switch k {
	case FCFDIS:
		if s.cfg.Calling {
			s.onDIS(f)
		}
		return
	case FCFDTC:
		if !s.cfg.Calling {
			s.onDIS(f) // polled: DTC carries the caller's receive capabilities
		}
		return
	case FCFCIG:
		s.sideFrame(f)
		return
	case FCFDCN:
		if s.st != stDisconnecting {
			s.finish(CodeDCNUnexpected, errors.New("t30: remote sent DCN"))
		}
		return
	case FCFCSI, FCFNSF:
		s.sideFrame(f)
		return
	}
	switch s.st {
	case stTxWaitCFR:
		switch k {
		case FCFCFR:
			s.stopTimer()
			s.trained = true
			s.tries = 0
			s.sendPage()
		case FCFFTT:
			s.stopTimer()
			s.onFTT()
		case FCFCRP:
			s.stopTimer()
			s.repeatCommand()
		}
	case stTxWaitPostResp:
		if s.ecm {
			s.ecmResponse(f)
			return
		}
		switch k {
		case FCFMCF, FCFPIP, FCFRTP:
			s.stopTimer()
			s.pageConfirmed(k == FCFRTP)
		case FCFRTN:
			s.stopTimer()
			s.pageRejected()
		case FCFPIN:
			s.stopTimer()
			s.disconnect(CodeInterrupted, errors.New("t30: remote answered PIN"))
		case FCFCRP:
			s.stopTimer()
			s.repeatCommand()
		}
	}
}

func (s *Session) onDIS(f *Frame) {
	switch s.st {
	case stTxWaitDIS, stTxWaitDTC:
	case stTxWaitCFR:
		// The remote did not get our DCS: it repeats DIS.
		s.stopTimer()
		s.repeatCommand()
		return
	default:
		return
	}
	caps, err := ParseCaps(f.Info, false)
	if err != nil {
		s.debug("t30 bad DIS", "err", err)
		return
	}
	if f.Kind() == FCFDIS {
		s.gotDIS = true // the X bit is ours from now on
	} else {
		s.gotDTC = true
	}
	if s.cng != nil {
		s.cng.Stop()
		s.cng = nil
	}
	s.stopT1()
	s.remote = caps
	s.res.RemoteCaps = caps
	if !caps.ReceiveFax {
		s.disconnect(CodeIncompatible, errors.New("t30: remote cannot receive (DIS/DTC bit 10 clear)"))
		return
	}
	if err := s.negotiate(); err != nil {
		s.disconnect(codeOf(err), err)
		return
	}
	s.tries = 0
	s.sendDCS()
}

type codedError struct {
	code Code
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func codeOf(err error) Code {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	if errors.Is(err, ErrDocument) {
		return CodeDocument
	}
	return CodeInternal
}

func incompatible(format string, args ...any) error {
	return &codedError{CodeIncompatible, fmt.Errorf("t30: incompatible remote: "+format, args...)}
}

// common is the modem set both ends support.
func (s *Session) common() ModemSet { return s.cfg.modems() & s.remote.Modems }

func (s *Session) negotiate() error {
	r := s.remote
	both := s.common()
	s.speed = Speed{}
	for _, sp := range both.Speeds() {
		if s.cfg.MaxRate == 0 || sp.Rate <= s.cfg.MaxRate {
			s.speed = sp
			break
		}
	}
	if s.speed.Modem == ModemNone {
		return incompatible("no common modulation within %d bit/s", s.cfg.MaxRate)
	}
	s.ecm = s.cfg.ECM && r.ECM
	switch {
	case s.ecm && r.MMR && s.cfg.allowsCompression(imaging.MMR):
		s.comp = imaging.MMR
	case r.MR && s.cfg.allowsCompression(imaging.MR):
		s.comp = imaging.MR
	case s.cfg.allowsCompression(imaging.MH):
		s.comp = imaging.MH
	default:
		return incompatible("no common coding (remote MR=%v MMR=%v ECM=%v)", r.MR, r.MMR, r.ECM)
	}
	s.frameSize = 256
	if s.ecm && (s.cfg.Frame64 || r.Prefer64) {
		s.frameSize = 64
	}
	res, width, err := s.pageParams(s.page)
	if err != nil {
		return err
	}
	s.resol, s.width = res, width
	// Minimum scan line time for the chosen resolution (T.30 Table 2).
	s.minRowBits, s.scanMS = 0, 0
	if !s.ecm {
		_ = s.negotiateScan()
	}
	s.buildDCS()
	return nil
}

// pageParams is the resolution and width page i is sent with to this
// remote: the page's own, or a coarser vertical resolution the remote
// takes; errors for what cannot be sent at all.
func (s *Session) pageParams(i int) (imaging.Resolution, int, error) {
	r := s.remote
	src, err := s.cfg.Document.Page(i)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: page %d: %w", ErrDocument, i+1, err)
	}
	res := src.Resolution
	supported := func(x imaging.Resolution) bool {
		switch x {
		case imaging.Fine:
			return r.Fine
		case imaging.Superfine:
			return r.Superfine
		case imaging.Ultrafine:
			return r.Ultrafine
		}
		return true
	}
	if res == imaging.Ultrafine && !r.Ultrafine {
		return 0, 0, incompatible("page %d is ultrafine (408 dpi) and the remote does not take it", i+1)
	}
	if res < imaging.Standard || res > imaging.Ultrafine {
		return 0, 0, &codedError{CodeDocument, fmt.Errorf("%w: page %d has resolution %v", ErrDocument, i+1, res)}
	}
	for !supported(res) {
		res-- // Superfine -> Fine -> Standard, by merging rows
	}
	ultra := res == imaging.Ultrafine
	var class PaperWidth
	switch w := src.Width; {
	case w <= 0:
		return 0, 0, &codedError{CodeDocument, fmt.Errorf("%w: page %d has width %d", ErrDocument, i+1, w)}
	case w <= WidthA4.Pixels(ultra):
		class = WidthA4
	case w <= WidthB4.Pixels(ultra):
		class = WidthB4
	case w <= WidthA3.Pixels(ultra):
		class = WidthA3
	default:
		return 0, 0, &codedError{CodeDocument, fmt.Errorf("%w: page %d width %d is wider than A3", ErrDocument, i+1, w)}
	}
	if class > r.Width {
		return 0, 0, incompatible("page %d width %d needs %d mm paper, the remote takes %d pixels", i+1, src.Width, []int{215, 255, 303}[class], r.Width.Pixels(ultra))
	}
	return res, class.Pixels(ultra), nil
}

// nextNeedsEOM reports whether the next page needs other DCS parameters
// (resolution or width), which takes EOM and a new phase B.
func (s *Session) nextNeedsEOM() bool {
	if s.lastPage() {
		return false
	}
	res, width, err := s.pageParams(s.page + 1)
	return err == nil && (res != s.resol || width != s.width)
}

func (s *Session) buildDCS() {
	r := s.remote
	d := Caps{
		ReceiveFax: true,
		Speed:      s.speed,
		Fine:       s.resol == imaging.Fine,
		Superfine:  s.resol == imaging.Superfine,
		Ultrafine:  s.resol == imaging.Ultrafine,
		MR:         s.comp == imaging.MR,
		MMR:        s.comp == imaging.MMR,
		ECM:        s.ecm,
		Frame64:    s.ecm && s.frameSize == 64,
		MinScanMS:  s.scanMS,
		Length:     r.Length,
	}
	switch s.width {
	case WidthB4.Pixels(false), WidthB4.Pixels(true):
		d.Width = WidthB4
	case WidthA3.Pixels(false), WidthA3.Pixels(true):
		d.Width = WidthA3
	}
	if s.ecm {
		d.MinScanMS = 0
	}
	s.dcs = d
	s.dcsFIF, _ = d.AppendFIF(s.dcsFIF[:0], true)
}

// sendDCS sends TSI + DCS and the TCF after it, then waits for CFR/FTT.
func (s *Session) sendDCS() {
	s.setPhase(phaseB)
	s.buildDCS()
	frames := make([]Frame, 0, 4)
	if s.cfg.Ident != "" {
		frames = append(frames, s.frame(FCFTSI, EncodeIdent(nil, s.cfg.Ident)))
	}
	if s.cfg.Subaddress != "" && s.remote.Subaddress {
		frames = append(frames, s.frame(FCFSUB, EncodeIdent(nil, s.cfg.Subaddress)))
	}
	if s.cfg.Password != "" && s.remote.Password {
		frames = append(frames, s.frame(FCFSID, EncodeIdent(nil, s.cfg.Password)))
	}
	frames = append(frames, s.frame(FCFDCS, s.dcsFIF))
	s.setState(stTxTraining)
	s.sendCommand(frames, s.sendTCF)
}

func (s *Session) sendTCF() {
	n := s.speed.Rate * int(TCFDuration/time.Millisecond) / 8000
	sp := s.speed
	s.sendAfterGap(func() error {
		if err := s.line.StartTx(sp, false); err != nil {
			return err
		}
		if err := s.line.SendData(make([]byte, n)); err != nil {
			return err
		}
		return s.line.StopTx()
	}, func() { s.awaitResponse(stTxWaitCFR) })
}

func (s *Session) onFTT() {
	fb, ok := s.speed.Fallback(s.common())
	if !ok {
		s.disconnect(CodeTrainFailed, fmt.Errorf("t30: FTT at %v, no lower speed", s.speed))
		return
	}
	s.debug("t30 fallback", "from", s.speed.String(), "to", fb.String())
	s.speed = fb
	s.trained = false
	if !s.ecm {
		s.pageData = nil // the fill for the minimum scan line time depends on the rate
		if err := s.negotiateScan(); err != nil {
			s.disconnect(codeOf(err), err)
			return
		}
	}
	s.tries = 0
	s.res.Retrains++
	s.sendDCS()
}

// negotiateScan computes the fill for the minimum scan line time of the
// chosen resolution and rate: the DIS time at 3.85 lines/mm, halved at
// 7.7 lines/mm and above when DIS says T7.7 = T3.85/2, and halved again at
// 15.4 lines/mm when bit 46 says T15.4 = T7.7/2.
func (s *Session) negotiateScan() error {
	r := s.remote
	ms := r.MinScanMS
	if s.resol != imaging.Standard && r.HalfAtFine {
		ms /= 2
	}
	if (s.resol == imaging.Superfine || s.resol == imaging.Ultrafine) && r.HalfAtHigherRes {
		ms /= 2
	}
	s.scanMS = ms
	s.minRowBits = s.speed.Rate * ms / 1000
	return nil
}

func (s *Session) lastPage() bool { return s.page == s.cfg.Document.NumPages()-1 }

// loadPage codes the current page if it is not coded yet.
func (s *Session) loadPage() error {
	if s.pageData != nil {
		return nil
	}
	src, err := s.cfg.Document.Page(s.page)
	if err != nil {
		return fmt.Errorf("%w: page %d: %w", ErrDocument, s.page+1, err)
	}
	if src.Width > s.width {
		return &codedError{CodeIncompatible, fmt.Errorf("t30: page %d is %d pixels wide, the call was set up for %d", s.page+1, src.Width, s.width)}
	}
	if src.Resolution == imaging.Ultrafine && s.resol != imaging.Ultrafine || src.Resolution != imaging.Ultrafine && s.resol == imaging.Ultrafine {
		return &codedError{CodeIncompatible, fmt.Errorf("t30: page %d resolution %v cannot be sent at %v", s.page+1, src.Resolution, s.resol)}
	}
	o := imaging.EncodeOptions{
		Compression: s.comp, Width: s.width, K: s.resol.K(), BitOrder: imaging.LSBFirst,
		MinRowBits: s.minRowBits,
	}
	data, _, err := codePage(src, o, s.resol)
	if err != nil {
		return fmt.Errorf("page %d: %w", s.page+1, err)
	}
	s.pageData = data
	return nil
}

func (s *Session) sendPage() {
	if err := s.loadPage(); err != nil {
		s.disconnect(codeOf(err), err)
		return
	}
	s.pageTries++
	s.setPhase(phaseC)
	s.setState(stTxPage)
	if s.ecm {
		s.ecmStartPage()
		return
	}
	sp, data := s.speed, s.pageData
	short := sp.Modem == V17 && s.trained
	s.sendAfterGap(func() error {
		if err := s.line.StartTx(sp, short); err != nil {
			return err
		}
		if err := s.line.SendData(data); err != nil {
			return err
		}
		return s.line.StopTx()
	}, s.pageSent)
}

func (s *Session) pageSent() {
	if s.pageTries == 1 {
		s.res.PagesSent++
	}
	s.progress(PageEvent{Page: s.page + 1, Status: PageSent, Bytes: len(s.pageData)})
	s.setPhase(phaseD)
	s.postCmd = FCFMPS
	if s.lastPage() {
		s.postCmd = FCFEOP
	} else if s.nextNeedsEOM() {
		s.postCmd = FCFEOM
	}
	s.tries = 0
	s.sendCommand([]Frame{s.frame(s.postCmd, nil)}, func() { s.awaitResponse(stTxWaitPostResp) })
}

func (s *Session) pageConfirmed(retrain bool) {
	s.res.PagesConfirmed++
	s.progress(PageEvent{Page: s.page + 1, Status: PageConfirmed, Bytes: len(s.pageData)})
	s.pageData = nil
	s.pageTries = 0
	s.tries = 0
	if s.postCmd == FCFEOP {
		s.disconnect(OK, nil)
		return
	}
	s.page++
	if s.postCmd == FCFEOM {
		// Back to phase B: the receiver sends DIS again.
		s.setPhase(phaseB)
		s.setState(stTxWaitDIS)
		s.t1 = s.clock.AfterFunc(s.timers.T1, s.onT1)
		return
	}
	if retrain {
		s.res.Retrains++
		s.sendDCS()
		return
	}
	s.sendPage()
}

func (s *Session) pageRejected() {
	s.progress(PageEvent{Page: s.page + 1, Status: PageRejected, Bytes: len(s.pageData)})
	if s.pageTries >= s.cfg.MaxPageTries {
		s.disconnect(CodePageRejected, fmt.Errorf("t30: page %d rejected (RTN) %d times", s.page+1, s.pageTries))
		return
	}
	if fb, ok := s.speed.Fallback(s.common()); ok {
		s.speed = fb
		s.pageData = nil
		_ = s.negotiateScan()
	}
	s.tries = 0
	s.res.Retrains++
	s.sendDCS()
}
