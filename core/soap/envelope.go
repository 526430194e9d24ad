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

// Limits bound what one request may contain.
type Limits struct {
	// MaxBytes bounds the request body; 0 means 96 MiB.
	MaxBytes int64
	// MaxDepth bounds element nesting; 0 means 32.
	MaxDepth int
	// MaxElements bounds the number of elements; 0 means 200000.
	MaxElements int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 96 << 20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 32
	}
	if l.MaxElements <= 0 {
		l.MaxElements = 200000
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
	d := xml.NewDecoder(r)
	d.Strict = true
	d.CharsetReader = declared
	var (
		stack    []*node
		text     []bytes.Buffer
		elements int
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
			if errors.Is(err, ErrCharset) {
				return req, err
			}
			return req, fmt.Errorf("%w: %v", ErrMalformed, err)
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
				text[len(text)-1].Write(t)
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
