package soap

import (
	"fmt"
	"io"
)

// guard sits between the request body and the XML decoder and enforces,
// byte by byte, the limits encoding/xml cannot: the decoder returns a start
// tag with all its attributes as one token, so an element with six million
// attributes would be in memory before anyone could count them. guard
// counts attributes (per element and in the document), and bounds names,
// attribute values, text runs and CDATA sections (MaxTextBytes), comments
// and processing instructions (MaxAttrValueBytes) while they stream past,
// as the decoder holds each whole; it refuses DTDs (any "<!" that is not a comment or CDATA) at their
// first bytes. What a token holds once decoded (elements, tokens, text) is
// counted by decodeEnvelope.
//
// guard only recognises the lexical structure it needs; it does not
// validate XML (the decoder does), and on well-formed input it never
// refuses anything within the limits.
type guard struct {
	r   io.Reader
	lim Limits

	st    guardState
	quote byte // the quote that ends the current attribute value
	run   int  // bytes of the current name, value, comment or PI
	match int  // progress through "<!--", "<![CDATA[" or a terminator
	attrs int  // attributes of the current element
	total int  // attributes so far
	err   error
}

type guardState uint8

const (
	gText     guardState = iota
	gOpen                // after '<'
	gBang                // after "<!"
	gComment             // inside <!-- -->
	gCDATA               // inside <![CDATA[ ]]>
	gPI                  // inside <? ?>
	gName                // element name
	gTag                 // inside a tag, between names and values
	gAttrName            // attribute name
	gValue               // quoted attribute value
)

const cdataOpen = "[CDATA["

func newGuard(r io.Reader, lim Limits) *guard { return &guard{r: r, lim: lim} }

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		if e := g.step(p[i]); e != nil {
			g.err = e
			return i, e
		}
	}
	return n, err
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// step advances the state machine by one byte.
func (g *guard) step(c byte) error {
	switch g.st {
	case gText:
		if c == '<' {
			g.st = gOpen
			return nil
		}
		// The decoder holds a text run whole before it returns it.
		g.run++
		if g.run > g.lim.MaxTextBytes {
			return fmt.Errorf("%w: text longer than %d bytes", ErrTooLarge, g.lim.MaxTextBytes)
		}
	case gOpen:
		switch c {
		case '!':
			g.st, g.match = gBang, 0
		case '?':
			g.st, g.run, g.match = gPI, 0, 0
		case '/':
			g.st, g.run = gName, 0
		default:
			g.st, g.run, g.attrs = gName, 1, 0
		}
	case gBang:
		// "<!--" or "<![CDATA["; anything else is a declaration.
		switch {
		case g.match == 0 && (c == '-' || c == '['):
			g.quote, g.match = c, 1
		case g.quote == '-' && c == '-':
			g.st, g.quote, g.run, g.match = gComment, 0, 0, 0
		case g.quote == '[' && c == cdataOpen[g.match]:
			g.match++
			if g.match == len(cdataOpen) {
				g.st, g.quote, g.match, g.run = gCDATA, 0, 0, 0
			}
		default:
			return ErrDTD
		}
	case gComment:
		g.run++
		if g.run > g.lim.MaxAttrValueBytes {
			return fmt.Errorf("%w: a comment longer than %d bytes", ErrTooLarge, g.lim.MaxAttrValueBytes)
		}
		switch {
		case c == '-':
			g.match++
		case c == '>' && g.match >= 2:
			g.st, g.run = gText, 0
		default:
			g.match = 0
		}
	case gCDATA:
		// CDATA is text, held whole like a text run.
		g.run++
		if g.run > g.lim.MaxTextBytes {
			return fmt.Errorf("%w: CDATA longer than %d bytes", ErrTooLarge, g.lim.MaxTextBytes)
		}
		switch {
		case c == ']':
			g.match++
		case c == '>' && g.match >= 2:
			g.st, g.run = gText, 0
		default:
			g.match = 0
		}
	case gPI:
		g.run++
		if g.run > g.lim.MaxAttrValueBytes {
			return fmt.Errorf("%w: a processing instruction longer than %d bytes", ErrTooLarge, g.lim.MaxAttrValueBytes)
		}
		switch {
		case c == '>' && g.match == 1:
			g.st, g.run = gText, 0
		case c == '?':
			g.match = 1
		default:
			g.match = 0
		}
	case gName, gAttrName:
		if isXMLSpace(c) || c == '=' || c == '>' || c == '/' || c == '"' || c == '\'' {
			g.st = gTag
			return g.step(c)
		}
		g.run++
		if g.run > g.lim.MaxNameBytes {
			return fmt.Errorf("%w: a name longer than %d bytes", ErrTooLarge, g.lim.MaxNameBytes)
		}
	case gTag:
		switch {
		case c == '>':
			g.st, g.run = gText, 0
		case c == '=':
			g.attrs++
			g.total++
			if g.attrs > g.lim.MaxAttrsPerElement {
				return fmt.Errorf("%w: an element with more than %d attributes", ErrTooLarge, g.lim.MaxAttrsPerElement)
			}
			if g.total > g.lim.MaxAttrs {
				return fmt.Errorf("%w: more than %d attributes", ErrTooLarge, g.lim.MaxAttrs)
			}
		case c == '"' || c == '\'':
			g.st, g.quote, g.run = gValue, c, 0
		case isXMLSpace(c) || c == '/':
		default:
			g.st, g.run = gAttrName, 1
		}
	case gValue:
		if c == g.quote {
			g.st, g.quote = gTag, 0
			return nil
		}
		g.run++
		if g.run > g.lim.MaxAttrValueBytes {
			return fmt.Errorf("%w: an attribute value longer than %d bytes", ErrTooLarge, g.lim.MaxAttrValueBytes)
		}
	}
	return nil
}
