package agent

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/t30"
)

// fileDoc is a t30.Document over files opened with faxdoc: pages are
// decoded (and header-stamped) as the engine asks for them. The engine
// asks in order; going back reopens the files.
type fileDoc struct {
	paths []string
	o     faxdoc.Options
	r     *faxdoc.Reader
	next  int
	n     int
}

func openFileDoc(paths []string, o faxdoc.Options) (*fileDoc, error) {
	d := &fileDoc{paths: paths, o: o}
	if err := d.reopen(); err != nil {
		return nil, err
	}
	d.n = d.r.Pages()
	return d, nil
}

func (d *fileDoc) reopen() error {
	if d.r != nil {
		d.r.Close()
	}
	r, err := faxdoc.Open(d.paths, d.o)
	if err != nil {
		d.r = nil
		return err
	}
	d.r, d.next = r, 0
	return nil
}

// NumPages implements t30.Document.
func (d *fileDoc) NumPages() int { return d.n }

// Page implements t30.Document.
func (d *fileDoc) Page(i int) (t30.PageSource, error) {
	if i < 0 || i >= d.n {
		return t30.PageSource{}, fmt.Errorf("agent: no page %d", i+1)
	}
	if d.r == nil || i < d.next {
		if err := d.reopen(); err != nil {
			return t30.PageSource{}, err
		}
	}
	for d.next < i {
		if _, err := d.r.Next(); err != nil {
			return t30.PageSource{}, err
		}
		d.next++
	}
	p, err := d.r.Next()
	if err != nil {
		return t30.PageSource{}, err
	}
	d.next++
	return t30.PageSource{Width: p.Width, Resolution: p.Resolution, Rows: p}, nil
}

func (d *fileDoc) Close() error {
	if d.r != nil {
		return d.r.Close()
	}
	return nil
}

// spoolSink writes received pages into a TIFF Class F file as they arrive.
// It implements t30.PageSink.
type spoolSink struct {
	path string

	mu    sync.Mutex
	f     *os.File
	w     *tiff.Writer
	pages int
	err   error
}

// Page implements t30.PageSink.
func (s *spoolSink) Page(p *t30.ReceivedPage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.w == nil {
		// The name comes from the reception's unique ID: an existing
		// file is never overwritten.
		f, err := os.OpenFile(s.path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if err != nil {
			s.err = err
			return err
		}
		s.f = f
		s.w = tiff.NewWriter(f, tiff.WriterOptions{Software: "faxagent"})
	}
	spec := tiff.PageSpec{Width: p.Width, Resolution: p.Resolution, Rows: p.Stats.Rows}
	if err := s.w.WriteCoded(spec, p.Data, p.Compression, p.BitOrder, p.Stats); err != nil {
		s.err = fmt.Errorf("agent: spool page %d: %w", p.Index+1, err)
		return s.err
	}
	s.pages++
	return nil
}

// close finishes the file and returns its path ("" when no page came) and
// page count.
func (s *spoolSink) close() (string, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return "", 0, s.err
	}
	err := errors.Join(s.w.Close(), s.f.Sync(), s.f.Close())
	return s.path, s.pages, err
}
