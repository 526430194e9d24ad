package email

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/faxagent/faxagent/core"
	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
)

// pdf renders a message's documents as one PDF, at the fax's own
// resolution, within the document limits.
func (r *Relay) pdf(ctx context.Context, d core.MessageDetails) ([]byte, error) {
	var paths []string
	for _, doc := range d.Documents {
		p, err := r.docs.DocumentFile(ctx, doc.ID)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return nil, errors.New("no document")
	}
	tmp, err := os.MkdirTemp("", "faxagent-mail-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	doc, err := faxdoc.OpenContext(ctx, paths, faxdoc.Options{Resolution: imaging.Fine, KeepResolution: true,
		AllowDamaged: d.Direction == core.Inbound, Limits: r.limits})
	if err != nil {
		return nil, err
	}
	defer doc.Close()
	out := filepath.Join(tmp, "fax.pdf")
	w, err := faxdoc.Create(out, faxdoc.WriteOptions{Software: "faxagent"})
	if err != nil {
		return nil, err
	}
	for {
		pg, err := doc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = w.WritePage(pg)
		}
		if err != nil {
			w.Abort()
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}
