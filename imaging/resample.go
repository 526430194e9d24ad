package imaging

import "errors"

// RescaleRows returns a RowReader that changes a page's vertical resolution
// from one fax resolution to another by repeating or merging rows, without
// holding the page in memory. Merging ORs the rows it combines, so thin
// horizontal strokes survive a change to a coarser resolution. Both
// resolutions must have the same horizontal resolution (204 dpi), except
// that Ultrafine pages are taken as they are.
func RescaleRows(src RowReader, width int, from, to Resolution) RowReader {
	_, fy := from.DPI()
	_, ty := to.DPI()
	if fy == ty {
		return src
	}
	return &rescaler{src: src, fy: fy, ty: ty, cur: make([]byte, RowBytes(width)), tmp: make([]byte, RowBytes(width))}
}

type rescaler struct {
	src    RowReader
	fy, ty float64
	cur    []byte
	tmp    []byte
	in     int // rows read from src
	out    int // rows produced
	have   bool
	err    error
}

// ReadRow produces output row n from the source rows whose centres fall in
// its span: output row n covers source rows [n*fy/ty, (n+1)*fy/ty).
func (r *rescaler) ReadRow(row []byte) error {
	if r.err != nil {
		return r.err
	}
	end := int(float64(r.out+1)*r.fy/r.ty + 0.5)
	if !r.have && end < 1 {
		end = 1
	}
	if end <= r.in && r.have {
		// Upscaling: repeat the current row.
		copy(row, r.cur)
		r.out++
		return nil
	}
	first := true
	for r.in < end {
		err := r.src.ReadRow(r.tmp)
		if err != nil {
			if errors.Is(err, ErrEndOfPage) && !first {
				break
			}
			r.err = err
			return err
		}
		r.in++
		if first {
			copy(r.cur, r.tmp)
			first = false
		} else {
			for i, b := range r.tmp {
				r.cur[i] |= b
			}
		}
	}
	if first {
		if !r.have {
			r.err = ErrEndOfPage
			return r.err
		}
	}
	r.have = true
	copy(row, r.cur)
	r.out++
	return nil
}

// RescaleWidth returns a RowReader that doubles (to == 2*from) or halves
// (from == 2*to) the pixels of each row: 204 dpi pages to ultrafine's 408
// dpi across and back. Halving ORs the pixel pairs, so thin vertical
// strokes survive. Other ratios return src unchanged.
func RescaleWidth(src RowReader, from, to int) RowReader {
	if to != 2*from && from != 2*to {
		return src
	}
	return &widthScaler{src: src, from: from, to: to, tmp: make([]byte, RowBytes(from))}
}

type widthScaler struct {
	src      RowReader
	from, to int
	tmp      []byte
}

func (w *widthScaler) ReadRow(row []byte) error {
	if err := w.src.ReadRow(w.tmp); err != nil {
		return err
	}
	clear(row[:RowBytes(w.to)])
	if w.to > w.from {
		for x := 0; x < w.from; x++ {
			if w.tmp[x>>3]&(0x80>>uint(x&7)) != 0 {
				X := 2 * x
				row[X>>3] |= 0xC0 >> uint(X&7)
			}
		}
		return nil
	}
	for x := 0; x < w.to; x++ {
		X := 2 * x
		if w.tmp[X>>3]&(0xC0>>uint(X&7)) != 0 {
			row[x>>3] |= 0x80 >> uint(x&7)
		}
	}
	return nil
}
