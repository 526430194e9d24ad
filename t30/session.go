package t30

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

type state int

const (
	stIdle state = iota
	stTxWaitDIS
	stTxTraining
	stTxWaitCFR
	stTxPage
	stTxWaitPostResp
	stRxPhaseA
	stTxWaitDTC
	stRxPollWaitDIS
	stRxWaitCmd
	stRxTCF
	stRxWaitPage
	stRxPage
	stDisconnecting
	stDone
)

var stateNames = [...]string{
	stIdle: "idle", stTxWaitDIS: "tx-wait-DIS", stTxTraining: "tx-training", stTxWaitCFR: "tx-wait-CFR",
	stTxPage: "tx-page", stTxWaitPostResp: "tx-wait-post-response", stRxPhaseA: "rx-phase-A",
	stRxWaitCmd: "rx-wait-command", stRxTCF: "rx-TCF", stRxWaitPage: "rx-wait-page", stRxPage: "rx-page",
	stDisconnecting: "disconnecting", stDone: "done", stTxWaitDTC: "tx-wait-DTC", stRxPollWaitDIS: "rx-poll-wait-DIS",
}

func (s state) String() string { return stateNames[s] }

type phase int

const (
	phaseA phase = iota
	phaseB
	phaseC
	phaseD
	phaseE
)

// Session is one T.30 call. It is driven by Line events and Clock timers
// and never blocks; all its methods (Start, Done, Result, Cancel) must be
// called on the clock's loop, or before the loop runs (Run does that).
type Session struct {
	cfg    Config
	line   Line
	clock  Clock
	timers Timers
	log    *slog.Logger

	st    state
	phase phase
	res   Result
	start time.Time
	phT   time.Time
	done  bool

	timer    Timer // the protocol timer (T2/T4/...)
	timerGen uint64
	t1       Timer
	cng      Timer
	limit    Timer

	txBusy    bool
	afterTx   func()
	pendingTx func()

	burst    []Frame
	burstBad bool
	rxBuf    []byte // backing store of burst frames

	// Negotiated parameters.
	remote     Caps // remote DIS (sender)
	dcs        Caps // DCS sent or received
	dcsFIF     []byte
	speed      Speed
	comp       imaging.Compression
	resol      imaging.Resolution
	width      int
	ecm        bool
	frameSize  int
	minRowBits int
	scanMS     int  // minimum scan line time at the chosen resolution
	trained    bool // a TCF succeeded at the current speed

	tries     int // sends of the current command
	lastCmd   []Frame
	lastResp  []Frame
	pageTries int

	// Sender.
	page     int    // 0-based document page being sent
	pageData []byte // coded current page
	postCmd  FCF

	// Receiver.
	tcfBuf      []byte
	tcfGotData  bool
	rxPage      []byte
	rxHavePage  bool // page data received since the last post-page response
	rxOverflow  bool
	docComplete bool
	gotDCS      bool
	gotDIS      bool
	gotDTC      bool
	rowBuf      []byte

	ecmTx         ecmTx
	ecmRx         ecmRx
	ecmBlockCount int
	ecmPending    []byte // FIF of a PPS answered RNR, processed on RR
}

// NewSession prepares a call over line, timed and serialised by clock.
func NewSession(cfg Config, line Line, clock Clock) (*Session, error) {
	if line == nil || clock == nil {
		return nil, errors.New("t30: NewSession needs a line and a clock")
	}
	if cfg.Transmit {
		if cfg.Document == nil || cfg.Document.NumPages() == 0 {
			return nil, fmt.Errorf("%w: nothing to send", ErrDocument)
		}
		if cfg.StartPage < 0 || cfg.StartPage >= cfg.Document.NumPages() {
			return nil, fmt.Errorf("%w: start page %d of %d", ErrDocument, cfg.StartPage+1, cfg.Document.NumPages())
		}
	} else if cfg.Sink == nil {
		return nil, errors.New("t30: receiving needs a PageSink")
	}
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = 3
	}
	if cfg.MaxPageTries <= 0 {
		cfg.MaxPageTries = 3
	}
	if cfg.Quality == nil {
		cfg.Quality = DefaultQuality
	}
	s := &Session{cfg: cfg, line: line, clock: clock, timers: cfg.Timers.withDefaults(), log: cfg.Logger}
	s.res.StartPage = cfg.StartPage
	s.page = cfg.StartPage
	return s, nil
}

// Start begins the call (phase A). It returns at once.
func (s *Session) Start() {
	if s.st != stIdle {
		return
	}
	s.line.SetHandler(s.handle)
	s.start = s.clock.Now()
	s.phT = s.start
	s.res.VirtualStart = s.start
	s.t1 = s.clock.AfterFunc(s.timers.T1, s.onT1)
	maxDur := s.cfg.MaxDuration
	if maxDur <= 0 {
		maxDur = 4 * time.Hour
	}
	s.limit = s.clock.AfterFunc(maxDur, func() {
		if !s.done {
			s.disconnect(CodeProtocol, fmt.Errorf("t30: call longer than %v", maxDur))
		}
	})
	switch {
	case s.cfg.Calling && s.cfg.Transmit:
		s.setState(stTxWaitDIS)
	case s.cfg.Calling:
		s.setState(stRxPollWaitDIS) // polling: we call to receive
	default:
		// Answering: CED, then DIS (with the polling bit when we have a
		// document to send).
		s.setState(stRxPhaseA)
		if s.cfg.NoTones {
			s.sendDIS()
			return
		}
		s.send(func() error { return s.line.SendTone(ToneNone, 200*time.Millisecond) }, func() {
			s.send(func() error { return s.line.SendTone(ToneCED, 3*time.Second) }, s.sendDIS)
		})
		return
	}
	if !s.cfg.NoTones {
		s.sendCNG()
	}
}

// Done reports whether the call has ended.
func (s *Session) Done() bool { return s.done }

// Result is the outcome; valid once Done.
func (s *Session) Result() Result { return s.res }

// Cancel ends the call at once with CodeCancelled and hangs up the line
// (no DCN: a page may be on the line). Like every Session method it must
// run on the clock's loop; from another goroutine use
// clock.AfterFunc(0, s.Cancel), or cancel the context given to Run.
func (s *Session) Cancel() {
	if s.done {
		return
	}
	s.fail(CodeCancelled, errors.New("t30: cancelled"))
}

// Run starts the call and runs the clock until it ends. The clock must be
// a Runner (VirtualClock or WallClock). When ctx ends the call is cancelled.
func (s *Session) Run(ctx context.Context) (Result, error) {
	r, ok := s.clock.(Runner)
	if !ok {
		return Result{}, errors.New("t30: Run needs a clock with a loop (VirtualClock or WallClock)")
	}
	s.Start()
	err := r.Run(ctx, s.Done)
	if err != nil && !s.done {
		s.Cancel()
		_ = r.Run(context.Background(), s.Done)
	}
	return s.res, err
}

func (s *Session) debug(msg string, args ...any) {
	if s.log != nil {
		s.log.Debug(msg, args...)
	}
}

func (s *Session) setState(st state) {
	if s.st != st {
		s.debug("t30 state", "from", s.st.String(), "to", st.String(), "t", s.clock.Now().Sub(s.start))
	}
	s.st = st
}

func (s *Session) setPhase(p phase) {
	now := s.clock.Now()
	d := now.Sub(s.phT)
	switch s.phase {
	case phaseA:
		s.res.Timings.PhaseA += d
	case phaseB:
		s.res.Timings.PhaseB += d
	case phaseC:
		s.res.Timings.PhaseC += d
	case phaseD:
		s.res.Timings.PhaseD += d
	}
	s.phase, s.phT = p, now
}

// --- timers ---

func (s *Session) setTimer(d time.Duration, f func()) {
	s.stopTimer()
	s.timerGen++
	gen := s.timerGen
	s.timer = s.clock.AfterFunc(d, func() {
		if gen != s.timerGen || s.done {
			return
		}
		s.timer = nil
		f()
	})
}

func (s *Session) stopTimer() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.timerGen++
}

func (s *Session) onT1() {
	s.t1 = nil
	if s.done {
		return
	}
	if s.cfg.Transmit {
		switch {
		case s.st == stTxWaitDTC:
			s.disconnect(CodeNoFax, errors.New("t30: T1 expired without DTC"))
		case s.st != stTxWaitDIS:
		case s.gotDIS:
			// Waiting for DIS again after EOM.
			s.disconnect(CodeT1Timeout, errors.New("t30: T1 expired waiting for DIS after EOM"))
		default:
			s.fail(CodeNoFax, errors.New("t30: T1 expired without DIS"))
		}
		return
	}
	if s.st == stRxPollWaitDIS {
		s.fail(CodeNoFax, errors.New("t30: T1 expired without DIS"))
		return
	}
	if !s.gotDCS {
		if s.res.PagesReceived > 0 {
			s.disconnect(CodeT1Timeout, errors.New("t30: T1 expired without DCS after EOM"))
			return
		}
		s.disconnect(CodeNoFax, errors.New("t30: T1 expired without DCS"))
	}
}

func (s *Session) stopT1() {
	if s.t1 != nil {
		s.t1.Stop()
		s.t1 = nil
	}
}

// --- transmission ---

// send runs start now (if the line is idle) and next after EventTxDone.
func (s *Session) send(start func() error, next func()) {
	run := func() {
		s.txBusy = true
		s.afterTx = next
		if err := start(); err != nil {
			s.txBusy = false
			s.lineError(err)
		}
	}
	if s.txBusy {
		s.pendingTx = run
		return
	}
	run()
}

// sendAfterGap transmits after the 75 ms silence T.30 requires.
func (s *Session) sendAfterGap(start func() error, next func()) {
	s.send(func() error {
		return s.line.SendTone(ToneNone, GapBetweenCarriers)
	}, func() { s.send(start, next) })
}

func (s *Session) txDone() {
	if !s.txBusy {
		return
	}
	s.txBusy = false
	next, pending := s.afterTx, s.pendingTx
	s.afterTx, s.pendingTx = nil, nil
	// The continuation of what just finished comes first; something
	// queued meanwhile (a reply to a frame that arrived while we were
	// talking) goes out only if the line is still free, otherwise the
	// remote will repeat its command.
	if next != nil {
		next()
	}
	if pending != nil && !s.txBusy && !s.done && s.st != stDisconnecting {
		pending()
	}
}

// sendFrames sends one V.21 burst (the last frame gets the final bit).
func (s *Session) sendFrames(frames []Frame, next func()) {
	for i := range frames {
		frames[i].Final = i == len(frames)-1
	}
	s.sendAfterGap(func() error {
		if err := s.line.StartTx(Speed{V21, 300}, false); err != nil {
			return err
		}
		var buf [MaxFrameLen]byte
		for i := range frames {
			n, err := frames[i].MarshalTo(buf[:])
			if err != nil {
				return err
			}
			s.debug("t30 tx", "frame", frames[i].String(), "t", s.clock.Now().Sub(s.start))
			if err := s.line.SendFrame(buf[:n]); err != nil {
				return err
			}
		}
		return s.line.StopTx()
	}, next)
}

// x is the X bit of our frames: 1 once we have received a valid DIS.
func (s *Session) x() FCF {
	if s.gotDIS {
		return 1
	}
	return 0
}

func (s *Session) frame(f FCF, info []byte) Frame {
	if f != FCFFCD && f != FCFRCP && f != FCFDIS && f != FCFCSI && f != FCFNSF {
		f |= s.x()
	}
	return Frame{FCF: f, Info: info}
}

func (s *Session) lineError(err error) {
	if s.done {
		return
	}
	if errors.Is(err, ErrLineDown) {
		s.finish(CodeCallDropped, err)
		return
	}
	s.finish(CodeInternal, fmt.Errorf("t30: line: %w", err))
}

// --- events ---

func (s *Session) handle(ev Event) {
	if s.done {
		return
	}
	if s.st == stDisconnecting && ev.Kind != EventTxDone && ev.Kind != EventLineLost {
		return // DCN is on its way: nothing else matters
	}
	switch ev.Kind {
	case EventLineLost:
		s.lineLost(ev.Err)
	case EventTxDone:
		s.txDone()
	case EventFrame:
		if ev.Speed.Modem == V21 || ev.Speed.Modem == ModemNone {
			s.rxV21Frame(ev.Frame, ev.FCSOK)
		} else {
			s.rxECMFrame(ev.Frame, ev.FCSOK)
		}
	case EventCarrierUp:
		if ev.Speed.Modem == V21 {
			s.burst, s.burstBad, s.rxBuf = s.burst[:0], false, s.rxBuf[:0]
			// A response is arriving: give it time to complete.
			if s.timer != nil && (s.st == stTxWaitCFR || s.st == stTxWaitPostResp) {
				s.setTimer(s.t4(), s.onResponseTimeout)
			}
			// A command is arriving: T2 restarts on the signal, even if
			// the frame itself is then lost.
			if s.timer != nil && s.gotDCS && (s.st == stRxWaitCmd || s.st == stRxWaitPage) {
				s.setTimer(s.timers.T2, s.onT2)
			}
		} else {
			s.hsUp(ev.Speed)
		}
	case EventCarrierDown:
		if ev.Speed.Modem == V21 {
			if len(s.burst) > 0 || s.burstBad {
				s.endBurst()
			}
		} else {
			s.hsDown()
		}
	case EventData:
		s.hsData(ev.Data)
	case EventTone:
		s.debug("t30 tone", "tone", ev.Tone.String())
	}
}

func (s *Session) lineLost(err error) {
	if err == nil {
		err = ErrLineDown
	}
	if !s.cfg.Transmit && s.docComplete {
		s.finish(OK, nil)
		return
	}
	if s.st == stDisconnecting {
		s.finish(s.res.Code, s.res.Err)
		return
	}
	s.finish(CodeCallDropped, fmt.Errorf("t30: line lost in %v: %w", s.st, err))
}

func (s *Session) rxV21Frame(raw []byte, ok bool) {
	if !ok {
		s.burstBad = true
		s.debug("t30 rx bad FCS", "len", len(raw))
		return
	}
	var f Frame
	if err := f.Unmarshal(raw); err != nil {
		s.burstBad = true
		s.debug("t30 rx invalid frame", "err", err)
		return
	}
	// Keep a copy: raw is only valid during the event.
	off := len(s.rxBuf)
	s.rxBuf = append(s.rxBuf, f.Info...)
	f.Info = s.rxBuf[off:len(s.rxBuf):len(s.rxBuf)]
	s.debug("t30 rx", "frame", f.String(), "t", s.clock.Now().Sub(s.start))
	s.burst = append(s.burst, f)
	if f.Final {
		s.endBurst()
	}
}

func (s *Session) endBurst() {
	frames, bad := s.burst, s.burstBad
	s.burst, s.burstBad = nil, false
	s.rxBuf = nil
	var last *Frame
	if n := len(frames); n > 0 && frames[n-1].Final {
		last = &frames[n-1]
	}
	if last == nil {
		if bad || len(frames) > 0 {
			s.garbled()
		}
		return
	}
	for i := range frames[:len(frames)-1] {
		s.sideFrame(&frames[i])
	}
	if s.cfg.Transmit {
		s.senderFrame(last)
	} else {
		s.receiverFrame(last)
	}
}

// sideFrame records identification and non-standard frames that come with
// the main frame of a burst.
func (s *Session) sideFrame(f *Frame) {
	switch f.Kind() {
	case FCFCSI, FCFTSI, FCFCIG:
		s.res.RemoteIdent = DecodeIdent(f.Info)
	case FCFSUB:
		s.res.Subaddress = DecodeIdent(f.Info)
	case FCFSID:
		s.res.Password = DecodeIdent(f.Info)
	case FCFNSF, FCFNSS, FCFNSC:
		// Non-standard facilities: kept for the record, never acted on.
		s.res.RemoteNSF = append([]byte(nil), f.Info[:min(len(f.Info), 64)]...)
	}
}

// garbled handles a burst whose final frame did not arrive intact.
func (s *Session) garbled() {
	s.debug("t30 garbled burst", "state", s.st.String())
	if !s.cfg.Transmit && s.st == stRxWaitCmd && (s.gotDCS) && len(s.lastResp) > 0 {
		// A post-page command we could not read: ask for it again.
		s.sendFrames([]Frame{s.frame(FCFCRP, nil)}, nil)
	}
}

// --- helpers for both sides ---

func (s *Session) progress(ev PageEvent) {
	if s.cfg.Progress != nil {
		ev.Speed = s.speed
		ev.ECM = s.ecm
		ev.At = s.clock.Now().Sub(s.start)
		ev.Compression, ev.Resolution, ev.RemoteIdent = s.comp, s.resol, s.res.RemoteIdent
		s.cfg.Progress(ev)
	}
}

// disconnect sends DCN, hangs up and ends the call with code.
func (s *Session) disconnect(code Code, err error) {
	if s.done || s.st == stDisconnecting {
		return
	}
	s.stopTimer()
	s.stopT1()
	s.res.Code, s.res.Err = code, err
	s.setState(stDisconnecting)
	s.setPhase(phaseE)
	sendDCN := func() {
		s.sendFrames([]Frame{s.frame(FCFDCN, nil)}, func() {
			_ = s.line.Hangup()
			s.finish(code, err)
		})
	}
	s.pendingTx = nil
	if s.txBusy {
		// Let the current transmission end, then DCN.
		s.afterTx = sendDCN
		return
	}
	sendDCN()
}

// fail ends the call at once without DCN (line problems, T1).
func (s *Session) fail(code Code, err error) {
	if s.done {
		return
	}
	_ = s.line.Hangup()
	s.finish(code, err)
}

func (s *Session) finish(code Code, err error) {
	if s.done {
		return
	}
	s.stopTimer()
	s.stopT1()
	if s.cng != nil {
		s.cng.Stop()
	}
	if s.limit != nil {
		s.limit.Stop()
	}
	s.setPhase(phaseE)
	s.done = true
	s.setState(stDone)
	s.res.Code, s.res.Err = code, err
	if code != OK && s.res.FailedPage == 0 {
		if s.cfg.Transmit {
			s.res.FailedPage = s.page + 1
		} else {
			s.res.FailedPage = s.res.PagesReceived + 1
		}
	}
	s.res.Speed = s.speed
	s.res.Compression = s.comp
	s.res.Resolution = s.resol
	s.res.Width = s.width
	s.res.ECM = s.ecm
	if s.ecm {
		s.res.FrameSize = s.frameSize
	}
	s.res.Timings.Total = s.clock.Now().Sub(s.start)
	s.debug("t30 end", "code", code.String(), "err", err)
}

// response handling for commands with retry.

func (s *Session) sendCommand(frames []Frame, then func()) {
	s.lastCmd = frames
	s.tries++
	s.sendFrames(frames, then)
}

func (s *Session) awaitResponse(st state) {
	s.setState(st)
	s.setTimer(s.t4(), s.onResponseTimeout)
}

// t4 is the response timer: 3 s on the calling side, 4.5 s on the
// automatic answering side (T.30 5.4.3.1), so that both never repeat in
// step.
func (s *Session) t4() time.Duration {
	if s.cfg.Calling {
		return s.timers.T4
	}
	return s.timers.T4Auto
}

func (s *Session) onResponseTimeout() {
	s.debug("t30 T4 expired", "state", s.st.String(), "tries", s.tries)
	s.repeatCommand()
}

// repeatCommand sends the last command again or gives up after MaxTries.
func (s *Session) repeatCommand() {
	if s.tries >= s.cfg.MaxTries {
		s.disconnect(CodeNoResponse, fmt.Errorf("t30: no response to %v after %d tries", s.lastCmd[len(s.lastCmd)-1].FCF, s.tries))
		return
	}
	switch s.st {
	case stTxWaitCFR:
		s.sendDCS()
	case stTxWaitPostResp:
		st := s.st
		s.sendCommand(s.lastCmd, func() { s.awaitResponse(st) })
	}
}
