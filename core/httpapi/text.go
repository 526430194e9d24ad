package httpapi

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/render"
	"github.com/faxagent/faxagent/imaging/tiff"
)

// Plain text is typeset with the header line's font (render.HeaderRows):
// one band per line, textColumns characters after a textIndent, on A4 pages
// with a margin of two lines at the top and bottom.
const (
	textColumns  = 100
	textIndent   = "      "
	maxTextPages = 200
)

// typesetText lays a UTF-8 text file out on A4 fax pages at res and
// writes them to out as a TIFF Class F file.
func typesetText(path, out string, res imaging.Resolution) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !utf8.Valid(b) {
		return errors.New("text is not UTF-8")
	}
	if strings.TrimSpace(string(b)) == "" {
		return errors.New("text is empty")
	}
	lines := wrapText(string(b), textColumns)
	band := render.HeaderBandRows(res)
	rows := render.A4Rows(res)
	perPage := rows/band - 4
	pages := (len(lines) + perPage - 1) / perPage
	if pages > maxTextPages {
		return fmt.Errorf("text makes more than %d pages", maxTextPages)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := tiff.NewWriter(f, tiff.WriterOptions{})
	for p := 0; p < pages; p++ {
		page := imaging.NewPage(imaging.WidthA4, rows, res)
		for i, line := range lines[p*perPage : min((p+1)*perPage, len(lines))] {
			if strings.TrimSpace(line) == "" {
				continue
			}
			b := render.HeaderRows(textIndent+line, imaging.WidthA4, res)
			copy(page.Pix[(2+i)*band*page.Stride():], b.Pix)
		}
		pw, err := w.NewPage(tiff.PageSpec{Width: page.Width, Resolution: res, Rows: rows, Compression: imaging.MMR})
		if err != nil {
			return err
		}
		for y := 0; y < rows; y++ {
			if err := pw.WriteRow(page.Row(y)); err != nil {
				return err
			}
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return f.Close()
}

// wrapText splits text into lines of at most cols characters, breaking
// long lines at spaces where it can; tabs become spaces to the next
// multiple of 8 and form feeds start nothing special.
func wrapText(text string, cols int) []string {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	text = strings.TrimRight(text, "\n")
	var out []string
	for _, raw := range strings.Split(text, "\n") {
		var sb strings.Builder
		n := 0
		for _, r := range raw {
			if r == '\t' {
				for sb.WriteByte(' '); (n+1)%8 != 0; n++ {
					sb.WriteByte(' ')
				}
				n++
				continue
			}
			sb.WriteRune(r)
			n++
		}
		line := []rune(sb.String())
		for len(line) > cols {
			cut := cols
			for i := cols; i > cols/2; i-- {
				if line[i] == ' ' {
					cut = i
					break
				}
			}
			out = append(out, string(line[:cut]))
			line = []rune(strings.TrimLeft(string(line[cut:]), " "))
		}
		out = append(out, string(line))
	}
	return out
}
