package soap

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"fmt"
	"html"
	"strings"
)

// Namespace is the target namespace of the wfApi service: requests,
// responses and every child element live in it.
const Namespace = "http://faxcoreserver/services/"

// wsdlAddress is the service address written in the embedded WSDL; it is
// replaced by the handler's own address when the WSDL is served.
const wsdlAddress = "http://localhost/webservices/wfapi.asmx"

//go:embed wfapi.wsdl
var wsdlText []byte

// param is one child of a request wrapper as the WSDL declares it.
type param struct {
	Name      string
	Type      string // "s:long", "tns:ArrayOfString", ...
	MinOccurs string
}

// contract is what the WSDL says about every operation, by wire name.
type contract struct {
	// Ops lists the wire names in WSDL binding order.
	Ops []string
	// Params of each request wrapper, by wire name.
	Params map[string][]param
	// Results of each response wrapper, by wire name.
	Results map[string][]param
}

type xsdElement struct {
	Name      string `xml:"name,attr"`
	Type      string `xml:"type,attr"`
	MinOccurs string `xml:"minOccurs,attr"`
}

type wsdlDoc struct {
	Schema struct {
		Elements []struct {
			Name    string       `xml:"name,attr"`
			Members []xsdElement `xml:"complexType>sequence>element"`
		} `xml:"element"`
	} `xml:"types>schema"`
	Bindings []struct {
		Name string `xml:"name,attr"`
		Ops  []struct {
			Name string `xml:"name,attr"`
			Soap struct {
				Action string `xml:"soapAction,attr"`
			} `xml:"http://schemas.xmlsoap.org/wsdl/soap/ operation"`
			Input struct {
				Name string `xml:"name,attr"`
			} `xml:"input"`
		} `xml:"operation"`
	} `xml:"binding"`
}

// parseContract reads the operations and their parameters from a WSDL.
func parseContract(b []byte) (*contract, error) {
	var d wsdlDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("soap: wsdl: %w", err)
	}
	c := &contract{Params: map[string][]param{}, Results: map[string][]param{}}
	elems := map[string][]param{}
	for _, e := range d.Schema.Elements {
		var ps []param
		for _, m := range e.Members {
			ps = append(ps, param(m))
		}
		elems[e.Name] = ps
	}
	for _, b := range d.Bindings {
		if b.Name != "wfApiSoap" {
			continue
		}
		for _, o := range b.Ops {
			wire := o.Input.Name
			if wire == "" {
				wire = o.Name
			}
			if o.Soap.Action != Namespace+wire {
				return nil, fmt.Errorf("soap: wsdl: operation %s has SOAPAction %q", wire, o.Soap.Action)
			}
			in, ok1 := elems[wire]
			out, ok2 := elems[wire+"Response"]
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("soap: wsdl: operation %s has no wrapper elements", wire)
			}
			c.Ops = append(c.Ops, wire)
			c.Params[wire] = in
			c.Results[wire] = out
		}
	}
	if len(c.Ops) == 0 {
		return nil, fmt.Errorf("soap: wsdl: no operations")
	}
	return c, nil
}

// wsdlFor returns the WSDL with addr as the service address.
func wsdlFor(addr string) []byte {
	return bytes.ReplaceAll(wsdlText, []byte(wsdlAddress), []byte(html.EscapeString(addr)))
}

// isWSDLQuery reports whether a raw query asks for the WSDL (?WSDL, ?wsdl).
func isWSDLQuery(rawQuery string) bool {
	for _, part := range strings.Split(rawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		if strings.EqualFold(k, "wsdl") {
			return true
		}
	}
	return false
}
