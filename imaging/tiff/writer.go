package tiff

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/faxagent/faxagent/imaging"
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Compression codes pages written with NewPage: MH (the default), MR
	// or MMR. G3 pages get EOLs aligned to byte boundaries and no RTC, as
	// TIFF Class F recommends.
	Compression imaging.Compression
	// BitOrder is the FillOrder of pages written with NewPage: MSBFirst
	// (FillOrder 1, the default and what most readers expect) or LSBFirst
	// (FillOrder 2, the order of the wire).
	BitOrder imaging.BitOrder
	// Software is written in the Software tag if not empty.
	Software string
	// DateTime is written in the DateTime tag; the zero value means the
	// time Close of the first page runs.
	DateTime time.Time
}

// PageSpec describes a page to write.
type PageSpec struct {
	Width      int
	Resolution imaging.Resolution
	// Rows is the page height if known in advance. NewPage checks the rows
	// written against it when it is > 0; WriteCoded needs it (or
	// stats.Rows).
	Rows int
	// Compression overrides WriterOptions.Compression for NewPage.
	Compression imaging.Compression
	// AlignedEOL tells WriteCoded that its G3 data has every EOL end on a
	// byte boundary (T4Options bit 2). Leave false when unsure: readers
	// then find EOLs at any bit position.
	AlignedEOL bool
	// SourceStats, for NewPage, are the decoder's counts of the page
	// being re-encoded (a received page). Bad rows were concealed, so
	// the page is marked regenerated (CleanFaxData 1).
	SourceStats imaging.RowStats
}

// Writer writes a multi-page TIFF Class F file. Pages are written one at a
// time, each straight to the output; Close links the pages and sets their
// PageNumber tags. Writer keeps a few offsets per page, never page data.
type Writer struct {
	ws   io.WriteSeeker
	o    WriterOptions
	bw   *bufio.Writer
	base int64 // output position of the TIFF header
	pos  int64 // bytes written after base
	err  error // sticky

	started  bool
	nextPtr  int64   // position of the last next-IFD pointer to patch
	pageNums []int64 // positions of each page's PageNumber value
	open     *PageWriter
	closed   bool
	dateTime string
}

// NewWriter returns a Writer that writes to w, starting at w's current
// position. Close does not close w.
func NewWriter(w io.WriteSeeker, o WriterOptions) *Writer {
	if o.Compression == 0 {
		o.Compression = imaging.MH
	}
	return &Writer{ws: w, o: o, bw: bufio.NewWriterSize(w, 32<<10)}
}

// ErrClosed is returned by Writer methods after Close.
var ErrClosed = errors.New("tiff: writer closed")

// Write implements io.Writer for the encoders: it counts the position.
func (w *Writer) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(b)
	w.pos += int64(n)
	if err != nil {
		w.err = fmt.Errorf("tiff: write: %w", err)
	}
	return n, w.err
}

func (w *Writer) start() error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if w.open != nil {
		return errors.New("tiff: previous page not closed")
	}
	if w.started {
		return nil
	}
	base, err := w.ws.Seek(0, io.SeekCurrent)
	if err != nil {
		w.err = fmt.Errorf("tiff: seek: %w", err)
		return w.err
	}
	w.base, w.started = base, true
	w.Write([]byte{'I', 'I', 42, 0, 0, 0, 0, 0})
	w.nextPtr = 4
	return w.err
}

// PageWriter codes the rows of one page as they come. It implements
// imaging.RowWriter.
type PageWriter struct {
	w      *Writer
	spec   PageSpec
	comp   imaging.Compression
	order  imaging.BitOrder
	enc    rowEncoder
	offset int64
	rows   int
	done   bool
}

var _ imaging.RowWriter = (*PageWriter)(nil)

// NewPage starts a page. Write its rows with WriteRow, then Close it before
// starting the next page.
func (w *Writer) NewPage(spec PageSpec) (*PageWriter, error) {
	if !imaging.ValidWidth(spec.Width) {
		return nil, fmt.Errorf("tiff: invalid page width %d", spec.Width)
	}
	if spec.Rows < 0 || spec.Rows > imaging.MaxRows {
		return nil, fmt.Errorf("tiff: invalid page height %d", spec.Rows)
	}
	comp := spec.Compression
	if comp == 0 {
		comp = w.o.Compression
	}
	if comp != imaging.MH && comp != imaging.MR && comp != imaging.MMR {
		return nil, fmt.Errorf("tiff: invalid compression %v", comp)
	}
	if err := w.start(); err != nil {
		return nil, err
	}
	enc, err := newRowEncoder(w, comp, spec.Width, spec.Resolution.K(), w.o.BitOrder)
	if err != nil {
		return nil, fmt.Errorf("tiff: %w", err)
	}
	p := &PageWriter{w: w, spec: spec, comp: comp, order: w.o.BitOrder, enc: enc, offset: w.pos}
	w.open = p
	return p, nil
}

// WriteRow codes one row (imaging.RowBytes(Width) bytes, 1 = black).
func (p *PageWriter) WriteRow(row []byte) error {
	if p.done {
		return errors.New("tiff: write to a closed page")
	}
	if p.w.err != nil {
		return p.w.err
	}
	limit := imaging.MaxRows
	if p.spec.Rows > 0 {
		limit = p.spec.Rows
	}
	if p.rows >= limit {
		return fmt.Errorf("tiff: page %d: more than %d rows", len(p.w.pageNums)+1, limit)
	}
	if len(row) < imaging.RowBytes(p.spec.Width) {
		return fmt.Errorf("tiff: row of %d bytes for width %d", len(row), p.spec.Width)
	}
	if err := p.enc.WriteRow(row); err != nil {
		return fmt.Errorf("tiff: page %d: %w", len(p.w.pageNums)+1, err)
	}
	p.rows++
	return nil
}

// Rows returns the rows written so far.
func (p *PageWriter) Rows() int { return p.rows }

// Close finishes the page's coded data and writes its directory.
func (p *PageWriter) Close() error {
	if p.done {
		return nil
	}
	p.done = true
	w := p.w
	w.open = nil
	if err := p.enc.Close(); err != nil {
		return fmt.Errorf("tiff: page %d: %w", len(w.pageNums)+1, err)
	}
	if w.err != nil {
		return w.err
	}
	if p.rows == 0 {
		return fmt.Errorf("tiff: page %d has no rows", len(w.pageNums)+1)
	}
	if p.spec.Rows > 0 && p.rows != p.spec.Rows {
		return fmt.Errorf("tiff: page %d has %d rows, %d announced", len(w.pageNums)+1, p.rows, p.spec.Rows)
	}
	q := quality{bad: p.spec.SourceStats.BadRows, consecutive: p.spec.SourceStats.MaxConsecutive}
	if q.bad > 0 {
		q.clean = FaxDataRegenerated
	}
	t4 := int64(4) // EOLs byte aligned
	if p.comp == imaging.MR {
		t4 |= 1
	}
	return w.writeIFD(p.spec, p.comp, p.order, p.offset, w.pos-p.offset, p.rows, t4, q)
}

type quality struct{ bad, clean, consecutive int }

// WriteCoded writes a page whose data is already coded (MH, MR or MMR in
// the given bit order), as it is: received fax pages and transcoding. G3
// data should carry EOLs; an RTC at its end does no harm. stats are the
// receiver's counts: bad rows make the page unclean (CleanFaxData 2).
func (w *Writer) WriteCoded(spec PageSpec, data []byte, comp imaging.Compression, order imaging.BitOrder, stats imaging.RowStats) error {
	if !imaging.ValidWidth(spec.Width) {
		return fmt.Errorf("tiff: invalid page width %d", spec.Width)
	}
	rows := spec.Rows
	if rows == 0 {
		rows = stats.Rows
	}
	if rows <= 0 || rows > imaging.MaxRows {
		return fmt.Errorf("tiff: invalid page height %d", rows)
	}
	if comp != imaging.MH && comp != imaging.MR && comp != imaging.MMR {
		return fmt.Errorf("tiff: invalid compression %v", comp)
	}
	if len(data) == 0 {
		return errors.New("tiff: empty page data")
	}
	if err := w.start(); err != nil {
		return err
	}
	off := w.pos
	if _, err := w.Write(data); err != nil {
		return err
	}
	q := quality{bad: stats.BadRows, consecutive: stats.MaxConsecutive}
	if q.bad > 0 {
		q.clean = FaxDataUnclean
	}
	t4 := int64(0)
	if comp == imaging.MR {
		t4 |= 1
	}
	if spec.AlignedEOL {
		t4 |= 4
	}
	return w.writeIFD(spec, comp, order, off, int64(len(data)), rows, t4, q)
}

type entry struct {
	tag, typ uint16
	count    uint32
	val      []byte // encoded values, little endian
}

func shortEntry(tag uint16, v ...uint16) entry {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return entry{tag, typeShort, uint32(len(v)), b}
}

func longEntry(tag uint16, v uint32) entry {
	return entry{tag, typeLong, 1, binary.LittleEndian.AppendUint32(nil, v)}
}

func rationalEntry(tag uint16, num, den uint32) entry {
	b := binary.LittleEndian.AppendUint32(nil, num)
	return entry{tag, typeRational, 1, binary.LittleEndian.AppendUint32(b, den)}
}

func asciiEntry(tag uint16, s string) entry {
	b := append([]byte(s), 0)
	return entry{tag, typeASCII, uint32(len(b)), b}
}

func (w *Writer) writeIFD(spec PageSpec, comp imaging.Compression, order imaging.BitOrder, off, n int64, rows int, t4 int64, q quality) error {
	if w.pos > math.MaxUint32-1<<20 || off+n > math.MaxUint32 {
		w.err = errors.New("tiff: file exceeds 4 GB")
		return w.err
	}
	if w.pos&1 != 0 { // IFDs start on a word boundary
		w.Write([]byte{0})
	}
	if w.dateTime == "" {
		t := w.o.DateTime
		if t.IsZero() {
			t = time.Now()
		}
		w.dateTime = t.Format("2006:01:02 15:04:05")
	}
	xdpi, ydpi := spec.Resolution.DPI()
	tc, fill := uint16(CompressionG3), uint16(1)
	if comp == imaging.MMR {
		tc = CompressionG4
	}
	if order == imaging.LSBFirst {
		fill = 2
	}
	es := []entry{
		longEntry(tagNewSubfileType, 2),
		longEntry(tagImageWidth, uint32(spec.Width)),
		longEntry(tagImageLength, uint32(rows)),
		shortEntry(tagBitsPerSample, 1),
		shortEntry(tagCompression, tc),
		shortEntry(tagPhotometric, photoWhiteIsZero),
		shortEntry(tagFillOrder, fill),
		longEntry(tagStripOffsets, uint32(off)),
		shortEntry(tagSamplesPerPixel, 1),
		longEntry(tagRowsPerStrip, uint32(rows)),
		longEntry(tagStripByteCounts, uint32(n)),
		rationalEntry(tagXResolution, uint32(xdpi), 1),
		rationalEntry(tagYResolution, uint32(ydpi), 1),
	}
	if tc == CompressionG3 {
		es = append(es, longEntry(tagT4Options, uint32(t4)))
	} else {
		es = append(es, longEntry(tagT6Options, 0))
	}
	es = append(es, shortEntry(tagResolutionUnit, 2))
	pageNumIdx := len(es)
	es = append(es, shortEntry(tagPageNumber, uint16(len(w.pageNums)), 0))
	if w.o.Software != "" {
		es = append(es, asciiEntry(tagSoftware, w.o.Software))
	}
	es = append(es,
		asciiEntry(tagDateTime, w.dateTime),
		longEntry(tagBadFaxLines, uint32(q.bad)),
		shortEntry(tagCleanFaxData, uint16(q.clean)),
		longEntry(tagConsecutiveBadFaxLines, uint32(q.consecutive)),
	)

	ifdPos := w.pos
	extra := ifdPos + 2 + 12*int64(len(es)) + 4
	buf := make([]byte, 0, 2+12*len(es)+4+64)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(es)))
	var tail []byte
	for _, e := range es {
		buf = binary.LittleEndian.AppendUint16(buf, e.tag)
		buf = binary.LittleEndian.AppendUint16(buf, e.typ)
		buf = binary.LittleEndian.AppendUint32(buf, e.count)
		if len(e.val) <= 4 {
			var v [4]byte
			copy(v[:], e.val)
			buf = append(buf, v[:]...)
			continue
		}
		if len(tail)&1 != 0 {
			tail = append(tail, 0)
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(extra+int64(len(tail))))
		tail = append(tail, e.val...)
	}
	buf = binary.LittleEndian.AppendUint32(buf, 0) // next IFD, patched later
	buf = append(buf, tail...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if err := w.patch(w.nextPtr, uint32(ifdPos)); err != nil {
		return err
	}
	w.nextPtr = ifdPos + 2 + 12*int64(len(es))
	w.pageNums = append(w.pageNums, ifdPos+2+12*int64(pageNumIdx)+8)
	return nil
}

// patch overwrites 4 bytes at position at (relative to the header).
func (w *Writer) patch(at int64, v uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return w.patchBytes(at, b[:])
}

func (w *Writer) patchBytes(at int64, b []byte) error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("tiff: write: %w", err)
		return w.err
	}
	if _, err := w.ws.Seek(w.base+at, io.SeekStart); err != nil {
		w.err = fmt.Errorf("tiff: seek: %w", err)
		return w.err
	}
	if _, err := w.ws.Write(b); err != nil {
		w.err = fmt.Errorf("tiff: write: %w", err)
		return w.err
	}
	if _, err := w.ws.Seek(w.base+w.pos, io.SeekStart); err != nil {
		w.err = fmt.Errorf("tiff: seek: %w", err)
	}
	return w.err
}

// Pages returns the number of pages written so far.
func (w *Writer) Pages() int { return len(w.pageNums) }

// Close closes an open page, sets every page's PageNumber to (n, total)
// and flushes the output. A document needs at least one page.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	// A page still open is closed; if that fails, the pages before it
	// are still finished properly and the error is returned.
	var pageErr error
	if w.open != nil {
		pageErr = w.open.Close()
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if len(w.pageNums) == 0 {
		return errors.Join(pageErr, errors.New("tiff: document has no pages"))
	}
	if err := w.finish(); err != nil {
		return err
	}
	return pageErr
}

// finish sets the PageNumber tags and flushes.
func (w *Writer) finish() error {
	total := uint16(len(w.pageNums))
	if len(w.pageNums) > math.MaxUint16 {
		total = math.MaxUint16
	}
	for i, at := range w.pageNums {
		var b [4]byte
		binary.LittleEndian.PutUint16(b[:], uint16(i))
		binary.LittleEndian.PutUint16(b[2:], total)
		if err := w.patchBytes(at, b[:]); err != nil {
			return err
		}
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("tiff: write: %w", err)
	}
	return w.err
}
