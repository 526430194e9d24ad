package foip

import (
	"context"
	"errors"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/modem"
	"github.com/faxagent/faxagent/t30"
)

// The audio fax: when T.38 is refused (policy prefer) or not wanted
// (policy never), the same call carries the fax as G.711 audio, a
// modem.Terminal over the call's RTP stream (rtpModem).

// awaitMedia settles what the fax runs over: T.38 when it is negotiated,
// else (policy prefer, the switch refused or never made; policy never)
// audio. Errors that end the call (BYE, hang-up, silent far end, and any
// refusal under policy require) are returned.
func (c *call) awaitMedia(ctx context.Context, after time.Duration) error {
	if c.policy == T38Never {
		return c.audioReady()
	}
	err := c.awaitT38(ctx, after)
	if err == nil || c.policy == T38Require {
		return err
	}
	switch {
	case errors.Is(err, ErrRemoteBye), errors.Is(err, ErrHungUp), errors.Is(err, ErrRemoteSilent),
		ctx.Err() != nil:
		return err
	}
	// Refused (488/415/606), a re-INVITE that failed or timed out, or no
	// switch before T38Timeout: the fax goes on in audio.
	c.d.log.Info("foip: T.38 not in use, fax in audio", "call", c.callID, "why", err)
	return c.audioReady()
}

// audioReady checks that the call has an audio stream to fax over.
func (c *call) audioReady() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inT38 {
		return nil
	}
	if c.audio == nil {
		return errNoAudio
	}
	if !c.inAudioFax {
		c.inAudioFax = true
		c.d.n.audioFaxes.Add(1)
	}
	return nil
}

var errNoAudio = errors.New("foip: no audio stream to fax over")

// commit wraps a progress callback: the first page event commits the
// call to its current media (a late T.38 switch is refused from then on).
func (c *call) commit(progress func(t30.PageEvent)) func(t30.PageEvent) {
	return func(ev t30.PageEvent) {
		c.committed.Store(true)
		if progress != nil {
			progress(ev)
		}
	}
}

// runFax runs the T.30 session over T.38 if negotiated, else over audio;
// an audio session stopped by a late switch to T.38 starts over on T.38.
func (c *call) runFax(ctx context.Context, run func(line t30.Line, stop <-chan struct{}) (drivers.Result, error)) (drivers.Result, error) {
	c.mu.Lock()
	inT38 := c.inT38
	c.mu.Unlock()
	if inT38 {
		return c.runT38(ctx, run)
	}
	r, err, switched := c.runAudio(ctx, run)
	if !switched {
		return r, err
	}
	c.d.log.Info("foip: far end switched to T.38 during the audio fax; T.30 starts over on T.38", "call", c.callID)
	return c.runT38(ctx, run)
}

// acceptLateT38Locked takes the far end's T.38 offer after ours was refused
// (or before the audio fax started), unless the policy or a page already
// under way forbids it.
func (c *call) acceptLateT38Locked(s *t38Setup, local []byte) bool {
	if c.policy == T38Never || c.committed.Load() {
		return false
	}
	c.setup, c.inT38, c.local = s, true, local
	c.stats.T38Version, c.stats.T38EC = s.params.Version, s.params.UDPEC
	c.lateOnce.Do(func() { c.d.n.lateT38.Add(1); close(c.lateT38) })
	return true
}

// runAudio runs the T.30 session over a modem terminal on the call's RTP
// stream until it ends, or until the far end switches to T.38 (switched).
func (c *call) runAudio(ctx context.Context, run func(line t30.Line, stop <-chan struct{}) (drivers.Result, error)) (drivers.Result, error, bool) {
	a := c.endTones()
	if a == nil {
		r := drivers.Result{Result: t30.Result{Code: t30.CodeIncompatible, Err: errNoAudio}}
		return r, r.AsError(), false
	}
	m := newRTPModem(a)
	m.start()
	loop := c.d.loop
	term := modem.NewTerminal(modem.Config{Logger: c.d.log}, loop.Clock())
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { defer close(served); _ = term.Serve(sctx, m, frameSamples) }()

	stop := make(chan struct{})
	done := make(chan struct{})
	watched := make(chan struct{})
	switched := false
	go func() {
		defer close(watched)
		select {
		case <-c.stop:
			close(stop)
		case <-c.lateT38:
			switched = true
			close(stop)
		case <-c.ended:
			loop.Post(func() { term.Close(ErrRemoteBye) })
		case <-done:
		}
	}()
	w := &silenceWatch{clock: loop.Clock(), limit: c.d.cfg.RTPTimeout, what: "RTP",
		activity: func() (uint64, uint64) { n := m.rx.Load(); return n, n },
		fired: func(err error) {
			c.d.log.Warn("foip: far end silent, call ended", "call", c.callID, "err", err)
			term.Close(err)
		}}
	w.start()
	r, err := run(term, stop)
	w.stop()
	if serr := w.firedErr(); serr != nil && r.Code != t30.OK {
		r.Cause = serr.Error()
	}
	close(done)
	<-watched
	cancel()
	m.close()
	<-served
	c.mu.Lock()
	c.stats.AudioFax = true
	st := m.Stats()
	c.stats.Audio.Received += st.Received
	c.stats.Audio.Sent += st.Sent
	c.stats.Audio.Lost += st.Lost
	c.stats.Audio.Late += st.Late
	c.stats.Audio.Concealed += st.Concealed
	c.stats.Audio.Resyncs += st.Resyncs
	c.stats.Audio.Underruns += st.Underruns
	c.stats.Audio.Held += st.Held
	c.stats.Audio.ComfortNoise += st.ComfortNoise
	c.mu.Unlock()
	if switched {
		c.mu.Lock()
		c.stats.AudioFax = false
		c.mu.Unlock()
	}
	return r, err, switched
}
