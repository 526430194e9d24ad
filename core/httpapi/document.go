package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
)

// document answers GET /api/v1/messages/{id}/document?format=tiff|pdf: the
// message's documents, in order, as one TIFF Class F or PDF file. Sent
// documents are converted at the message's resolution; received faxes keep
// their own.
func (s *Server) document(w http.ResponseWriter, r *http.Request, p Principal) {
	format := strings.ToLower(r.URL.Query().Get("format"))
	var ext, ctype string
	switch format {
	case "", "tif", "tiff":
		ext, ctype = ".tif", "image/tiff"
	case "pdf":
		ext, ctype = ".pdf", "application/pdf"
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want tiff or pdf", format))
		return
	}
	d, ok := s.messageFor(w, r, p)
	if !ok {
		return
	}
	if len(d.Documents) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("message %d has no document", d.ID))
		return
	}
	tmp, err := os.MkdirTemp(s.o.TempDir, "faxagent-download-*")
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	defer os.RemoveAll(tmp)
	var paths []string
	for i, doc := range d.Documents {
		path := filepath.Join(tmp, strconv.Itoa(i))
		if err := s.copyDocument(r, doc.ID, path); err != nil {
			s.storeError(w, r, err)
			return
		}
		paths = append(paths, path)
	}
	o := faxdoc.Options{Resolution: imaging.Fine, KeepResolution: true, AllowDamaged: d.Direction == core.Inbound, Limits: s.o.DocumentLimits}
	if res, err := imaging.ParseResolution(d.Resolution); err == nil && d.Resolution != "" {
		o.Resolution = res
	}
	out := filepath.Join(tmp, "out"+ext)
	cctx, done, ok := s.conversion(w, r)
	if !ok {
		return
	}
	err = convert(cctx, paths, o, out)
	done()
	if err != nil {
		if r.Context().Err() != nil || errors.Is(err, faxdoc.ErrTooLarge) || errors.Is(err, context.DeadlineExceeded) {
			s.conversionError(w, r, fmt.Sprintf("message %d: ", d.ID), err)
			return
		}
		s.storeError(w, r, fmt.Errorf("message %d: converting the document: %w", d.ID, err))
		return
	}
	f, err := os.Open(out)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	ctx, cancel := shortCtx(r.Context())
	defer cancel()
	if err := s.o.Store.MarkDownloaded(ctx, d.ID); err != nil {
		s.log.Warn("api download: marking downloaded", "message", d.ID, "err", err)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="fax-%d%s"`, d.ID, ext))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, f)
}

func (s *Server) copyDocument(r *http.Request, id int64, path string) error {
	_, rc, err := s.o.Store.OpenDocument(r.Context(), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	return saveTo(path, rc)
}

func convert(ctx context.Context, paths []string, o faxdoc.Options, out string) error {
	_, err := faxdoc.Convert(ctx, paths, o, out, faxdoc.WriteOptions{Software: "faxagent"})
	return err
}
