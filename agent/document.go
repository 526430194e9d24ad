package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
		f, err := createUnique(&s.path)
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

// close finishes the file; a partial fax gets "-partial" before ".tif".
// It returns the final path ("" when no page came).
func (s *spoolSink) close(partial bool) (string, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return "", 0, s.err
	}
	err := errors.Join(s.w.Close(), s.f.Close())
	path := s.path
	if partial {
		np := strings.TrimSuffix(path, ".tif") + "-partial.tif"
		if rerr := os.Rename(path, np); rerr != nil {
			err = errors.Join(err, rerr)
		} else {
			path = np
		}
	}
	return path, s.pages, err
}

// createUnique creates the file *path, or, when a file of that name exists
// (a call ID reused after a restart), the first free "-N" variant of it,
// and updates *path. An existing received fax is never overwritten.
func createUnique(path *string) (*os.File, error) {
	base := strings.TrimSuffix(*path, ".tif")
	for n := 0; n < 1000; n++ {
		p := *path
		if n > 0 {
			p = fmt.Sprintf("%s-%d.tif", base, n)
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o640)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		*path = p
		return f, nil
	}
	return nil, fmt.Errorf("agent: spool: no free name for %s", *path)
}

// spoolName makes a file name from a call ID.
func spoolName(dir, agentID, callID string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, s)
	}
	return filepath.Join(dir, clean(agentID)+"-"+clean(callID)+".tif")
}
