package foip

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNumber is wrapped by errors of NumberFromHeader.
var ErrNumber = errors.New("foip: no telephone number")

// maxHeaderNumber bounds what NumberFromHeader looks at.
const maxHeaderNumber = 256

// NumberFromHeader extracts the telephone number from a SIP header value
// that carries one: a name-addr ("Name" <sip:+1555123@host;user=phone>),
// a bare URI (sip:, sips: or tel:), or a plain number. Visual separators
// (space - . ( )) are dropped; a leading + is kept. A value with anything
// else in the number, or none at all, is an error wrapping ErrNumber.
func NumberFromHeader(v string) (string, error) {
	if len(v) > maxHeaderNumber {
		return "", fmt.Errorf("%w: header value longer than %d", ErrNumber, maxHeaderNumber)
	}
	s := strings.TrimSpace(v)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i+1:], '>')
		if j < 0 {
			return "", fmt.Errorf("%w: unterminated <", ErrNumber)
		}
		s = s[i+1 : i+1+j]
	} else if i := strings.IndexByte(s, ';'); i >= 0 && !hasScheme(s) {
		s = s[:i] // plain number with header parameters
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "sip:"), strings.HasPrefix(lower, "sips:"):
		// A SIP URI without a user part names a host, not a number.
		s = s[strings.IndexByte(s, ':')+1:]
		at := strings.IndexByte(s, '@')
		if at < 0 {
			return "", fmt.Errorf("%w: no user part in %q", ErrNumber, v)
		}
		s = s[:at]
	case strings.HasPrefix(lower, "tel:"):
		s = s[4:]
	}
	if i := strings.IndexAny(s, "@;?"); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, ':'); i >= 0 { // user:password
		s = s[:i]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '+' && b.Len() == 0:
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == '*' || c == '#':
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("%w in %q", ErrNumber, v)
		}
	}
	n := b.String()
	if n == "" || n == "+" {
		return "", fmt.Errorf("%w in %q", ErrNumber, v)
	}
	return n, nil
}

func hasScheme(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:") || strings.HasPrefix(l, "tel:")
}

// DisplayName returns the display name of a name-addr header value
// ("Fax Dept" <sip:...> gives Fax Dept), or "".
func DisplayName(v string) string {
	i := strings.IndexByte(v, '<')
	if i <= 0 {
		return ""
	}
	name := strings.TrimSpace(v[:i])
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		name = name[1 : len(name)-1]
	}
	return strings.ReplaceAll(name, `\"`, `"`)
}

// routingDigits returns the last n digits of number (all of it for n <= 0).
func routingDigits(number string, n int) string {
	number = strings.TrimPrefix(number, "+")
	if n <= 0 || len(number) <= n {
		return number
	}
	return number[len(number)-n:]
}

// printable keeps the printable ASCII of s, at most max bytes.
func printable(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		if c := s[i]; c > ' ' && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return b.String()
}
