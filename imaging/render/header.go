package render

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// HeaderFields are the values a header-line template refers to.
type HeaderFields struct {
	Time       time.Time // %d and %t
	CSID       string    // %c: the sender's called subscriber identification
	Number     string    // %n: the recipient's fax number
	Recipient  string    // %r: the recipient's name
	Page       int       // %p: this page, from 1
	Pages      int       // %s: pages in the document
	DateFormat string    // Go layout for %d; "" means "2006-01-02"
	TimeFormat string    // Go layout for %t; "" means "15:04"
}

// maxHeaderWidth bounds a token's field width: a header line of 1728
// pixels holds about 120 characters, and a template must not be able to
// ask for gigabytes of padding.
const maxHeaderWidth = 256

// HeaderTokens documents the header-line template tokens (for help texts).
const HeaderTokens = "%d date, %t time, %c CSID, %n recipient's number, %r recipient's name, %p page, %s pages, %% a %; " +
	"flags and width between % and the letter: - left-aligns, 0 pads numbers with zeros, a space puts a space before a number, " +
	"digits give the width (e.g. %-23c, % -25n, %03p)"

// Header expands a FaxCore header-line template: %d date, %t time, %c
// CSID, %n recipient number, %r recipient name, %p page, %s total pages,
// %% a literal % (the tokens FaxCore's FaxHeader setting uses: "%d %t
// %-23c -> % -25n %r %s %p"). Between % and the letter, printf-style
// flags and width: "-" left-aligns in the field, "0" pads numbers with
// zeros, " " puts a space before a number (text ignores it), digits give
// the minimum width in characters (at most 256); a value longer than its
// width is not cut. Anything else after % is copied as it stands
// (CheckHeader refuses such templates at submit).
func Header(template string, f HeaderFields) string {
	var b strings.Builder
	for i := 0; i < len(template); {
		c := template[i]
		if c != '%' {
			j := strings.IndexByte(template[i:], '%')
			if j < 0 {
				j = len(template) - i
			}
			b.WriteString(template[i : i+j])
			i += j
			continue
		}
		// Parse %[-0]*[0-9]*verb.
		j := i + 1
		left, zero, space := false, false, false
	flags:
		for ; j < len(template); j++ {
			switch template[j] {
			case '-':
				left = true
			case '0':
				zero = true
			case ' ':
				space = true
			default:
				break flags
			}
		}
		width := 0
		for ; j < len(template) && template[j] >= '0' && template[j] <= '9'; j++ {
			width = min(width*10+int(template[j]-'0'), maxHeaderWidth)
		}
		if j >= len(template) {
			b.WriteString(template[i:]) // dangling %: literal
			break
		}
		verb := template[j]
		var val string
		number := false
		switch verb {
		case '%':
			if j == i+1 {
				b.WriteByte('%')
				i = j + 1
				continue
			}
		case 'd':
			val = f.Time.Format(orDefault(f.DateFormat, "2006-01-02"))
		case 't':
			val = f.Time.Format(orDefault(f.TimeFormat, "15:04"))
		case 'c':
			val = f.CSID
		case 'n':
			val = f.Number
		case 'r':
			val = f.Recipient
		case 'p':
			val, number = strconv.Itoa(f.Page), true
		case 's':
			val, number = strconv.Itoa(f.Pages), true
		}
		if val == "" && !knownVerb(verb) {
			// Unknown token: copy "%" and its flags; the rest follows as text.
			b.WriteString(template[i:j])
			i = j
			continue
		}
		if space && number && !strings.HasPrefix(val, "-") {
			val = " " + val
		}
		pad(&b, val, width, left, zero && number && !left)
		i = j + 1
	}
	return b.String()
}

func knownVerb(c byte) bool { return strings.IndexByte("dtcnrps", c) >= 0 }

// ErrHeaderTemplate means a header-line template has a token Header does
// not know.
var ErrHeaderTemplate = errors.New("invalid header template")

// CheckHeader refuses a template with a % that starts no token Header
// knows (see HeaderTokens): "%P" or a dangling "%" would otherwise be
// printed as they stand on every page.
func CheckHeader(template string) error {
	if !utf8.ValidString(template) {
		return fmt.Errorf("%w: not UTF-8", ErrHeaderTemplate)
	}
	for i := 0; i < len(template); i++ {
		if template[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(template) && strings.IndexByte("-0 ", template[j]) >= 0 {
			j++
		}
		for j < len(template) && template[j] >= '0' && template[j] <= '9' {
			j++
		}
		switch {
		case j >= len(template):
			return fmt.Errorf("%w: %q at the end starts no token (%%%% is a %%)", ErrHeaderTemplate, template[i:])
		case template[j] == '%' && j == i+1:
		case !knownVerb(template[j]):
			_, n := utf8.DecodeRuneInString(template[j:])
			return fmt.Errorf("%w: unknown token %q (known: %%d %%t %%c %%n %%r %%p %%s %%%%)", ErrHeaderTemplate, template[i:j+n])
		}
		i = j
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pad writes val in a field of width characters.
func pad(b *strings.Builder, val string, width int, left, zero bool) {
	n := width - utf8.RuneCountInString(val)
	if n <= 0 {
		b.WriteString(val)
		return
	}
	switch {
	case left:
		b.WriteString(val)
		b.WriteString(strings.Repeat(" ", n))
	case zero:
		if strings.HasPrefix(val, "-") {
			b.WriteByte('-')
			val = val[1:]
		}
		b.WriteString(strings.Repeat("0", n))
		b.WriteString(val)
	default:
		b.WriteString(strings.Repeat(" ", n))
		b.WriteString(val)
	}
}
