package brooktrout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout/vendor"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/t30"
)

// call is one call on a Brooktrout port. It implements drivers.Call.
type call struct {
	d       *Driver
	p       *port
	in      *instance
	ref     vendor.ChannelRef
	info    drivers.CallInfo
	dialDur time.Duration

	mu         sync.Mutex
	used       bool
	hungUp     bool
	cause      drivers.HangupCause
	remoteGone bool
	progress   func(t30.PageEvent)
	sending    bool
	startPage  int
	ecm        bool
	confirmed  int // pages the board reported done (EventPage)
}

var _ drivers.Call = (*call)(nil)

// Info implements drivers.Call.
func (c *call) Info() drivers.CallInfo { return c.info }

func (c *call) begin(progress func(t30.PageEvent), sending bool, start int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used || c.hungUp {
		return false
	}
	c.used, c.progress, c.sending, c.startPage = true, progress, sending, start
	return true
}

func (c *call) page(ev vendor.Event) {
	c.mu.Lock()
	progress, sending, start, ecm := c.progress, c.sending, c.startPage, c.ecm
	c.mu.Unlock()
	if progress == nil {
		return
	}
	c.mu.Lock()
	c.confirmed = max(c.confirmed, ev.Page)
	c.mu.Unlock()
	pe := t30.PageEvent{Page: ev.Page, Status: t30.PageReceived, Speed: speed("", ev.Rate), ECM: ecm,
		At: time.Since(c.info.Started)}
	if sending {
		pe.Page, pe.Status = start+ev.Page, t30.PageConfirmed
	}
	progress(pe)
}

func (c *call) remoteHangup() {
	c.mu.Lock()
	c.remoteGone = true
	c.mu.Unlock()
}

// boardHangup asks the board to clear the channel's call.
func (c *call) boardHangup(cause drivers.HangupCause) {
	select {
	case <-c.in.dead:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.in.svc.Hangup(ctx, c.ref, int(cause)); err != nil {
		c.d.log.Debug("brooktrout hangup", "port", c.info.Port, "err", err)
	}
}

// Hangup implements drivers.Call.
func (c *call) Hangup(cause drivers.HangupCause) error {
	c.mu.Lock()
	if c.hungUp {
		c.mu.Unlock()
		return nil
	}
	c.hungUp, c.cause = true, cause
	running := c.used
	c.mu.Unlock()
	c.boardHangup(cause)
	if !running {
		c.d.release(c)
	}
	return nil
}

func (c *call) notUsable() (drivers.Result, error) {
	r := drivers.Result{Info: c.info, Ended: time.Now()}
	r.Code = t30.CodeInternal
	r.Err = errors.New("brooktrout: call already used or hung up")
	c.mu.Lock()
	if c.hungUp {
		r.Code, r.HangupCause = t30.CodeCancelled, c.cause
	}
	c.mu.Unlock()
	return r, r.AsError()
}

func (c *call) spoolPath(suffix string) string {
	id := strings.NewReplacer("/", "-", ",", "_").Replace(c.info.ID)
	return filepath.Join(c.d.o.Spool, fmt.Sprintf("bt-%d-%s-%s.tif", os.Getpid(), id, suffix))
}

// run performs one board operation with the call's cancellation rules:
// ctx ending hangs the board up; the plugin dying fails it at once.
func (c *call) run(ctx context.Context, op func(context.Context) (vendor.Completion, error)) (vendor.Completion, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.in.dead:
			cancel()
		case <-ctx.Done():
		}
	}()
	return op(ctx)
}

// Send implements drivers.Call: the document (from p.StartPage) goes to
// the spool as a TIFF file and the board sends it.
func (c *call) Send(ctx context.Context, doc drivers.Document, p drivers.SendParams, progress func(t30.PageEvent)) (drivers.Result, error) {
	if !c.begin(progress, true, p.StartPage) {
		return c.notUsable()
	}
	defer c.end()
	ecm := c.d.caps.ECM && p.ECM != drivers.ECMOff
	c.mu.Lock()
	c.ecm = ecm
	c.mu.Unlock()
	r := c.baseResult()
	r.StartPage = p.StartPage
	path := c.spoolPath("tx")
	defer os.Remove(path)
	n, err := writeSpool(path, doc, p.StartPage, ecm)
	if err != nil {
		r.Code, r.Err = t30.CodeDocument, err
		return c.finish(r, 0)
	}
	comp, err := c.run(ctx, func(ctx context.Context) (vendor.Completion, error) {
		return c.in.svc.Send(ctx, c.ref, path, vendor.FaxOptions{CSID: p.CSID, Header: p.Header, MaxRate: p.MaxRate, ECM: ecm})
	})
	if err != nil {
		return c.failed(ctx, r, err)
	}
	fill(&r, comp)
	r.PagesSent, r.PagesConfirmed = comp.Pages, comp.Pages
	if r.Code != t30.OK && comp.Pages < n {
		r.FailedPage = p.StartPage + comp.Pages + 1
	}
	return c.finish(r, n)
}

// Receive implements drivers.Call: the board answers and receives into
// a spool file, whose pages go to sink once the board completes (also the
// pages before a failure).
func (c *call) Receive(ctx context.Context, p drivers.ReceiveParams, sink t30.PageSink, progress func(t30.PageEvent)) (drivers.Result, error) {
	if !c.begin(progress, false, 0) {
		return c.notUsable()
	}
	defer c.end()
	ecm := c.d.caps.ECM && p.ECM != drivers.ECMOff
	c.mu.Lock()
	c.ecm = ecm
	c.mu.Unlock()
	r := c.baseResult()
	path := c.spoolPath("rx")
	defer os.Remove(path)
	comp, err := c.run(ctx, func(ctx context.Context) (vendor.Completion, error) {
		if err := c.in.svc.Answer(ctx, c.ref); err != nil {
			return vendor.Completion{}, err
		}
		c.info.Connected = time.Now()
		return c.in.svc.Receive(ctx, c.ref, path, vendor.FaxOptions{CSID: p.CSID, MaxRate: p.MaxRate, ECM: ecm})
	})
	r.Info = c.info
	if err != nil {
		return c.failed(ctx, r, err)
	}
	fill(&r, comp)
	got, err := readSpool(path, sink, r.Speed, r.ECM)
	r.PagesReceived = got
	if err != nil && (r.Code == t30.OK || got < comp.Pages) {
		r.Code, r.Err = t30.CodeDocument, err
	}
	return c.finish(r, 0)
}

func (c *call) baseResult() drivers.Result {
	return drivers.Result{Info: c.info, DialDuration: c.dialDur}
}

// failed is the result of a board operation that returned no completion.
func (c *call) failed(ctx context.Context, r drivers.Result, err error) (drivers.Result, error) {
	c.mu.Lock()
	hungUp := c.hungUp
	c.mu.Unlock()
	dead := false
	select {
	case <-c.in.dead:
		dead = true
	default:
	}
	switch {
	case dead || errors.Is(err, vendor.ErrUnavailable):
		r.Code, r.Cause = t30.CodeCallDropped, "brooktrout plugin lost"
	case ctx.Err() != nil || hungUp:
		r.Code, r.Cause = t30.CodeCancelled, "cancelled"
		if !hungUp {
			c.boardHangup(drivers.CauseCancelled)
		}
	case errors.Is(err, vendor.ErrChannel):
		r.Code, r.Cause = t30.CodeCallDropped, "channel not usable"
	default:
		r.Code = t30.CodeInternal
	}
	// Without a completion the page events are all there is: a retry
	// resumes after the last page the board reported confirmed.
	c.mu.Lock()
	done, sending := c.confirmed, c.sending
	c.mu.Unlock()
	if sending {
		r.PagesSent, r.PagesConfirmed = done, done
		r.FailedPage = r.StartPage + done + 1
	}
	r.Err = fmt.Errorf("brooktrout %s: %w", c.info.Port, err)
	return c.finish(r, 0)
}

// finish completes r with the call-level facts. A call we hung up ends
// as cancelled, or as dropped when the driver shuts down.
func (c *call) finish(r drivers.Result, _ int) (drivers.Result, error) {
	now := time.Now()
	r.Ended = now
	r.CallDuration = now.Sub(c.info.Started)
	c.mu.Lock()
	if c.hungUp {
		r.HangupCause = c.cause
		if r.Code != t30.OK {
			r.Code = t30.CodeCancelled
			if c.cause == drivers.CauseShutdown {
				r.Code = t30.CodeCallDropped
			}
		}
	}
	c.mu.Unlock()
	if r.Code != t30.OK && r.Err == nil {
		r.Err = fmt.Errorf("brooktrout %s: %s", c.info.Port, r.Cause)
	}
	return r, r.AsError()
}

// end clears the board's call and frees the port.
func (c *call) end() {
	c.mu.Lock()
	already := c.hungUp
	c.hungUp = true
	c.mu.Unlock()
	if !already {
		c.boardHangup(drivers.CauseNormal)
	}
	c.d.release(c)
}

// fill copies the board's completion information into r.
func fill(r *drivers.Result, comp vendor.Completion) {
	r.Code = comp.Code
	r.Cause, r.CauseCode = comp.Cause, comp.CauseCode
	r.Speed = speed(comp.Modulation, comp.Rate)
	r.ECM = comp.ECM
	if r.ECM {
		r.FrameSize = 256
	}
	r.RemoteIdent = comp.RemoteCSID
	r.Compression = imaging.Compression(comp.Compression)
	r.Resolution = imaging.Resolution(comp.Resolution)
	r.Width = comp.Width
	r.TransmitDuration = comp.Duration
	r.Timings.Total = comp.Duration
	if comp.Err != "" {
		r.Err = fmt.Errorf("brooktrout M%d,%d: %s: %s", comp.Board, comp.Channel, comp.Cause, comp.Err)
	}
}

// speed maps the board's modulation name and rate to a t30.Speed.
func speed(modulation string, rate int) t30.Speed {
	var m t30.Modem
	switch strings.ToUpper(strings.TrimSpace(modulation)) {
	case "V17", "V.17":
		m = t30.V17
	case "V29", "V.29":
		m = t30.V29
	case "V27", "V27TER", "V.27TER", "V.27":
		m = t30.V27ter
	case "V34", "V.34":
		m = t30.V34
	case "":
		switch rate {
		case 14400, 12000:
			m = t30.V17
		case 9600, 7200:
			m = t30.V29
		case 4800, 2400:
			m = t30.V27ter
		default:
			return t30.Speed{}
		}
	default:
		return t30.Speed{}
	}
	return t30.Speed{Modem: m, Rate: rate}
}
