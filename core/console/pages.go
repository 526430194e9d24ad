package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/imaging/render"
)

// pageTimeout bounds rendering one page image.
const pageTimeout = time.Minute

// messageFor reads message {id} if s may see it: an administrator any,
// anyone else only their own ("not found" otherwise).
func (c *Console) messageFor(w http.ResponseWriter, r *http.Request, s *session) (core.MessageDetails, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad message ID %q", r.PathValue("id")))
		return core.MessageDetails{}, false
	}
	d, err := c.o.Store.Message(r.Context(), id)
	if err == nil && !s.admin && d.OwnerID != s.userID {
		err = fmt.Errorf("message %d: %w", id, core.ErrNotFound)
	}
	if err != nil {
		c.storeError(w, r, err)
		return core.MessageDetails{}, false
	}
	return d, true
}

// pageImage answers GET /console/api/messages/{id}/pages/{n} with page n
// (from 1) of the message's documents as a PNG, at the fax's own
// resolution; X-Page-Count tells how many pages there are.
func (c *Console) pageImage(w http.ResponseWriter, r *http.Request, s *session) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad page %q", r.PathValue("n")))
		return
	}
	d, ok := c.messageFor(w, r, s)
	if !ok {
		return
	}
	if len(d.Documents) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("message %d has no document", d.ID))
		return
	}
	var paths []string
	for _, doc := range d.Documents {
		p, err := c.o.Store.DocumentFile(r.Context(), doc.ID)
		if err != nil {
			c.storeError(w, r, err)
			return
		}
		paths = append(paths, p)
	}
	if c.o.Conversions != nil {
		release, err := c.o.Conversions.TryAcquire()
		if err != nil {
			w.Header().Set("Retry-After", c.o.Conversions.RetryAfterSeconds())
			writeError(w, http.StatusServiceUnavailable, "too many documents being converted at once; try again later")
			return
		}
		defer release()
	}
	ctx, cancel := context.WithTimeout(r.Context(), pageTimeout)
	defer cancel()
	o := faxdoc.Options{Resolution: imaging.Fine, KeepResolution: true, AllowDamaged: d.Direction == core.Inbound, Limits: c.o.DocumentLimits}
	if res, err := imaging.ParseResolution(d.Resolution); err == nil && d.Resolution != "" {
		o.Resolution = res
	}
	png, pages, err := renderPage(ctx, paths, o, n)
	switch {
	case errors.Is(err, errNoPage):
		writeError(w, http.StatusNotFound, fmt.Sprintf("message %d has %d pages", d.ID, pages))
		return
	case errors.Is(err, faxdoc.ErrTooLarge), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	case err != nil:
		if r.Context().Err() == nil {
			c.log.Warn("console: page image", "message", d.ID, "page", n, "err", err)
			writeError(w, http.StatusUnprocessableEntity, "the document cannot be shown: "+err.Error())
		}
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("X-Page-Count", strconv.Itoa(pages))
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, _ = w.Write(png)
}

var errNoPage = errors.New("console: no such page")

// renderPage renders page n (from 1) of the documents at paths as PNG and
// returns the document's page count.
func renderPage(ctx context.Context, paths []string, o faxdoc.Options, n int) ([]byte, int, error) {
	doc, err := faxdoc.OpenContext(ctx, paths, o)
	if err != nil {
		return nil, 0, err
	}
	defer doc.Close()
	pages := doc.Pages()
	if n < 1 || n > pages {
		return nil, pages, errNoPage
	}
	// Page n alone: the pages before it are not read.
	pg, err := doc.Page(n - 1)
	if err != nil {
		return nil, pages, err
	}
	img, err := imaging.ReadPage(pg, pg.Width, pg.Resolution, 0)
	if err != nil {
		return nil, pages, err
	}
	var buf bytes.Buffer
	if err := render.EncodePNG(&buf, img); err != nil {
		return nil, pages, err
	}
	return buf.Bytes(), pages, nil
}
