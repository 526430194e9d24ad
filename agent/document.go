package agent

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/t30"
)

// fileDoc is a t30.Document over files opened once per attempt with
// faxdoc: the engine asks for pages by index (in order, and again after a
// retransmission), and each is found in the open files without reading
// the pages before it, decoded and header-stamped as the engine reads it.
type fileDoc struct {
	r *faxdoc.Reader
}

func openFileDoc(paths []string, o faxdoc.Options) (*fileDoc, error) {
	r, err := faxdoc.Open(paths, o)
	if err != nil {
		return nil, err
	}
	return &fileDoc{r: r}, nil
}

// NumPages implements t30.Document.
func (d *fileDoc) NumPages() int { return d.r.Pages() }

// Page implements t30.Document.
func (d *fileDoc) Page(i int) (t30.PageSource, error) {
	p, err := d.r.Page(i)
	if err != nil {
		return t30.PageSource{}, fmt.Errorf("agent: %w", err)
	}
	return pageSource(p), nil
}

func (d *fileDoc) Close() error { return d.r.Close() }

// pageSource hands the engine a page's rows and, when the page is stored
// coded and usable as it is, its coded data and header line: the engine
// then transcodes it without expanding rows to pixels, but for the header
// line's (a damaged page is refused either way). Under AllowDamaged a page comes only as rows, whose damaged rows
// are concealed.
func pageSource(p *faxdoc.Page) t30.PageSource {
	src := t30.PageSource{Width: p.Width, Resolution: p.Resolution, Rows: p}
	if raw, band := p.Coded(); raw != nil {
		src.Coded, src.CodedOptions = raw.Data, imaging.DecodeOptions{Compression: raw.Compression,
			Width: p.Width, BitOrder: raw.BitOrder, Rows: raw.Rows}
		src.Overlay = band
	}
	return src
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
