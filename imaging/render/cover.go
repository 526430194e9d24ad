package render

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// DefaultCover is the cover page template shipped with faxagent.
//
//go:embed cover-default.txt
var DefaultCover []byte

// CoverFields are the values a cover page template refers to, by name in
// double braces: {{To}} {{Company}} {{Fax}} (the recipient's name,
// company and fax number), {{From}} {{FromCompany}} (the sender's),
// {{Subject}}, {{Note}} (may span lines), {{Pages}} (the pages of the fax,
// cover included) and {{Date}}.
type CoverFields struct {
	To, Company, Fax    string
	From, FromCompany   string
	Subject, Note, Date string
	Pages               int
}

// ErrCoverTemplate means a cover page template is not valid.
var ErrCoverTemplate = errors.New("invalid cover page template")

// MaxCoverTemplate bounds a template's size in bytes.
const MaxCoverTemplate = 64 << 10

var coverField = regexp.MustCompile(`\{\{\s*([A-Za-z]*)\s*\}\}`)

// CheckCover checks a cover page template: UTF-8 text of at most
// MaxCoverTemplate bytes whose {{...}} fields are all known.
func CheckCover(tmpl []byte) error {
	_, err := expandCover(tmpl, CoverFields{})
	return err
}

// expandCover fills a template's fields.
func expandCover(tmpl []byte, f CoverFields) (string, error) {
	if len(tmpl) > MaxCoverTemplate {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrCoverTemplate, MaxCoverTemplate)
	}
	if !utf8.Valid(tmpl) {
		return "", fmt.Errorf("%w: not UTF-8 text", ErrCoverTemplate)
	}
	var bad []string
	out := coverField.ReplaceAllStringFunc(string(tmpl), func(m string) string {
		name := coverField.FindStringSubmatch(m)[1]
		switch name {
		case "To":
			return f.To
		case "Company":
			return f.Company
		case "Fax":
			return f.Fax
		case "From":
			return f.From
		case "FromCompany":
			return f.FromCompany
		case "Subject":
			return f.Subject
		case "Note":
			return f.Note
		case "Date":
			return f.Date
		case "Pages":
			if f.Pages == 0 {
				return ""
			}
			return fmt.Sprint(f.Pages)
		}
		bad = append(bad, m)
		return m
	})
	if len(bad) > 0 {
		return "", fmt.Errorf("%w: unknown field %s (want To, Company, Fax, From, FromCompany, Subject, Note, Pages, Date)", ErrCoverTemplate, bad[0])
	}
	if strings.Contains(out, "\f") {
		return "", fmt.Errorf("%w: a form feed", ErrCoverTemplate)
	}
	return out, nil
}

// LayoutCover lays a cover page out from a template (DefaultCover when
// tmpl is nil): UTF-8 text typeset as LayoutText does, in which a line
// starting "# " is a heading in bold at 2.4 times the size. A long note
// may take the cover to more pages.
func LayoutCover(tmpl []byte, f CoverFields, o TextOptions) (*Text, error) {
	if tmpl == nil {
		tmpl = DefaultCover
	}
	o, err := o.normalized()
	if err != nil {
		return nil, err
	}
	// Fields come from users: their control characters go (a form feed
	// in a note must not start a page), their line breaks stay.
	f.To, f.Company, f.Fax = oneLine(f.To), oneLine(f.Company), oneLine(f.Fax)
	f.From, f.FromCompany, f.Subject, f.Date = oneLine(f.From), oneLine(f.FromCompany), oneLine(f.Subject), oneLine(f.Date)
	f.Note = strings.ReplaceAll(f.Note, "\f", "\n")
	text, err := expandCover(tmpl, f)
	if err != nil {
		return nil, err
	}
	t, err := newText(o)
	if err != nil {
		return nil, err
	}
	if err := t.layout(text, true); err != nil {
		return nil, err
	}
	return t, nil
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
