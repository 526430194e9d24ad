package tiff

import (
	"errors"
	"fmt"
	"io"

	"github.com/faxagent/faxagent/imaging"
)

// faxStrip decodes the CCITT strips of a page, one strip at a time. Each
// strip is coded independently (G4 strips start from an all-white
// reference row), so each gets a fresh or reset decoder.
type faxStrip struct {
	dec   *imaging.Decoder
	rows  int // Rows option of dec
	base  imaging.RowStats
	left  int
	strip imaging.RowStats // stats of the open strip
}

func (f *faxStrip) open(p *PageReader, r io.Reader, rows int) error {
	f.add()
	if f.dec != nil && f.rows == rows {
		f.dec.Reset(r)
	} else {
		order := imaging.MSBFirst
		if p.info.FillOrder == 2 {
			order = imaging.LSBFirst
		}
		d, err := imaging.NewDecoder(r, imaging.DecodeOptions{
			Compression: p.info.Compression,
			Width:       p.info.Width,
			BitOrder:    order,
			Rows:        rows,
			NoEOL:       p.info.CompressionTag == CompressionRLE,
		})
		if err != nil {
			return err
		}
		f.dec, f.rows = d, rows
	}
	f.left = rows
	return nil
}

// add folds the open strip's counts into the page's.
func (f *faxStrip) add() {
	f.base.Rows += f.strip.Rows
	f.base.BadRows += f.strip.BadRows
	f.base.MaxConsecutive = max(f.base.MaxConsecutive, f.strip.MaxConsecutive)
	f.strip = imaging.RowStats{}
}

func (f *faxStrip) readRow(row []byte, st *imaging.RowStats) error {
	err := f.dec.ReadRow(row)
	f.strip = f.dec.Stats()
	*st = f.base
	st.Rows += f.strip.Rows
	st.BadRows += f.strip.BadRows
	st.MaxConsecutive = max(st.MaxConsecutive, f.strip.MaxConsecutive)
	if errors.Is(err, imaging.ErrEndOfPage) {
		return fmt.Errorf("%w: coded data ends early", ErrFormat)
	}
	return err
}

type rowEncoder interface {
	WriteRow(row []byte) error
	Close() error
}

func newRowEncoder(w io.Writer, comp imaging.Compression, width, k int, order imaging.BitOrder) (rowEncoder, error) {
	return imaging.NewEncoder(w, imaging.EncodeOptions{
		Compression: comp,
		Width:       width,
		K:           k,
		BitOrder:    order,
		AlignEOL:    comp != imaging.MMR,
		NoRTC:       true,
	})
}
