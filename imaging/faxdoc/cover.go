package faxdoc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/render"
)

// Cover is a cover page put before a fax's documents.
type Cover struct {
	// Template is the cover page template (render.LayoutCover); nil is
	// render.DefaultCover.
	Template []byte
	Fields   render.CoverFields
}

// ConvertCover writes the cover page of a fax whose documents have
// docPages pages to out (format by extension, see Create), at res. Its
// {{Pages}} counts the cover's own pages. It returns the cover's pages.
func ConvertCover(ctx context.Context, c Cover, docPages int, res imaging.Resolution, out string, wo WriteOptions) (int, error) {
	xdpi, _ := res.DPI()
	o := render.TextOptions{Resolution: res, Width: int(imaging.WidthA4 * xdpi / 204), MaxPages: 20}
	f := c.Fields
	f.Pages = docPages + 1
	t, err := render.LayoutCover(c.Template, f, o)
	if err == nil && t.Pages() != 1 {
		f.Pages = docPages + t.Pages()
		t, err = render.LayoutCover(c.Template, f, o)
	}
	if err != nil {
		return 0, fmt.Errorf("faxdoc: cover page: %w", tooLarge(err))
	}
	w, err := Create(out, wo)
	if err != nil {
		return 0, err
	}
	for i := 0; i < t.Pages(); i++ {
		pg, err := t.Page(ctx, i)
		if err == nil {
			err = w.WritePage(&Page{Number: i + 1, Width: pg.Width, Resolution: pg.Resolution,
				Source: "cover", SourcePage: i + 1, rows: pg.Rows(), ctx: ctx})
		}
		if err != nil {
			w.Abort()
			return 0, fmt.Errorf("faxdoc: cover page: %w", err)
		}
	}
	return t.Pages(), w.Close()
}

// coverName is the form of a cover page template's name.
var coverName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$`)

// CoverTemplate finds a cover page template by name: "default" (or "")
// is the shipped one (render.DefaultCover) unless dir has a default.txt;
// any other name is the file NAME.txt in dir. The template is checked
// (render.CheckCover).
func CoverTemplate(dir, name string) ([]byte, error) {
	if name == "" {
		name = "default"
	}
	if !coverName.MatchString(name) {
		return nil, fmt.Errorf("cover page %q: a name has letters, digits, '.', '-' and '_'", name)
	}
	if dir == "" {
		if name == "default" {
			return render.DefaultCover, nil
		}
		return nil, fmt.Errorf("cover page %q: no such template (only \"default\": no cover page directory is configured)", name)
	}
	f, err := os.Open(filepath.Join(dir, name+".txt"))
	if errors.Is(err, fs.ErrNotExist) && name == "default" {
		return render.DefaultCover, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cover page %q: no such template", name)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, render.MaxCoverTemplate+1))
	if err != nil {
		return nil, fmt.Errorf("cover page %q: %w", name, err)
	}
	if err := render.CheckCover(b); err != nil {
		return nil, fmt.Errorf("cover page %q: %w", name, err)
	}
	return b, nil
}
