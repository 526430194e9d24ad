package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// SOAP envelope namespaces.
const (
	ns11  = "http://schemas.xmlsoap.org/soap/envelope/"
	ns12  = "http://www.w3.org/2003/05/soap-envelope"
	nsXSI = "http://www.w3.org/2001/XMLSchema-instance"
)

// Version is a SOAP version.
type Version int

// SOAP versions.
const (
	SOAP11 Version = 11
	SOAP12 Version = 12
)

// Limits bound what one request may contain. Each is checked while the
// body streams in, before the memory or work it bounds is spent; a zero
// field takes its default.
type Limits struct {
	// MaxDocumentBytes bounds one document (decoded bytes, or a file read
	// from the import directory); 0 means 32 MiB, the API's max_upload.
	MaxDocumentBytes int64
	// MaxBytes bounds the request body, all documents together; 0 means
	// room for one MaxDocumentBytes document in base64 plus 1 MiB.
	MaxBytes int64
	// MaxDepth bounds element nesting; 0 means 32.
	MaxDepth int
	// MaxElements bounds the number of elements; 0 means 200000.
	MaxElements int
	// MaxTokens bounds the XML tokens (elements, text runs, comments);
	// 0 means 1000000.
	MaxTokens int
	// MaxAttrs bounds the attributes (namespace declarations included) of
	// the whole request; 0 means 4096. MaxAttrsPerElement bounds one
	// element's; 0 means 64.
	MaxAttrs           int
	MaxAttrsPerElement int
	// MaxNameBytes bounds an element or attribute name with its prefix;
	// 0 means 256.
	MaxNameBytes int
	// MaxAttrValueBytes bounds an attribute value, a comment and a
	// processing instruction; 0 means 4096.
	MaxAttrValueBytes int
	// MaxTextBytes bounds one element's text; 0 means room
	// for one MaxDocumentBytes document in base64, with line breaks.
	MaxTextBytes int
}

// Default limits (see Limits).
const (
	DefaultMaxDocumentBytes   = 32 << 20
	DefaultMaxDepth           = 32
	DefaultMaxElements        = 200000
	DefaultMaxTokens          = 1000000
	DefaultMaxAttrs           = 4096
	DefaultMaxAttrsPerElement = 64
	DefaultMaxNameBytes       = 256
	DefaultMaxAttrValueBytes  = 4096
)

// base64Room is the text that holds n bytes in base64 with a line break
// every 76 characters (and some whitespace around).
func base64Room(n int64) int64 { return (n+2)/3*4*78/76 + 4096 }

func (l Limits) withDefaults() Limits {
	if l.MaxDocumentBytes <= 0 {
		l.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = base64Room(l.MaxDocumentBytes) + 1<<20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	if l.MaxTokens <= 0 {
		l.MaxTokens = DefaultMaxTokens
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = DefaultMaxAttrs
	}
	if l.MaxAttrsPerElement <= 0 {
		l.MaxAttrsPerElement = DefaultMaxAttrsPerElement
	}
	if l.MaxNameBytes <= 0 {
		l.MaxNameBytes = DefaultMaxNameBytes
	}
	if l.MaxAttrValueBytes <= 0 {
		l.MaxAttrValueBytes = DefaultMaxAttrValueBytes
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = int(min(base64Room(l.MaxDocumentBytes), 1<<30))
	}
	return l
}

// Errors of envelope decoding; each is answered with a SOAP Fault.
var (
	ErrMalformed       = errors.New("soap: malformed envelope")
	ErrTooLarge        = errors.New("soap: request too large")
	ErrTooDeep         = errors.New("soap: elements nested too deeply")
	ErrDTD             = errors.New("soap: DTDs and entity declarations are not allowed")
	ErrVersionMismatch = errors.New("soap: not a SOAP 1.1 or 1.2 envelope")
)

// node is one element of a request body.
type node struct {
	Space, Name string
	// Type is the local part of xsi:type ("base64Binary"), if any.
	Type string
	Nil  bool
	Text string
	Kids []*node
}

// child returns the first child with a local name.
func (n *node) child(name string) *node {
	for _, k := range n.Kids {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// request is a decoded envelope.
type request struct {
	Version Version
	// Op is the wrapper element: its local name is the wire operation name.
	Op *node
}

// decodeEnvelope reads a SOAP envelope in the character set charset (the
// Content-Type's parameter, "" when absent; see requestText). Its error
// wraps one of the sentinel errors above or ErrCharset; the Version is set
// as soon as it is known.
func decodeEnvelope(r io.Reader, charset string, lim Limits, guess Version) (request, error) {
	lim = lim.withDefaults()
	req := request{Version: guess}
	r, declared, err := requestText(r, charset)
	if err != nil {
		return req, err
	}
	d := xml.NewDecoder(newGuard(r, lim))
	d.Strict = true
	d.CharsetReader = declared
	var (
		stack    []*node
		text     []bytes.Buffer
		elements int
		tokens   int
		body     *node
		inHeader bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return req, fmt.Errorf("%w: over %d bytes", ErrTooLarge, lim.MaxBytes)
			}
			if errors.Is(err, ErrCharset) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrDTD) {
				return req, err
			}
			return req, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if tokens++; tokens > lim.MaxTokens {
			return req, fmt.Errorf("%w: more than %d XML tokens", ErrTooLarge, lim.MaxTokens)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return req, ErrDTD
		case xml.ProcInst:
			if t.Target != "xml" || len(stack) > 0 {
				return req, fmt.Errorf("%w: processing instruction %q", ErrMalformed, t.Target)
			}
		case xml.StartElement:
			elements++
			if elements > lim.MaxElements {
				return req, fmt.Errorf("%w: more than %d elements", ErrTooLarge, lim.MaxElements)
			}
			if len(stack) >= lim.MaxDepth {
				return req, fmt.Errorf("%w: deeper than %d", ErrTooDeep, lim.MaxDepth)
			}
			n := &node{Space: t.Name.Space, Name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space != nsXSI {
					continue
				}
				switch a.Name.Local {
				case "type":
					_, local, ok := strings.Cut(a.Value, ":")
					if !ok {
						local = a.Value
					}
					n.Type = local
				case "nil":
					n.Nil = a.Value == "true" || a.Value == "1"
				}
			}
			switch len(stack) {
			case 0:
				if n.Name != "Envelope" {
					return req, fmt.Errorf("%w: root element %q", ErrMalformed, n.Name)
				}
				switch n.Space {
				case ns11:
					req.Version = SOAP11
				case ns12:
					req.Version = SOAP12
				default:
					return req, fmt.Errorf("%w: envelope namespace %q", ErrVersionMismatch, n.Space)
				}
			case 1:
				if n.Space != stack[0].Space || (n.Name != "Header" && n.Name != "Body") {
					return req, fmt.Errorf("%w: unexpected %q in Envelope", ErrMalformed, n.Name)
				}
				if n.Name == "Body" {
					if body != nil {
						return req, fmt.Errorf("%w: two Body elements", ErrMalformed)
					}
					body = n
				}
				inHeader = n.Name == "Header"
			case 2:
				if !inHeader {
					if req.Op != nil {
						return req, fmt.Errorf("%w: more than one element in Body", ErrMalformed)
					}
					req.Op = n
				}
			}
			if len(stack) > 0 && !(len(stack) <= 2 && inHeader) {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			}
			stack = append(stack, n)
			text = append(text, bytes.Buffer{})
		case xml.EndElement:
			n := stack[len(stack)-1]
			if len(n.Kids) == 0 {
				n.Text = text[len(text)-1].String()
			}
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return req, fmt.Errorf("%w: text outside the envelope", ErrMalformed)
				}
				continue
			}
			if len(stack) >= 3 && !inHeader {
				b := &text[len(text)-1]
				if b.Len()+len(t) > lim.MaxTextBytes {
					return req, fmt.Errorf("%w: an element's text is longer than %d bytes", ErrTooLarge, lim.MaxTextBytes)
				}
				b.Write(t)
			}
		}
	}
	if len(stack) != 0 {
		return req, fmt.Errorf("%w: unexpected end", ErrMalformed)
	}
	if body == nil {
		return req, fmt.Errorf("%w: no Body", ErrMalformed)
	}
	if req.Op == nil {
		return req, fmt.Errorf("%w: empty Body", ErrMalformed)
	}
	return req, nil
}
