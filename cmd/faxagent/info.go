package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/imaging/tiff"
)

func runInfo(args []string, stdout, stderr io.Writer) error {
	files, err := parseInterspersed(newFlagSet("info"), args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError("info needs a file")
	}
	for _, path := range files {
		if err := info(path, stdout); err != nil {
			return err
		}
	}
	return nil
}

// info prints one line per page: size, resolution, compression, coded
// bytes and the rows that failed to decode.
func info(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	head := make([]byte, faxdoc.SniffLen)
	n, _ := io.ReadFull(f, head)
	switch faxdoc.Sniff(head[:n]) {
	case faxdoc.KindPDF, faxdoc.KindPostScript, faxdoc.KindText, faxdoc.KindUnknown:
		return docInfo(path, w)
	}
	if render.Sniff(head[:n]) != "tiff" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		img, err := render.Decode(f, path, render.Limits{})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		b := img.Bounds()
		fmt.Fprintf(w, "%s page 1: %dx%d %s picture, %d bytes\n", path, b.Dx(), b.Dy(), render.Sniff(head[:n]), st.Size())
		return nil
	}
	t, err := tiff.Open(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for i := 0; i < t.NumPages(); i++ {
		pr, err := t.Page(i)
		if err != nil {
			return fmt.Errorf("%s: page %d: %w", path, i+1, err)
		}
		in := pr.Info()
		bad := "-"
		if in.Bilevel {
			stats, err := drain(pr, in.Width)
			if err != nil {
				return fmt.Errorf("%s: page %d: %w", path, i+1, err)
			}
			bad = fmt.Sprintf("%d (longest run %d)", stats.BadRows, stats.MaxConsecutive)
		}
		fmt.Fprintf(w, "%s page %d: %dx%d %s (%.0fx%.0f dpi) %s, %d bytes, bad rows %s\n",
			path, i+1, in.Width, in.Height, in.Resolution, in.XDPI, in.YDPI, in.CompressionName, in.CodedBytes, bad)
	}
	return nil
}

func drain(pr *tiff.PageReader, width int) (imaging.RowStats, error) {
	row := make([]byte, imaging.RowBytes(width))
	for {
		err := pr.ReadRow(row)
		if errors.Is(err, imaging.ErrEndOfPage) {
			return pr.Stats(), nil
		}
		if err != nil {
			return pr.Stats(), err
		}
	}
}

// docInfo prints the fax pages a document (PDF, PostScript, text) becomes
// at fine resolution.
func docInfo(path string, w io.Writer) error {
	r, err := faxdoc.Open([]string{path}, faxdoc.Options{Resolution: imaging.Fine})
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		pg, err := imaging.ReadPage(p, p.Width, p.Resolution, 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s page %d: %dx%d %s fax page\n", path, p.Number, pg.Width, pg.Height, pg.Resolution)
	}
}
