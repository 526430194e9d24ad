package soap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
)

// convert turns a document (any kind faxdoc reads) into TIFF Class F at
// fine resolution, as the HTTP API does: a document that does not open, or
// is over the document limits, is refused before anything is stored. The
// conversion takes a slot of the conversion cap and stops at the time
// budget or when the client goes.
func (h *Handler) convert(ctx context.Context, body []byte) (pages int, tif []byte, err error) {
	err = h.converting(ctx, func(ctx context.Context, dir string) error {
		in, out := filepath.Join(dir, "document"), filepath.Join(dir, "out.tif")
		if err := os.WriteFile(in, body, 0o600); err != nil {
			return err
		}
		o := faxdoc.Options{Resolution: imaging.Fine, KeepResolution: true, Limits: h.cfg.DocumentLimits, TempDir: dir}
		n, err := faxdoc.Convert(ctx, []string{in}, o, out, faxdoc.WriteOptions{Compression: imaging.MMR, Software: "faxagent"})
		if err != nil {
			return h.conversionError(ctx, err, in)
		}
		pages = n
		tif, err = os.ReadFile(out)
		return err
	})
	return pages, tif, err
}

// coverPage makes the default cover page (the template "default" of the
// cover directory, else the shipped one: the DefaultSendCoverPage users
// are shown) for a submission whose documents are converted.
func (h *Handler) coverPage(ctx context.Context, sub core.Submission) (core.DocumentInput, error) {
	tmpl, err := faxdoc.CoverTemplate(h.cfg.CoverDir, "default")
	if err != nil {
		return core.DocumentInput{}, err
	}
	pages := 0
	for _, d := range sub.Documents {
		pages += d.Pages
	}
	var n int
	var tif []byte
	err = h.converting(ctx, func(ctx context.Context, dir string) error {
		out := filepath.Join(dir, "cover.tif")
		var err error
		n, err = faxdoc.ConvertCover(ctx, faxdoc.Cover{Template: tmpl, Fields: core.CoverFields(sub, h.localNow())}, pages, imaging.Fine,
			out, faxdoc.WriteOptions{Compression: imaging.MMR, Software: "faxagent"})
		if err != nil {
			return h.conversionError(ctx, err, "")
		}
		tif, err = os.ReadFile(out)
		return err
	})
	if err != nil {
		return core.DocumentInput{}, err
	}
	return core.DocumentInput{Name: "cover page", ContentType: "image/tiff", Pages: n, Body: bytes.NewReader(tif)}, nil
}

// converting runs f in a slot of the conversion cap, under the time
// budget, with a temporary directory removed afterwards.
func (h *Handler) converting(ctx context.Context, f func(ctx context.Context, dir string) error) error {
	release, err := h.cfg.Conversions.TryAcquire()
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ConversionTimeout)
	defer cancel()
	dir, err := os.MkdirTemp(h.cfg.TempDir, "faxagent-soap-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return f(ctx, dir)
}

// conversionError turns a failed conversion into the error to answer: a
// Client fault for a document that does not open, is over the limits or
// over the time budget; the context's error when the client went away.
func (h *Handler) conversionError(ctx context.Context, err error, path string) error {
	msg := err.Error()
	if path != "" {
		msg = strings.ReplaceAll(strings.ReplaceAll(msg, path+": ", ""), path, "document")
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return err
	case errors.Is(err, faxdoc.ErrTooLarge):
		return &clientError{msg: msg}
	case errors.Is(err, context.DeadlineExceeded):
		return clientErrorf("document: converting took longer than the budget of %v", h.cfg.ConversionTimeout)
	}
	return &clientError{msg: "document does not open as fax pages: " + msg}
}

// importPath resolves a documentPath inside the import directory: a path
// relative to it, or an absolute path naming a file in it (the guide asks
// for "the full document path"), without "..", and not leaving the
// directory through a symlink.
func (h *Handler) importPath(p string) (string, error) {
	if h.cfg.ImportDir == "" {
		return "", clientErrorf("documentPath is not accepted by this server (no import directory)")
	}
	orig := p
	p = filepath.FromSlash(strings.ReplaceAll(p, `\`, "/"))
	if p == "" || filepath.VolumeName(p) != "" {
		return "", clientErrorf("documentPath %q: must name a file in the import directory", orig)
	}
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return "", clientErrorf("documentPath %q: must not contain ..", orig)
		}
	}
	root, err := filepath.EvalSymlinks(h.cfg.ImportDir)
	if err != nil {
		return "", fmt.Errorf("import directory: %w", err)
	}
	if filepath.IsAbs(p) {
		// Either spelling of the directory: as configured or resolved.
		rel, ok := within(p, root)
		if abs, err := filepath.Abs(h.cfg.ImportDir); !ok && err == nil {
			rel, ok = within(p, abs)
		}
		if !ok {
			return "", clientErrorf("documentPath %q: outside the import directory", orig)
		}
		p = rel
	}
	full, err := filepath.EvalSymlinks(filepath.Join(root, p))
	if err != nil {
		return "", clientErrorf("documentPath %q: no such document", orig)
	}
	if _, ok := within(full, root); !ok {
		return "", clientErrorf("documentPath %q: outside the import directory", orig)
	}
	return full, nil
}

// within returns p relative to dir when p (absolute, cleaned here) names
// something below dir, not dir itself.
func within(p, dir string) (string, bool) {
	rel, err := filepath.Rel(dir, filepath.Clean(p))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return rel, true
}

// readImport reads a document from the import directory. Only a regular
// file is read: a FIFO, device, socket or directory is refused before it
// is opened (opening a FIFO with no writer would block the request), and
// the file is opened non-blocking and checked again, so one swapped in
// between is refused too. At most Limits.MaxDocumentBytes are read.
func (h *Handler) readImport(p string) ([]byte, error) {
	full, err := h.importPath(p)
	if err != nil {
		return nil, err
	}
	max := h.cfg.Limits.MaxDocumentBytes
	st, err := os.Lstat(full)
	if err != nil {
		return nil, clientErrorf("documentPath %q: cannot be read", p)
	}
	if !st.Mode().IsRegular() {
		return nil, clientErrorf("documentPath %q: not a regular file", p)
	}
	if st.Size() > max {
		return nil, clientErrorf("documentPath %q: larger than %d bytes", p, max)
	}
	f, err := os.OpenFile(full, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, clientErrorf("documentPath %q: cannot be read", p)
	}
	defer f.Close()
	if fst, err := f.Stat(); err != nil || !fst.Mode().IsRegular() || !os.SameFile(st, fst) {
		return nil, clientErrorf("documentPath %q: not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, clientErrorf("documentPath %q: larger than %d bytes", p, max)
	}
	return b, nil
}

// docName makes a display name without any path.
func docName(name string, i int, kind faxdoc.Kind) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = strings.TrimSpace(name[strings.LastIndex(name, "/")+1:])
	if name == "" || name == "." || name == ".." {
		name = fmt.Sprintf("document%d%s", i+1, kind.Ext())
	}
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}

// document makes one DocumentInput of a submission from bytes or from a
// path in the import directory.
func (h *Handler) document(ctx context.Context, i int, name string, body []byte, path string, tiffOnly bool) (core.DocumentInput, error) {
	if len(body) == 0 {
		if path == "" {
			return core.DocumentInput{}, clientErrorf("document %d has neither bytes nor a path", i+1)
		}
		b, err := h.readImport(path)
		if err != nil {
			return core.DocumentInput{}, err
		}
		body = b
		if name == "" {
			name = path
		}
	}
	if max := h.cfg.Limits.MaxDocumentBytes; int64(len(body)) > max {
		return core.DocumentInput{}, clientErrorf("document %d: larger than %d bytes", i+1, max)
	}
	kind := faxdoc.Sniff(body[:min(len(body), faxdoc.SniffLen)])
	if tiffOnly && kind != faxdoc.KindTIFF {
		return core.DocumentInput{}, clientErrorf("document %d: byPassRender needs TIFF pages", i+1)
	}
	pages, tif, err := h.convert(ctx, body)
	if err != nil {
		var ce *clientError
		if errors.As(err, &ce) {
			return core.DocumentInput{}, clientErrorf("document %d (%s): %s", i+1, docName(name, i, kind), ce.msg)
		}
		return core.DocumentInput{}, err
	}
	return core.DocumentInput{Name: docName(name, i, kind), ContentType: "image/tiff", Pages: pages, Body: bytes.NewReader(tif)}, nil
}

// render writes a message's documents as one TIFF or PDF, from a 0-based
// start page, leaving out the 1-based pages in exclude.
func (h *Handler) render(ctx context.Context, docs []core.MessageDocument, format string, start int, exclude []int) ([]byte, error) {
	ext := ""
	switch strings.ToUpper(strings.TrimSpace(format)) {
	case "TIF", "TIFF", "":
		ext = ".tif"
	case "PDF":
		ext = ".pdf"
	default:
		return nil, clientErrorf("downloadType %q (want TIF or PDF)", format)
	}
	if start < 0 {
		return nil, clientErrorf("startPageIndex %d", start)
	}
	dir, err := os.MkdirTemp(h.cfg.TempDir, "faxagent-soap-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var paths []string
	for _, d := range docs {
		// The spool file itself: faxdoc reads the format from the content.
		p, err := h.cfg.Store.DocumentFile(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return nil, errNoPages
	}
	release, err := h.cfg.Conversions.TryAcquire()
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ConversionTimeout)
	defer cancel()
	r, err := faxdoc.OpenContext(ctx, paths, faxdoc.Options{KeepResolution: true, AllowDamaged: true, Limits: h.cfg.DocumentLimits})
	if err != nil {
		if errors.Is(err, faxdoc.ErrTooLarge) || ctx.Err() != nil {
			return nil, h.conversionError(ctx, err, "")
		}
		return nil, fmt.Errorf("open stored document: %w", err)
	}
	defer r.Close()
	out := filepath.Join(dir, "out"+ext)
	w, err := faxdoc.Create(out, faxdoc.WriteOptions{Software: "faxagent"})
	if err != nil {
		return nil, err
	}
	// Page numbers from 1; start is 0-based.
	keep := func(n int) bool { return n > start && !containsInt(exclude, n) }
	if err := faxdoc.Copy(w, r, keep); err != nil {
		w.Abort()
		return nil, err
	}
	if w.Pages() == 0 {
		w.Abort()
		return nil, errNoPages
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

var errNoPages = errors.New("no pages")

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// localNow is the time in the server's zone.
func (h *Handler) localNow() time.Time {
	if h.cfg.Location != nil {
		return h.cfg.Now().In(h.cfg.Location)
	}
	return h.cfg.Now()
}
