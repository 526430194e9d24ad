package brooktrout

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/faxagent/faxagent/drivers"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/tiff"
	"github.com/faxagent/faxagent/t30"
)

// writeSpool writes doc's pages from start as a TIFF Class F file (MMR
// when the call may use ECM, MH otherwise) and returns the page count.
func writeSpool(path string, doc drivers.Document, start int, ecm bool) (n int, err error) {
	if doc == nil || start < 0 || start >= doc.NumPages() {
		return 0, fmt.Errorf("%w: no pages to send from page %d", t30.ErrDocument, start+1)
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("brooktrout: spool: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("brooktrout: spool: %w", cerr)
		}
	}()
	comp := imaging.MH
	if ecm {
		comp = imaging.MMR
	}
	w := tiff.NewWriter(f, tiff.WriterOptions{Compression: comp, Software: "faxagent brooktrout"})
	row := []byte(nil)
	for i := start; i < doc.NumPages(); i++ {
		src, err := doc.Page(i)
		if err != nil {
			return 0, fmt.Errorf("%w: page %d: %w", t30.ErrDocument, i+1, err)
		}
		rows := src.Rows
		if rows == nil {
			if src.Coded == nil {
				return 0, fmt.Errorf("%w: page %d has no data", t30.ErrDocument, i+1)
			}
			dec, err := imaging.NewDecoder(bytes.NewReader(src.Coded), src.CodedOptions)
			if err != nil {
				return 0, fmt.Errorf("%w: page %d: %w", t30.ErrDocument, i+1, err)
			}
			rows = dec
		}
		pw, err := w.NewPage(tiff.PageSpec{Width: src.Width, Resolution: src.Resolution})
		if err != nil {
			return 0, fmt.Errorf("%w: page %d: %w", t30.ErrDocument, i+1, err)
		}
		if rb := imaging.RowBytes(src.Width); cap(row) < rb {
			row = make([]byte, rb)
		} else {
			row = row[:rb]
		}
		for {
			err := rows.ReadRow(row)
			if errors.Is(err, imaging.ErrEndOfPage) {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("%w: page %d: %w", t30.ErrDocument, i+1, err)
			}
			if err := pw.WriteRow(row); err != nil {
				return 0, fmt.Errorf("brooktrout: spool page %d: %w", i+1, err)
			}
		}
		if err := pw.Close(); err != nil {
			return 0, fmt.Errorf("brooktrout: spool page %d: %w", i+1, err)
		}
		n++
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("brooktrout: spool: %w", err)
	}
	return n, nil
}

// readSpool hands the pages of a received TIFF file to sink, coded in the
// file's compression in line bit order, and returns how many it took. A
// missing file is a reception without pages.
func readSpool(path string, sink t30.PageSink, sp t30.Speed, ecm bool) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("brooktrout: received file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("brooktrout: received file: %w", err)
	}
	doc, err := tiff.Open(f, fi.Size())
	if err != nil {
		return 0, fmt.Errorf("brooktrout: received file: %w", err)
	}
	for i := 0; i < doc.NumPages(); i++ {
		pr, err := doc.Page(i)
		if err != nil {
			return i, fmt.Errorf("brooktrout: received page %d: %w", i+1, err)
		}
		info := pr.Info()
		if !info.Bilevel || !imaging.ValidWidth(info.Width) {
			return i, fmt.Errorf("brooktrout: received page %d is not a fax page", i+1)
		}
		pg := imaging.NewPage(info.Width, info.Height, info.Resolution)
		for y := 0; y < info.Height; y++ {
			if err := pr.ReadRow(pg.Row(y)); err != nil {
				return i, fmt.Errorf("brooktrout: received page %d row %d: %w", i+1, y, err)
			}
		}
		comp := info.Compression
		if comp == 0 {
			comp = imaging.MH
		}
		data, err := imaging.EncodePage(pg, imaging.EncodeOptions{Compression: comp, Width: info.Width,
			K: info.Resolution.K(), BitOrder: imaging.LSBFirst})
		if err != nil {
			return i, fmt.Errorf("brooktrout: received page %d: %w", i+1, err)
		}
		rp := &t30.ReceivedPage{Index: i, Data: data, Compression: comp, BitOrder: imaging.LSBFirst,
			Width: info.Width, Resolution: info.Resolution, Stats: pr.Stats(), Speed: sp, ECM: ecm}
		if err := sink.Page(rp); err != nil {
			return i, fmt.Errorf("brooktrout: sink: %w", err)
		}
	}
	return doc.NumPages(), nil
}
