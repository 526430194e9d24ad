package btsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/drivers/brooktrout/localsvc"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/t30"
)

// statusOf maps a completion code back to the service status the board
// would report (the inverse of localsvc's table).
func statusOf(c t30.Code) int {
	switch c {
	case t30.OK:
		return localsvc.StatusOK
	case t30.CodeBusy:
		return localsvc.StatusBusy
	case t30.CodeNoAnswer, t30.CodeBadNumber:
		return localsvc.StatusNoAnswer // "no answer (or number unobtainable)"
	case t30.CodeNoFax, t30.CodeT1Timeout:
		return localsvc.StatusNoFax
	case t30.CodeTrainFailed:
		return localsvc.StatusTrainFailed
	case t30.CodeIncompatible, t30.CodeT38Refused:
		return localsvc.StatusIncompatible
	case t30.CodePageRejected, t30.CodeReceiveFailed:
		return localsvc.StatusPageRejected
	case t30.CodeCallDropped:
		return localsvc.StatusLineDropped
	case t30.CodeDCNUnexpected, t30.CodeInterrupted:
		return localsvc.StatusRemoteDCN
	case t30.CodeDocument:
		return localsvc.StatusFileError
	case t30.CodeCancelled:
		return localsvc.StatusCancelled
	case t30.CodeProtocol:
		return localsvc.StatusProtocolError
	case t30.CodeECMFailed:
		return localsvc.StatusECMFailed
	case t30.CodeT2Timeout, t30.CodeT5Timeout, t30.CodeNoResponse:
		return localsvc.StatusTimeout
	}
	return localsvc.StatusInternal
}

// loadDocument reads every page of a TIFF file into memory.
func loadDocument(path string) (t30.PagesDocument, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r, err := tiff.Open(f, fi.Size())
	if err != nil {
		return nil, err
	}
	var doc t30.PagesDocument
	for i := 0; i < r.NumPages(); i++ {
		pr, err := r.Page(i)
		if err != nil {
			return nil, err
		}
		info := pr.Info()
		if !info.Bilevel {
			return nil, fmt.Errorf("page %d is not bilevel", i+1)
		}
		pg := imaging.NewPage(info.Width, info.Height, info.Resolution)
		for y := 0; y < info.Height; y++ {
			if err := pr.ReadRow(pg.Row(y)); err != nil {
				return nil, fmt.Errorf("page %d: %w", i+1, err)
			}
		}
		doc = append(doc, pg)
	}
	if len(doc) == 0 {
		return nil, errors.New("no pages")
	}
	return doc, nil
}

// fileSink writes received pages into a TIFF file as they are coded.
type fileSink struct {
	f *os.File
	w *tiff.Writer
}

func (s *fileSink) Page(p *t30.ReceivedPage) error {
	if s == nil || s.f == nil {
		return nil // a line model's fax machine keeps nothing
	}
	if s.w == nil {
		s.w = tiff.NewWriter(s.f, tiff.WriterOptions{Compression: p.Compression, Software: "btsim"})
	}
	return s.w.WriteCoded(tiff.PageSpec{Width: p.Width, Resolution: p.Resolution, Rows: p.Stats.Rows},
		p.Data, p.Compression, p.BitOrder, p.Stats)
}

func (s *fileSink) close() error {
	var err error
	if s.w != nil {
		err = s.w.Close()
	}
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func caps(maxRate int, ecm bool) drivers.Capabilities {
	c := drivers.Capabilities{
		Send: true, Receive: true, Modems: t30.SetV27ter | t30.SetV29 | t30.SetV17, MaxRate: 14400, ECM: ecm,
		Compressions: []imaging.Compression{imaging.MH, imaging.MR, imaging.MMR},
		Resolutions:  []imaging.Resolution{imaging.Standard, imaging.Fine, imaging.Superfine, imaging.Ultrafine},
	}
	if maxRate > 0 && maxRate < 14400 {
		c.MaxRate = maxRate
		switch {
		case maxRate <= 4800:
			c.Modems = t30.SetV27ter
		case maxRate <= 9600:
			c.Modems = t30.SetV27ter | t30.SetV29
		}
	}
	return c
}

// transferT30 runs the fax as a real T.30 call: our t30 engine at both
// ends of an in-memory line in virtual time, paced by PageTime per page.
func (s *Sim) transferT30(c *call, tx *localsvc.Msg, rx *rxReq, txc, rxc *sconn) (out, rxOut localsvc.Msg) {
	out = localsvc.Msg{Type: localsvc.TypeCompletion}
	rxOut = localsvc.Msg{Type: localsvc.TypeCompletion}
	doc, err := loadDocument(tx.Path)
	if err != nil {
		out.Status, out.Error = localsvc.StatusFileError, err.Error()
		return out, rxOut
	}
	sink := &fileSink{}
	if rx.path != "" {
		sink.f, err = os.Create(rx.path)
		if err != nil {
			out.Status, out.Error = localsvc.StatusLineDropped, "receiver cannot store: "+err.Error()
			rxOut.Status, rxOut.Error = localsvc.StatusFileError, err.Error()
			return out, rxOut
		}
	}
	loop := drivers.NewVirtualLoop()
	lm := t30.LineModel{}
	if c.line.Kind == LineTrainFail {
		lm.TrainFails = func(from int, _ t30.Speed) bool { return from == 0 }
	}
	a, b := t30.NewLinePair(loop.Clock(), lm)
	pair := a.Pair()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loop.Expect(2)
	loop.Close()
	go func() { _ = loop.Run(ctx) }()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-c.hung:
			loop.Post(pair.Cut)
		case <-done:
		}
	}()

	confirmed := 0
	txProgress := func(ev t30.PageEvent) {
		if ev.Status != t30.PageConfirmed {
			return
		}
		confirmed++
		pe := localsvc.Msg{Type: localsvc.TypeEvPage, Board: tx.Board, Channel: tx.Channel, Page: confirmed, Rate: ev.Speed.Rate}
		s.pageEvent(txc, pe)
		if k := c.line.Pages; c.line.Kind == LineDropAfter && confirmed == k {
			// On the loop: cut the line while the next page is on its way.
			loop.Clock().AfterFunc(1500*time.Millisecond, pair.Cut)
		}
		// Pacing; on the loop, virtual time stands still. A call cleared
		// meanwhile is cut right after this callback: the watcher's Post
		// may come too late, when the loop has run the rest of the
		// document in virtual time.
		if !s.sleep(c, s.cfg.PageTime) {
			loop.Post(pair.Cut)
		}
	}
	received := 0
	rxProgress := func(ev t30.PageEvent) {
		if ev.Status != t30.PageReceived || rxc == nil || c.to == nil {
			return
		}
		received++
		pe := localsvc.Msg{Type: localsvc.TypeEvPage, Board: c.to.ref.Board, Channel: c.to.ref.Channel, Page: received, Rate: ev.Speed.Rate}
		s.pageEvent(rxc, pe)
	}
	txDone := make(chan drivers.Result, 1)
	go func() {
		r, _ := drivers.SendOver(ctx, loop, a, caps(tx.Rate, tx.ECM), doc,
			drivers.SendParams{CSID: tx.CSID, ECM: ecmMode(tx.ECM)}, nil, txProgress)
		txDone <- r
	}()
	rr, _ := drivers.ReceiveOver(ctx, loop, b, caps(rx.rate, rx.ecm),
		drivers.ReceiveParams{CSID: rx.csid, ECM: ecmMode(rx.ecm)}, sink, nil, rxProgress)
	tr := <-txDone
	if err := sink.close(); err != nil && rr.Code == t30.OK {
		rxOut.Status, rxOut.Error = localsvc.StatusFileError, err.Error()
	}
	fillFrom(&out, tr, tr.PagesConfirmed)
	st := rxOut.Status
	fillFrom(&rxOut, rr, rr.PagesReceived)
	if st != 0 {
		rxOut.Status = st
	}
	if rr.Err != nil && rxOut.Error == "" && rr.Code != t30.OK {
		rxOut.Error = rr.Err.Error()
	}
	if tr.Err != nil && tr.Code != t30.OK {
		out.Error = tr.Err.Error()
	}
	return out, rxOut
}

func ecmMode(on bool) drivers.ECMMode {
	if on {
		return drivers.ECMOn
	}
	return drivers.ECMOff
}

func fillFrom(m *localsvc.Msg, r drivers.Result, pages int) {
	m.Status = statusOf(r.Code)
	if r.Code != t30.OK {
		m.Cause = r.Code.String()
	}
	m.Pages = pages
	m.Rate = r.Speed.Rate
	m.Modulation = r.Protocol()
	m.ECM = r.ECM
	m.RemoteCSID = r.RemoteIdent
	m.Resolution = int(r.Resolution)
	m.Compression = int(r.Compression)
	m.Width = r.Width
}
